"""The scheduler's tick (bot/core/schedule/clockwork.py) with a recording in-memory Notifier: check-ins,
business hours in the user's zone, failures, and the daily digest. Time moves by setting the
injected clock; nothing sleeps (except the APScheduler tests at the end, which are about the
real scheduler)."""

from __future__ import annotations

import asyncio
import logging
import json
from datetime import datetime, time, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiohttp import web
from sqlalchemy import select

from bot.app import SERVICES_KEY, create_app
from bot.core.schedule.clockwork import RETRY_SEND_AFTER, Clockwork, DigestPlan, Gone, start_scheduler
from bot.core.cases.digest import SHOWN_REFERENCES, build_digest
from bot.core.cases.digest_state import claim_digest, digest_posted, resolve_group
from bot.core.cases.followups import CANCELLED, MAX_SEND_ATTEMPTS, PENDING, SENT, Followups
from bot.core.storage.store import Store
from bot.core.storage.tables import OPEN, RESOLVED, DigestRunRow, FollowupRow, SyncErrorRow
from bot.core.schedule.timerules import BusinessHours, parse_days
from bot.settings import Settings
from tests.support import Clock, SteppedSleep, run_bot, run_bot_here

from tests.scheduling.helpers import FakeNotifier, open_case

UTC = timezone.utc
NY = ZoneInfo("America/New_York")
AFTER = timedelta(hours=4)
OFFICE = BusinessHours.parse("09:00-17:30 Mon-Fri")
NINE_NY_WEEKDAYS = DigestPlan(time(9, 0), "America/New_York", parse_days("Mon-Fri"), all_clear=True)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def make(store: Store, catalog, clock: Clock, notifier: FakeNotifier | None = None, **options: Any) -> Clockwork:
    followups = Followups(store, AFTER, options.pop("max_checkins", 3))
    notifiers = {"slack": notifier} if notifier is not None else {}
    return Clockwork(store, catalog, followups, notifiers, clock=clock, **options)


def followup_rows(store: Store, case_id: str) -> list[FollowupRow]:
    with store.session() as s:
        return list(s.execute(select(FollowupRow).where(FollowupRow.case_id == case_id)
                              .order_by(FollowupRow.id)).scalars())


async def tick_at(cw: Clockwork, clock: Clock, moment: datetime) -> dict[str, int]:
    clock.set(moment)
    return await cw.tick()


# -- check-ins -------------------------------------------------------------------------------------

async def test_a_checkin_is_sent_once_then_never_again(sqlite_store, catalog, clock):
    notifier = FakeNotifier()
    cw = make(sqlite_store, catalog, clock, notifier)
    case = open_case(sqlite_store)
    t0 = clock.now
    cw.followups.schedule(case.id, t0)
    assert await cw.tick() == {"checkins": 0, "digests": 0}
    assert (await tick_at(cw, clock, t0 + AFTER - timedelta(seconds=1)))["checkins"] == 0
    assert notifier.checkin_attempts == []
    assert (await tick_at(cw, clock, t0 + AFTER))["checkins"] == 1
    for _ in range(5):
        assert (await cw.tick())["checkins"] == 0
    for later in (timedelta(minutes=10), timedelta(hours=1), timedelta(days=1), timedelta(days=7)):
        assert (await tick_at(cw, clock, t0 + AFTER + later))["checkins"] == 0
    assert notifier.checkins == [case.id]
    (row,) = followup_rows(sqlite_store, case.id)
    assert (row.status, row.ref, row.sent_at) == (SENT, "1770000001.000001", t0 + AFTER)
    # A restart (a new Clockwork on the same database) sends nothing again either.
    fresh = make(sqlite_store, catalog, clock, notifier)
    assert (await fresh.tick())["checkins"] == 0


async def test_many_cases_each_get_exactly_one_checkin_over_a_day_of_ticks(sqlite_store, catalog, clock):
    notifier = FakeNotifier()
    cw = make(sqlite_store, catalog, clock, notifier)
    start = clock.now
    cases = []
    for i in range(12):
        clock.set(start + timedelta(minutes=37 * i))
        case = open_case(sqlite_store)
        cw.followups.schedule(case.id, clock.now)
        cases.append(case)
    moment = start
    while moment < start + timedelta(days=1):
        await tick_at(cw, clock, moment)
        moment += timedelta(minutes=5)
    assert sorted(notifier.checkins) == sorted(c.id for c in cases)
    # Each was sent at the first tick at or after it was due.
    for i, case in enumerate(cases):
        (row,) = followup_rows(sqlite_store, case.id)
        due = start + timedelta(minutes=37 * i) + AFTER
        assert due <= row.sent_at < due + timedelta(minutes=5)


async def test_a_resolved_case_gets_no_checkin(sqlite_store, catalog, clock):
    notifier = FakeNotifier()
    cw = make(sqlite_store, catalog, clock, notifier)
    case = open_case(sqlite_store)
    cw.followups.schedule(case.id, clock.now)
    sqlite_store.resolve(case.id, "U0ALICE01", "1780000000.000001")
    assert (await tick_at(cw, clock, clock.now + AFTER))["checkins"] == 0
    assert notifier.checkin_attempts == []
    assert [r.status for r in followup_rows(sqlite_store, case.id)] == [CANCELLED]


