"""Check-ins and the digest end to end over real HTTP: the aiohttp + bolt app on 127.0.0.1, a
local stand-in for Slack's Web API, signed Events API and block_actions requests, and time
travel through the clock injected into create_app (the scheduler's tick is called directly)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, AsyncIterator, Awaitable, Callable

import pytest_asyncio
from sqlalchemy import select

from bot.core.cases.followups import CANCELLED, SENT
from bot.core.storage.tables import OPEN, RESOLVED, FollowupRow, SyncErrorRow

from tests.scheduling.helpers import BILL_TEXT, DIGEST_CHANNEL
from tests.slack.harness import ALICE, CHANNEL, TEAM, BotClient, elements, mention_event, start_slack_bot
from tests.standins.slack import SlackWebApi
from tests.support import Clock, ServedApps

UTC = timezone.utc
AFTER = timedelta(hours=4)
CHECKIN_BUTTONS = ["syncmedic_fixed", "syncmedic_still_failing", "syncmedic_snooze_hour", "syncmedic_snooze_tomorrow"]


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


class Bot(BotClient):
    """The Slack bot with the test's clock: mention it, click what it posted, tick its scheduler."""

    clock: Clock
    _ts = 0

    @property
    def standin(self) -> SlackWebApi:
        return self.stub

    async def mention(self, text: str = BILL_TEXT) -> str:
        """@SyncMedic in the channel; returns the message ts (the thread the bot answers in)."""
        self._ts += 1
        ts = f"1771000000.{self._ts:06d}"
        status, body = await self.event(mention_event(text, ts=ts))
        assert status == 200, body
        await self.drain()
        return ts

    async def click_on(self, message: dict[str, Any], action_id: str, value: str | None = None) -> None:
        status, body = await self.click(message["ts"], action_id, value=value, message=message)
        assert status == 200, body
        await self.drain()

    async def tick_at(self, moment: datetime) -> dict[str, int]:
        self.clock.set(moment)
        assert self.services.clockwork is not None
        return await self.services.clockwork.tick()

    def message(self, body: dict[str, Any]) -> dict[str, Any]:
        """The stand-in's stored copy of a message the bot posted (with chat.update applied)."""
        found = [m for m in self.standin.messages.values()
                 if m.get("channel") == body.get("channel") and m.get("text") == body.get("text")
                 and m.get("metadata") == body.get("metadata") and m.get("thread_ts") == body.get("thread_ts")]
        assert found, body
        return found[-1]

    def case_in(self, thread: str):
        case = self.store.case_in_thread("slack", TEAM, CHANNEL, thread)
        assert case is not None
        return case

    def followups(self, case_id: str) -> list[tuple[str, datetime]]:
        with self.store.session() as s:
            return [(r.status, r.due_at) for r in s.execute(
                select(FollowupRow).where(FollowupRow.case_id == case_id).order_by(FollowupRow.id)).scalars()]


@pytest_asyncio.fixture
async def start_bot(tmp_path: Path, core, data_dir) -> AsyncIterator[Callable[..., Awaitable[Bot]]]:
    served = ServedApps()
    started = [0]

    async def start(tz: str | None = "America/New_York", now: datetime = utc(2026, 3, 2, 14, 0),
                    **env: str | None) -> Bot:
        started[0] += 1
        standin = SlackWebApi(tz=tz)
        await standin.start()
        served.on_close(standin.stop)
        clock = Clock(now)
        env.setdefault("FOLLOWUP_AFTER", "4h")
        bot = await start_slack_bot(served, core, data_dir, f"sqlite:///{tmp_path / f'e2e{started[0]}.db'}",
                                    standin=standin, clock=clock, client=Bot, **env)
        bot.clock = clock
        return bot

    yield start
    await served.close()


