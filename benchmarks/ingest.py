"""Sync-history import: rows per second into a fresh SQLite database, classification included.

The gated figure imports a deterministic 50,000-row sync history shaped like a DEAR export:
mostly entries that synced, about 30% error rows (10,000 failing entries, some failing again
later, half of them completed later, some lines repeated as overlapping exports do) with real
DEAR error texts carrying varying names and numbers. Two more figures, shown but not gated:
importing the same file again (nothing changes) and a worst case in which every row is an
error with a message of its own, so every row needs the classifier.

`python -m benchmarks.ingest` runs this stage alone.
"""

from __future__ import annotations

import random
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

from benchmarks.report import Figure

SEED = 20260301
ROWS = 50_000
FAILING = 10_000
WORST_CASE_ROWS = 20_000
RUNS = 2
TARGET_ROWS_PER_S = 5_000.0
SECTION = "Sync-history import into SQLite (classification included)"

KINDS = ["Sale", "Sale Invoice", "Purchase", "Bill", "Credit Note", "Payment", "Journal", "Stock Adjustment"]
ERRORS = [
    'Bill "{ref}" has not been exported to QuickBooks',
    "The transaction needs to be in the same currency as the A/R and A/P accounts you use",
    "Duplicate Name Exists Error. The name supplied already exists. : Another customer, supplier, or employee "
    "is already using this name. Please use a different name. (Customer Acme {n} Ltd)",
    'Product "Widget {n}" in "{ref}" has not been exported to QuickBooks. Please check the export status in sync history',
    "Product WIDGET-{n} has not been exported to QuickBooks. Please check the export status of the product",
    "Unexpected user error. (-{n})",
    "Reference number is not unique, please specify a unique value",
    "Credit account ({n}) is not mapped to any QuickBooks account",
    "Payment account code specified for the payment is not mapped to any QuickBooks account",
    "This transaction has been deposited and cannot be changed",
    "Item version already exists in QBO",
    "The account period has closed and the account books cannot be updated through the QBO Services API.",
    "Something you're trying to use has been made inactive. Check the fields with accounts, customers, items, "
    "vendors or employees. ({n})",
    "Max : 999,999,999 supported. Supplied value : -{n}.00",
    "401 Unauthorized: AuthenticationFailed",
    "Sync failed for {ref}: the request to QuickBooks timed out after {n} ms",
]


def _csv_field(value: str) -> str:
    return '"' + value.replace('"', '""') + '"' if any(c in value for c in ',"\n') else value


