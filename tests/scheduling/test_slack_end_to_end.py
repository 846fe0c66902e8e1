"""Check-ins and the digest end to end over real HTTP: the aiohttp + bolt app on 127.0.0.1, a
local stand-in for Slack's Web API, signed Events API and block_actions requests, and time
travel through the clock injected into create_app (the scheduler's tick is called directly)."""

from __future__ import annotations

import json
from zoneinfo import ZoneInfo
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

    async def pick_in_menu(self, message: dict[str, Any], option: str) -> None:
        status, body = await self.menu(message["ts"], option, message=message)
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
    assert body["text"] == f"Checking in: is it fixed now? {title}"
    assert body["blocks"][0]["text"]["text"] == f"Checking in on this sync problem:\n*{title}*\nIs it fixed now?"
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
    assert not [b for b in update["blocks"] if b["type"] == "actions"]
    # When it comes back, in the one format every note uses, from the bot's clock and the user's zone.
    assert update["text"] == update["blocks"][-1]["elements"][0]["text"] == (
        f"Snoozed by <@{ALICE}>: I will ask again today at 14:05 (America/New_York).")
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


async def test_digest_posted_at_digest_time_and_its_menus(start_bot):
    nine = utc(2026, 3, 2, 14, 0)   # Mon 09:00 EST
    bot = await start_bot(now=nine - timedelta(hours=1), DIGEST_CHANNEL=DIGEST_CHANNEL, DIGEST_TIME="09:00",
                          DIGEST_TZ="America/New_York")
    first = bot.case_in(await bot.mention('Bill "BILL-1001" has not been exported to QuickBooks'))
    second = bot.case_in(await bot.mention('Bill "BILL-1002" has not been exported to QuickBooks'))
    with bot.store.session() as s:
        for i in range(3):
            s.add(SyncErrorRow(kind="Sale", reference=f"SO-{i}", intent="product_not_exported", message="x",
                               first_seen=nine - timedelta(days=3), last_seen=nine,
                               entities={"product": f"Oak Table {i}", "order": f"SO-{i}"}))
    assert (await bot.tick_at(nine - timedelta(minutes=1)))["digests"] == 0
    assert bot.standin.posts_to(DIGEST_CHANNEL) == []
    assert (await bot.tick_at(nine))["digests"] == 1
    (digest,) = bot.standin.posts_to(DIGEST_CHANNEL)
    assert digest["text"] == "Sync errors still open: 5 (2 new, 0 fixed)" and "thread_ts" not in digest
    header = digest["blocks"][0]
    assert (header["type"], header["text"]["text"]) == ("header", "Sync errors still open: 5")
    sections = [b["text"]["text"] for b in digest["blocks"] if b["type"] == "section"]
    assert len(sections) == 2
    # What each entry is: the product an order names; who asked, and how their question starts.
    assert "3 open" in sections[0] and "• Sale SO-0: Oak Table 0\n• Sale SO-1: Oak Table 1" in sections[0]
    assert "2 open" in sections[1] and f"• <@{ALICE}> asked “Bill \"BILL-1001\" has not been exported to" in sections[1]
    assert not [b for b in digest["blocks"] if b["type"] == "actions"]
    # Ticking on through the day posts no second digest.
    for minutes in (1, 30, 120):
        assert (await bot.tick_at(nine + timedelta(minutes=minutes)))["digests"] == 0

    message = bot.message(digest)
    await bot.pick_in_menu(message, "resolve:bill_not_exported")
    assert {bot.store.get_case(c.id).status for c in (first, second)} == {RESOLVED}
    with bot.store.session() as s:
        assert set(s.execute(select(SyncErrorRow.status)).scalars()) == {OPEN}   # other causes untouched
    (update,) = bot.standin.accepted("chat.update")
    assert update["ts"] == message["ts"] and update["channel"] == DIGEST_CHANNEL
    # In place: the header recounted (the window still starts where the digest's did), the
    # group cut to its title with the note under it, the other group's menu still there.
    assert update["blocks"][0]["text"]["text"] == "Sync errors still open: 3"
    assert update["blocks"][1]["elements"][0]["text"].startswith("*2* new, *2* fixed in the last day")
    group = next(i for i, b in enumerate(update["blocks"]) if b.get("block_id") == "syncmedic_digest:bill_not_exported")
    assert "accessory" not in update["blocks"][group] and "\n" not in update["blocks"][group]["text"]["text"]
    assert update["blocks"][group + 1]["elements"][0]["text"] == f"<@{ALICE}> marked 2 entries resolved."
    assert [b["block_id"] for b in update["blocks"] if "accessory" in b] == ["syncmedic_digest:product_not_exported"]
    # The resolved cases get no check-in.
    assert (await bot.tick_at(nine + AFTER))["checkins"] == 0
    assert bot.standin.checkins() == []

    # "Show the fix" answers in the digest's thread and says so under the group.
    message = bot.standin.messages[update["ts"]]
    await bot.pick_in_menu(message, "fix:product_not_exported")
    steps = [p for p in bot.standin.posts() if p.get("thread_ts") == message["ts"]]
    assert len(steps) == 1 and steps[0]["channel"] == DIGEST_CHANNEL
    notes = [e["text"] for b in bot.standin.messages[update["ts"]]["blocks"]
             if b.get("block_id") == "syncmedic_digest_note:product_not_exported" for e in b["elements"]]
    assert notes == [f"<@{ALICE}> asked for the fix: it is in this message's thread."]

    # Snooze a day: out of tomorrow's digest, back the day after.
    await bot.pick_in_menu(bot.standin.messages[update["ts"]], "snooze:product_not_exported")
    snoozed = bot.standin.accepted("chat.update")[-1]
    assert snoozed["blocks"][1]["elements"][0]["text"].endswith("Snoozed for a day: "
                                                                f"{bot.services.core.catalog.title('product_not_exported')} (3)")
    note = next(b for b in snoozed["blocks"] if b.get("block_id") == "syncmedic_digest_note:product_not_exported")
    # in the one format every note uses, in DIGEST_TZ: this time tomorrow
    back = (bot.clock.now + timedelta(days=1)).astimezone(ZoneInfo(bot.services.settings.digest_tz))
    assert note["elements"][0]["text"] == (
        f"Snoozed by <@{ALICE}>: left out of the digest until tomorrow at {back:%H:%M}.")
    assert (await bot.tick_at(nine + timedelta(days=1)))["digests"] == 1
    tuesday = bot.standin.posts_to(DIGEST_CHANNEL)[-1]
    assert tuesday["text"].startswith("Sync errors still open: 3")
    assert not [b for b in tuesday["blocks"] if b["type"] == "section"]   # the one group is snoozed
    assert (await bot.tick_at(nine + timedelta(days=2)))["digests"] == 1
    wednesday = bot.standin.posts_to(DIGEST_CHANNEL)[-1]
    assert [b["block_id"] for b in wednesday["blocks"] if b["type"] == "section"] == [
        "syncmedic_digest:product_not_exported"]