async def test_business_hours_postpone_until_the_window_opens_in_the_users_zone(sqlite_store, catalog, clock):
    notifier = FakeNotifier(tz="America/Los_Angeles")
    cw = make(sqlite_store, catalog, clock, notifier, hours=OFFICE, default_tz="UTC")
    clock.set(utc(2026, 3, 2, 23, 0))           # Mon 15:00 in Los Angeles (PST)
    case = open_case(sqlite_store)
    cw.followups.schedule(case.id, clock.now)   # due Tue 03:00 UTC = Mon 19:00 PST: after hours
    assert (await tick_at(cw, clock, utc(2026, 3, 3, 3, 0)))["checkins"] == 0
    assert notifier.tz_calls == [case.id]
    assert sqlite_store.get_case(case.id).user_tz == "America/Los_Angeles"   # cached on the case
    assert cw.followups.pending_for(case.id) == [utc(2026, 3, 3, 17, 0)]     # Tue 09:00 PST
    # 09:00 in New York or UTC is not 09:00 for this user.
    for moment in (utc(2026, 3, 3, 9, 0), utc(2026, 3, 3, 14, 0), utc(2026, 3, 3, 16, 59)):
        assert (await tick_at(cw, clock, moment))["checkins"] == 0
    assert notifier.checkin_attempts == []
    assert (await tick_at(cw, clock, utc(2026, 3, 3, 17, 0)))["checkins"] == 1
    assert notifier.checkins == [case.id]
    assert notifier.tz_calls == [case.id]   # the cached zone was used; users.info asked once


async def test_inside_business_hours_the_checkin_goes_at_once(sqlite_store, catalog, clock):
    notifier = FakeNotifier(tz="America/New_York")
    cw = make(sqlite_store, catalog, clock, notifier, hours=OFFICE)
    clock.set(utc(2026, 3, 2, 14, 0))   # Mon 09:00 EST
    case = open_case(sqlite_store)
    cw.followups.schedule(case.id, clock.now)
    assert (await tick_at(cw, clock, clock.now + AFTER))["checkins"] == 1   # 13:00 EST


async def test_business_hours_over_a_weekend_and_a_dst_change(sqlite_store, catalog, clock):
    notifier = FakeNotifier(tz="America/New_York")
    cw = make(sqlite_store, catalog, clock, notifier, hours=OFFICE)
    clock.set(utc(2026, 3, 6, 20, 0))   # Fri 6 March 15:00 EST; due 19:00 EST
    case = open_case(sqlite_store)
    cw.followups.schedule(case.id, clock.now)
    moment = clock.now + AFTER
    # Every half hour over the weekend (clocks go forward on Sunday): nothing.
    while moment < utc(2026, 3, 9, 13, 0):
        assert (await tick_at(cw, clock, moment))["checkins"] == 0, moment
        moment += timedelta(minutes=30)
    assert (await tick_at(cw, clock, utc(2026, 3, 9, 12, 59)))["checkins"] == 0
    # Monday 09:00 EDT is 13:00 UTC.
    assert (await tick_at(cw, clock, utc(2026, 3, 9, 13, 0)))["checkins"] == 1
    assert notifier.checkins == [case.id]


async def test_without_a_zone_from_the_platform_the_default_zone_is_used(sqlite_store, catalog, clock):
    notifier = FakeNotifier(tz=None)
    cw = make(sqlite_store, catalog, clock, notifier, hours=OFFICE, default_tz="Asia/Tokyo")
    clock.set(utc(2026, 3, 2, 1, 0))    # Mon 10:00 JST
    case = open_case(sqlite_store)
    cw.followups.schedule(case.id, clock.now)   # due 05:00 UTC = 14:00 JST: open in Tokyo
    assert (await tick_at(cw, clock, clock.now + AFTER))["checkins"] == 1
    assert sqlite_store.get_case(case.id).user_tz is None


async def test_gone_gives_up(sqlite_store, catalog, clock):
    notifier = FakeNotifier()
    notifier.checkin_errors = [Gone("channel_not_found")]
    cw = make(sqlite_store, catalog, clock, notifier)
    case = open_case(sqlite_store)
    cw.followups.schedule(case.id, clock.now)
    assert (await tick_at(cw, clock, clock.now + AFTER))["checkins"] == 0
    assert [r.status for r in followup_rows(sqlite_store, case.id)] == [CANCELLED]
    for later in (timedelta(minutes=2), timedelta(hours=1), timedelta(days=1)):
        assert (await tick_at(cw, clock, clock.now + later))["checkins"] == 0
    assert notifier.checkin_attempts == [case.id]