def sync_history(rows: int = ROWS, failing: int = FAILING, seed: int = SEED) -> str:
    """A DEAR-shaped sync-history CSV (see the module docstring), the same bytes every run."""
    rng = random.Random(seed)
    start = datetime(2026, 3, 1, 6, 0)
    span = 30 * 24 * 3600
    out: list[tuple[datetime, str, str, str, str]] = []
    entries = []
    for i in range(failing):
        kind = rng.choice(KINDS)
        ref = f"{kind[:2].upper()}-{100_000 + i}"
        message = rng.choice(ERRORS).format(ref=ref, n=rng.randint(1_000, 99_999))
        when = start + timedelta(seconds=rng.randint(0, span - 7 * 86_400))
        entries.append((when, kind, ref, message))
        out.append((when, kind, ref, "Error", message))
    for when, kind, ref, message in entries[: failing * 4 // 10]:        # failed again on a later run
        out.append((when + timedelta(hours=rng.randint(1, 72)), kind, ref, "Error", message))
    for when, kind, ref, _message in entries[failing // 4: failing * 3 // 4]:  # fixed, then synced
        out.append((when + timedelta(days=rng.randint(4, 6)), kind, ref, rng.choice(["Completed", "Skipped"]), ""))
    for when, kind, ref, message in rng.sample(entries, failing // 10):  # overlapping exports
        out.append((when, kind, ref, "Error", message))
    queued = rows // 25
    for i in range(queued):
        out.append((start + timedelta(seconds=rng.randint(0, span)), "Sale", f"QU-{i}", "Pending", ""))
    i = 0
    while len(out) < rows:
        kind = rng.choice(KINDS)
        out.append((start + timedelta(seconds=rng.randint(0, span)), kind, f"OK-{i}", "Completed", ""))
        i += 1
    rng.shuffle(out)
    lines = ["Date,Type,Reference,Status,Message"]
    lines += [f"{w:%d/%m/%Y %H:%M:%S},{_csv_field(k)},{r},{s},{_csv_field(m)}" for w, k, r, s, m in out[:rows]]
    return "\r\n".join(lines) + "\r\n"


def worst_case(rows: int = WORST_CASE_ROWS, seed: int = SEED + 1) -> str:
    """Every row an error for its own entry, with a message of its own."""
    rng = random.Random(seed)
    lines = ["Date,Type,Reference,Status,Message"]
    for i in range(rows):
        message = rng.choice(ERRORS).format(ref=f"X-{i}", n=100_000 + i) + f" [task {i}]"
        lines.append(f"2026-03-01 {i // 3600 % 24:02d}:{i // 60 % 60:02d}:{i % 60:02d},Sale,X-{i},Error,"
                     f"{_csv_field(message)}")
    return "\r\n".join(lines) + "\r\n"


def _timed_import(engine, folder: Path, name: str, text_path: Path, again: bool = False):
    from bot.core.synchistory.ingest import import_csv
    from bot.core.storage.store import Store

    store = Store.from_url(f"sqlite:///{folder / name}")
    try:
        started = time.perf_counter()
        report = import_csv(store, engine, text_path)
        first = time.perf_counter() - started
        second = None
        if again:
            started = time.perf_counter()
            repeat = import_csv(store, engine, text_path)
            second = time.perf_counter() - started
            assert (repeat.errors_tracked, repeat.updated, repeat.resolved, repeat.reopened) == (0, 0, 0, 0)
        return report, first, second
    finally:
        store.engine.dispose()


def run(engine) -> list[Figure]:
    with tempfile.TemporaryDirectory(prefix="syncmedic-bench-ingest-") as tmp:
        folder = Path(tmp)
        history = folder / "sync-history.csv"
        history.write_text(sync_history(), encoding="utf-8")
        hardest = folder / "all-errors.csv"
        hardest.write_text(worst_case(), encoding="utf-8")
        engine.diagnose_error_texts(["Unexpected user error. (-6000)", "Something else went wrong"])  # warm-up
        runs = [_timed_import(engine, folder, f"run{i}.db", history, again=(i == 0)) for i in range(RUNS)]
        report, _, reimport_s = runs[0]
        best = min(r[1] for r in runs)
        _, worst_s, _ = _timed_import(engine, folder, "worst.db", hardest)
    error_rows = report.errors_tracked + report.updated + report.reopened + report.unchanged
    return [
        Figure("ingest.rows_per_second", SECTION, f"first import of a {ROWS:,}-row sync history, rows/s (best run)",
               ROWS / best, "count", TARGET_ROWS_PER_S, ">=",
               detail=f"{best:.2f} s; runs {', '.join(f'{r[1]:.2f}' for r in runs)} s; {error_rows:,} error rows, "
                      f"{report.errors_tracked:,} errors tracked, {report.resolved:,} resolved"),
        Figure("ingest.reimport_rows_per_second", SECTION, "the same file again (changes nothing), rows/s",
               ROWS / reimport_s, "count", detail=f"{reimport_s:.2f} s"),
        Figure("ingest.all_errors_rows_per_second", SECTION,
               f"worst case: {WORST_CASE_ROWS:,} rows, each a distinct error message, rows/s",
               WORST_CASE_ROWS / worst_s, "count",
               detail=f"{worst_s:.2f} s; bound by classifying every message"),
    ]


if __name__ == "__main__":
    from bot.settings import Settings
    from bot.wiring import build_core

    from benchmarks.report import table

    print(table(run(build_core(Settings.from_env()).engine)))