async def test_a_digest_too_long_for_slack_goes_out_with_the_rest_in_its_thread(start_bot):
    """22+ groups with long references passed 20,000 characters of block text: Slack refused
    it (msg_blocks_too_long) and the scheduler tried again all day. Now it fits, and the
    groups that do not are replies in its thread."""
    nine = utc(2026, 3, 2, 14, 0)
    bot = await start_bot(now=nine - timedelta(hours=1), DIGEST_CHANNEL=DIGEST_CHANNEL, DIGEST_TZ="America/New_York")
    intents = [i.id for i in bot.services.core.catalog.problems]
    with bot.store.session() as s:
        for n, intent in enumerate(intents):
            for i in range(6):
                s.add(SyncErrorRow(kind="Sale", reference=f"SO-{n:02d}{i}-" + "X" * 90, intent=intent, message="x",
                                   first_seen=nine - timedelta(days=2, minutes=n), last_seen=nine,
                                   entities={"product": "Hand-thrown stoneware mug, speckled glaze " * 2}))
    assert (await bot.tick_at(nine))["digests"] == 1
    assert (await bot.tick_at(nine + timedelta(minutes=5)))["digests"] == 0       # not retried: it went out
    posts = bot.standin.posts_to(DIGEST_CHANNEL)
    main, replies = posts[0], posts[1:]
    assert not [c for c in bot.standin.attempts("chat.postMessage") if not c.ok]  # Slack refused nothing
    main_ts = next(c.response["ts"] for c in bot.standin.attempts("chat.postMessage") if c.body is main)
    assert replies and all(r["thread_ts"] == main_ts for r in replies)
    shown = [b["block_id"] for b in main["blocks"] if b["type"] == "section"]
    in_thread = [b["block_id"] for r in replies for b in r["blocks"] if b["type"] == "section"]
    assert sorted(shown + in_thread) == sorted(f"syncmedic_digest:{i}" for i in intents)  # every group, once
    more = next(b for b in main["blocks"] if b.get("block_id") == "syncmedic_digest_more")
    assert more["elements"][0]["text"] == (f"And {len(in_thread)} more causes ({len(in_thread) * 6} entries) "
                                           "are listed in this message's thread.")
    assert "python -m bot" not in json.dumps(posts)     # nothing channel members cannot run


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


