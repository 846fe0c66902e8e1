"""Getting the answer out: rate limits, size rejections, crashes after the ack, refusals."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest

from bot.app import create_app
from bot.settings import Settings, SettingsError

from tests.slack.harness import BOT_TOKEN, CHANNEL, SIGNING_SECRET, BotClient, all_text, mention_event
from tests.support import Clock, RecordedSleep, SteppedSleep

pytestmark = pytest.mark.asyncio

BILL_ERROR = 'Error: Bill "BILL-7731" has not been exported to QuickBooks'
PLAIN_PREFIX = "(The full answer was too long for Slack, so here it is as plain text.)\n"


async def test_rate_limited_post_is_retried_after_retry_after_and_accepted_once(start_bot):
    pauses = RecordedSleep()
    bot = await start_bot(retry_sleep=pauses)
    bot.stub.rate_limit("chat.postMessage", times=1, retry_after=1)
    event = mention_event(BILL_ERROR)
    status, _ = await bot.event(event)
    await bot.drain()

    assert status == 200
    attempts = bot.stub.attempts("chat.postMessage")
    assert [(c.status, c.ok) for c in attempts] == [(429, False), (200, True)]
    assert len(pauses.delays) == 1 and 1 <= pauses.delays[0] < 2  # Retry-After, plus slack_sdk's jitter
    assert attempts[0].body == attempts[1].body  # the same message, sent again
    [post] = bot.stub.posts()
    assert post["thread_ts"] == event["ts"]
    assert post["metadata"]["event_payload"]["intent"] == "bill_not_exported"
    assert [e["status"] for e in bot.events()] == ["done"]
    [(reply_ref,)] = bot.sql("SELECT reply_ref FROM cases")
    assert reply_ref == attempts[1].response["ts"]


async def test_msg_too_long_falls_back_to_one_plain_text_post(bot: BotClient):
    bot.stub.fail("chat.postMessage", "msg_too_long")
    event = mention_event('<!channel> Bill "&lt;!channel&gt; R&amp;D-9" has not been exported to QuickBooks')
    await bot.event(event)
    await bot.drain()

    first, second = bot.stub.attempts("chat.postMessage")
    assert (first.ok, first.error, "blocks" in first.body) == (False, "msg_too_long", True)
    assert second.ok
    plain = second.body
    assert "blocks" not in plain
    assert plain["text"].startswith(PLAIN_PREFIX)
    assert len(plain["text"]) <= 3900
    assert (plain["channel"], plain["thread_ts"]) == (CHANNEL, event["ts"])
    [(case_id, reply_ref)] = bot.sql("SELECT id, reply_ref FROM cases")
    assert plain["metadata"] == {"event_type": "sync_diagnosis", "event_payload": {
        "case_id": case_id, "intent": "bill_not_exported", "confidence": 0.99, "delivery": event["ts"]}}
    assert reply_ref == second.response["ts"]
    # Plain text is still Slack mrkdwn: user text in it is escaped too.
    assert "<!" not in plain["text"]
    assert "&lt;!channel&gt; R&amp;D-9" in plain["text"]
    assert [e["status"] for e in bot.events()] == ["done"]


async def test_size_rejection_of_the_plain_text_too_is_not_retried_in_a_loop(bot: BotClient):
    bot.stub.fail("chat.postMessage", "msg_too_long", times=2)
    await bot.event(mention_event(BILL_ERROR))
    await bot.drain()

    assert [c.error for c in bot.stub.attempts("chat.postMessage")] == ["msg_too_long", "msg_too_long"]
    assert bot.stub.posts() == []


async def test_permanent_refusal_marks_the_event_failed_and_recovery_leaves_it(start_bot):
    clock = Clock()
    bot = await start_bot(clock=clock, EVENT_RETRY_AFTER="10s")
    bot.stub.fail("chat.postMessage", "channel_not_found")
    await bot.event(mention_event(BILL_ERROR))
    await bot.drain()

    assert [e["status"] for e in bot.events()] == ["failed"]
    assert bot.sql("SELECT count(*) FROM cases") == [(0,)]  # written before posting; nobody will see it
    clock.advance(timedelta(seconds=11))
    assert await bot.services.slack.recover() == 0
    assert len(bot.stub.attempts("chat.postMessage")) == 1


async def test_transient_refusal_is_answered_by_recovery(start_bot):
    clock = Clock()
    bot = await start_bot(clock=clock, EVENT_RETRY_AFTER="10s")
    bot.stub.fail("chat.postMessage", "internal_error")
    event = mention_event(BILL_ERROR)
    await bot.event(event)
    await bot.drain()
    assert [e["status"] for e in bot.events()] == ["received"]
    [(case_id,)] = bot.sql("SELECT id FROM cases")   # written before the post Slack refused

    assert await bot.services.slack.recover() == 0   # not before EVENT_RETRY_AFTER
    clock.advance(timedelta(seconds=11))
    assert await bot.services.slack.recover() == 1
    await bot.drain()

    [post] = bot.stub.posts()
    assert post["thread_ts"] == event["ts"]
    assert post["metadata"]["event_payload"]["case_id"] == case_id   # the same case, not a second one
    assert bot.sql("SELECT id FROM cases") == [(case_id,)]
    assert len(bot.stub.attempts("conversations.replies")) == 1      # looked before posting again
    assert [e["status"] for e in bot.events()] == ["done"]


async def test_crash_after_the_ack_is_answered_once_by_recovery(start_bot):
    clock = Clock()
    bot = await start_bot(clock=clock, EVENT_RETRY_AFTER="10s")
    crashes = []

    async def crash_once(work):
        if not crashes:
            crashes.append(work)
            raise RuntimeError("process died after acknowledging")

    bot.services.slack.before_answer = crash_once
    event = mention_event(BILL_ERROR)
    status, _ = await bot.event(event)
    await bot.drain()

    assert status == 200
    assert bot.stub.attempts("chat.postMessage") == []
    [row] = bot.events()
    assert (row["status"], row["attempts"]) == ("received", 0)
    assert row["payload"]["text"] == BILL_ERROR  # kept so the work can be redone
    assert bot.sql("SELECT count(*) FROM cases") == [(0,)]
    # Slack retries the delivery meanwhile: still only recorded once, not answered twice.
    await bot.event(event, retry=1)
    await bot.drain()
    assert bot.stub.attempts("chat.postMessage") == []

    clock.advance(timedelta(seconds=11))
    assert await bot.services.slack.recover() == 1
    await bot.drain()

    [post] = bot.stub.posts()
    assert (post["channel"], post["thread_ts"]) == (CHANNEL, event["ts"])
    [(case_id,)] = bot.sql("SELECT id FROM cases")
    assert post["metadata"]["event_payload"] == {"case_id": case_id, "intent": "bill_not_exported",
                                                 "confidence": 0.99, "delivery": event["ts"]}
    [row] = bot.events()
    assert (row["status"], row["attempts"], row["payload"]) == ("done", 1, None)
    assert await bot.services.slack.recover() == 0
    assert len(bot.stub.attempts("chat.postMessage")) == 1


async def _held_behind_a_slow_first_message(bot: BotClient):
    """Two mentions, the second queued behind the first, whose answer is held at a gate (as
    when Slack holds a batch back with 429s). Returns (gate, first event, second event)."""
    import asyncio

    gate = asyncio.Event()
    first, second = mention_event(BILL_ERROR), mention_event("The account period has closed")

    async def hold_first(work):
        if work.ts == first["ts"]:
            await gate.wait()

    bot.services.slack.before_answer = hold_first
    assert (await bot.event(first))[0] == 200
    assert (await bot.event(second))[0] == 200
    return gate, first, second


async def test_a_message_held_longer_than_the_retry_delay_is_not_recovered_twice(start_bot):
    """Recovery answers what nobody holds; a live process renews what it holds, so a message
    waiting behind a slow one is answered once, by the process that holds it."""
    import asyncio

    clock = Clock()
    bot = await start_bot(EVENT_RETRY_AFTER="10s", clock=clock)
    renewals = bot.services.slack.leases.sleep = SteppedSleep()
    gate, first, second = await _held_behind_a_slow_first_message(bot)
    for _ in range(3):  # both wait far longer than the retry delay, renewed meanwhile
        clock.advance(timedelta(seconds=6))
        await renewals.step()
        assert await asyncio.wait_for(bot.services.slack.recover(), 2) == 0  # claims (and waits on) nothing
    assert renewals.delays[0] == pytest.approx(10 / 3)  # three renewals per EVENT_RETRY_AFTER
    gate.set()
    await bot.drain()
    assert sorted(p["thread_ts"] for p in bot.stub.posts()) == sorted([first["ts"], second["ts"]])
    assert [e["status"] for e in bot.events()] == ["done", "done"]


async def test_a_held_message_a_recovery_took_is_left_to_it(start_bot):
    import sqlalchemy as sa

    bot = await start_bot(EVENT_RETRY_AFTER="10s")
    renewals = bot.services.slack.leases.sleep = SteppedSleep()
    gate, first, second = await _held_behind_a_slow_first_message(bot)
    # Another process claims the queued message (what claim_unfinished_events does to a row).
    with bot.store.engine.begin() as conn:
        row = conn.execute(sa.text("UPDATE events SET attempts = attempts + 1 WHERE message = :ts RETURNING id"),
                           {"ts": second["ts"]}).scalar_one()
    await renewals.step()  # a renewal: this process learns it lost that message
    gate.set()
    await bot.drain()
    assert [p["thread_ts"] for p in bot.stub.posts()] == [first["ts"]]  # the second is the other's to answer
    assert bot.sql("SELECT status, attempts FROM events WHERE id = :id", id=row) == [("received", 1)]


async def test_recovery_waits_for_event_retry_after(bot: BotClient):
    """With the default EVENT_RETRY_AFTER (60 s) a fresh unanswered event is not claimed yet:
    it may still be in the middle of being answered."""
    async def crash(work):
        raise RuntimeError("boom")

    bot.services.slack.before_answer = crash
    await bot.event(mention_event(BILL_ERROR))
    await bot.drain()

    assert await bot.services.slack.recover() == 0
    assert [e["status"] for e in bot.events()] == ["received"]


async def test_plain_text_fallback_keeps_user_mentions_inert(bot: BotClient):
    bot.stub.fail("chat.postMessage", "invalid_blocks")
    await bot.event(mention_event('<@U0MALLORY> Bill "&lt;@U0MALLORY&gt; X" has not been exported to QuickBooks'))
    await bot.drain()

    [plain] = bot.stub.posts()
    assert "<@U0MALLORY" not in all_text(plain)


async def test_http_mode_without_a_signing_secret_is_refused(tmp_path, core):
    from bot.core.storage.store import Store

    env = {"SLACK_BOT_TOKEN": BOT_TOKEN, "SYNCMEDIC_DATA_DIR": str(tmp_path),
           "DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"}
    settings = Settings.from_env(env)
    assert settings.slack_mode == "http"
    with pytest.raises(SettingsError, match="SLACK_SIGNING_SECRET"):
        settings.check_slack()
    with pytest.raises(SettingsError, match="SLACK_SIGNING_SECRET"):
        create_app(settings, core, Store.from_url(settings.database_url), background=False)


async def test_signing_secret_without_a_bot_token_is_refused(tmp_path):
    settings = Settings.from_env({"SLACK_SIGNING_SECRET": SIGNING_SECRET, "SYNCMEDIC_DATA_DIR": str(tmp_path)})
    with pytest.raises(SettingsError, match="SLACK_BOT_TOKEN"):
        settings.check_slack()


async def test_socket_mode_needs_no_signing_secret(tmp_path):
    settings = Settings.from_env({"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_APP_TOKEN": "xapp-1-A0APP001-1-abc",
                                  "SYNCMEDIC_DATA_DIR": str(tmp_path)})
    assert settings.slack_mode == "socket"
    settings.check_slack()


@pytest.mark.parametrize("value", ["0", "soon", "-1s", "5 minutes"])
async def test_event_retry_after_needs_a_number_and_a_unit(value: str):
    with pytest.raises(SettingsError, match="EVENT_RETRY_AFTER"):
        Settings.from_env({"EVENT_RETRY_AFTER": value})


@pytest.mark.parametrize("env", [{"EVENT_RETRY_AFTER": "0s"}, {"EVENT_RETRY_AFTER": "9s"},
                                 {"EVENT_RETRY_AFTER": "60s", "OUTBOUND_DEADLINE": "2m"}])
async def test_event_retry_after_shorter_than_the_outbound_deadline_is_refused(env: dict[str, str]):
    """A recovery sooner than a post can take would answer a reply still in flight again (with
    EVENT_RETRY_AFTER=0s, 6 of 20 messages were answered twice)."""
    with pytest.raises(SettingsError, match=r"EVENT_RETRY_AFTER=.* is shorter than OUTBOUND_DEADLINE"):
        Settings.from_env(env)


@pytest.mark.parametrize("value", ["0s", "soon", "10"])
async def test_outbound_deadline_needs_a_positive_duration(value: str):
    with pytest.raises(SettingsError, match="OUTBOUND_DEADLINE"):
        Settings.from_env({"OUTBOUND_DEADLINE": value})


async def test_outbound_deadline_reaches_every_web_api_call(start_bot):
    """The shared session (which slack_sdk does not give its own timeout) and the clients carry
    OUTBOUND_DEADLINE; defaults: 10 s, and EVENT_RETRY_AFTER 60 s."""
    assert (Settings.from_env({}).outbound_deadline, Settings.from_env({}).event_retry_after) == (
        timedelta(seconds=10), timedelta(seconds=60))
    bot = await start_bot(OUTBOUND_DEADLINE="4s", EVENT_RETRY_AFTER="4s")
    assert bot.services.http.timeout.total == 4
    assert bot.services.slack.clients.client.timeout == 4
    assert bot.services.slack.http().timeout.total == 4


async def test_a_database_error_after_posting_does_not_strand_queued_messages(bot: BotClient):
    import asyncio

    gate = asyncio.Event()
    first = mention_event(BILL_ERROR)

    async def hold_first(work):
        if work.ts == first["ts"]:
            await gate.wait()

    real_progress = bot.store.progress
    failures = []

    def progress_fails_once(**kwargs):
        if kwargs.get("answered") and not failures:
            failures.append(kwargs)
            raise RuntimeError("database connection lost")
        return real_progress(**kwargs)

    bot.services.slack.before_answer = hold_first
    bot.store.progress = progress_fails_once
    second = mention_event("The account period has closed and the account books cannot be updated")
    assert (await bot.event(first))[0] == 200
    assert (await bot.event(second))[0] == 200   # queued while the first batch is in flight
    gate.set()
    try:
        await bot.drain(timeout=3)
        stranded = False
    except asyncio.TimeoutError:
        stranded = True
    finally:
        # Un-wedge for teardown the way production would: a new message restarts the worker.
        await bot.event(mention_event("Reference number is not unique"))
        await bot.drain()

    assert failures, "the injected database error never happened"
    assert not stranded, "the second message waited for a third one to arrive"


async def test_while_another_process_holds_the_database_the_message_waits_on_the_database_thread(
        bot: BotClient, monkeypatch):
    import asyncio
    import fcntl
    import os
    import threading

    from bot.core.storage import sqlite
    from bot.core.storage.sqlite import write_lock_path

    queued, real_pause = threading.Event(), sqlite.pause

    def pause(seconds: float) -> None:  # a writer found the lock file taken and waits its turn
        queued.set()
        real_pause(seconds)

    monkeypatch.setattr(sqlite, "pause", pause)
    # Another process is writing: the edge must not block its event loop on the lock.
    lock = os.open(write_lock_path(bot.services.settings.database_url), os.O_RDWR | os.O_CREAT)
    fcntl.flock(lock, fcntl.LOCK_EX)
    try:
        event = mention_event(BILL_ERROR)
        delivery = asyncio.ensure_future(bot.event(event))
        assert await asyncio.to_thread(queued.wait, 10), "the message never queued for the lock"
        assert not delivery.done(), "acknowledged before the message was recorded"
        # The event loop still serves meanwhile (an unsigned request is refused without the database).
        refused = await asyncio.wait_for(bot.session.post(bot.base + "/slack/events", data=b"{}"), 2)
        assert refused.status == 401
    finally:
        fcntl.flock(lock, fcntl.LOCK_UN)
        os.close(lock)
    status, _ = await asyncio.wait_for(delivery, 10)
    await bot.drain()
    assert status == 200
    [post] = bot.stub.posts()
    assert post["thread_ts"] == event["ts"]
    assert [e["status"] for e in bot.events()] == ["done"]


@pytest.mark.parametrize("level", ["INFO", "WARNING", "DEBUG"])
async def test_the_web_api_client_logs_at_the_apps_level_so_replies_are_not_formatted_for_debug(start_bot, level):
    """slack_sdk formats a DEBUG line holding the whole request on every call unless its
    logger's own level is above DEBUG (NOTSET counts as DEBUG there)."""
    bot = await start_bot(LOG_LEVEL=level)
    client = bot.services.slack.clients.client
    assert client.logger.level == getattr(logging, level)
    assert bot.services.bolt.client.logger is client.logger  # bolt's per-request clients use it too


async def test_drain_returns_when_a_click_task_finished_before_its_callbacks_ran(bot: BotClient):
    """The state that made drain() (and close()) spin at 100% CPU: a spawned task is done, but
    the loop has not yet run the callbacks its end scheduled."""
    import asyncio

    from tests.support import alarm

    async def quick() -> None:
        return None

    bot.services.slack.spawn(quick())
    await asyncio.sleep(0)  # quick() has run to its end; what its end scheduled runs after us
    with alarm(2):
        await bot.services.slack.drain()
