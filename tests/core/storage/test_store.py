"""The case store on SQLite and on a real PostgreSQL server."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa
from filelock import FileLock

from bot.core.storage.store import Store

from bot.core.storage.tables import ESCALATED, OPEN, RESOLVED
from bot.core.storage.migrations import current, head
from tests.support import Clock


def _case(store: Store, **overrides):
    args = dict(platform="slack", workspace="T1", channel="C1", thread="100.1", message="100.1", user="U1",
                intent="bill_not_exported", confidence=0.9, entities={"bill": "BILL-7731"},
                question='Bill "BILL-7731" has not been exported to QuickBooks')
    args.update(overrides)
    return store.open_case(**args)


MARCH_1 = datetime(2026, 3, 1, 9, 0, tzinfo=timezone.utc)


def test_migrations_create_every_table_and_are_idempotent(database_url):
    store = Store.from_url(database_url)
    names = set(sa.inspect(store.engine).get_table_names())
    assert {"cases", "events", "feedback", "corrections", "slack_installations", "slack_bots",
            "slack_oauth_states", "models", "digest_snoozes", "answered_messages", "alembic_version"} <= names
    assert current(store.engine) == head()
    Store.from_url(database_url)  # a second start must not fail or re-run anything
    assert current(store.engine) == head()


def test_two_processes_migrating_at_once_both_succeed(database_url):
    code = "import sys; from bot.core.storage.store import Store; Store.from_url(sys.argv[1]); print('ok')"
    procs = [subprocess.Popen([sys.executable, "-c", code, database_url], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    results = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], results
    assert current(Store.from_url(database_url, migrate=False).engine) == head()


def test_a_sqlite_migration_waits_for_the_migration_lock_of_its_file(tmp_path):
    database = tmp_path / "waits.db"
    code = ("import sys; from bot.core.storage.store import Store; print('imported', flush=True); "
            "Store.from_url(sys.argv[1]); print('migrated', flush=True)")
    with FileLock(f"{database}.migrate-lock"):  # another process is migrating this file
        proc = subprocess.Popen([sys.executable, "-c", code, f"sqlite:///{database}"], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        try:
            assert proc.stdout.readline().strip() == "imported"
            time.sleep(0.5)
            assert proc.poll() is None and not database.exists()  # waiting, and has not touched the database
        except BaseException:
            proc.kill()
            raise
    out, err = proc.communicate(timeout=120)
    assert (proc.returncode, out.strip()) == (0, "migrated"), err
    assert current(Store.from_url(f"sqlite:///{database}", migrate=False).engine) == head()


def test_the_same_message_is_recorded_once_even_from_two_processes(database_url):
    first, second = Store.from_url(database_url), Store.from_url(database_url)
    assert first.record_event("slack", "T1", "C1", "1.1", event_id="Ev1", payload={"text": "a"}) is not None
    # A retry, or the same message as another event type, from another process:
    assert second.record_event("slack", "T1", "C1", "1.1", event_id="Ev2") is None
    # Another channel or workspace is another message.
    assert second.record_event("slack", "T1", "C2", "1.1") is not None
    assert second.record_event("slack", "T2", "C1", "1.1") is not None


def test_concurrent_deliveries_record_exactly_one(store):
    results = []

    def deliver(n: int) -> None:
        results.append(store.record_event("slack", "T1", "C9", "5.5", event_id=f"Ev{n}"))

    threads = [threading.Thread(target=deliver, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len([r for r in results if r is not None]) == 1


def test_fixed_twice_changes_state_once(store):
    case = _case(store)
    first = store.resolve(case.id, "U1", source="200.1")
    again = store.resolve(case.id, "U1", source="200.1")
    later = store.resolve(case.id, "U2", source="300.1")
    assert (first.changed, again.changed, later.changed) == (True, False, False)
    stored = store.get_case(case.id)
    assert stored.status == RESOLVED and stored.resolved_at is not None
    with store.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM feedback")).scalar() == 1


def test_still_failing_counts_once_per_message_and_escalates(store):
    case = _case(store)
    assert store.still_failing(case.id, "U1", "m1", escalate_after=2).changed
    assert not store.still_failing(case.id, "U1", "m1", escalate_after=2).changed  # double click
    assert store.get_case(case.id).status == OPEN
    change = store.still_failing(case.id, "U1", "m2", escalate_after=2)
    assert change.changed and change.case.status == ESCALATED and change.case.failing_count == 2


def test_a_resolved_case_is_not_reopened_by_still_failing(store):
    case = _case(store)
    store.resolve(case.id, "U1", "m1")
    assert not store.still_failing(case.id, "U1", "m2", escalate_after=1).changed
    assert store.get_case(case.id).status == RESOLVED


def test_reclassify_keeps_a_correction_for_training(store):
    case = _case(store, intent="product_not_exported")
    change = store.reclassify(case.id, "bill_not_exported", "U1", "m1")
    assert change.changed and change.case.intent == "bill_not_exported"
    assert store.corrections() == [('Bill "BILL-7731" has not been exported to QuickBooks', "bill_not_exported")]
    # Picking the intent the case already has confirms it: no second correction, and a repeat
    # click on the same message changes nothing.
    assert store.reclassify(case.id, "bill_not_exported", "U1", "m2").changed
    assert not store.reclassify(case.id, "bill_not_exported", "U1", "m2").changed
    assert len(store.corrections()) == 1


def test_unknown_case_changes_nothing(store):
    assert store.resolve("no-such-case", "U1", "m1").case is None


def test_unfinished_events_are_claimed_once_each_by_concurrent_workers(database_url):
    clock = Clock(MARCH_1)
    store = Store.from_url(database_url, clock=clock)
    ids = {store.record_event("slack", "T1", "C1", f"{n}.0", payload={"n": n}) for n in range(20)}
    done = store.record_event("slack", "T1", "C1", "99.0")
    store.finish_event(done)
    clock.now += timedelta(minutes=5)
    claimed: list[int] = []
    lock = threading.Lock()

    def worker() -> None:
        other = Store.from_url(database_url, clock=clock, migrate=False)
        got = other.claim_unfinished_events(timedelta(seconds=60), limit=7)
        with lock:
            claimed.extend(row for row, _, _ in got)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(claimed) == sorted(ids)  # every unfinished event once, the finished one never
    # Claimed events wait another retry period before they are handed out again.
    assert store.claim_unfinished_events(timedelta(seconds=60)) == []


def test_an_event_that_keeps_failing_is_given_up(store):
    clock = Clock(MARCH_1)
    store.clock = clock
    store.record_event("slack", "T1", "C1", "7.0", payload={})
    for _ in range(5):
        clock.now += timedelta(minutes=2)
        assert len(store.claim_unfinished_events(timedelta(seconds=60), max_attempts=5)) == 1
    clock.now += timedelta(minutes=2)
    assert store.claim_unfinished_events(timedelta(seconds=60), max_attempts=5) == []


def test_a_renewed_event_is_left_to_the_process_answering_it(store):
    """A process still holding an event (queued behind a slow batch) renews it; recovery claims
    only what nobody renews, and a renewal after a recovery's claim tells the holder it lost it."""
    clock = Clock(MARCH_1)
    store.clock = clock
    held = store.record_event("slack", "T1", "C1", "9.1", payload={})
    orphan = store.record_event("slack", "T1", "C1", "9.2", payload={})
    clock.now += timedelta(seconds=45)
    assert store.renew_events({held: 0}) == {held}
    clock.now += timedelta(seconds=45)  # 90 s after both were recorded, 45 s after the renewal
    [(row, _, attempts)] = store.claim_unfinished_events(timedelta(seconds=60))
    assert (row, attempts) == (orphan, 1)
    assert store.renew_events({held: 0, orphan: 0}) == {held}  # the orphan is the recovery's now
    assert store.renew_events({orphan: 1}) == {orphan}         # ...which renews it at its attempts
    store.finish_event(held)
    assert store.renew_events({held: 0}) == set()              # finished: nothing to hold