async def test_a_transient_error_is_retried_later(sqlite_store, catalog, clock):
    notifier = FakeNotifier()
    notifier.checkin_errors = [RuntimeError("connection reset")]
    cw = make(sqlite_store, catalog, clock, notifier)
    case = open_case(sqlite_store)
    cw.followups.schedule(case.id, clock.now)
    due = clock.now + AFTER
    assert (await tick_at(cw, clock, due))["checkins"] == 0
    assert [r.status for r in followup_rows(sqlite_store, case.id)] == [PENDING]
    assert (await tick_at(cw, clock, due + RETRY_SEND_AFTER - timedelta(seconds=1)))["checkins"] == 0
    assert notifier.checkin_attempts == [case.id]
    assert (await tick_at(cw, clock, due + RETRY_SEND_AFTER))["checkins"] == 1
    assert notifier.checkins == [case.id] and len(notifier.checkin_attempts) == 2
    (row,) = followup_rows(sqlite_store, case.id)
    assert (row.status, row.attempts) == (SENT, 2)


async def test_a_checkin_that_always_fails_is_given_up_after_the_attempt_cap(sqlite_store, catalog, clock):
    notifier = FakeNotifier()
    notifier.checkin_errors = [RuntimeError("boom")] * 50
    cw = make(sqlite_store, catalog, clock, notifier)
    case = open_case(sqlite_store)
    cw.followups.schedule(case.id, clock.now)
    moment = clock.now + AFTER
    for _ in range(20):
        await tick_at(cw, clock, moment)
        moment += RETRY_SEND_AFTER
    assert len(notifier.checkin_attempts) == MAX_SEND_ATTEMPTS
    assert [r.status for r in followup_rows(sqlite_store, case.id)] == [CANCELLED]


async def test_a_platform_without_a_notifier_is_postponed_not_lost(sqlite_store, catalog, clock):
    notifier = FakeNotifier()
    cw = make(sqlite_store, catalog, clock, notifier)
    case = open_case(sqlite_store, platform="teams")
    cw.followups.schedule(case.id, clock.now)
    due = clock.now + AFTER
    assert (await tick_at(cw, clock, due))["checkins"] == 0
    assert cw.followups.pending_for(case.id) == [due + timedelta(hours=1)]
    assert notifier.checkin_attempts == []


async def written(condition) -> None:
    """Until the database shows `condition` (a send finishing in a worker thread), 5 s at most."""
    for _ in range(500):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the database never showed it")


class HungIn(FakeNotifier):
    """Check-ins to one channel hang (until `gate` is set); the others go at once."""

    def __init__(self, channel: str) -> None:
        super().__init__()
        self.channel = channel
        self.gate = asyncio.Event()

    async def send_checkin(self, case, post=None):
        if case.channel == self.channel:
            await self.gate.wait()
        return await super().send_checkin(case, post)


async def test_a_hung_conversation_holds_only_its_own_checkins(sqlite_store, catalog, clock):
    """A tick waits for its posts at most tick_wait; a conversation still sending goes on in the
    background, renewed, and the next ticks send the other conversations' check-ins."""
    notifier, pauses = HungIn("C0HUNG"), SteppedSleep()
    cw = make(sqlite_store, catalog, clock, notifier, sleep=pauses, tick_wait=5.0)
    hung, first = open_case(sqlite_store, channel="C0HUNG"), open_case(sqlite_store, channel="C0ONE")
    for case in (hung, first):
        cw.followups.schedule(case.id, clock.now)
    tick = asyncio.ensure_future(tick_at(cw, clock, clock.now + AFTER))
    await pauses.asleep(5.0)          # the tick waits out tick_wait for the hung one...
    await written(lambda: [r.status for r in followup_rows(sqlite_store, first.id)] == [SENT])  # ...the other is out
    assert notifier.checkins == [first.id]
    pauses.wake()
    assert await tick == {"checkins": 1, "digests": 0}
    second = open_case(sqlite_store, channel="C0TWO")
    cw.followups.schedule(second.id, clock.now, timedelta(seconds=30))    # due within the hung one's lease
    later = tick_at(cw, clock, clock.now + timedelta(seconds=30))
    assert (await asyncio.wait_for(later, 10))["checkins"] == 1   # not held by the hung one
    assert notifier.checkins == [first.id, second.id]
    assert cw.holding.checkins == {followup_rows(sqlite_store, hung.id)[0].id: 1}   # still held, renewed
    notifier.gate.set()
    await cw.drain()
    assert notifier.checkins == [first.id, second.id, hung.id]
    assert [r.status for r in followup_rows(sqlite_store, hung.id)] == [SENT]
    assert cw.holding.checkins == {}


async def test_two_clockworks_ticking_together_send_each_checkin_once(database_url, catalog, clock):
    """Two processes' schedulers on one database (PostgreSQL: SKIP LOCKED; SQLite: BEGIN IMMEDIATE)."""
    stores = [Store.from_url(database_url, clock=clock) for _ in range(2)]
    notifiers = [FakeNotifier(), FakeNotifier()]
    workers = [make(s, catalog, clock, n) for s, n in zip(stores, notifiers)]
    cases = [open_case(stores[0]) for _ in range(30)]
    for case in cases:
        workers[0].followups.schedule(case.id, clock.now)
    clock.advance(AFTER)
    for _ in range(3):
        await asyncio.gather(*(w.tick() for w in workers))
    sent = notifiers[0].checkins + notifiers[1].checkins
    assert sorted(sent) == sorted(c.id for c in cases)
    for s in stores:
        s.engine.dispose()