async def diagnosed(bot: Bot) -> tuple[str, Any]:
    thread = await bot.mention()
    (answer,) = bot.standin.diagnoses()
    assert answer["channel"] == CHANNEL and answer["thread_ts"] == thread
    case = bot.case_in(thread)
    assert case.intent == "bill_not_exported" and answer["metadata"]["event_payload"]["case_id"] == case.id
    return thread, case


def assert_checkin(body: dict[str, Any], thread: str, case: Any, title: str) -> None:
    assert body["channel"] == CHANNEL and body["thread_ts"] == thread
    assert body["metadata"]["event_type"] == "sync_checkin"
    payload = body["metadata"]["event_payload"]
    assert (payload["case_id"], payload["intent"]) == (case.id, "bill_not_exported")
    assert payload["delivery"].startswith("checkin:")   # its follow-up row: looked for if claimed again
    assert body["text"] == f"Did the fix for {title} work?"
    assert title in body["blocks"][0]["text"]["text"]
    buttons = elements(body["blocks"])
    assert [b["action_id"] for b in buttons] == CHECKIN_BUTTONS
    assert [b["text"]["text"] for b in buttons] == ["Fixed it", "Still failing", "Snooze 1 hour",
                                                    "Ask me tomorrow morning"]
    for b in buttons:
        assert json.loads(b["value"]) == {"case_id": case.id, "intent": "bill_not_exported"}


async def test_checkin_in_the_thread_and_fixed_it_ends_the_follow_up(start_bot):
    bot = await start_bot()
    t0 = bot.clock.now
    thread, case = await diagnosed(bot)
    assert bot.followups(case.id) == [("pending", t0 + AFTER)]
    assert await bot.tick_at(t0 + AFTER - timedelta(minutes=1)) == {"checkins": 0, "digests": 0}
    assert bot.standin.checkins() == []
    assert await bot.tick_at(t0 + AFTER) == {"checkins": 1, "digests": 0}
    (checkin,) = bot.standin.checkins()
    assert_checkin(checkin, thread, case, bot.services.core.catalog.title("bill_not_exported"))

    await bot.click_on(bot.message(checkin), "syncmedic_fixed")
    assert bot.store.get_case(case.id).status == RESOLVED
    (update,) = bot.standin.accepted("chat.update")
    assert update["channel"] == CHANNEL
    assert not [b for b in update["blocks"] if b["type"] == "actions"]          # the buttons are gone
    assert any(b["type"] == "context" for b in update["blocks"])
    for later in (timedelta(hours=4), timedelta(hours=8), timedelta(days=2)):
        assert (await bot.tick_at(t0 + AFTER + later))["checkins"] == 0
    assert len(bot.standin.checkins()) == 1
    assert [s for s, _ in bot.followups(case.id)] == [SENT]


async def test_still_failing_schedules_exactly_one_more_checkin(start_bot):
    bot = await start_bot()
    t0 = bot.clock.now
    thread, case = await diagnosed(bot)
    await bot.tick_at(t0 + AFTER)
    (first,) = bot.standin.checkins()
    clicked_at = bot.clock.advance(timedelta(minutes=20))
    await bot.click_on(bot.message(first), "syncmedic_still_failing")
    assert bot.store.get_case(case.id).failing_count == 1
    assert bot.followups(case.id) == [(SENT, t0 + AFTER), ("pending", clicked_at + AFTER)]
    replies = [p for p in bot.standin.posts() if p.get("thread_ts") == thread and not p.get("metadata")]
    assert replies and elements(replies[-1]["blocks"])   # the "still failing" reply with escalate / not this
    assert (await bot.tick_at(clicked_at + AFTER - timedelta(minutes=1)))["checkins"] == 0
    assert (await bot.tick_at(clicked_at + AFTER))["checkins"] == 1
    for later in (timedelta(hours=1), timedelta(hours=5), timedelta(days=3)):
        assert (await bot.tick_at(clicked_at + AFTER + later))["checkins"] == 0
    second = bot.standin.checkins()[1]
    assert second["thread_ts"] == thread and second["metadata"]["event_payload"]["case_id"] == case.id
    assert len(bot.standin.checkins()) == 2