def test_finishing_an_event_drops_its_text(store):
    row = store.record_event("slack", "T1", "C1", "8.0", payload={"text": "customer text"})
    store.finish_event(row)
    with store.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT payload FROM events WHERE id = :i"), {"i": row}).scalar() is None


def test_retention_forgets_old_question_text(store):
    clock = Clock(MARCH_1)
    store.clock = clock
    old = _case(store)
    clock.now += timedelta(days=40)
    new = _case(store, message="200.2")
    assert store.purge(timedelta(days=30)) >= 1
    assert store.get_case(old.id).question is None
    assert store.get_case(new.id).question is not None


def test_thread_and_user_lookups(store):
    case = _case(store)
    _case(store, user="U2", thread="300.1", message="300.1")
    assert store.case_in_thread("slack", "T1", "C1", "100.1").id == case.id
    assert store.case_in_thread("slack", "T1", "C1", "999.9") is None
    assert [c.id for c in store.open_cases_for("slack", "T1", "U1")] == [case.id]
    store.resolve(case.id, "U1", "m")
    assert store.open_cases_for("slack", "T1", "U1") == []


def test_times_come_back_timezone_aware(store):
    case = _case(store)
    stored = store.get_case(case.id)
    assert stored.created_at.tzinfo is not None
    assert abs((stored.created_at - datetime.now(timezone.utc)).total_seconds()) < 60


