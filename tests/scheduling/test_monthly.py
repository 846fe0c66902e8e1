"""REPORT_MONTHLY: last month's summary posted once per month to the digest targets, claimed in
the database like the digest: in-process with a moved clock, then two real `python -m bot
scheduler` processes on one PostgreSQL database racing for it."""

from __future__ import annotations

import collections
import json
import time
from datetime import datetime, time as clock_time, timedelta, timezone

from sqlalchemy import select

from bot.core.cases.followups import Followups
from bot.core.schedule.clockwork import Clockwork, DigestPlan, Gone
from bot.core.schedule.monthly import MonthlyReports
from bot.core.schedule.timerules import parse_days
from bot.core.storage.store import Store
from bot.core.storage.tables import Asked, DigestRunRow
from tests.scheduling.helpers import FakeNotifier
from tests.scheduling.processes import bot_env, wait_for
from tests.standins.slack import SlackWebApi
from tests.standins.slack_payloads import BOT_TOKEN, SIGNING_SECRET
from tests.support import served_in_thread

UTC = timezone.utc
PLAN = DigestPlan(clock_time(9, 0), "America/New_York", parse_days("Mon-Fri"))


class Recorder:
    def __init__(self) -> None:
        self.sent: list[tuple[str, object]] = []
        self.errors: list[BaseException] = []

    async def __call__(self, target: str, report: object) -> str:
        if self.errors:
            raise self.errors.pop(0)
        self.sent.append((target, report))
        return "1.1"


def clockwork(store: Store, catalog, clock, recorder: Recorder, built: list) -> Clockwork:
    def build(period):
        built.append(period)
        return f"report {period.first_day}..{period.last_day}"

    monthly = MonthlyReports(store, build, {"slack": recorder}, PLAN.at, PLAN.tz, PLAN.days)
    return Clockwork(store, catalog, Followups(store, timedelta(hours=4), 3), {"slack": FakeNotifier()},
                     digest=PLAN, clock=clock, monthly=monthly)


async def test_once_a_month_on_its_first_digest_day_for_the_month_before(sqlite_store, catalog, clock):
    recorder, built = Recorder(), []
    cw = clockwork(sqlite_store, catalog, clock, recorder, built)
    # Sunday 1 March 2026 is no digest day; Monday 2 March 09:00 in New York is the first.
    # Every three hours for five weeks (a tick lands on 14:00 UTC, 09:00 EST).
    moment = datetime(2026, 3, 1, 5, tzinfo=UTC)
    while moment < datetime(2026, 4, 8, 5, tzinfo=UTC):
        clock.set(moment)
        await cw.tick()
        moment += timedelta(hours=3)
    assert [(target, report) for target, report in recorder.sent] == [
        ("slack::C0DIGEST1", "report 2026-02-01..2026-02-28"),
        ("slack::C0DIGEST1", "report 2026-03-01..2026-03-31")]
    assert [p.since for p in built] == [datetime(2026, 2, 1, 5, tzinfo=UTC), datetime(2026, 3, 1, 5, tzinfo=UTC)]
    with sqlite_store.session() as s:
        runs = s.execute(select(DigestRunRow.day, DigestRunRow.target, DigestRunRow.status)
                         .where(DigestRunRow.target.like("report:%")).order_by(DigestRunRow.day)).all()
    assert [tuple(r) for r in runs] == [("2026-02", "report:slack::C0DIGEST1", "posted"),
                                        ("2026-03", "report:slack::C0DIGEST1", "posted")]


async def test_a_failed_post_is_retried_and_a_gone_target_is_not(sqlite_store, catalog, clock):
    recorder, built = Recorder(), []
    cw = clockwork(sqlite_store, catalog, clock, recorder, built)
    recorder.errors = [RuntimeError("slack is down")]
    clock.set(datetime(2026, 3, 2, 14, tzinfo=UTC))
    assert (await cw.tick())["reports"] == 0
    clock.advance(timedelta(minutes=1))
    assert (await cw.tick())["reports"] == 1
    clock.advance(timedelta(minutes=1))
    assert (await cw.tick())["reports"] == 0
    recorder.errors = [Gone("channel_not_found")]
    clock.set(datetime(2026, 4, 1, 13, tzinfo=UTC))
    assert (await cw.tick())["reports"] == 0
    clock.advance(timedelta(days=1))
    assert (await cw.tick())["reports"] == 0
    assert len(recorder.sent) == 1


async def test_without_report_monthly_the_tick_is_as_before(sqlite_store, catalog, clock):
    cw = Clockwork(sqlite_store, catalog, Followups(sqlite_store, timedelta(hours=4), 3), {}, clock=clock)
    assert await cw.tick() == {"checkins": 0, "digests": 0}


def test_two_scheduler_processes_post_the_monthly_summary_once(tmp_path, data_dir, procs, fresh_postgres):
    store = Store.from_url(fresh_postgres)   # migrated before the processes start
    now = datetime.now(UTC)
    last_month = (now.replace(day=1) - timedelta(days=1)).replace(day=10, hour=12)
    store.progress(asked=[Asked("slack", "T1", "C1", f"{n}.1", "U1", kind, kind, 0.5, "", "", text, last_month)
                                  for n, (kind, text) in enumerate([("diagnosis", None), ("out_of_scope", "hello?"),
                                                                    ("out_of_scope", "what is a DEAR")])])
    second_token = BOT_TOKEN + "-2"
    with served_in_thread(SlackWebApi(tokens=(BOT_TOKEN, second_token))) as standin:
        common = dict(SLACK_SIGNING_SECRET=SIGNING_SECRET, SLACK_API_BASE_URL=standin.api_url,
                      DATABASE_URL=fresh_postgres, SCHEDULER_INTERVAL="1s", DIGEST_CHANNEL="C0DIGEST1",
                      DIGEST_DAYS="Mon-Sun", DIGEST_TIME="00:00", DIGEST_TZ="UTC", REPORT_MONTHLY="on")
        schedulers = [procs(["scheduler"], bot_env(data_dir, SLACK_BOT_TOKEN=token, **common),
                            tmp_path / f"monthly{i}.log") for i, token in enumerate((BOT_TOKEN, second_token))]

        def summaries() -> list:
            return [c for c in standin.attempts("chat.postMessage") if c.ok and c.body["text"].startswith("SyncMedic, ")]

        wait_for(lambda: summaries(), 60, "the monthly summary", schedulers[0])
        time.sleep(4)   # four more ticks each: nothing more may arrive
        [summary] = summaries()
        assert summary.body["channel"] == "C0DIGEST1"
        shown = json.dumps(summary.body["blocks"])
        assert "*3* messages answered: 1 diagnosed, 0 asked which one, 2 refused" in shown
        assert "hello?" not in shown and "what is a DEAR" not in shown       # a channel gets no message text
        digests = [c for c in standin.attempts("chat.postMessage") if c.ok and c not in summaries()]
        assert len(digests) == 1
        for proc in schedulers:
            assert proc.popen.poll() is None, proc.output()
    month = last_month.strftime("%Y-%m")
    with store.session() as s:
        runs = collections.Counter(tuple(r) for r in s.execute(
            select(DigestRunRow.day, DigestRunRow.target, DigestRunRow.status)))
    assert runs[(month, "report:slack::C0DIGEST1", "posted")] == 1
    store.engine.dispose()