# -- the daily digest ----------------------------------------------------------------------------------

async def test_digest_once_a_day_at_the_digest_time_in_the_digest_zone(database_url, catalog, clock):
    store = Store.from_url(database_url, clock=clock)
    notifier = FakeNotifier()
    cw = make(store, catalog, clock, notifier, digest=NINE_NY_WEEKDAYS)
    # Mon 2 March: 08:59 EST is 13:59 UTC.
    assert (await tick_at(cw, clock, utc(2026, 3, 2, 13, 59)))["digests"] == 0
    assert (await tick_at(cw, clock, utc(2026, 3, 2, 14, 0)))["digests"] == 1
    for minutes in range(1, 600, 7):
        assert (await tick_at(cw, clock, utc(2026, 3, 2, 14, 0) + timedelta(minutes=minutes)))["digests"] == 0
    # A restart: a new Clockwork (and store) on the same database posts nothing more today.
    other = Store.from_url(database_url, clock=clock)
    restarted = make(other, catalog, clock, notifier, digest=NINE_NY_WEEKDAYS)
    assert (await tick_at(restarted, clock, utc(2026, 3, 3, 4, 59)))["digests"] == 0     # Mon 23:59 EST
    assert (await tick_at(restarted, clock, utc(2026, 3, 3, 14, 0)))["digests"] == 1     # Tue 09:00
    assert [t for t, _ in notifier.digests] == ["slack::C0DIGEST1"] * 2
    with store.session() as s:
        runs = s.execute(select(DigestRunRow.day, DigestRunRow.target, DigestRunRow.status)
                         .order_by(DigestRunRow.day)).all()
    assert [tuple(r) for r in runs] == [("2026-03-02", "slack::C0DIGEST1", "posted"),
                                        ("2026-03-03", "slack::C0DIGEST1", "posted")]
    store.engine.dispose()
    other.engine.dispose()


async def test_digest_on_weekdays_only_by_default(sqlite_store, catalog, clock):
    notifier = FakeNotifier()
    plan = DigestPlan(time(9, 0), "America/New_York", Settings.from_env({}).digest_days)
    cw = make(sqlite_store, catalog, clock, notifier, digest=plan)
    moment = utc(2026, 3, 2, 5, 0)   # Mon 2 March 00:00 EST, hourly for two weeks
    while moment < utc(2026, 3, 16, 5, 0):
        await tick_at(cw, clock, moment)
        moment += timedelta(hours=1)
    posted = [d.generated_at.astimezone(NY) for _, d in notifier.digests]
    assert [p.strftime("%a %d %H:%M") for p in posted] == [
        "Mon 02 09:00", "Tue 03 09:00", "Wed 04 09:00", "Thu 05 09:00", "Fri 06 09:00",
        # Clocks went forward on Sunday 8 March: still 09:00 local.
        "Mon 09 09:00", "Tue 10 09:00", "Wed 11 09:00", "Thu 12 09:00", "Fri 13 09:00"]


async def test_digest_days_setting_is_honoured(sqlite_store, catalog, clock):
    notifier = FakeNotifier()
    plan = DigestPlan(time(7, 30), "Europe/London", parse_days("Sat-Sun"))
    cw = make(sqlite_store, catalog, clock, notifier, digest=plan)
    moment = utc(2026, 3, 2, 0, 0)
    while moment < utc(2026, 3, 9, 0, 0):
        await tick_at(cw, clock, moment)
        moment += timedelta(minutes=30)
    assert [d.generated_at for _, d in notifier.digests] == [utc(2026, 3, 7, 7, 30), utc(2026, 3, 8, 7, 30)]


async def test_digest_all_clear_when_nothing_is_open(sqlite_store, catalog, clock):
    notifier = FakeNotifier()
    cw = make(sqlite_store, catalog, clock, notifier, digest=NINE_NY_WEEKDAYS)
    resolved = open_case(sqlite_store)
    sqlite_store.resolve(resolved.id, "U0ALICE01", "1.1")
    assert (await tick_at(cw, clock, utc(2026, 3, 2, 14, 0)))["digests"] == 1
    ((target, digest),) = notifier.digests
    assert digest.total == 0 and digest.groups == []


async def test_digest_all_clear_off_posts_nothing_when_nothing_is_open(sqlite_store, catalog, clock):
    notifier = FakeNotifier()
    plan = DigestPlan(time(9, 0), "America/New_York", parse_days("Mon-Fri"), all_clear=False)
    cw = make(sqlite_store, catalog, clock, notifier, digest=plan)
    for minutes in range(0, 120, 10):
        assert (await tick_at(cw, clock, utc(2026, 3, 2, 14, 0) + timedelta(minutes=minutes)))["digests"] == 0
    assert notifier.digest_attempts == 0
    # With something open the next day, it posts.
    open_case(sqlite_store)
    assert (await tick_at(cw, clock, utc(2026, 3, 3, 14, 0)))["digests"] == 1
    assert notifier.digests[0][1].total == 1


