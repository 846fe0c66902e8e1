"""Delivery under the faults production brings, with real processes (issue 15, failures 1 and 3).

The bot runs as `python -m bot run` / `python -m bot scheduler` child processes; Slack's Web API
is the stand-in (tests/standins/slack.py) in a thread of this process, told to hang, to answer
slowly, or to throttle one channel. Processes are killed with SIGKILL at the worst moment: with
posts in flight. What must hold: a slow or hung conversation delays only itself; nothing is
answered, checked in on or digested twice; every reply's buttons point at a case that exists;
a dead clock's work is taken over within seconds, not minutes.
"""

from __future__ import annotations

import collections
import threading
import time
import urllib.request
from datetime import timedelta

from sqlalchemy import select, text

from bot.core.cases.followups import SENT
from bot.core.storage.store import Store
from bot.core.storage.tables import DigestRunRow, EventRow, FollowupRow

from tests.postgres import free_port
from tests.scheduling.helpers import BILL_TEXT, DIGEST_CHANNEL
from tests.scheduling.processes import bot_env, healthy, wait_for
from tests.standins.slack import SlackWebApi
from tests.standins.slack_payloads import BOT_TOKEN, SIGNING_SECRET, event_request, mention_event
from tests.support import served_in_thread

HUNG = "C0HUNG0001"
ERRORS = [BILL_TEXT, "The account period has closed and the account books cannot be updated",
          'Product "GRN-MUG-12" in "SO-00412" has not been exported to QuickBooks', "Reference number is not unique"]


def post_mention(port: int, text: str, ts: str, channel: str) -> float:
    """Deliver a signed mention; seconds until the acknowledgement (which must be 200)."""
    signed = event_request(mention_event(text, ts=ts, channel=channel))
    request = urllib.request.Request(f"http://127.0.0.1:{port}/slack/events", data=signed.body.encode(),
                                     method="POST", headers=signed.headers)
    started = time.monotonic()
    with urllib.request.urlopen(request, timeout=10) as resp:
        assert resp.status == 200
    return time.monotonic() - started


def diagnoses_in(standin: SlackWebApi, channel: str, thread: str) -> list[dict]:
    return [d for d in standin.diagnoses() if d.get("channel") == channel and d.get("thread_ts") == thread]


def test_a_hung_post_delays_only_its_own_conversation_and_is_answered_once(tmp_path, data_dir, procs):
    """Failure 1: a chat.postMessage that never answers (Slack posted it, the answer never
    comes). Other conversations are acknowledged and answered at once; the hung one is given
    up after OUTBOUND_DEADLINE, found in its thread, and not answered a second time."""
    db = f"sqlite:///{tmp_path / 'hung.db'}"
    reader = Store.from_url(db)
    with served_in_thread(SlackWebApi()) as standin:
        standin.hang("chat.postMessage", channel=HUNG)
        port = free_port()
        env = bot_env(data_dir, SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_SIGNING_SECRET=SIGNING_SECRET,
                      SLACK_API_BASE_URL=standin.api_url, PORT=str(port), HOST="127.0.0.1", DATABASE_URL=db,
                      SCHEDULER="off", OUTBOUND_DEADLINE="2s", EVENT_RETRY_AFTER="4s")
        bot = procs(["run"], env, tmp_path / "run.log")
        wait_for(lambda: healthy(port), 30, "/healthz", bot)

        hung_ts = "1772100000.000001"
        post_mention(port, BILL_TEXT, hung_ts, HUNG)
        wait_for(lambda: standin.attempts("chat.postMessage"), 10, "the post that hangs", bot)

        others = [(f"C0OTHER{n:03d}", f"1772100001.{n:06d}") for n in range(6)]
        sent_at, acks = {}, []
        for n, (channel, ts) in enumerate(others):
            sent_at[ts] = time.monotonic()
            acks.append(post_mention(port, ERRORS[n % len(ERRORS)], ts, channel))
        assert max(acks) < 1.0, acks
        wait_for(lambda: all(diagnoses_in(standin, c, ts) for c, ts in others), 1.5,
                 "the other conversations' answers while one post hangs", bot)
        answered = {c.body["thread_ts"]: c.at for c in standin.attempts("chat.postMessage") if c.ok}
        assert all(answered[ts] - time.time() + time.monotonic() - sent_at[ts] < 1.5 for _, ts in others)

        def done() -> bool:
            with reader.session() as s:
                return set(s.execute(select(EventRow.status)).scalars()) == {"done"}

        # Given up after OUTBOUND_DEADLINE, then found in its thread (Slack did post it).
        wait_for(done, 15, "every event to be done, the hung one included", bot)
        time.sleep(4.5)  # past EVENT_RETRY_AFTER: a recovery would answer it again now
        [reply] = diagnoses_in(standin, HUNG, hung_ts)
        assert len(standin.attempts("chat.postMessage")) == 1 + len(others)
        case_id = reply["metadata"]["event_payload"]["case_id"]
        [(reply_ref,)] = reader.engine.connect().execute(text("SELECT reply_ref FROM cases WHERE id = :id"),
                                                         {"id": case_id}).all()
        assert reply_ref == next(ts for ts, m in standin.messages.items() if m.get("thread_ts") == hung_ts)
        assert "Traceback" not in bot.output(), bot.output()
    reader.engine.dispose()


