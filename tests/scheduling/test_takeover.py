"""A clock that dies mid-post: its claim is taken over within EVENT_RETRY_AFTER, and the post
it may have made is looked for and adopted, never made twice (issue 15, failure 3).

In-process, over real HTTP to the Slack stand-in, with the test's clock: the first clock's
post hangs (Slack took it, the answer never comes) and its tick is cancelled there, as a kill
would stop it; a second clock on the same database ticks later. The process-level versions
(kill -9, PostgreSQL and SQLite) are in tests/scheduling/test_faults.py.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, AsyncIterator, Awaitable, Callable

import pytest_asyncio
from sqlalchemy import select

from bot.core.cases.followups import SENT, Followups
from bot.core.schedule.clockwork import Clockwork
from bot.core.storage.tables import DigestRunRow, FollowupRow

from tests.scheduling.helpers import BILL_TEXT, DIGEST_CHANNEL
from tests.slack.harness import BotClient, mention_event, start_slack_bot
from tests.standins.slack import SlackWebApi
from tests.support import Clock, ServedApps

MONDAY_9_NY = datetime(2026, 3, 2, 14, 0, tzinfo=timezone.utc)
LEASE = timedelta(seconds=60)   # EVENT_RETRY_AFTER's default


@pytest_asyncio.fixture
async def start_bot(tmp_path: Path, core, data_dir) -> AsyncIterator[Callable[..., Awaitable[BotClient]]]:
    served = ServedApps()

    async def start(**env: str) -> BotClient:
        standin = SlackWebApi()
        await standin.start()
        served.on_close(standin.stop)
        clock = Clock(MONDAY_9_NY - timedelta(hours=5))
        bot = await start_slack_bot(served, core, data_dir, f"sqlite:///{tmp_path / 'takeover.db'}", standin=standin,
                                    clock=clock, FOLLOWUP_AFTER="4h", **env)
        bot.clock = clock  # type: ignore[attr-defined]
        return bot

    yield start
    await served.close()


def second_clock(bot: BotClient) -> Clockwork:
    """Another clock process's scheduler on the same database (its own claims, same Slack)."""
    services = bot.services
    first = services.clockwork
    assert first is not None
    followups = Followups(services.store, first.followups.after, claim_lease=LEASE)
    return Clockwork(services.store, first.catalog, followups, services.notifiers(), digest=first.digest,
                     clock=first.clock)


async def dies_mid_post(bot: BotClient, posted: Callable[[], Any]) -> None:
    """Tick the bot's own clock until `posted()` shows its post reached Slack (and hangs), then
    stop that clock there, as a kill -9 would (its claims are no longer renewed)."""
    clockwork = bot.services.clockwork
    assert clockwork is not None
    tick = asyncio.ensure_future(clockwork.tick())
    await bot.stub.until(posted)
    await clockwork.close()
    tick.cancel()
    await asyncio.gather(tick, return_exceptions=True)


async def test_a_checkin_whose_clock_died_mid_post_is_taken_over_promptly_and_not_sent_twice(start_bot):
    bot = await start_bot()
    event = mention_event(BILL_TEXT)
    await bot.event(event)
    await bot.drain()
    clock: Clock = bot.clock  # type: ignore[attr-defined]
    clock.advance(timedelta(hours=4))
    bot.stub.hang("chat.postMessage")
    await dies_mid_post(bot, lambda: bot.stub.checkins())
    [checkin] = [m for m in bot.stub.messages.values() if (m.get("metadata") or {}).get("event_type") == "sync_checkin"]

    other = second_clock(bot)
    clock.advance(LEASE - timedelta(seconds=1))
    assert (await other.tick())["checkins"] == 0          # the dead clock's claim has not run out yet
    clock.advance(timedelta(seconds=2))
    assert (await other.tick())["checkins"] == 1          # taken over, looked for, adopted
    assert len(bot.stub.checkins()) == 1
    assert [c.body["ts"] for c in bot.stub.attempts("conversations.replies")] == [event["ts"]]
    with bot.store.session() as s:
        [(status, ref)] = s.execute(select(FollowupRow.status, FollowupRow.ref)).all()
    assert (status, ref) == (SENT, checkin["ts"])
    clock.advance(timedelta(minutes=10))
    assert (await other.tick())["checkins"] == 0
    assert len(bot.stub.checkins()) == 1


async def test_a_digest_whose_clock_died_mid_post_is_not_posted_twice(start_bot):
    bot = await start_bot(DIGEST_CHANNEL=DIGEST_CHANNEL, DIGEST_TIME="09:00", DIGEST_TZ="America/New_York")
    clock: Clock = bot.clock  # type: ignore[attr-defined]
    clock.set(MONDAY_9_NY)
    bot.stub.hang("chat.postMessage", channel=DIGEST_CHANNEL)
    await dies_mid_post(bot, lambda: bot.stub.posts_to(DIGEST_CHANNEL))

    other = second_clock(bot)
    clock.advance(LEASE - timedelta(seconds=1))
    assert (await other.tick())["digests"] == 0
    clock.advance(timedelta(seconds=2))
    await other.tick()                                    # taken over, looked for, adopted
    clock.advance(timedelta(minutes=11))                  # (the old claim timeout was 10 minutes)
    await other.tick()
    assert len(bot.stub.posts_to(DIGEST_CHANNEL)) == 1
    [looked] = bot.stub.attempts("conversations.history")
    assert looked.body["channel"] == DIGEST_CHANNEL
    with bot.store.session() as s:
        assert s.execute(select(DigestRunRow.status)).scalars().all() == ["posted"]