async def test_a_second_mark_resolved_on_the_same_digest_says_why_in_place(start_bot):
    nine = utc(2026, 3, 2, 14, 0)
    bot = await start_bot(now=nine - timedelta(hours=1), DIGEST_CHANNEL=DIGEST_CHANNEL, DIGEST_TZ="America/New_York")
    await bot.mention('Bill "BILL-1001" has not been exported to QuickBooks')
    await bot.mention('Bill "BILL-1002" has not been exported to QuickBooks')
    await bot.tick_at(nine)
    (digest,) = bot.standin.posts_to(DIGEST_CHANNEL)
    original = json.loads(json.dumps(bot.message(digest)))   # as Slack sends it in both clicks' payloads
    await bot.pick_in_menu(original, "resolve:bill_not_exported")
    await bot.pick_in_menu(original, "resolve:bill_not_exported")
    first, second = bot.standin.accepted("chat.update")
    note = "syncmedic_digest_note:bill_not_exported"
    said = [next(e["text"] for b in u["blocks"] if b.get("block_id") == note for e in b["elements"])
            for u in (first, second)]
    assert said == [f"<@{ALICE}> marked 2 entries resolved.",
                    "Nothing in this group is open any more, so there was nothing to mark resolved."]
    assert second["blocks"][0]["text"]["text"] == "*Daily sync check:* nothing is waiting. Every sync error I know " \
        "about has been fixed. (2 fixed in the last day.)"


async def test_a_digest_posted_before_the_menus_keeps_its_buttons_working(start_bot):
    nine = utc(2026, 3, 2, 14, 0)
    bot = await start_bot(now=nine - timedelta(hours=1), DIGEST_CHANNEL=DIGEST_CHANNEL, DIGEST_TZ="America/New_York")
    await bot.mention('Bill "BILL-1001" has not been exported to QuickBooks')
    old = {"channel": DIGEST_CHANNEL, "ts": "1772460000.000100", "text": "Sync errors still open: 1", "blocks": [
        {"type": "header", "text": {"type": "plain_text", "text": "Sync errors still open: 1"}},
        {"type": "section", "text": {"type": "mrkdwn", "text": "*Bill*: 1 open"}},
        {"type": "actions", "block_id": "syncmedic_digest:bill_not_exported", "elements": [
            {"type": "button", "action_id": "syncmedic_digest_steps", "value": "bill_not_exported",
             "text": {"type": "plain_text", "text": "Show the fix"}},
            {"type": "button", "action_id": "syncmedic_digest_resolve", "value": "bill_not_exported",
             "text": {"type": "plain_text", "text": "Mark all resolved"}}]}]}
    await bot.click_on(old, "syncmedic_digest_resolve", "bill_not_exported")
    (update,) = bot.standin.accepted("chat.update")
    assert [b["type"] for b in update["blocks"]] == ["header", "section", "context"]
    assert update["blocks"][2]["elements"][0]["text"] == f"<@{ALICE}> marked 1 entry resolved."