def test_kill_9_of_a_web_process_and_a_clock_with_slow_slack_answers_nothing_twice(tmp_path, data_dir, procs,
                                                                                     fresh_postgres):
    """Failure 3: Slack takes 1.5 s per post; two web processes and two clocks on PostgreSQL;
    one of each is killed with posts in flight. No message is answered twice, no reply's
    buttons point at a case never written, no check-in is sent twice, none is minutes late."""
    store = Store.from_url(fresh_postgres)   # migrated before the processes start
    web_tokens, clock_tokens = [BOT_TOKEN + "-web0", BOT_TOKEN + "-web1"], [BOT_TOKEN + "-clock0", BOT_TOKEN + "-clock1"]
    with served_in_thread(SlackWebApi(delay=1.5, tokens=(*web_tokens, *clock_tokens))) as standin:
        common = dict(SLACK_SIGNING_SECRET=SIGNING_SECRET, SLACK_API_BASE_URL=standin.api_url, HOST="127.0.0.1",
                      DATABASE_URL=fresh_postgres, SCHEDULER="off", OUTBOUND_DEADLINE="3s", EVENT_RETRY_AFTER="5s",
                      FOLLOWUP_AFTER="8s", SCHEDULER_INTERVAL="1s")
        ports = [free_port(), free_port()]
        webs = [procs(["run"], bot_env(data_dir, SLACK_BOT_TOKEN=web_tokens[i], PORT=str(ports[i]), **common),
                      tmp_path / f"web{i}.log") for i in range(2)]
        clocks = [procs(["scheduler"], bot_env(data_dir, SLACK_BOT_TOKEN=clock_tokens[i], **common),
                        tmp_path / f"clock{i}.log") for i in range(2)]
        for i, web in enumerate(webs):
            wait_for(lambda i=i: healthy(ports[i]), 60, f"/healthz of web process {i}", web)
        for clock in clocks:
            wait_for(lambda c=clock: "scheduler running" in c.output(), 60, "the clock to start", clock)

        # 60 messages in 20 channels; the even channels' go to web 0, the odd ones' to web 1.
        messages = [(f"C0CHAN{n % 20:04d}", f"1772200000.{n:06d}") for n in range(60)]
        errors: list[BaseException] = []

        def deliver(n: int, channel: str, ts: str) -> None:
            try:
                post_mention(ports[n % 2], ERRORS[n % len(ERRORS)], ts, channel)
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        senders = [threading.Thread(target=deliver, args=(n, c, ts)) for n, (c, ts) in enumerate(messages)]
        for sender in senders:
            sender.start()
        for sender in senders:
            sender.join(timeout=30)
        assert not errors, errors

        def posts_by(token: str, event_type: str) -> list:
            return [c for c in standin.attempts("chat.postMessage")
                    if c.token == token and (c.body.get("metadata") or {}).get("event_type") == event_type]

        # Web 0 has answered its first reply in a channel; replies of its are in flight: kill it.
        wait_for(lambda: posts_by(web_tokens[0], "sync_diagnosis") and standin.in_flight("chat.postMessage",
                                                                                       web_tokens[0]),
                 20, "web 0's first replies, with more in flight", webs[0])
        webs[0].kill9()

        def answered_all() -> bool:
            with store.session() as s:
                return set(s.execute(select(EventRow.status)).scalars()) == {"done"}

        wait_for(answered_all, 60, "every message to be answered (web 1 recovering web 0's)", webs[1])

        # A clock has a check-in in flight (claimed, not yet answered by Slack): kill it.
        wait_for(lambda: any(standin.in_flight("chat.postMessage", token) for token in clock_tokens), 60,
                 "a check-in in flight", clocks[0])
        victim = 0 if standin.in_flight("chat.postMessage", clock_tokens[0]) else 1
        clocks[victim].kill9()

        def checked_in() -> bool:
            with store.session() as s:
                rows = s.execute(select(FollowupRow.status)).scalars().all()
            return len(rows) == len(messages) and set(rows) == {SENT}

        wait_for(checked_in, 90, "every check-in to be sent", clocks[1 - victim])
        time.sleep(3)   # more ticks and recovery rounds: nothing more may arrive

        diagnoses = collections.Counter((d["channel"], d["thread_ts"]) for d in standin.diagnoses())
        assert set(diagnoses) == set(messages)
        assert set(diagnoses.values()) == {1}, [k for k, n in diagnoses.items() if n > 1]
        with store.session() as s:
            written = set(s.execute(text("SELECT id FROM cases")).scalars())
            events = s.execute(select(EventRow.message, EventRow.attempts)).all()
            followups = s.execute(select(FollowupRow.case_id, FollowupRow.due_at, FollowupRow.sent_at,
                                         FollowupRow.attempts)).all()
        assert {d["metadata"]["event_payload"]["case_id"] for d in standin.diagnoses()} == written
        assert len(written) == len(messages)
        # Web 0's replies in flight at the kill reached Slack and were adopted by web 1's recovery.
        recovered = {ts for ts, attempts in events if attempts >= 1}
        adopted = [c for c in posts_by(web_tokens[0], "sync_diagnosis") if c.body["thread_ts"] in recovered]
        assert adopted, "no reply was in flight when web 0 was killed: the test proved nothing"

        checkins = collections.Counter(c["metadata"]["event_payload"]["case_id"] for c in standin.checkins())
        assert set(checkins) == written and set(checkins.values()) == {1}
        late = [sent - due for _, due, sent, _ in followups if sent - due > timedelta(seconds=40)]
        assert not late, late
        taken_over = {case_id for case_id, _, _, attempts in followups if attempts >= 2}
        assert taken_over, "the killed clock held no claim: the test proved nothing"
        for web in webs[1:] + [clocks[1 - victim]]:
            assert "Traceback" not in web.output(), web.output()
    store.engine.dispose()


