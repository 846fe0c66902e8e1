"""Importing sync history into the database, on SQLite and PostgreSQL: tracking, idempotence,
resolution, re-opening, bad rows, one transaction per chunk of entries (a file of fewer than
CHUNK_KEYS entries: one), concurrent imports."""

from __future__ import annotations

import io
import random
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import update

from bot.core.storage import sqlite
from bot.core.synchistory import ingest
from bot.core.synchistory.ingest import ImportReport, import_csv, import_rows
from bot.core.synchistory.parse import parse_json_rows
from bot.core.storage.store import Store
from bot.core.storage.tables import OPEN, RESOLVED, SyncErrorRow

from tests.ingest.helpers import by_key, table

UTC = timezone.utc
HEADER = "Date,Type,Reference,Status,Message\n"
BILL = 'Bill "B-{n}" has not been exported to QuickBooks'
CURRENCY = "The transaction needs to be in the same currency as the A/R and A/P accounts you use"
DUPLICATE = ("Duplicate Name Exists Error. The name supplied already exists. Another customer, supplier, "
             "or employee is already using this name. Please use a different name.")
PRODUCT = 'Product "Widget {n}" in "SO-{n}" has not been exported to QuickBooks. Please check the export status in sync history'
UNEXPECTED = "Unexpected user error. (-{n})"


