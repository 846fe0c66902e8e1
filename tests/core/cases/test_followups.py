"""Follow-up check-ins in the database (bot/core/cases/followups.py), on SQLite and PostgreSQL.

Due check-ins are rows, claimed (pending -> sending) before they are sent and marked sent
after, so restarts lose nothing and several processes never send one twice.
"""

from __future__ import annotations

import threading
from datetime import timedelta

from sqlalchemy import select

from bot.core.cases.followups import CANCELLED, DEFAULT_CLAIM_LEASE, MAX_SEND_ATTEMPTS, PENDING, SENDING, SENT, Followups
from bot.core.storage.store import Store
from bot.core.storage.tables import FollowupRow

from tests.scheduling.helpers import open_case
from tests.support import Clock

AFTER = timedelta(hours=4)
CLAIM_TIMEOUT = DEFAULT_CLAIM_LEASE   # a claim nobody renews is handed out again after this


def rows(store: Store, case_id: str) -> list[FollowupRow]:
    with store.session() as s:
        return list(s.execute(select(FollowupRow).where(FollowupRow.case_id == case_id)
                              .order_by(FollowupRow.id)).scalars())


def statuses(store: Store, case_id: str) -> list[str]:
    return [r.status for r in rows(store, case_id)]


def test_due_after_followup_after_and_not_before(store: Store, clock: Clock):
    followups = Followups(store, AFTER)
    case = open_case(store)
    t0 = clock.now
    assert followups.schedule(case.id, t0) is not None
    assert followups.pending_for(case.id) == [t0 + AFTER]
    assert followups.claim_due(t0) == []
    assert followups.claim_due(t0 + AFTER - timedelta(seconds=1)) == []
    claimed = followups.claim_due(t0 + AFTER)
    assert [(c.case.id, c.case.intent, c.case.thread) for c in claimed] == [(case.id, case.intent, case.thread)]
    assert statuses(store, case.id) == [SENDING]
    # Claimed: nobody else gets it, now or later (until the claim goes stale).
    assert followups.claim_due(t0 + AFTER) == []
    assert followups.claim_due(t0 + AFTER + CLAIM_TIMEOUT - timedelta(seconds=1)) == []


def test_sent_is_final(store: Store, clock: Clock):
    followups = Followups(store, AFTER)
    case = open_case(store)
    followups.schedule(case.id, clock.now)
    (due,) = followups.claim_due(clock.now + AFTER)
    followups.sent(due.followup_id, "1780000000.000001", clock.now + AFTER)
    (row,) = rows(store, case.id)
    assert (row.status, row.ref, row.sent_at, row.attempts) == (SENT, "1780000000.000001", clock.now + AFTER, 1)
    for later in (AFTER, AFTER + CLAIM_TIMEOUT * 2, timedelta(days=30)):
        assert followups.claim_due(clock.now + later) == []
    assert followups.pending_for(case.id) == []


def test_a_resolved_case_gets_no_checkin(store: Store, clock: Clock):
    followups = Followups(store, AFTER)
    fixed, open_ = open_case(store), open_case(store)
    followups.schedule(fixed.id, clock.now)
    followups.schedule(open_.id, clock.now)
    assert store.resolve(fixed.id, "U0ALICE01", "1780000000.000009").changed
    claimed = followups.claim_due(clock.now + AFTER)
    assert [c.case.id for c in claimed] == [open_.id]
    followups.sent(claimed[0].followup_id, "ts", clock.now + AFTER)
    assert statuses(store, fixed.id) == [CANCELLED]
    assert followups.claim_due(clock.now + AFTER * 10) == []


def test_cancel_and_give_up(store: Store, clock: Clock):
    followups = Followups(store, AFTER)
    a, b = open_case(store), open_case(store)
    followups.schedule(a.id, clock.now)
    followups.schedule(b.id, clock.now)
    followups.cancel(a.id)
    assert statuses(store, a.id) == [CANCELLED]
    (due,) = followups.claim_due(clock.now + AFTER)
    assert due.case.id == b.id
    followups.give_up(due.followup_id)
    assert statuses(store, b.id) == [CANCELLED]
    assert followups.claim_due(clock.now + AFTER + CLAIM_TIMEOUT * 2) == []