def test_the_digest_is_not_posted_twice_when_its_clock_dies_mid_post(tmp_path, data_dir, procs):
    """Failure 3, SQLite: the clock dies while its digest post is in flight (Slack took it);
    the next clock takes the claim over after EVENT_RETRY_AFTER, finds the post and adopts it."""
    db = f"sqlite:///{tmp_path / 'digest.db'}"
    store = Store.from_url(db)
    with served_in_thread(SlackWebApi()) as standin:
        standin.hang("chat.postMessage", channel=DIGEST_CHANNEL)
        env = bot_env(data_dir, SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_SIGNING_SECRET=SIGNING_SECRET,
                      SLACK_API_BASE_URL=standin.api_url, DATABASE_URL=db, DIGEST_CHANNEL=DIGEST_CHANNEL,
                      DIGEST_TIME="00:00", DIGEST_DAYS="Mon-Sun", DIGEST_TZ="UTC", SCHEDULER_INTERVAL="1s",
                      OUTBOUND_DEADLINE="3s", EVENT_RETRY_AFTER="3s")
        first = procs(["scheduler"], env, tmp_path / "clock1.log")
        wait_for(lambda: standin.posts_to(DIGEST_CHANNEL), 60, "the digest post", first)
        first.kill9()   # mid-post: Slack has the digest, the clock never heard back
        started = time.monotonic()
        second = procs(["scheduler"], env, tmp_path / "clock2.log")

        def posted() -> bool:
            with store.session() as s:
                return s.execute(select(DigestRunRow.status)).scalars().all() == ["posted"]

        wait_for(posted, 30, "the second clock to finish the digest", second)
        assert time.monotonic() - started < 20
        time.sleep(2)
        assert len(standin.posts_to(DIGEST_CHANNEL)) == 1
        assert [c.body["channel"] for c in standin.attempts("conversations.history")] == [DIGEST_CHANNEL]
        assert "Traceback" not in second.output(), second.output()
    store.engine.dispose()