def q(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def csv_of(*rows: tuple[str, str, str, str, str]) -> io.StringIO:
    return io.StringIO(HEADER + "".join(",".join(q(v) for v in row) + "\n" for row in rows))


def totals(report: ImportReport) -> int:
    return (report.errors_tracked + report.updated + report.resolved + report.reopened + report.unchanged
            + report.skipped + len(report.problems))


def run(store, engine, *rows) -> ImportReport:
    report = import_csv(store, engine, csv_of(*rows))
    assert totals(report) == report.rows_read
    return report


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_error_rows_are_classified_and_tracked(store, engine):
    report = run(store, engine,
                 ("2026-03-01 09:15", "Purchase", "B-1042", "Error", BILL.format(n=1042)),
                 ("2026-03-01 09:16", "Sale", "SO-7", "Error", PRODUCT.format(n=7)),
                 ("2026-03-01 09:17", "Invoice", "INV-9", "Failed", CURRENCY),
                 ("2026-03-01 09:18", "Invoice", "INV-10", "Completed", "Exported"),
                 ("2026-03-01 09:19", "Invoice", "INV-11", "Pending", ""))
    assert (report.errors_tracked, report.skipped, report.problems) == (3, 2, [])
    rows = by_key(store)
    assert set(rows) == {("Purchase", "B-1042"), ("Sale", "SO-7"), ("Invoice", "INV-9")}
    bill = rows[("Purchase", "B-1042")]
    assert (bill["intent"], bill["confidence"], bill["entities"]) == ("bill_not_exported", 0.99, {"bill": "B-1042"})
    assert (bill["status"], bill["occurrences"], bill["source"]) == (OPEN, 1, "csv")
    assert bill["first_seen"] == bill["last_seen"] == at(2026, 3, 1, 9, 15) and bill["resolved_at"] is None
    assert bill["message"] == BILL.format(n=1042)
    product = rows[("Sale", "SO-7")]
    assert product["intent"] == "order_product_not_exported"
    assert product["entities"]["order"] == "SO-7" and product["entities"]["product"] == "Widget 7"
    assert rows[("Invoice", "INV-9")]["intent"] == "ar_ap_currency_mismatch"


def test_classification_matches_the_engine(store, engine):
    texts = [BILL.format(n=5), CURRENCY, DUPLICATE, UNEXPECTED.format(n=6000), "Completed with processing errors",
             "Something odd happened to this one"]
    run(store, engine, *[("2026-03-01", "Sale", f"SO-{i}", "Error", t) for i, t in enumerate(texts)])
    rows = by_key(store)
    for i, (text, answer) in enumerate(zip(texts, engine.diagnose_error_texts(texts))):
        row = rows[("Sale", f"SO-{i}")]
        assert (row["intent"], row["confidence"], row["entities"]) == (answer.intent, pytest.approx(answer.confidence),
                                                                       answer.entities)


HISTORY = [
    ("01/03/2026 09:00", "Purchase", "B-1", "Error", BILL.format(n=1)),
    ("01/03/2026 09:00", "Purchase", "B-1", "Error", BILL.format(n=1)),        # duplicate row
    ("01/03/2026 10:00", "Purchase", "B-1", "Completed", ""),                  # resolves B-1
    ("01/03/2026 09:30", "Sale", "SO-2", "Error", DUPLICATE),
    ("02/03/2026 09:30", "Sale", "SO-2", "Error", DUPLICATE),                   # seen again next day
    ("01/03/2026 08:00", "Sale", "SO-2", "Completed", ""),                     # older than the error
    ("01/03/2026 11:00", "Invoice", "INV-3", "Error", CURRENCY),
    ("01/03/2026 12:00", "Invoice", "INV-3", "Skipped", ""),                   # resolves INV-3
    ("01/03/2026 13:00", "Invoice", "INV-3", "Error", UNEXPECTED.format(n=7)),  # fails again: re-opened
    ("01/03/2026 13:00", "Invoice", "INV-4", "Completed", ""),                 # nothing to resolve
    ("01/03/2026 13:00", "Invoice", "INV-5", "Pending", ""),                   # queued
]


def test_importing_the_same_rows_again_changes_nothing(store, engine):
    first = run(store, engine, *HISTORY)
    assert (first.errors_tracked, first.updated, first.resolved, first.reopened, first.unchanged, first.skipped) == \
        (3, 1, 2, 1, 1, 3)
    before = table(store)
    again = run(store, engine, *HISTORY)
    assert table(store) == before
    assert (again.errors_tracked, again.updated, again.resolved, again.reopened) == (0, 0, 0, 0)
    assert (again.unchanged, again.skipped) == (6, 5)


def test_looking_keys_up_in_chunks_gives_the_same_result(store, engine, monkeypatch, tmp_path):
    """Existing rows are read with one scan of a small table, or by key, a chunk at a time."""
    reference = Store.from_url(f"sqlite:///{tmp_path / 'reference.db'}")
    run(reference, engine, *HISTORY[:5])
    run(reference, engine, *HISTORY)
    monkeypatch.setattr(ingest, "FULL_SCAN_FACTOR", 0)
    monkeypatch.setattr(ingest, "LOAD_CHUNK", 2)
    run(store, engine, *HISTORY[:5])
    report = run(store, engine, *HISTORY)
    assert sorted(table(store)) == sorted(table(reference))
    assert (report.errors_tracked, report.reopened, report.unchanged) == (1, 1, 4)
    reference.engine.dispose()


def test_history_outcome(store, engine):
    run(store, engine, *HISTORY)
    rows = by_key(store)
    b1, so2, inv3 = rows[("Purchase", "B-1")], rows[("Sale", "SO-2")], rows[("Invoice", "INV-3")]
    assert (b1["status"], b1["occurrences"], b1["resolved_at"]) == (RESOLVED, 1, at(2026, 3, 1, 10))
    assert (so2["status"], so2["occurrences"], so2["first_seen"], so2["last_seen"]) == (
        OPEN, 2, at(2026, 3, 1, 9, 30), at(2026, 3, 2, 9, 30))
    # INV-3 was resolved by the Skipped row at 12:00 and failed again at 13:00, in the same file
    assert (inv3["status"], inv3["occurrences"], inv3["resolved_at"]) == (OPEN, 2, None)
    assert (inv3["intent"], inv3["message"]) == ("unexpected_user_error", UNEXPECTED.format(n=7))
    assert len(rows) == 3


def test_the_order_of_lines_does_not_matter(database_url, engine, tmp_path):
    results = []
    for seed in range(3):
        store = Store.from_url(database_url if seed == 0 else f"sqlite:///{tmp_path / f'{seed}.db'}")
        shuffled = HISTORY[:]
        random.Random(seed).shuffle(shuffled)
        run(store, engine, *shuffled)
        results.append(sorted(table(store)))
        store.engine.dispose()
    assert results[0] == results[1] == results[2]


def test_a_success_at_the_same_time_as_the_error_resolves_it_whatever_the_line_order(store, engine):
    run(store, engine, ("2026-03-01 09:00", "Sale", "SO-1", "Completed", ""),
        ("2026-03-01 09:00", "Sale", "SO-1", "Error", CURRENCY))
    assert by_key(store)[("Sale", "SO-1")]["status"] == RESOLVED
    before = table(store)
    run(store, engine, ("2026-03-01 09:00", "Sale", "SO-1", "Error", CURRENCY))
    assert table(store) == before


def test_resolution_and_reopening_across_files(store, engine):
    run(store, engine, ("2026-03-01 09:00", "Sale", "SO-1", "Error", CURRENCY))
    report = run(store, engine, ("2026-03-01 08:59", "Sale", "SO-1", "Completed", ""))
    assert (report.resolved, report.skipped) == (0, 1)
    assert by_key(store)[("Sale", "SO-1")]["status"] == OPEN
    report = run(store, engine, ("2026-03-02 09:00", "Sale", "SO-1", "Completed", ""))
    assert report.resolved == 1
    row = by_key(store)[("Sale", "SO-1")]
    assert (row["status"], row["resolved_at"]) == (RESOLVED, at(2026, 3, 2, 9))
    report = run(store, engine, ("2026-03-01 09:00", "Sale", "SO-1", "Error", CURRENCY))  # the old failure again
    assert (report.unchanged, report.reopened) == (1, 0)
    report = run(store, engine, ("2026-03-03 09:00", "Sale", "SO-1", "Error", DUPLICATE))
    assert report.reopened == 1
    row = by_key(store)[("Sale", "SO-1")]
    assert (row["status"], row["occurrences"], row["resolved_at"], row["last_seen"], row["intent"]) == (
        OPEN, 2, None, at(2026, 3, 3, 9), "duplicate_name")
    assert row["first_seen"] == at(2026, 3, 1, 9)


def test_an_occurrence_counts_only_for_a_sighting_not_seen_before(store, engine):
    run(store, engine, ("2026-03-02 09:00", "Sale", "SO-1", "Error", CURRENCY))
    assert run(store, engine, ("2026-03-02 09:00", "Sale", "SO-1", "Error", CURRENCY)).unchanged == 1
    assert run(store, engine, ("2026-03-02 12:00", "Sale", "SO-1", "Error", CURRENCY)).updated == 1
    assert run(store, engine, ("2026-03-01 12:00", "Sale", "SO-1", "Error", CURRENCY)).updated == 1  # older history
    assert run(store, engine, ("2026-03-02 10:00", "Sale", "SO-1", "Error", CURRENCY)).unchanged == 1  # in between
    row = by_key(store)[("Sale", "SO-1")]
    assert (row["occurrences"], row["first_seen"], row["last_seen"]) == (3, at(2026, 3, 1, 12), at(2026, 3, 2, 12))


def test_a_newer_sighting_with_another_message_is_reclassified(store, engine):
    run(store, engine, ("2026-03-01 09:00", "Sale", "SO-1", "Error", CURRENCY))
    run(store, engine, ("2026-03-01 10:00", "Sale", "SO-1", "Error", BILL.format(n=4)))
    row = by_key(store)[("Sale", "SO-1")]
    assert (row["intent"], row["entities"], row["message"]) == ("bill_not_exported", {"bill": "B-4"}, BILL.format(n=4))


def test_a_manual_resolution_is_not_undone_by_the_same_history(store, engine):
    """The digest's "Mark resolved" sets resolved_at to the moment of the click."""
    run(store, engine, ("2026-03-01 09:00", "Sale", "SO-1", "Error", CURRENCY))
    with store.session() as s:
        s.execute(update(SyncErrorRow).values(status=RESOLVED, resolved_at=at(2026, 3, 5)))
    before = table(store)
    run(store, engine, ("2026-03-01 09:00", "Sale", "SO-1", "Error", CURRENCY),
        ("2026-03-04 09:00", "Sale", "SO-1", "Error", CURRENCY))
    assert table(store) == before
    assert run(store, engine, ("2026-03-06 09:00", "Sale", "SO-1", "Error", CURRENCY)).reopened == 1


def test_rows_without_dates(database_url, engine):
    clock = [at(2026, 3, 1, 12)]
    store = Store.from_url(database_url, clock=lambda: clock[0])
    try:
        def go(text: str) -> ImportReport:
            report = import_csv(store, engine, io.StringIO(text))
            assert totals(report) == report.rows_read
            return report

        assert go("Type,Reference,Status,Message\nSale,SO-1,Error,boom\nSale,SO-2,Completed,\nSale,SO-2,Error,x\n"
                  "Sale,SO-3,Error,x\nSale,SO-3,Completed,\n").errors_tracked == 3
        rows = by_key(store)
        assert rows[("Sale", "SO-1")]["first_seen"] == at(2026, 3, 1, 12)
        assert rows[("Sale", "SO-2")]["status"] == OPEN      # the error is the last word on SO-2
        assert rows[("Sale", "SO-3")]["status"] == RESOLVED  # and the success on SO-3
        before = table(store)
        clock[0] += timedelta(hours=5)
        again = go("Type,Reference,Status,Message\nSale,SO-1,Error,boom\nSale,SO-2,Completed,\nSale,SO-2,Error,x\n"
                   "Sale,SO-3,Error,x\nSale,SO-3,Completed,\n")
        assert table(store) == before and (again.unchanged, again.skipped) == (3, 2)
        assert go("Type,Reference,Status\nSale,SO-1,Completed\n").resolved == 1
        assert by_key(store)[("Sale", "SO-1")]["resolved_at"] == at(2026, 3, 1, 17)
    finally:
        store.engine.dispose()


def test_bad_rows_are_reported_and_the_good_rows_imported(store, engine):
    text = (HEADER + f"2026-03-01,Sale,SO-1,Error,{q(DUPLICATE)}\n"
            "2026-03-01,Sale,SO-2,Error,Bill has not, been exported\n"
            "31/31/2026,Sale,SO-3,Error,x\n"
            f"2026-03-01,Sale,SO-4,Error,{q(CURRENCY)}\n")
    report = import_csv(store, engine, io.StringIO(text))
    assert [n for n, _ in report.problems] == [3, 4]
    assert report.errors_tracked == 2 and totals(report) == report.rows_read == 4
    assert set(by_key(store)) == {("Sale", "SO-1"), ("Sale", "SO-4")}
    assert report.to_json()["problems"][0] == {"line": 3, "reason": report.problems[0][1]}


def test_json_rows(store, engine):
    report = import_rows(store, engine, parse_json_rows([  # as POST /api/sync-errors does
        {"date": "2026-03-01T09:00:00Z", "type": "Sale", "reference": "SO-1", "status": "Error", "message": CURRENCY},
        {"date": "2026-03-01T10:00:00Z", "type": "Sale", "reference": "SO-1", "status": "Completed"},
        {"type": "Sale", "status": "Error"},
    ]), source="api")
    assert (report.errors_tracked, report.resolved, report.problems) == (1, 1, [(3, "no reference")])
    assert report.to_json()["problems"] == [{"row": 3, "reason": "no reference"}]
    assert by_key(store)[("Sale", "SO-1")]["source"] == "api"


def test_long_messages_are_kept_to_1000_characters(store, engine):
    message = CURRENCY + " " + "x" * 3000
    run(store, engine, ("2026-03-01", "Sale", "SO-1", "Error", message))
    row = by_key(store)[("Sale", "SO-1")]
    assert row["message"] == message[:1000] and row["intent"] == "ar_ap_currency_mismatch"
    before = table(store)
    run(store, engine, ("2026-03-01", "Sale", "SO-1", "Error", message))
    assert table(store) == before


def test_a_crash_mid_file_leaves_the_database_unchanged(store, engine, monkeypatch):
    run(store, engine, *HISTORY)
    before = table(store)
    rows = [(f"2026-03-0{2 + i % 5} 10:00", "Invoice", f"IN-{i}", "Error", BILL.format(n=i)) for i in range(300)]
    rows += [("2026-03-09", "Purchase", "B-1", "Error", CURRENCY), ("2026-03-09", "Sale", "SO-2", "Completed", "")]
    calls = []
    real = ingest._executemany

    def crash_on_the_second_batch(conn, statement, batch):
        calls.append(len(batch))
        if len(calls) == 2:
            raise RuntimeError("the process died here")
        real(conn, statement, batch)

    monkeypatch.setattr(ingest, "WRITE_CHUNK", 100)
    monkeypatch.setattr(ingest, "_executemany", crash_on_the_second_batch)
    with pytest.raises(RuntimeError, match="died"):
        import_csv(store, engine, csv_of(*rows))
    assert calls == [100, 100]  # the first batch of new rows was written before the crash
    assert table(store) == before
    monkeypatch.setattr(ingest, "_executemany", real)
    report = import_csv(store, engine, csv_of(*rows))
    assert (report.errors_tracked, report.reopened, report.resolved) == (300, 1, 1)


def test_concurrent_imports_of_the_same_new_rows(store, engine, monkeypatch):
    """Two imports decide at the same time that the same keys are new: one of them has to plan
    again (PostgreSQL: unique violation, retried; SQLite: the write lock serialises them)."""
    rows = [("2026-03-01 10:00", "Sale", f"SO-{i}", "Error", CURRENCY) for i in range(50)]
    postgres = store.engine.dialect.name == "postgresql"
    barrier = threading.Barrier(2)
    real_load, real_pause = ingest._load, sqlite.pause
    locked_loads = []
    queued = threading.Condition()  # SQLite: counts the waits of a writer queued for the lock
    waits = [0]

    def pause(seconds: float) -> None:
        with queued:
            waits[0] += 1
            queued.notify_all()
        real_pause(seconds)

    def load(conn, keys, lock):
        found = real_load(conn, keys, lock)
        if lock:
            with queued:
                locked_loads.append(len(found))
                first, seen = len(locked_loads) <= (2 if postgres else 1), waits[0]
            if first and postgres:
                barrier.wait(timeout=10)  # both have read before either writes
            elif first:                   # the other import queues for the lock this one holds
                with queued:
                    assert queued.wait_for(lambda: waits[0] > seen, 10), "the other import never waited"
        return found

    monkeypatch.setattr(ingest, "_load", load)
    monkeypatch.setattr(sqlite, "pause", pause)
    reports: list[ImportReport] = []
    errors: list[BaseException] = []

    def work():
        try:
            reports.append(import_csv(store, engine, csv_of(*rows)))
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    assert sorted(r.errors_tracked for r in reports) == [0, 50]
    assert sorted(r.unchanged for r in reports) == [0, 50]
    assert len(table(store)) == 50 and all(r["occurrences"] == 1 for r in by_key(store).values())
    if store.engine.dialect.name == "postgresql":
        assert locked_loads.count(0) == 2 and len(locked_loads) == 3  # the loser planned again


# -- a 100,000-row file -----------------------------------------------------------------------

TEMPLATES = [BILL, CURRENCY, DUPLICATE, PRODUCT, UNEXPECTED, "Reference number is not unique, please specify a unique value",
             "Credit account ({n}) is not mapped to any QuickBooks account", "This transaction has been deposited",
             "Item version already exists in QBO", "Completed with processing errors"]
KINDS = ["Sale", "Purchase", "Credit Note", "Invoice", "Payment", "Journal"]


def write_history(path, *, seed: int = 7) -> dict[str, int]:
    """100,000 lines of sync history with known outcomes; returns what the import must report."""
    rng = random.Random(seed)
    base = datetime(2026, 3, 1, 6, 0)
    keys = [(KINDS[i % len(KINDS)], f"R-{i:06d}") for i in range(30_000)]
    first = {}
    rows = []

    def add(when: datetime, key, status: str, message: str = "") -> None:
        rows.append((when.strftime("%d/%m/%Y %H:%M:%S"), key[0], key[1], status, message))

    for i, key in enumerate(keys):
        first[key] = (base + timedelta(seconds=i), rng.choice(TEMPLATES).format(n=rng.randint(1000, 9999)))
        add(first[key][0], key, "Error", first[key][1])
    for key in keys[:10_000]:                                   # resolved later
        add(first[key][0] + timedelta(hours=1), key, rng.choice(["Completed", "Skipped"]))
    for key in keys[10_000:12_000]:                             # failed again later, same message
        add(first[key][0] + timedelta(hours=2), key, "Error", first[key][1])
    for key in keys[:1_000]:                                    # failed again after being resolved
        add(first[key][0] + timedelta(hours=3), key, "Error", rng.choice(TEMPLATES).format(n=rng.randint(1, 99)))
    for key in keys[20_000:25_000]:                             # the same lines twice
        add(first[key][0], key, "Error", first[key][1])
    for i in range(47_000):                                     # entries that synced fine
        add(base + timedelta(seconds=rng.randint(0, 40_000)), ("Invoice", f"OK-{i:06d}"), "Completed")
    for i in range(4_997):                                      # queued
        add(base + timedelta(seconds=i), ("Sale", f"Q-{i:06d}"), "Pending")
    rng.shuffle(rows)
    lines = [",".join(q(v) if any(c in v for c in ',"\n') else v for v in row) for row in rows]
    lines[500:500] = ["31/02/2026 10:00:00,Sale,BAD-1,Error,no such day"]
    lines[40_000:40_000] = ["01/03/2026 10:00:00,Sale,BAD-2,Error,Bill has not, been exported"]
    lines[90_000:90_000] = ["01/03/2026 10:00:00,,BAD-3,Error,no type"]
    path.write_text("Sync Date,Task Type,Reference,Sync Status,Error Message\r\n" + "\r\n".join(lines) + "\r\n",
                    encoding="utf-8-sig")
    return {"rows_read": 100_000, "errors_tracked": 30_000, "resolved": 10_000, "updated": 2_000, "reopened": 1_000,
            "unchanged": 5_000, "skipped": 51_997, "problems": 3}


@pytest.fixture(scope="module")
def history_file(tmp_path_factory) -> tuple[Path, dict[str, int]]:
    """The 100,000-line file, written once for both databases."""
    path = tmp_path_factory.mktemp("history") / "history.csv"
    return path, write_history(path)


def test_a_100000_row_file(store, engine, history_file):
    path, expected = history_file
    started = time.perf_counter()
    report = import_csv(store, engine, path)
    elapsed = time.perf_counter() - started
    got = report.to_json()
    assert {k: got[k] for k in expected if k != "problems"} == {k: v for k, v in expected.items() if k != "problems"}
    assert len(report.problems) == 3 and totals(report) == 100_000
    rows = by_key(store)
    assert len(rows) == 30_000
    assert sum(r["status"] == RESOLVED for r in rows.values()) == 9_000
    assert sum(r["occurrences"] for r in rows.values()) == 33_000
    assert all(r["intent"] for r in rows.values())
    before = table(store)
    again = import_csv(store, engine, path)
    assert table(store) == before
    assert (again.errors_tracked, again.updated, again.resolved, again.reopened) == (0, 0, 0, 0)
    assert again.unchanged == 38_000 and again.skipped == 61_997
    print(f"100,000 rows ({store.engine.dialect.name}): {elapsed:.1f} s, re-import {again.seconds:.1f} s")