async def test_digest_failure_is_retried_on_the_next_tick_and_gone_is_not(sqlite_store, catalog, clock):
    notifier = FakeNotifier()
    notifier.digest_errors = [RuntimeError("slack is down")]
    cw = make(sqlite_store, catalog, clock, notifier, digest=NINE_NY_WEEKDAYS)
    assert (await tick_at(cw, clock, utc(2026, 3, 2, 14, 0)))["digests"] == 0
    assert (await tick_at(cw, clock, utc(2026, 3, 2, 14, 1)))["digests"] == 1
    assert (await tick_at(cw, clock, utc(2026, 3, 2, 14, 2)))["digests"] == 0
    assert notifier.digest_attempts == 2
    notifier.digest_errors = [Gone("channel_not_found")]
    assert (await tick_at(cw, clock, utc(2026, 3, 3, 14, 0)))["digests"] == 0
    assert (await tick_at(cw, clock, utc(2026, 3, 3, 14, 5)))["digests"] == 0
    assert notifier.digest_attempts == 3


async def test_a_crashed_digest_claim_expires(sqlite_store, catalog, clock):
    notifier = FakeNotifier()
    cw = make(sqlite_store, catalog, clock, notifier, digest=NINE_NY_WEEKDAYS)
    nine = utc(2026, 3, 2, 14, 0)
    # Another process claimed today's digest and died (maybe mid-post): its lease runs out
    # (EVENT_RETRY_AFTER, 60 s by default) and the digest is taken over, looking first.
    assert claim_digest(sqlite_store, "2026-03-02", "slack::C0DIGEST1", nine)
    assert (await tick_at(cw, clock, nine + timedelta(seconds=59)))["digests"] == 0
    assert (await tick_at(cw, clock, nine + timedelta(seconds=60)))["digests"] == 1
    assert (await tick_at(cw, clock, nine + timedelta(minutes=30)))["digests"] == 0
    [post] = notifier.posts
    assert (post.key, post.look) == ("digest:2026-03-02:slack::C0DIGEST1", True)


async def test_two_clockworks_post_one_digest(database_url, catalog, clock):
    stores = [Store.from_url(database_url, clock=clock) for _ in range(3)]
    notifiers = [FakeNotifier() for _ in stores]
    workers = [make(s, catalog, clock, n, digest=NINE_NY_WEEKDAYS) for s, n in zip(stores, notifiers)]
    clock.set(utc(2026, 3, 2, 14, 0))
    for _ in range(3):
        await asyncio.gather(*(w.tick() for w in workers))
    assert sum(len(n.digests) for n in notifiers) == 1
    for s in stores:
        s.engine.dispose()


async def test_dst_spring_forward_digest_inside_the_skipped_hour_posts_once(sqlite_store, catalog, clock):
    notifier = FakeNotifier()
    plan = DigestPlan(time(2, 30), "America/New_York", parse_days("Mon-Sun"))
    cw = make(sqlite_store, catalog, clock, notifier, digest=plan)
    moment = utc(2026, 3, 8, 5, 0)   # Sun 8 March 00:00 EST, every 10 minutes until Mon 01:00 EDT
    while moment <= utc(2026, 3, 9, 5, 0):
        await tick_at(cw, clock, moment)
        moment += timedelta(minutes=10)
    ((_, digest),) = notifier.digests
    # Posted once, after the jump (02:00 EST -> 03:00 EDT = 07:00 UTC), within half an hour of it.
    assert utc(2026, 3, 8, 7, 0) <= digest.generated_at <= utc(2026, 3, 8, 7, 30)


async def test_dst_fall_back_repeated_hour_posts_once(sqlite_store, catalog, clock):
    notifier = FakeNotifier()
    plan = DigestPlan(time(1, 30), "America/New_York", parse_days("Mon-Sun"))
    cw = make(sqlite_store, catalog, clock, notifier, digest=plan)
    moment = utc(2026, 11, 1, 4, 0)   # Sun 1 November 00:00 EDT, every 5 minutes until 23:55 EST
    while moment < utc(2026, 11, 2, 5, 0):
        await tick_at(cw, clock, moment)
        moment += timedelta(minutes=5)
    ((_, digest),) = notifier.digests
    assert digest.generated_at == utc(2026, 11, 1, 5, 30)   # the first 01:30 (EDT); the second finds it claimed


async def test_digest_and_checkins_in_the_same_tick(sqlite_store, catalog, clock):
    notifier = FakeNotifier()
    cw = make(sqlite_store, catalog, clock, notifier, digest=NINE_NY_WEEKDAYS)
    clock.set(utc(2026, 3, 2, 10, 0))
    case = open_case(sqlite_store)
    cw.followups.schedule(case.id, clock.now)
    assert await tick_at(cw, clock, utc(2026, 3, 2, 14, 0)) == {"checkins": 1, "digests": 1}
    ((_, digest),) = notifier.digests
    assert digest.total == 1 and digest.groups[0].intent == "bill_not_exported"


# -- what the digest says ---------------------------------------------------------------------------------

NOW = utc(2026, 3, 2, 14, 0)