def test_claim_is_exclusive_across_concurrent_claimers(database_url, clock: Clock):
    """Several "processes" (each its own engine and connection pool) claim at the same instant."""
    setup = Store.from_url(database_url, clock=clock)
    followups = Followups(setup, AFTER)
    cases = [open_case(setup) for _ in range(40)]
    for case in cases:
        followups.schedule(case.id, clock.now)
    due_at = clock.now + AFTER
    workers = 6
    stores = [Store.from_url(database_url, clock=clock, migrate=False) for _ in range(workers)]
    barrier = threading.Barrier(workers)
    claimed: list[list[str]] = [[] for _ in range(workers)]
    errors: list[BaseException] = []

    def claim(i: int) -> None:
        mine = Followups(stores[i], AFTER)
        try:
            barrier.wait(timeout=30)
            while True:
                got = mine.claim_due(due_at, limit=3)
                if not got:
                    return
                claimed[i] += [c.case.id for c in got]
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=claim, args=(i,)) for i in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    for s in stores:
        s.engine.dispose()
    assert not errors, errors
    everything = [case_id for part in claimed for case_id in part]
    assert sorted(everything) == sorted(c.id for c in cases)   # each once, none lost
    assert len(set(everything)) == len(everything)
    assert {st for c in cases for st in statuses(setup, c.id)} == {SENDING}
    setup.engine.dispose()


def test_a_stale_sending_claim_is_handed_out_again_after_the_claim_timeout(store: Store, clock: Clock):
    followups = Followups(store, AFTER)
    case = open_case(store)
    followups.schedule(case.id, clock.now)
    claimed_at = clock.now + AFTER
    (first,) = followups.claim_due(claimed_at)
    # The sender dies without marking it sent. Not handed out before the timeout...
    assert followups.claim_due(claimed_at + CLAIM_TIMEOUT - timedelta(seconds=1)) == []
    # ...and exactly once after it.
    (again,) = followups.claim_due(claimed_at + CLAIM_TIMEOUT)
    assert again.followup_id == first.followup_id and again.case.id == case.id
    assert followups.claim_due(claimed_at + CLAIM_TIMEOUT) == []
    (row,) = rows(store, case.id)
    assert (row.status, row.attempts, row.claimed_at) == (SENDING, 2, claimed_at + CLAIM_TIMEOUT)
    assert (first.again, again.again) == (False, True)   # the second sender must look first


def test_a_claim_renewed_by_its_live_sender_is_not_handed_out_again(store: Store, clock: Clock):
    followups = Followups(store, AFTER, claim_lease=timedelta(seconds=10))
    case = open_case(store)
    followups.schedule(case.id, clock.now)
    t = clock.now + AFTER
    (mine,) = followups.claim_due(t)
    held = {mine.followup_id: mine.attempts}
    for step in range(1, 6):   # a slow send: renewed every few seconds, for far longer than the lease
        assert followups.renew(held, t + timedelta(seconds=4 * step)) == {mine.followup_id}
        assert followups.claim_due(t + timedelta(seconds=4 * step + 9)) == []
    # The sender dies: taken over one lease after its last renewal.
    (again,) = followups.claim_due(t + timedelta(seconds=30))
    assert again.followup_id == mine.followup_id and again.again
    assert followups.renew(held, t + timedelta(seconds=31)) == set()   # the dead one's renewals fail now


def test_send_attempts_are_capped(store: Store, clock: Clock):
    followups = Followups(store, AFTER)
    case = open_case(store)
    followups.schedule(case.id, clock.now)
    now = clock.now + AFTER
    for attempt in range(1, MAX_SEND_ATTEMPTS + 1):
        (due,) = followups.claim_due(now)
        assert rows(store, case.id)[0].attempts == attempt
        followups.postpone(due.followup_id, now + timedelta(minutes=2))   # the send failed
        now += timedelta(minutes=2)
    assert followups.claim_due(now) == []
    assert statuses(store, case.id) == [CANCELLED]


