"""Delivery when Slack's Web API misbehaves, in-process (issue 15, failures 2 and 10's first
item; the process-level ones are tests/scheduling/test_faults.py).

A throttled or hung conversation holds only itself; Retry-After is honoured per channel and
capped; a case exists before its reply is posted; a reply that reached Slack is found and
adopted instead of posted again; a Web API that keeps failing ends the event in a final state
with one log line. Pauses go through injected sleeps: nothing here waits in real time.
"""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest

from bot.slack.clients import RETRY_AFTER_CAP_S

from tests.slack.harness import ALICE, BotClient, mention_event
from tests.support import Clock, SteppedSleep

pytestmark = pytest.mark.asyncio

BILL_ERROR = 'Error: Bill "BILL-7731" has not been exported to QuickBooks'
PERIOD_CLOSED = "The account period has closed and the account books cannot be updated"
BUSY = "C0BUSY0001"


def replies_to(bot: BotClient, event: dict) -> list[dict]:
    """What Slack shows in the event's thread from the bot (posted, whether or not answered)."""
    return [m for m in bot.stub.messages.values()
            if m.get("channel") == event["channel"] and m.get("thread_ts") == event["ts"]]


async def test_a_throttled_channel_does_not_hold_up_the_others(start_bot):
    """Failure 2: a 429 with Retry-After: 10 in one channel. The other channels are answered
    while it waits; the throttled channel's next message waits behind its first, in order."""
    throttled = SteppedSleep()
    bot = await start_bot(retry_sleep=throttled)
    bot.stub.rate_limit("chat.postMessage", retry_after=10, channel=BUSY)
    first, second = mention_event(BILL_ERROR, channel=BUSY), mention_event(PERIOD_CLOSED, channel=BUSY)
    assert (await bot.event(first))[0] == 200
    await throttled.asleep()   # waiting out Retry-After (for as long as the test likes)
    assert (await bot.event(second))[0] == 200
    others = [mention_event(BILL_ERROR if n % 2 else PERIOD_CLOSED, channel=f"C0QUIET{n:03d}") for n in range(5)]
    for event in others:
        assert (await bot.event(event))[0] == 200
    await bot.stub.until(lambda: all(replies_to(bot, e) for e in others), timeout=5)
    assert not replies_to(bot, first) and not replies_to(bot, second)
    [delay] = throttled.delays
    assert 10 <= delay < 11   # Retry-After, plus up to a second of jitter
    throttled.wake()
    await bot.drain()
    busy = [c.body["thread_ts"] for c in bot.stub.attempts("chat.postMessage")
            if c.ok and c.body["channel"] == BUSY]
    assert busy == [first["ts"], second["ts"]]
    assert [e["status"] for e in bot.events()] == ["done"] * 7


async def test_retry_after_is_capped(start_bot):
    throttled = SteppedSleep()
    bot = await start_bot(retry_sleep=throttled)
    bot.stub.rate_limit("chat.postMessage", retry_after=3600, channel=BUSY)
    event = mention_event(BILL_ERROR, channel=BUSY)
    await bot.event(event)
    await throttled.asleep()
    [delay] = throttled.delays
    assert RETRY_AFTER_CAP_S <= delay < RETRY_AFTER_CAP_S + 1
    throttled.wake()
    await bot.drain()
    assert len(replies_to(bot, event)) == 1


async def test_a_hung_post_holds_only_its_channel_and_its_case_already_exists(bot: BotClient):
    """Failure 1, in-process: while one post hangs, other channels are answered; the hung
    reply's case and first check-in were written before it was posted, so its buttons work
    even before Slack answers."""
    bot.stub.hang("chat.postMessage", channel=BUSY)
    hung = mention_event(BILL_ERROR, channel=BUSY)
    assert (await bot.event(hung))[0] == 200
    await bot.stub.until(lambda: replies_to(bot, hung))   # posted by Slack, never answered
    others = [mention_event(PERIOD_CLOSED, channel=f"C0QUIET{n:03d}") for n in range(3)]
    for event in others:
        assert (await bot.event(event))[0] == 200
    await bot.stub.until(lambda: all(replies_to(bot, e) for e in others), timeout=5)

    [reply] = replies_to(bot, hung)
    case_id = reply["metadata"]["event_payload"]["case_id"]
    assert bot.sql("SELECT status FROM cases WHERE id = :id", id=case_id) == [("open",)]
    assert bot.sql("SELECT status FROM followups WHERE case_id = :id", id=case_id) == [("pending",)]
    assert (await bot.click(reply["ts"], "syncmedic_fixed"))[0] == 200
    await bot.stub.until(lambda: bot.stub.accepted("chat.update"))
    assert bot.sql("SELECT status FROM cases WHERE id = :id", id=case_id) == [("resolved",)]

    bot.stub.release()
    await bot.drain()
    assert len(replies_to(bot, hung)) == 1
    assert bot.sql("SELECT reply_ref FROM cases WHERE id = :id", id=case_id) == [(reply["ts"],)]
    assert [e["status"] for e in bot.events()] == ["done"] * 4