async def test_still_failing_then_fixed_cancels_the_next_checkin(start_bot):
    bot = await start_bot()
    t0 = bot.clock.now
    _, case = await diagnosed(bot)
    await bot.tick_at(t0 + AFTER)
    (checkin,) = bot.standin.checkins()
    await bot.click_on(bot.message(checkin), "syncmedic_still_failing")
    await bot.click_on(bot.message(checkin), "syncmedic_fixed")
    assert bot.store.get_case(case.id).status == RESOLVED
    assert (await bot.tick_at(t0 + AFTER * 3))["checkins"] == 0
    assert [s for s, _ in bot.followups(case.id)] == [SENT, CANCELLED]


async def test_snooze_one_hour(start_bot):
    bot = await start_bot()
    t0 = bot.clock.now
    thread, case = await diagnosed(bot)
    await bot.tick_at(t0 + AFTER)
    (checkin,) = bot.standin.checkins()
    clicked_at = bot.clock.advance(timedelta(minutes=5))
    await bot.click_on(bot.message(checkin), "syncmedic_snooze_hour")
    # The user's zone came from users.info, a GET request.
    (info,) = [c for c in bot.standin.calls if c.method == "users.info"]
    assert (info.http_method, info.body.get("user")) == ("GET", ALICE)
    (update,) = bot.standin.accepted("chat.update")
    assert "Snoozed by" in update["text"] and not [b for b in update["blocks"] if b["type"] == "actions"]
    assert bot.followups(case.id) == [(SENT, t0 + AFTER), ("pending", clicked_at + timedelta(hours=1))]
    for minutes in (10, 30, 59):
        assert (await bot.tick_at(clicked_at + timedelta(minutes=minutes)))["checkins"] == 0
    assert (await bot.tick_at(clicked_at + timedelta(hours=1)))["checkins"] == 1
    assert (await bot.tick_at(clicked_at + timedelta(hours=6)))["checkins"] == 0
    second = bot.standin.checkins()[1]
    assert second["thread_ts"] == thread and len(bot.standin.checkins()) == 2


async def test_ask_me_tomorrow_morning_in_the_users_zone(start_bot):
    bot = await start_bot(tz="Asia/Tokyo")
    t0 = bot.clock.now              # Mon 2 March 14:00 UTC; the check-in at 18:00 UTC = Tue 03:00 JST
    _, case = await diagnosed(bot)
    await bot.tick_at(t0 + AFTER)
    (checkin,) = bot.standin.checkins()
    await bot.click_on(bot.message(checkin), "syncmedic_snooze_tomorrow")
    morning = utc(2026, 3, 4, 0, 0)   # Wed 09:00 JST
    assert bot.followups(case.id)[-1] == ("pending", morning)
    assert (await bot.tick_at(morning - timedelta(minutes=1)))["checkins"] == 0
    assert (await bot.tick_at(morning))["checkins"] == 1


async def test_business_hours_use_the_slack_users_zone(start_bot):
    bot = await start_bot(tz="America/Los_Angeles", now=utc(2026, 3, 2, 23, 0),   # Mon 15:00 PST
                          BUSINESS_HOURS="09:00-17:30 Mon-Fri")
    _, case = await diagnosed(bot)
    assert (await bot.tick_at(utc(2026, 3, 3, 3, 0)))["checkins"] == 0            # Mon 19:00 PST
    assert bot.store.get_case(case.id).user_tz == "America/Los_Angeles"
    assert (await bot.tick_at(utc(2026, 3, 3, 16, 59)))["checkins"] == 0
    assert (await bot.tick_at(utc(2026, 3, 3, 17, 0)))["checkins"] == 1            # Tue 09:00 PST
    assert len([c for c in bot.standin.calls if c.method == "users.info"]) == 1


