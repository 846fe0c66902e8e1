"""Importing DEAR's sync history: which entries failed, and which have synced since.

Input is a CSV export (`python -m bot ingest FILE.csv`) or JSON rows (`POST /api/sync-errors`).
Each row has a date, a type, a reference, a status and a message; columns (or JSON keys) are
matched by name, trimmed and case-insensitive, with common synonyms (HEADER_SYNONYMS). Type,
reference and status are required; date and message are optional but used.

What a row means:
- an *error row* has a status that is not a success word (SUCCESS_WORDS) and a message. It is
  classified by the engine and tracked as one sync error per (type, reference). So is a row
  whose status or message says "processing errors" (DEAR's "Completed with processing
  errors": QuickBooks never answered, the entry may be missing there), whatever its status;
- a *success row* (Completed, Skipped, ...) resolves the open error for its (type, reference)
  when its date is at or after the error's last sighting;
- anything else (say Pending with no message: just queued) is skipped.

The key is (type, reference) as written, trimmed (runs of spaces in the type made one): "Sale"
and "sale" are different entries.

Rules, per (type, reference), rows taken in date order (at equal dates errors before successes,
so the outcome never depends on the order of lines in the file):
- an error row for an unknown key starts tracking it (open, 1 occurrence);
- an error row for an open error counts an occurrence only when it is newer than the last
  sighting (and then its message and diagnosis replace the old ones) or older than the first;
  a row already seen changes nothing, so importing the same rows again changes nothing;
- an error row for a resolved error newer than its resolution re-opens it (occurrences + 1);
- a success row at or after the last sighting of an open error resolves it (resolved_at =
  the row's date).
Rows without a date (no date column, or an empty cell) cannot be placed in time: they apply
after the dated rows, and per key only the last of them counts. An error starts tracking an
unknown key (dated "now") but never re-opens or counts again; a success resolves an open error.

Dates are read permissively: ISO 8601 ("2026-03-01", "2026-03-01T09:15:00Z", "2026-03-01 09:15"),
numeric dates with / - or . ("01/03/2026 09:15", "3/1/2026 9:15 PM", "01.03.26"), and month
names ("1 Mar 2026", "Mar 1, 2026 09:15"). Numeric dates are read DAY FIRST (01/03/2026 is
1 March), as DEAR exports them for most regions, unless the file itself shows otherwise: if
some date in the file has a second number above 12 and none has a first number above 12, the
whole file is read month first. Dates without a time zone are taken as UTC. A non-empty date
that cannot be read is reported and its row skipped.

Bad rows are reported by line number (CSV: the physical line where the record starts; JSON:
the 1-based index in the list) and skipped; the good rows are still imported. What the parser
cannot judge is checked here: a date before 2000 or more than a day in the future is a bad
row (a year-0001 date made the digest say "oldest 739951 days"). A row the database still
refuses is reported on its own and the others imported (the chunk it was in is written again
key by key).

The rows are written in chunks of CHUNK_KEYS entries, each in its own transaction, with a
short pause between them: on SQLite the write lock is held for one chunk at a time, so other
writers (a Slack acknowledgement records its message before answering) get in between; a
100,000-row file in one transaction held it for seconds. A crash leaves whole chunks written
and the rest not; importing the same file again finishes it (a row already imported changes
nothing). The rows are read and decided on in Python, messages are classified once per
distinct text and only where the stored diagnosis would change, and the writes are bulk
executemany.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import IO, Any, Callable, Mapping, Protocol, Sequence

from sqlalchemy import any_, bindparam, func, insert, select, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, StatementError

from ..storage.store import Store

from ..storage.tables import OPEN, RESOLVED, SyncErrorRow
from .parse import ParsedRows, Row, parse_csv

MESSAGE_CHARS = 1_000          # message text kept in the database
LOAD_CHUNK = 400               # keys per SELECT of existing rows (2 bound parameters each)
FULL_SCAN_FACTOR = 4           # read the whole table when it has at most this many rows per key
WRITE_CHUNK = 5_000            # rows per executemany
ATTEMPTS = 3                   # a concurrent import inserted the same new key: plan again
MAX_REPORTED_PROBLEMS = 1_000  # to_json lists the first ones (problems_total has them all)
CHUNK_KEYS = 1_000             # entries per transaction (see the module docstring)
CHUNK_PAUSE_S = 0.005          # between chunks: longer than a queued SQLite writer's longest wait (2 ms)
EARLIEST = datetime(2000, 1, 1, tzinfo=timezone.utc)  # DEAR and QuickBooks Online are younger
FUTURE_SLACK = timedelta(days=1)  # a clock or a time zone a little ahead, not a typo'd year
pause: Callable[[float], None] = time.sleep  # tests replace it

class Classifier(Protocol):
    def diagnose_error_texts(self, texts: Sequence[str]) -> list[Any]: ...


# -- the report ----------------------------------------------------------------------------

@dataclass
class ImportReport:
    """Every row read lands in exactly one of the counts or in `problems`."""

    rows_read: int = 0
    errors_tracked: int = 0   # error rows that started tracking a new (type, reference)
    updated: int = 0          # error rows that were a new sighting of an open error
    resolved: int = 0         # success rows that resolved an open error
    reopened: int = 0         # error rows that re-opened a resolved error
    unchanged: int = 0        # error rows already known (same or older sighting)
    skipped: int = 0          # other rows: successes with nothing to resolve, queued entries
    problems: list[tuple[int, str]] = field(default_factory=list)
    unit: str = "line"        # what problem numbers count: "line" (CSV) or "row" (JSON, 1-based)
    seconds: float = 0.0

    def to_json(self) -> dict:
        return {
            "rows_read": self.rows_read, "errors_tracked": self.errors_tracked, "updated": self.updated,
            "resolved": self.resolved, "reopened": self.reopened, "unchanged": self.unchanged,
            "skipped": self.skipped, "problems_total": len(self.problems),
            "problems": [{self.unit: n, "reason": reason} for n, reason in self.problems[:MAX_REPORTED_PROBLEMS]],
            "seconds": round(self.seconds, 3),
        }


# -- deciding ------------------------------------------------------------------------------

_COLUMNS = ("id", "status", "occurrences", "first_seen", "last_seen", "resolved_at", "message",
            "intent", "confidence", "entities")


@dataclass(slots=True)
class _State:
    id: int | None
    status: str
    occurrences: int
    first_seen: datetime
    last_seen: datetime
    resolved_at: datetime | None
    message: str          # as stored (first MESSAGE_CHARS characters)
    intent: str | None
    confidence: float
    entities: dict | None
    text: str = ""        # the full message of the sighting it came from, for classification

    def copy(self) -> "_State":
        return _State(self.id, self.status, self.occurrences, self.first_seen, self.last_seen, self.resolved_at,
                      self.message, self.intent, self.confidence, self.entities, self.text)

    def values(self) -> tuple:
        return (self.status, self.occurrences, self.first_seen, self.last_seen, self.resolved_at, self.message)


@dataclass
class _Plan:
    inserts: list[tuple[tuple[str, str], _State]]
    updates: list[tuple[tuple[str, str], _State]]
    counts: dict[str, int]

    def texts_to_classify(self) -> list[str]:
        return [state.text for _key, state in self.inserts + self.updates if state.intent is None]


def _error(state: _State | None, row: Row, at: datetime, counts: dict[str, int], dated: bool) -> _State:
    message = row.message[:MESSAGE_CHARS]

    def sighting(s: _State) -> None:
        s.occurrences += 1
        s.last_seen = at
        if s.message != message:
            s.message, s.text, s.intent = message, row.message, None

    if state is None:
        counts["errors_tracked"] += 1
        return _State(None, OPEN, 1, at, at, None, message, None, 0.0, None, row.message)
    if not dated:
        counts["unchanged"] += 1
        return state
    if state.status == OPEN and at > state.last_seen:
        sighting(state)
        counts["updated"] += 1
    elif state.status != OPEN and at > max(state.resolved_at or state.last_seen, state.last_seen):
        sighting(state)
        state.status, state.resolved_at = OPEN, None
        counts["reopened"] += 1
    elif at < state.first_seen:  # an older sighting (open or resolved): it started earlier
        state.occurrences += 1
        state.first_seen = at
        counts["updated"] += 1
    else:
        counts["unchanged"] += 1
    return state


def _success(state: _State | None, at: datetime, counts: dict[str, int]) -> None:
    if state is not None and state.status == OPEN and at >= state.last_seen:
        state.status, state.resolved_at = RESOLVED, at
        counts["resolved"] += 1
    else:
        counts["skipped"] += 1


def plan(rows: Sequence[Row], existing: Mapping[tuple[str, str], _State], now: datetime) -> _Plan:
    """What the rows do to the tracked errors: pure Python, no database, no classification."""
    counts = dict.fromkeys(("errors_tracked", "updated", "resolved", "reopened", "unchanged", "skipped"), 0)
    by_key: dict[tuple[str, str], list[Row]] = {}
    for row in rows:
        if row.error is None:
            counts["skipped"] += 1
        else:
            by_key.setdefault((row.kind, row.reference), []).append(row)
    inserts, updates = [], []
    for key, events in by_key.items():
        before = existing.get(key)
        if before is None and not any(r.error for r in events):
            counts["skipped"] += len(events)  # successes for entries that never failed: the common case
            continue
        state = before.copy() if before is not None else None
        if len(events) == 1:
            row = events[0]
            if row.date is None:
                state = _undated(state, events, now, counts)
            elif row.error:
                state = _error(state, row, row.date, counts, True)
            else:
                _success(state, row.date, counts)
        else:
            dated = [r for r in events if r.date is not None]
            dated.sort(key=_in_time)
            for row in dated:
                if row.error:
                    state = _error(state, row, row.date, counts, True)  # type: ignore[arg-type]
                else:
                    _success(state, row.date, counts)  # type: ignore[arg-type]
            if len(dated) < len(events):
                state = _undated(state, [r for r in events if r.date is None], now, counts)
        if state is None:
            continue
        if before is None:
            inserts.append((key, state))
        elif state.values() != before.values():
            updates.append((key, state))
    inserts.sort(key=_first)  # a consistent order: concurrent imports lock and insert keys alike
    updates.sort(key=_first)
    return _Plan(inserts, updates, counts)


def _in_time(row: Row) -> tuple:
    return (row.date, not row.error, row.line)  # at equal times errors first, so a success wins


def _first(item: tuple) -> Any:
    return item[0]


def _undated(state: _State | None, rows: list[Row], now: datetime, counts: dict[str, int]) -> _State | None:
    """Rows with no date, in file order: only the last one decides (see the module docstring)."""
    last = rows[-1]
    earlier = rows[:-1]
    counts["unchanged"] += sum(1 for r in earlier if r.error)
    counts["skipped"] += sum(1 for r in earlier if not r.error)
    if last.error:
        return _error(state, last, now, counts, False)
    if state is None:
        cause = next((r for r in reversed(earlier) if r.error), None)
        if cause is None:
            counts["skipped"] += 1
            return None
        counts["unchanged"] -= 1  # that earlier error row starts tracking instead
        state = _error(None, cause, now, counts, False)
    at = max(now, state.last_seen)
    _success(state, at, counts)
    return state


# -- the database --------------------------------------------------------------------------

_TABLE = SyncErrorRow.__table__


def _load(conn, keys: Sequence[tuple[str, str]], lock: bool) -> dict[tuple[str, str], _State]:
    """The tracked errors for `keys`. When the table is not much bigger than the file, one
    scan of it is cheaper than looking the keys up a few hundred at a time."""
    found: dict[tuple[str, str], _State] = {}
    if not keys:
        return found
    t = _TABLE.c
    columns = select(t.kind, t.reference, *(t[c] for c in _COLUMNS))
    total = conn.execute(select(func.count()).select_from(_TABLE)).scalar_one()
    if total <= FULL_SCAN_FACTOR * len(keys):
        wanted = set(keys)
        queries = [columns.order_by(t.kind, t.reference)]
    else:
        # One kind at a time: `kind = ? AND reference IN (...)` uses the unique index like the
        # tuple IN did, and its parameters cost SQLAlchemy a fraction to expand.
        wanted = None
        by_kind: dict[str, list[str]] = {}
        for kind, reference in keys:
            by_kind.setdefault(kind, []).append(reference)
        queries = [columns.where(t.kind == kind, _one_of(conn, t.reference, refs[at: at + LOAD_CHUNK]))
                   .order_by(t.kind, t.reference)
                   for kind, refs in by_kind.items() for at in range(0, len(refs), LOAD_CHUNK)]
    for query in queries:
        if lock:
            query = query.with_for_update()
        for row in conn.execute(query):
            key = (row[0], row[1])
            if wanted is None or key in wanted:
                found[key] = _State(*row[2:], text=row[8])
    return found


def _one_of(conn, column, values: list[str]):
    """`column IN values`; on PostgreSQL `column = ANY(array)`: one parameter that neither
    SQLAlchemy nor psycopg has to expand (a 100,000-row import: 9 s -> 7 s, re-import the same)."""
    if conn.dialect.name == "postgresql":
        return column == any_(bindparam("values", values, type_=ARRAY(column.type)))
    return column.in_(values)


def _executemany(conn, statement, rows: list[dict]) -> None:
    conn.execute(statement, rows)


def _write(conn, plan_: _Plan, source: str) -> None:
    inserts = [{"kind": k, "reference": r, "intent": s.intent, "confidence": s.confidence, "message": s.message,
                "entities": s.entities, "status": s.status, "occurrences": s.occurrences,
                "first_seen": s.first_seen, "last_seen": s.last_seen, "resolved_at": s.resolved_at,
                "source": source[:16]} for (k, r), s in plan_.inserts]
    updates = [{"b_id": s.id, "b_status": s.status, "b_occurrences": s.occurrences, "b_first_seen": s.first_seen,
                "b_last_seen": s.last_seen, "b_resolved_at": s.resolved_at, "b_message": s.message,
                "b_intent": s.intent, "b_confidence": s.confidence, "b_entities": s.entities}
               for _key, s in plan_.updates]
    statement = update(_TABLE).where(_TABLE.c.id == bindparam("b_id")).values(
        {c: bindparam(f"b_{c}", type_=_TABLE.c[c].type) for c in _COLUMNS if c != "id"})
    for stmt, rows in ((insert(_TABLE), inserts), (statement, updates)):
        for at in range(0, len(rows), WRITE_CHUNK):
            _executemany(conn, stmt, rows[at: at + WRITE_CHUNK])


def _classify(engine: Classifier, plan_: _Plan, cache: dict[str, tuple[str, float, dict]]) -> None:
    missing = list(dict.fromkeys(t for t in plan_.texts_to_classify() if t not in cache))
    if missing:
        for text, answer in zip(missing, engine.diagnose_error_texts(missing)):
            cache[text] = (answer.intent, float(answer.confidence), dict(answer.entities or {}))
    for _key, state in plan_.inserts + plan_.updates:
        if state.intent is None:
            state.intent, state.confidence, state.entities = cache[state.text]


def _retryable(exc: Exception) -> bool:
    """A concurrent import committed the same new key first, or the database broke a deadlock."""
    if isinstance(exc, IntegrityError):
        return True
    code = getattr(getattr(exc, "orig", None), "sqlstate", None)
    return code in ("40P01", "40001")


def _sensible_dates(rows: Sequence[Row], now: datetime) -> tuple[list[Row], list[tuple[int, str]]]:
    """The rows whose dates could be real, and a problem for each of the others."""
    latest = now + FUTURE_SLACK
    kept, problems = [], []
    for row in rows:
        if row.date is not None and row.date < EARLIEST:
            problems.append((row.line, f"date {row.date:%Y-%m-%d} is before {EARLIEST:%Y}"))
        elif row.date is not None and row.date > latest:
            problems.append((row.line, f"date {row.date:%Y-%m-%d %H:%M} is in the future"))
        else:
            kept.append(row)
    return kept, problems


def _refused(exc: Exception) -> bool:
    """The database (or its driver) refused a value in the rows themselves, as opposed to being
    unreachable, busy or wrong: worth finding the row and importing the others."""
    return isinstance(exc, (DataError, UnicodeError)) or (
        isinstance(exc, StatementError) and not isinstance(exc, DBAPIError))  # a value a column type refused


def import_rows(store: Store, engine: Classifier, parsed: ParsedRows, *, source: str = "") -> ImportReport:
    """Apply parsed rows to the tracked sync errors, a chunk of keys per transaction (see the
    module docstring); the report says what changed."""
    started = time.perf_counter()
    now = store.clock()
    rows, late = _sensible_dates(parsed.rows, now)
    report = ImportReport(rows_read=parsed.rows_read, unit=parsed.unit)
    problems = list(parsed.problems) + late
    counts = dict.fromkeys(("errors_tracked", "updated", "resolved", "reopened", "unchanged", "skipped"), 0)
    by_key: dict[tuple[str, str], list[Row]] = {}
    for row in rows:
        if row.error is None:
            counts["skipped"] += 1  # queued entries: nothing to track
        else:
            by_key.setdefault((row.kind, row.reference), []).append(row)
    keys = sorted(by_key)  # one order for every import: concurrent ones lock keys alike
    cache: dict[str, tuple[str, float, dict]] = {}
    for at in range(0, len(keys), CHUNK_KEYS):
        if at:
            pause(CHUNK_PAUSE_S)
        chunk = keys[at: at + CHUNK_KEYS]
        try:
            _add(counts, _import_chunk(store, engine, chunk, by_key, now, cache, source))
        except Exception as exc:
            if not _refused(exc):
                raise
            for key in chunk:  # find the row the database refuses; import the others
                try:
                    _add(counts, _import_chunk(store, engine, [key], by_key, now, cache, source))
                except Exception as one:
                    if not _refused(one):
                        raise
                    problems += [(r.line, f"the database refused this row ({type(one).__name__})")
                                 for r in by_key[key]]
    for name, value in counts.items():
        setattr(report, name, value)
    report.problems = sorted(problems)
    report.seconds = time.perf_counter() - started
    return report


def _add(counts: dict[str, int], more: Mapping[str, int]) -> None:
    for name, value in more.items():
        counts[name] += value


def _import_chunk(store: Store, engine: Classifier, keys: list[tuple[str, str]],
                  by_key: Mapping[tuple[str, str], list[Row]], now: datetime,
                  cache: dict[str, tuple[str, float, dict]], source: str) -> dict[str, int]:
    """One transaction: the rows of `keys`, applied; what they did, as counts.

    The decision is made twice: first from a snapshot, so that the slow part (classifying new
    messages) runs before the write transaction starts; then again inside the transaction
    with the rows locked, classifying whatever changed in between (usually nothing).
    """
    rows = [row for key in keys for row in by_key[key]]
    with store.engine.connect() as conn:
        with conn.begin():
            snapshot = _load(conn, keys, lock=False)
    first = plan(rows, snapshot, now)
    _classify(engine, first, cache)
    for attempt in range(1, ATTEMPTS + 1):
        try:
            with store.session() as s:
                conn = s.connection()
                current = _load(conn, keys, lock=True)
                final = first if current == snapshot else plan(rows, current, now)
                _classify(engine, final, cache)
                _write(conn, final, source)
            return final.counts
        except DBAPIError as exc:
            if attempt == ATTEMPTS or not _retryable(exc):
                raise
    raise AssertionError("unreachable: the last attempt returns or raises")


def import_csv(store: Store, engine: Classifier, source: str | os.PathLike | IO, *,
               source_name: str = "csv") -> ImportReport:
    """A whole CSV export (the sandbox's sample file); raises IngestError when it has no usable
    header. `python -m bot ingest` parses first and builds the engine only for a readable file."""
    started = time.perf_counter()
    report = import_rows(store, engine, parse_csv(source), source=source_name)
    report.seconds = time.perf_counter() - started
    return report