def test_postpone_puts_it_back_for_later(store: Store, clock: Clock):
    followups = Followups(store, AFTER)
    case = open_case(store)
    followups.schedule(case.id, clock.now)
    now = clock.now + AFTER
    (due,) = followups.claim_due(now)
    followups.postpone(due.followup_id, now + timedelta(hours=1))
    (row,) = rows(store, case.id)
    assert (row.status, row.due_at, row.claimed_at) == (PENDING, now + timedelta(hours=1), None)
    assert followups.pending_for(case.id) == [now + timedelta(hours=1)]
    assert followups.claim_due(now + timedelta(minutes=59)) == []
    (again,) = followups.claim_due(now + timedelta(hours=1))
    assert again.followup_id == due.followup_id


def test_claim_order_and_limit(store: Store, clock: Clock):
    followups = Followups(store, AFTER)
    cases = [open_case(store) for _ in range(5)]
    for i, case in enumerate(cases):
        followups.schedule(case.id, clock.now, timedelta(minutes=50 - i * 10))   # the last case is due first
    now = clock.now + timedelta(hours=1)
    first = followups.claim_due(now, limit=2)
    assert [c.case.id for c in first] == [cases[4].id, cases[3].id]
    rest = followups.claim_due(now, limit=10)
    assert [c.case.id for c in rest] == [cases[2].id, cases[1].id, cases[0].id]


def test_max_checkins_per_case(store: Store, clock: Clock):
    followups = Followups(store, AFTER, max_checkins=3)
    case = open_case(store)
    now = clock.now
    for _ in range(3):
        assert followups.schedule(case.id, now) is not None
        now += AFTER
        (due,) = followups.claim_due(now)
        followups.sent(due.followup_id, "ts", now)
    # Three check-ins sent: "Still failing" or a snooze schedules no fourth.
    assert followups.schedule(case.id, now) is None
    assert followups.snooze_until(case.id, now + timedelta(hours=1)) is None
    assert followups.pending_for(case.id) == []
    assert followups.claim_due(now + AFTER * 10) == []
    assert statuses(store, case.id) == [SENT, SENT, SENT]


def test_rescheduling_replaces_the_pending_checkin(store: Store, clock: Clock):
    followups = Followups(store, AFTER)
    case = open_case(store)
    followups.schedule(case.id, clock.now)
    followups.schedule(case.id, clock.now + timedelta(hours=1))
    assert followups.pending_for(case.id) == [clock.now + timedelta(hours=1) + AFTER]
    assert statuses(store, case.id) == [CANCELLED, PENDING]


def test_snooze_replaces_the_pending_checkin(store: Store, clock: Clock):
    followups = Followups(store, AFTER)
    case = open_case(store)
    followups.schedule(case.id, clock.now)
    until = clock.now + timedelta(hours=1)
    assert followups.snooze_until(case.id, until) is not None
    assert followups.pending_for(case.id) == [until]
    assert statuses(store, case.id) == [CANCELLED, PENDING]
    assert followups.claim_due(until - timedelta(seconds=1)) == []
    (due,) = followups.claim_due(until)
    followups.sent(due.followup_id, "ts", until)
    # The original time (FOLLOWUP_AFTER) brings nothing more.
    assert followups.claim_due(clock.now + AFTER) == []
    assert followups.claim_due(clock.now + AFTER * 3) == []


def test_snooze_after_a_sent_checkin_asks_once_more(store: Store, clock: Clock):
    followups = Followups(store, AFTER)
    case = open_case(store)
    followups.schedule(case.id, clock.now)
    now = clock.now + AFTER
    (due,) = followups.claim_due(now)
    followups.sent(due.followup_id, "ts", now)
    followups.snooze_until(case.id, now + timedelta(hours=1))
    assert followups.claim_due(now + timedelta(minutes=59)) == []
    assert len(followups.claim_due(now + timedelta(hours=1))) == 1
    assert statuses(store, case.id) == [SENT, SENDING]