def add_sync_error(store: Store, kind: str, reference: str, intent: str, first_seen: datetime,
                   status: str = OPEN) -> None:
    with store.session() as s:
        s.add(SyncErrorRow(kind=kind, reference=reference, intent=intent, message=f"{kind} {reference} failed",
                           status=status, first_seen=first_seen, last_seen=first_seen, source="test"))


def prepare_digest_data(store: Store, clock: Clock) -> dict[str, Any]:
    """7 product errors, 2 period-closed errors, a bill group mixing sync errors and chat cases,
    an unknown cause, and resolved entries that must not show."""
    for i in range(7):
        add_sync_error(store, "Sale", f"SO-{100 + i}", "product_not_exported", NOW - timedelta(days=10 - i))
    add_sync_error(store, "Invoice", "INV-1", "period_closed", NOW - timedelta(hours=5))
    add_sync_error(store, "Invoice", "INV-2", "period_closed", NOW - timedelta(hours=3))
    add_sync_error(store, "Invoice", "INV-3", "period_closed", NOW - timedelta(days=30), status=RESOLVED)
    add_sync_error(store, "Journal", "JNL-9", "no_such_intent", NOW - timedelta(days=1))
    add_sync_error(store, "Purchase", "PO-77", "bill_not_exported", NOW - timedelta(days=2))
    # Chat cases: created 3 days ago and 1 day ago; one without any reference; one resolved.
    clock.set(NOW - timedelta(days=3))
    oldest_case = open_case(store, entities={"bill": "BILL-1"})
    clock.set(NOW - timedelta(days=1))
    open_case(store, entities={"bill": "BILL-2"})
    open_case(store, entities={})
    done = open_case(store, entities={"bill": "BILL-3"})
    store.resolve(done.id, "U0ALICE01", "1.1")
    escalated = open_case(store, intent="period_closed", entities={"invoice": "INV-4"})
    store.escalate(escalated.id, "U0ALICE01", "1.2")
    clock.set(NOW)
    return {"oldest_case": oldest_case}


def test_digest_groups_counts_oldest_and_references(store, catalog, clock):
    prepare_digest_data(store, clock)
    digest = build_digest(store, catalog, NOW)
    assert digest.total == 7 + 3 + 4 + 1
    assert [(g.intent, g.count) for g in digest.groups] == [
        ("product_not_exported", 7), ("bill_not_exported", 4), ("period_closed", 3), ("no_such_intent", 1)]
    product, bill, period, unknown = digest.groups
    assert product.oldest == NOW - timedelta(days=10)
    assert [e.reference for e in product.shown] == ["Sale SO-100", "Sale SO-101", "Sale SO-102", "Sale SO-103",
                                                    "Sale SO-104"]
    assert len(product.shown) == SHOWN_REFERENCES and product.more == 2
    assert product.title == catalog.title("product_not_exported")
    assert product.summary == catalog["product_not_exported"].summary
    assert bill.oldest == NOW - timedelta(days=3)      # the chat case is older than the sync error
    assert sorted(bill.references, key=str) == sorted(["Purchase PO-77", "BILL-1", "BILL-2", None], key=str)
    assert bill.more == 0
    assert period.oldest == NOW - timedelta(days=1)    # the escalated case, still open
    assert sorted(period.references) == ["INV-4", "Invoice INV-1", "Invoice INV-2"]
    # The catalog cannot name these: the digest leaves the words to the renderer (phrases.yaml).
    assert (unknown.title, unknown.summary, unknown.references) == (None, None, ["Journal JNL-9"])


def test_the_digest_as_json(store, core, clock):
    prepare_digest_data(store, clock)
    doc = core.renderer.digest_json(build_digest(store, core.catalog, NOW))
    assert doc["total"] == 15 and doc["generated_at"] == NOW.isoformat()
    product, bill, _period, unknown = doc["groups"]
    assert product == {"intent": "product_not_exported", "title": core.catalog.title("product_not_exported"),
                       "count": 7, "references": ["Sale SO-100", "Sale SO-101", "Sale SO-102", "Sale SO-103",
                                                  "Sale SO-104"],
                       "more": 2, "oldest": (NOW - timedelta(days=10)).isoformat()}
    # A chat case names who asked and how their question starts, not "chat question".
    asked = 'someone in Slack asked “Error: Bill "BILL-7731" has not been exported to…”'
    assert bill["references"] == [f"{asked} (BILL-1)", "Purchase PO-77", f"{asked} (BILL-2)", asked]
    assert (unknown["title"], unknown["references"]) == ("Errors I did not recognise", ["Journal JNL-9"])
    # The header's figures: with no digest before, "new" and "fixed" count the last day (the
    # entries of exactly a day ago are not in it), and the trend ends at the open count.
    assert doc["since_last_digest"] is False and doc["since"] == (NOW - timedelta(days=1)).isoformat()
    assert (doc["new"], doc["fixed"]) == (2, 0)    # INV-1 and INV-2
    assert len(doc["trend"]) == 14 and doc["trend"][-1] == 15
    # After a digest 36 hours ago, they count from it.
    assert claim_digest(store, "2026-02-28", "slack::C1", NOW - timedelta(hours=36))
    digest_posted(store, "2026-02-28", "slack::C1", NOW - timedelta(hours=36))
    doc = core.renderer.digest_json(build_digest(store, core.catalog, NOW))
    assert doc["since_last_digest"] is True and doc["since"] == (NOW - timedelta(hours=36)).isoformat()
    # New: INV-1, INV-2, JNL-9 and four chat cases (BILL-2, no reference, BILL-3, INV-4); fixed: BILL-3.
    assert (doc["new"], doc["fixed"]) == (7, 1)