async def test_a_reply_that_reached_slack_is_adopted_by_recovery_not_posted_again(start_bot):
    """The process died after Slack took the reply and before the event was marked done (here:
    that write fails). Recovery looks in the thread, finds the reply by its metadata and adopts
    it; the case it points at is the one written before posting."""
    clock = Clock()
    bot = await start_bot(clock=clock, EVENT_RETRY_AFTER="10s")
    edge = bot.services.slack
    real, failures = edge.store.progress, []

    def progress_fails_once(*args, **kwargs):
        if kwargs.get("answered") and not failures:
            failures.append(1)
            raise RuntimeError("the process died here")
        return real(*args, **kwargs)

    edge.store.progress = progress_fails_once
    event = mention_event(BILL_ERROR)
    await bot.event(event)
    await bot.drain()
    assert failures and [e["status"] for e in bot.events()] == ["received"]
    [reply] = replies_to(bot, event)

    clock.advance(timedelta(seconds=11))
    assert await edge.recover() == 1
    await bot.drain()
    assert replies_to(bot, event) == [reply]
    assert len(bot.stub.attempts("chat.postMessage")) == 1
    [looked] = bot.stub.attempts("conversations.replies")
    assert (looked.body["channel"], looked.body["ts"]) == (event["channel"], event["ts"])
    case_id = reply["metadata"]["event_payload"]["case_id"]
    assert bot.sql("SELECT id, reply_ref FROM cases") == [(case_id, reply["ts"])]
    assert [(e["status"], e["attempts"]) for e in bot.events()] == [("done", 1)]


async def test_a_web_api_that_keeps_answering_500_ends_the_event_failed_with_one_line(start_bot, caplog):
    """Failure 10: chat.postMessage answers HTTP 500 every time. The event is tried a bounded
    number of times (by recovery, which looks first), then marked failed, and one log line
    says it was given up; the case nobody saw is dropped."""
    clock = Clock()
    bot = await start_bot(clock=clock, EVENT_RETRY_AFTER="10s")
    bot.stub.fail("chat.postMessage", "internal_error", times=1000, status=500)
    event = mention_event(BILL_ERROR)
    with caplog.at_level(logging.INFO):
        await bot.event(event)
        await bot.drain()
        for _ in range(10):
            clock.advance(timedelta(seconds=11))
            await bot.services.slack.recover()
            await bot.drain()
    [row] = bot.events()
    assert row["status"] == "failed"
    tries = len(bot.stub.attempts("chat.postMessage"))
    assert 2 <= tries <= 6
    given_up = [r for r in caplog.records if "gave up" in r.getMessage()]
    assert len(given_up) == 1, [r.getMessage() for r in caplog.records]
    assert given_up[0].levelno == logging.ERROR and event["ts"] in given_up[0].getMessage()
    assert bot.sql("SELECT count(*) FROM cases") == [(0,)]
    assert replies_to(bot, event) == []
    assert await bot.services.slack.recover() == 0


async def test_a_click_finds_its_case_while_its_reply_is_still_on_the_way(bot: BotClient):
    """The case is written before the reply is posted: a click on a reply Slack has shown but
    not yet confirmed to the bot changes the case at once (no waiting for a write)."""
    bot.stub.hang("chat.postMessage")
    event = mention_event(BILL_ERROR)
    await bot.event(event)
    await bot.stub.until(lambda: replies_to(bot, event))
    [reply] = replies_to(bot, event)
    await bot.click(reply["ts"], "syncmedic_still_failing", user=ALICE)
    await bot.stub.until(lambda: len(bot.stub.attempts("chat.postMessage")) == 2)
    case_id = reply["metadata"]["event_payload"]["case_id"]
    assert bot.sql("SELECT failing_count FROM cases WHERE id = :id", id=case_id) == [(1,)]
    bot.stub.release()
    await bot.drain()


async def test_messages_in_one_conversation_are_answered_in_order_and_recovery_keeps_its_hands_off(start_bot):
    """A slow conversation's queued messages are held (renewed) while they wait, so a recovery
    in any process leaves them to this one."""
    clock = Clock()
    bot = await start_bot(clock=clock, EVENT_RETRY_AFTER="10s")
    edge = bot.services.slack
    renewals = edge.leases.sleep = SteppedSleep()
    bot.stub.hang("chat.postMessage", channel=BUSY)
    events = [mention_event(BILL_ERROR, channel=BUSY), mention_event(PERIOD_CLOSED, channel=BUSY)]
    for event in events:
        await bot.event(event)
    await bot.stub.until(lambda: replies_to(bot, events[0]))
    for _ in range(3):   # both wait far longer than EVENT_RETRY_AFTER, renewed meanwhile
        clock.advance(timedelta(seconds=6))
        await renewals.step()
        assert await edge.recover() == 0
    bot.stub.release()
    await bot.drain()
    assert [c.body["thread_ts"] for c in bot.stub.attempts("chat.postMessage")] == [e["ts"] for e in events]
    assert [e["status"] for e in bot.events()] == ["done", "done"]
