"""Real processes: `python -m bot run` killed with SIGKILL and started again, and two
`python -m bot scheduler` processes on one PostgreSQL database. The Slack stand-in runs in a
background thread of the test process; the bot processes talk to it over HTTP.

Due check-ins live in the database, so a check-in survives a kill -9 and is sent exactly
once, and two schedulers never both send the same one.
"""

from __future__ import annotations

import collections
import time
from datetime import datetime, timedelta, timezone

from sqlalchemy import select

from bot.core.cases.followups import PENDING, SENT, Followups
from bot.core.storage.store import Store
from bot.core.storage.tables import EventRow, FollowupRow

from tests.postgres import free_port
from tests.scheduling.helpers import BILL_TEXT, open_case
from tests.standins.slack import SlackWebApi
from tests.standins.slack_payloads import BOT_TOKEN, CHANNEL, SIGNING_SECRET, TEAM
from tests.support import served_in_thread
from tests.scheduling.processes import bot_env, healthy, send_mention, wait_for

def test_a_checkin_survives_kill_9_and_arrives_exactly_once(tmp_path, data_dir, procs):
    db = f"sqlite:///{tmp_path / 'killed.db'}"
    reader = Store.from_url(db)   # created and migrated here; the bot processes find it ready
    with served_in_thread(SlackWebApi()) as standin:
        port = free_port()
        env = bot_env(data_dir, SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_SIGNING_SECRET=SIGNING_SECRET,
                      SLACK_API_BASE_URL=standin.api_url, PORT=str(port), HOST="127.0.0.1", DATABASE_URL=db,
                      FOLLOWUP_AFTER="3s", SCHEDULER_INTERVAL="1s")
        first = procs(["run"], env, tmp_path / "run1.log")
        wait_for(lambda: healthy(port), 30, "/healthz of the first process", first)

        thread = "1772000000.000001"
        send_mention(port, BILL_TEXT, thread)
        wait_for(lambda: standin.diagnoses(), 15, "the diagnosis", first)

        def answered() -> bool:
            with reader.session() as s:
                return s.execute(select(EventRow.status)).scalars().all() == ["done"]

        wait_for(answered, 5, "the event to be marked answered", first)
        case = reader.case_in_thread("slack", TEAM, CHANNEL, thread)
        assert case is not None
        (due_at,) = Followups(reader, timedelta(seconds=3)).pending_for(case.id)
        assert datetime.now(timezone.utc) < due_at, "the check-in fell due before the kill: the machine is too slow"

        first.kill9()   # before the check-in is due
        with reader.session() as s:
            assert s.execute(select(FollowupRow.status)).scalars().all() == [PENDING]
        assert standin.checkins() == []

        second = procs(["run"], env, tmp_path / "run2.log")
        wait_for(lambda: healthy(port), 30, "/healthz of the restarted process", second)
        wait_for(lambda: standin.checkins(), 15, "the check-in after the restart", second)
        time.sleep(4)   # four more scheduler ticks: nothing more may arrive
        checkins = standin.checkins()
        assert len(checkins) == 1, checkins
        assert checkins[0]["thread_ts"] == thread and checkins[0]["channel"] == CHANNEL
        assert checkins[0]["metadata"]["event_payload"]["case_id"] == case.id
        assert len(standin.diagnoses()) == 1
        with reader.session() as s:
            assert s.execute(select(FollowupRow.status)).scalars().all() == [SENT]
    reader.engine.dispose()


def test_two_scheduler_processes_on_one_postgres_database_send_each_checkin_once(tmp_path, data_dir, procs,
                                                                                   fresh_postgres):
    store = Store.from_url(fresh_postgres)   # migrated before the processes start
    cases = [open_case(store) for _ in range(120)]
    second_token = BOT_TOKEN + "-2"   # tells the two processes apart at the stand-in
    # Slow enough that one process's batch (50 per claim) is still being sent when the other ticks.
    with served_in_thread(SlackWebApi(delay=0.02, tokens=(BOT_TOKEN, second_token))) as standin:
        common = dict(SLACK_SIGNING_SECRET=SIGNING_SECRET, SLACK_API_BASE_URL=standin.api_url,
                      DATABASE_URL=fresh_postgres, FOLLOWUP_AFTER="3s", SCHEDULER_INTERVAL="1s")
        schedulers = [procs(["scheduler"], bot_env(data_dir, SLACK_BOT_TOKEN=token, **common),
                            tmp_path / f"scheduler{i}.log") for i, token in enumerate((BOT_TOKEN, second_token))]
        for proc in schedulers:
            wait_for(lambda p=proc: "scheduler running" in p.output(), 30, "the scheduler to start", proc)
        time.sleep(1.5)   # both are ticking now
        # Every check-in falls due at once, in one transaction.
        now = datetime.now(timezone.utc)
        with store.session() as s:
            s.add_all([FollowupRow(case_id=c.id, due_at=now - timedelta(seconds=1), status=PENDING) for c in cases])
        wait_for(lambda: len(standin.checkin_calls()) >= len(cases), 40, "all check-ins", schedulers[0])
        time.sleep(3)   # three more ticks each: no repeats
        calls = standin.checkin_calls()
        sent = collections.Counter(c.body["metadata"]["event_payload"]["case_id"] for c in calls)
        assert sorted(sent) == sorted(c.id for c in cases)
        assert set(sent.values()) == {1}, [case_id for case_id, n in sent.items() if n > 1]
        by_process = collections.Counter(c.token for c in calls)
        assert set(by_process) == {BOT_TOKEN, second_token}, by_process   # both processes did some of the work
        for proc in schedulers:
            assert proc.popen.poll() is None, proc.output()
    with store.session() as s:
        assert set(s.execute(select(FollowupRow.status)).scalars()) == {SENT}
    store.engine.dispose()