def test_digest_references_are_oldest_first_across_sync_errors_and_cases(sqlite_store, catalog, clock):
    prepare_digest_data(sqlite_store, clock)
    bill = next(g for g in build_digest(sqlite_store, catalog, NOW).groups if g.intent == "bill_not_exported")
    # BILL-1 (3 days), PO-77 (2 days), BILL-2 and the chat question without a reference (1 day)
    assert bill.references == ["BILL-1", "Purchase PO-77", "BILL-2", None]


def test_groups_with_equal_counts_show_the_oldest_first(sqlite_store, catalog):
    add_sync_error(sqlite_store, "Invoice", "INV-1", "period_closed", NOW - timedelta(hours=1))
    add_sync_error(sqlite_store, "Sale", "SO-1", "product_not_exported", NOW - timedelta(days=4))
    digest = build_digest(sqlite_store, catalog, NOW)
    assert [g.intent for g in digest.groups] == ["product_not_exported", "period_closed"]


def test_resolve_group_resolves_sync_errors_and_cases_of_that_cause_only(store, catalog, clock):
    prepare_digest_data(store, clock)
    assert resolve_group(store, "bill_not_exported", NOW) == 4
    assert resolve_group(store, "bill_not_exported", NOW) == 0
    digest = build_digest(store, catalog, NOW)
    assert [g.intent for g in digest.groups] == ["product_not_exported", "period_closed", "no_such_intent"]


def test_the_rendered_slack_digest(sqlite_store, core, clock):
    prepare_digest_data(sqlite_store, clock)
    payload = core.renderer.digest("slack", build_digest(sqlite_store, core.catalog, NOW))
    assert payload["text"] == "Sync errors still open: 15 (2 new, 0 fixed)"
    assert payload["blocks"][0]["type"] == "header"
    assert payload["blocks"][1]["elements"][0]["text"].startswith("*2* new, *0* fixed in the last day  ·  Last 14 days: ")
    sections = [b["text"]["text"] for b in payload["blocks"] if b["type"] == "section"]
    assert len(sections) == 4
    assert sections[0].split("\n") == [f"*{core.catalog.title('product_not_exported')}* · 7 open · oldest 10 days",
                                       "• Sale SO-100", "• Sale SO-101", "• Sale SO-102", "• Sale SO-103",
                                       "• Sale SO-104", "and 2 more"]
    assert sections[1].split("\n")[1:] == [
        '• <@U0ALICE01> asked “Error: Bill "BILL-7731" has not been exported to…” (BILL-1)', "• Purchase PO-77",
        '• <@U0ALICE01> asked “Error: Bill "BILL-7731" has not been exported to…” (BILL-2)',
        '• <@U0ALICE01> asked “Error: Bill "BILL-7731" has not been exported to…”']
    assert " · 3 open · oldest 24 hours\n" in sections[2]
    assert sections[3] == "*Errors I did not recognise* · 1 open · oldest 24 hours\n• Journal JNL-9"
    menus = {b["block_id"]: [o["value"] for o in b["accessory"]["options"]]
             for b in payload["blocks"] if b["type"] == "section"}
    assert menus == {
        "syncmedic_digest:product_not_exported": ["fix:product_not_exported", "resolve:product_not_exported",
                                                  "snooze:product_not_exported"],
        "syncmedic_digest:bill_not_exported": ["fix:bill_not_exported", "resolve:bill_not_exported",
                                               "snooze:bill_not_exported"],
        "syncmedic_digest:period_closed": ["fix:period_closed", "resolve:period_closed", "snooze:period_closed"],
        # No fix to show for a cause the catalog does not know.
        "syncmedic_digest:no_such_intent": ["resolve:no_such_intent", "snooze:no_such_intent"]}
    assert not [b for b in payload["blocks"] if b["type"] == "actions"]   # one menu a group, no buttons


def test_the_rendered_all_clear(sqlite_store, core):
    payload = core.renderer.digest("slack", build_digest(sqlite_store, core.catalog, NOW))
    assert payload["text"] == "Daily sync check: all clear"
    assert "nothing is waiting" in payload["blocks"][0]["text"]["text"]
    assert not [b for b in payload["blocks"] if b["type"] == "actions"]