async def test_a_deleted_channel_stops_the_checkins_and_a_slack_hiccup_is_retried(start_bot):
    bot = await start_bot()
    t0 = bot.clock.now
    _, gone = await diagnosed(bot)
    bot.standin.fail("chat.postMessage", "channel_not_found")
    assert (await bot.tick_at(t0 + AFTER))["checkins"] == 0
    assert [s for s, _ in bot.followups(gone.id)] == [CANCELLED]
    assert (await bot.tick_at(t0 + AFTER + timedelta(hours=1)))["checkins"] == 0

    t1 = bot.clock.now
    thread = await bot.mention('Bill "BILL-8800" has not been exported to QuickBooks')
    case = bot.case_in(thread)
    bot.standin.fail("chat.postMessage", "internal_error")
    assert (await bot.tick_at(t1 + AFTER))["checkins"] == 0
    assert (await bot.tick_at(t1 + AFTER + timedelta(minutes=2)))["checkins"] == 1
    assert [c["metadata"]["event_payload"]["case_id"] for c in bot.standin.checkins()] == [case.id]


async def test_digest_posted_at_digest_time_and_mark_all_resolved(start_bot):
    nine = utc(2026, 3, 2, 14, 0)   # Mon 09:00 EST
    bot = await start_bot(now=nine - timedelta(hours=1), DIGEST_CHANNEL=DIGEST_CHANNEL, DIGEST_TIME="09:00",
                          DIGEST_TZ="America/New_York")
    first = bot.case_in(await bot.mention('Bill "BILL-1001" has not been exported to QuickBooks'))
    second = bot.case_in(await bot.mention('Bill "BILL-1002" has not been exported to QuickBooks'))
    with bot.store.session() as s:
        for i in range(3):
            s.add(SyncErrorRow(kind="Sale", reference=f"SO-{i}", intent="product_not_exported", message="x",
                               first_seen=nine - timedelta(days=3), last_seen=nine))
    assert (await bot.tick_at(nine - timedelta(minutes=1)))["digests"] == 0
    assert bot.standin.posts_to(DIGEST_CHANNEL) == []
    assert (await bot.tick_at(nine))["digests"] == 1
    (digest,) = bot.standin.posts_to(DIGEST_CHANNEL)
    assert digest["text"] == "Sync errors still open: 5" and "thread_ts" not in digest
    header = digest["blocks"][0]
    assert (header["type"], header["text"]["text"]) == ("header", "Sync errors still open: 5")
    sections = [b["text"]["text"] for b in digest["blocks"] if b["type"] == "section"]
    assert len(sections) == 2
    assert "3 open" in sections[0] and "Sale SO-0, Sale SO-1, Sale SO-2" in sections[0]
    assert "2 open" in sections[1] and "BILL-1001, BILL-1002" in sections[1]
    actions = {b["block_id"]: [e["action_id"] for e in b["elements"]]
               for b in digest["blocks"] if b["type"] == "actions"}
    assert actions == {"syncmedic_digest:product_not_exported": ["syncmedic_digest_steps", "syncmedic_digest_resolve"],
                       "syncmedic_digest:bill_not_exported": ["syncmedic_digest_steps", "syncmedic_digest_resolve"]}
    # Ticking on through the day posts no second digest.
    for minutes in (1, 30, 120):
        assert (await bot.tick_at(nine + timedelta(minutes=minutes)))["digests"] == 0

    message = bot.message(digest)
    await bot.click_on(message, "syncmedic_digest_resolve", "bill_not_exported")
    assert {bot.store.get_case(c.id).status for c in (first, second)} == {RESOLVED}
    with bot.store.session() as s:
        assert set(s.execute(select(SyncErrorRow.status)).scalars()) == {OPEN}   # other causes untouched
    (update,) = bot.standin.accepted("chat.update")
    assert update["ts"] == message["ts"] and update["channel"] == DIGEST_CHANNEL
    block_ids = [b.get("block_id") for b in update["blocks"] if b["type"] == "actions"]
    assert block_ids == ["syncmedic_digest:product_not_exported"]
    assert any("marked 2 open entries resolved" in e["text"]
               for b in update["blocks"] if b["type"] == "context" for e in b["elements"])
    # The resolved cases get no check-in.
    assert (await bot.tick_at(nine + AFTER))["checkins"] == 0
    assert bot.standin.checkins() == []

    # "Show the fix" answers in the digest's thread.
    await bot.click_on(message, "syncmedic_digest_steps", "product_not_exported")
    steps = [p for p in bot.standin.posts() if p.get("thread_ts") == message["ts"]]
    assert len(steps) == 1 and steps[0]["channel"] == DIGEST_CHANNEL

    # Tuesday: only what is still open.
    assert (await bot.tick_at(nine + timedelta(days=1)))["digests"] == 1
    tuesday = bot.standin.posts_to(DIGEST_CHANNEL)[-1]
    assert tuesday["text"] == "Sync errors still open: 3"