def test_the_burst_path_writes_what_the_orm_reads_back(store):
    """record_events -> progress, the statements a burst of Slack events runs with prebuilt
    statements (Store._burst): every value must come back as the ORM stored it."""
    clock = Clock(MARCH_1)
    store.clock = clock
    items = [dict(platform="slack", workspace="T1", channel="C1", message=f"{n}.5", event_id=f"Ev{n}",
                  kind="message", payload={"text": f"message {n}"}) for n in range(4)]
    rows = store.record_events(items + [items[0]])  # the repeat is a duplicate
    assert rows[4] is None and None not in rows[:4]
    specs = [dict(platform="slack", workspace="T1", channel="C1", thread=f"{n}.5", message=f"{n}.5", user="U1",
                  intent="bill_not_exported", confidence=0.875, entities={"bill": f"BILL-{n}", "note": "ünï \"q\""},
                  question=f"question {n}") for n in range(4)]
    cases = store.new_cases(specs)
    due = clock.now + timedelta(hours=4)
    # Before posting: every case and its first check-in. Opened again (a recovery's try), a case
    # already written is left as it is, and gets no second check-in.
    store.progress(opened=cases[:3], followup_due=due)
    store.progress(opened=[replace(cases[0], intent="period_closed"), cases[3]], followup_due=due)
    for case in cases:
        assert store.get_case(case.id) == case  # every column, times and JSON included
    # After: the first two replies are out (the second's ts unknown), the third's was refused
    # (its case goes), the fourth is still on its way.
    store.progress(answered=[(rows[0], cases[0].id, "1700000000.000100"), (rows[1], cases[1].id, "")],
                   failed=[(rows[2], cases[2].id)])
    for case, ref in zip(cases[:2], ("1700000000.000100", "")):
        stored = store.get_case(case.id)
        assert stored == replace(case, reply_ref=ref)
        assert stored.created_at == clock.now and stored.created_at.tzinfo is not None
    assert store.get_case(cases[2].id) is None
    with store.engine.connect() as conn:
        events = dict(conn.execute(sa.text("SELECT id, status FROM events")).all())
        assert [events[row] for row in rows[:4]] == ["done", "done", "failed", "received"]
        assert conn.execute(sa.text("SELECT payload FROM events WHERE id = :i"), {"i": rows[0]}).scalar() is None
        followups = conn.execute(sa.text("SELECT case_id, status, attempts FROM followups ORDER BY id")).all()
    assert [tuple(f) for f in followups] == [(c.id, "pending", 0) for c in (cases[0], cases[1], cases[3])]
    [(row, payload, attempts)] = store.claim_unfinished_events(timedelta(0))  # only the one on its way
    assert (row, payload, attempts) == (rows[3], {"text": "message 3"}, 1)


def test_an_event_tried_too_often_is_given_up(store):
    clock = Clock(MARCH_1)
    store.clock = clock
    [row] = store.record_events([dict(platform="slack", workspace="T1", channel="C1", message="1.5", event_id="",
                                      kind="message", payload={"text": "x"})])
    for attempt in range(1, 6):
        clock.now += timedelta(minutes=2)
        assert store.give_up_events(timedelta(minutes=1), max_attempts=5) == []
        assert [a for _, _, a in store.claim_unfinished_events(timedelta(minutes=1), max_attempts=5)] == [attempt]
    clock.now += timedelta(seconds=30)
    assert store.give_up_events(timedelta(minutes=1), max_attempts=5) == []  # the fifth try may still be running
    clock.now += timedelta(minutes=1)
    assert store.claim_unfinished_events(timedelta(minutes=1), max_attempts=5) == []
    assert store.give_up_events(timedelta(minutes=1), max_attempts=5) == [(row, {"text": "x"}, 5)]
    assert store.give_up_events(timedelta(minutes=1), max_attempts=5) == []