def test_digest_preview_json_command(tmp_path, cli_env, clock):
    url = f"sqlite:///{tmp_path / 'preview.db'}"
    store = Store.from_url(url, clock=clock)
    real_now = datetime.now(UTC)
    for i in range(6):
        add_sync_error(store, "Sale", f"SO-{i}", "product_not_exported", real_now - timedelta(days=6 - i))
    add_sync_error(store, "Invoice", "INV-1", "period_closed", real_now - timedelta(days=9))
    clock.set(real_now - timedelta(hours=2))
    open_case(store, entities={"bill": "BILL-5"})
    store.engine.dispose()
    result = run_bot(["digest", "--preview", "--json"], env={**cli_env, "DATABASE_URL": url}, timeout=120)
    assert result.returncode == 0, result.stderr.decode()
    doc = json.loads(result.stdout)
    assert doc["total"] == 8
    groups = [{k: g[k] for k in ("intent", "count", "references", "oldest")} for g in doc["groups"]]
    assert groups == [
        {"intent": "product_not_exported", "count": 6, "references": [f"Sale SO-{i}" for i in range(5)],
         "oldest": (real_now - timedelta(days=6)).isoformat()},
        {"intent": "period_closed", "count": 1, "references": ["Invoice INV-1"],
         "oldest": (real_now - timedelta(days=9)).isoformat()},
        {"intent": "bill_not_exported", "count": 1,
         "references": ['someone in Slack asked “Error: Bill "BILL-7731" has not been exported to…” (BILL-5)'],
         "oldest": (real_now - timedelta(hours=2)).isoformat()},
    ]
    assert doc["groups"][0]["more"] == 1
    text = run_bot_here(["digest", "--preview"], env={**cli_env, "DATABASE_URL": url})
    assert text.returncode == 0, text.stderr.decode()
    assert "Sync errors still open: 8" in text.stdout.decode() and "and 1 more" in text.stdout.decode()


def test_digest_preview_of_an_empty_database(tmp_path, cli_env):
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    result = run_bot_here(["digest", "--preview", "--json"], env={**cli_env, "DATABASE_URL": url})
    assert result.returncode == 0, result.stderr.decode()
    doc = json.loads(result.stdout)
    assert (doc["total"], doc["groups"]) == (0, [])
    assert run_bot_here(["digest"], env={**cli_env, "DATABASE_URL": url}).returncode == 2   # --preview only


# -- the real scheduler (APScheduler in the running loop) --------------------------------------------------

async def test_start_scheduler_ticks_in_the_running_loop_without_overlapping():
    running, ticks, most = 0, 0, 0

    async def tick() -> None:
        nonlocal running, ticks, most
        running += 1
        most = max(most, running)
        ticks += 1
        try:
            await asyncio.sleep(0.15)   # slower than the interval
            if ticks == 2:
                raise RuntimeError("a failing tick must not stop the scheduler")
        finally:
            running -= 1

    scheduler = start_scheduler(tick, 0.05)
    try:
        for _ in range(100):
            if ticks >= 4:
                break
            await asyncio.sleep(0.05)
    finally:
        scheduler.shutdown(wait=False)
    assert ticks >= 4
    assert most == 1   # max_instances=1: a slow tick is never run twice at once


async def test_start_scheduler_first_tick_is_immediate():
    seen = asyncio.Event()

    async def tick() -> None:
        seen.set()

    scheduler = start_scheduler(tick, 3600)
    try:
        await asyncio.wait_for(seen.wait(), timeout=5)
    finally:
        scheduler.shutdown(wait=False)


@pytest.mark.parametrize("flag, expected", [("on", True), ("off", False)])
async def test_the_app_starts_the_scheduler_unless_switched_off(tmp_path, core, data_dir, flag, expected):
    settings = Settings.from_env({"SYNCMEDIC_DATA_DIR": str(data_dir), "MODEL_STALE": "refuse", "SCHEDULER": flag,
                                  "SCHEDULER_INTERVAL": "1s", "DATABASE_URL": f"sqlite:///{tmp_path / 'app.db'}"})
    store = Store.from_url(settings.database_url)
    app = create_app(settings, core, store, background=True)
    services = app[SERVICES_KEY]
    ticks = []
    original = services.clockwork.tick

    async def counting_tick():
        ticks.append(1)
        return await original()

    services.clockwork.tick = counting_tick   # start_scheduler is handed this bound attribute at startup
    runner = web.AppRunner(app)
    await runner.setup()
    try:
        assert (services.scheduler is not None) is expected
        if expected:
            for _ in range(100):
                if ticks:
                    break
                await asyncio.sleep(0.05)
            assert ticks
    finally:
        await runner.cleanup()
        store.engine.dispose()


async def test_a_round_stopped_by_shutdown_is_not_logged_as_a_failed_job(caplog):
    """SIGTERM mid-round: the round is cancelled with the loop's tasks; APScheduler must not
    report it as a job that raised (an ERROR with a traceback in every clean shutdown)."""
    started = asyncio.Event()

    async def slow_round() -> None:
        started.set()
        await asyncio.sleep(60)

    with caplog.at_level(logging.INFO):
        scheduler = start_scheduler(slow_round, 3600)
        await asyncio.wait_for(started.wait(), 5)
        scheduler.shutdown(wait=False)
        for task in [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]:
            task.cancel()
        await asyncio.sleep(0.05)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], [r.getMessage() for r in caplog.records]
    assert any("stopped by shutdown" in r.getMessage() for r in caplog.records)