async def test_digest_skips_the_weekend_and_all_clear_through_slack(start_bot):
    saturday_nine = utc(2026, 3, 7, 14, 0)
    bot = await start_bot(now=saturday_nine, DIGEST_CHANNEL=DIGEST_CHANNEL, DIGEST_TZ="America/New_York")
    moment = saturday_nine
    while moment < utc(2026, 3, 9, 13, 0):   # until Mon 08:00 EDT
        assert (await bot.tick_at(moment))["digests"] == 0
        moment += timedelta(hours=1)
    assert (await bot.tick_at(utc(2026, 3, 9, 13, 0)))["digests"] == 1   # Mon 09:00 EDT
    (digest,) = bot.standin.posts_to(DIGEST_CHANNEL)
    assert digest["text"] == "Daily sync check: all clear"


async def test_all_clear_off_posts_nothing_through_slack(start_bot):
    bot = await start_bot(DIGEST_CHANNEL=DIGEST_CHANNEL, DIGEST_ALL_CLEAR="off")
    assert (await bot.tick_at(utc(2026, 3, 2, 15, 0)))["digests"] == 0
    assert bot.standin.posts() == []


async def test_fixed_it_on_the_answer_before_the_checkin_cancels_it(start_bot):
    bot = await start_bot()
    t0 = bot.clock.now
    _, case = await diagnosed(bot)
    (answer,) = bot.standin.diagnoses()
    await bot.click_on(bot.message(answer), "syncmedic_fixed")
    assert bot.store.get_case(case.id).status == RESOLVED
    assert (await bot.tick_at(t0 + AFTER))["checkins"] == 0
    assert (await bot.tick_at(t0 + AFTER * 5))["checkins"] == 0
    assert bot.standin.checkins() == []
    assert [s for s, _ in bot.followups(case.id)] == [CANCELLED]


async def test_a_double_click_on_mark_all_resolved_changes_nothing_the_second_time(start_bot):
    nine = utc(2026, 3, 2, 14, 0)
    bot = await start_bot(now=nine - timedelta(hours=1), DIGEST_CHANNEL=DIGEST_CHANNEL, DIGEST_TZ="America/New_York")
    await bot.mention('Bill "BILL-1001" has not been exported to QuickBooks')
    await bot.mention('Bill "BILL-1002" has not been exported to QuickBooks')
    await bot.tick_at(nine)
    (digest,) = bot.standin.posts_to(DIGEST_CHANNEL)
    original = json.loads(json.dumps(bot.message(digest)))   # as Slack sends it in both clicks' payloads
    await bot.click_on(original, "syncmedic_digest_resolve", "bill_not_exported")
    await bot.click_on(original, "syncmedic_digest_resolve", "bill_not_exported")
    notes = [e["text"] for b in bot.message(digest)["blocks"] if b["type"] == "context" for e in b["elements"]]
    assert any("marked 2 open entries resolved" in n for n in notes), notes
    assert len(bot.standin.accepted("chat.update")) == 1
