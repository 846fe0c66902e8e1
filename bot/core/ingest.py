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
the 1-based index in the list) and skipped; the good rows are still imported. Everything
from one file or request is written in one transaction: a crash leaves nothing half-done.
The rows are read and decided on in Python, messages are classified once per distinct text
and only where the stored diagnosis would change, and the writes are bulk executemany.
"""

from __future__ import annotations

import csv
import io
import os
import re
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import IO, Any, Iterable, Iterator, Mapping, Protocol, Sequence

from sqlalchemy import bindparam, func, insert, select, tuple_, update
from sqlalchemy.exc import DBAPIError, IntegrityError

from .store import OPEN, RESOLVED, Store, SyncErrorRow

MESSAGE_CHARS = 1_000          # message text kept in the database
KIND_CHARS = 64                # sync_errors.kind
REFERENCE_CHARS = 128          # sync_errors.reference
LOAD_CHUNK = 400               # keys per SELECT of existing rows (2 bound parameters each)
FULL_SCAN_FACTOR = 4           # read the whole table when it has at most this many rows per key
WRITE_CHUNK = 5_000            # rows per executemany
ATTEMPTS = 3                   # a concurrent import inserted the same new key: plan again
HEADER_SEARCH_LINES = 10       # a title line or two above the header is tolerated
MAX_REPORTED_PROBLEMS = 1_000  # to_json lists the first ones (problems_total has them all)

HEADER_SYNONYMS: dict[str, tuple[str, ...]] = {
    "date": ("date", "created", "created date", "timestamp", "time", "sync date", "last sync",
             "last modified", "date time", "datetime", "created at", "updated at"),
    "type": ("type", "transaction type", "entity", "document type", "object", "task type", "kind",
             "entity type", "object type"),
    "reference": ("reference", "ref", "number", "document", "document number", "doc no", "order",
                  "task", "transaction", "reference number", "ref no", "doc number", "order number"),
    "status": ("status", "sync status", "state", "result"),
    "message": ("message", "error", "error message", "details", "description", "log", "reason",
                "comment", "errors", "error details"),
}
REQUIRED = ("type", "reference", "status")
SUCCESS_WORDS = frozenset({"completed", "complete", "skipped", "success", "succeeded", "successful",
                           "synced", "ok", "done"})
_SUCCESS_FILLER = frozenset({"successfully"})
# DEAR marks an entry Completed when QuickBooks never answered, with "processing errors" in the
# status or the message: it may not be in QuickBooks at all, so it is an error row, not a success.
_PROCESSING_ERRORS = re.compile(r"processing\s+errors?\b", re.I)
_DELIMITERS = (",", ";", "\t")
_DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab"}

_HEADER_PUNCT = re.compile(r"[_\-./#:]+")
_PARENS = re.compile(r"\([^)]*\)")
_SPACES = re.compile(r"\s+")


def _header_key(name: str) -> str:
    name = _PARENS.sub(" ", name.replace("\ufeff", "").lower())
    return _SPACES.sub(" ", _HEADER_PUNCT.sub(" ", name)).strip()


# normalised header -> (field, priority: lower wins when two columns name the same field)
_HEADER_LOOKUP: dict[str, tuple[str, int]] = {}
for _field, _names in HEADER_SYNONYMS.items():
    for _rank, _name in enumerate(_names):
        _HEADER_LOOKUP.setdefault(_header_key(_name), (_field, _rank))


def field_for(name: str) -> str | None:
    """The field a column header or JSON key stands for ("Sync Status" -> "status"), if any."""
    hit = _HEADER_LOOKUP.get(_header_key(name))
    return hit[0] if hit else None


def map_header(names: Sequence[str]) -> dict[str, int]:
    """field -> column index; the most specific synonym wins, then the leftmost column."""
    best: dict[str, tuple[int, int]] = {}
    for index, name in enumerate(names):
        hit = _HEADER_LOOKUP.get(_header_key(name))
        if hit and (hit[0] not in best or hit[1] < best[hit[0]][0]):
            best[hit[0]] = (hit[1], index)
    return {f: index for f, (_rank, index) in best.items()}


class IngestError(ValueError):
    """The input as a whole cannot be imported (no usable header, not JSON rows, ...)."""


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

    @property
    def imported(self) -> int:
        return self.rows_read - len(self.problems)

    def to_json(self) -> dict:
        return {
            "rows_read": self.rows_read, "errors_tracked": self.errors_tracked, "updated": self.updated,
            "resolved": self.resolved, "reopened": self.reopened, "unchanged": self.unchanged,
            "skipped": self.skipped, "problems_total": len(self.problems),
            "problems": [{self.unit: n, "reason": reason} for n, reason in self.problems[:MAX_REPORTED_PROBLEMS]],
            "seconds": round(self.seconds, 3),
        }


# -- dates ---------------------------------------------------------------------------------

_MONTHS = {m: i for i, m in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), start=1)}
_TIME = (r"(?:[\sT,]+(?:at\s+)?(?P<h>\d{1,2}):(?P<mi>\d{2})(?::(?P<s>\d{2})(?:[.,](?P<f>\d{1,6})\d*)?)?"
         r"\s*(?:(?P<ampm>[AaPp])\.?\s?[Mm]\.?)?)?"
         r"\s*(?P<tz>Z|UTC|GMT|[+-]\d{2}:?\d{2})?")
_NUMERIC = re.compile(r"(?P<a>\d{1,4})(?P<sep>[/.-])(?P<b>\d{1,2})(?P=sep)(?P<c>\d{1,4})" + _TIME, re.I)
_DAY_MONTH = re.compile(r"(?:[A-Za-z]{3,9},?\s+)?(?P<d>\d{1,2})(?:st|nd|rd|th)?[\s/.-]+(?P<mon>[A-Za-z]{3,9})\.?"
                        r"[\s/.,-]+(?P<y>\d{2,4})" + _TIME, re.I)
_MONTH_DAY = re.compile(r"(?:[A-Za-z]{3,9},?\s+)?(?P<mon>[A-Za-z]{3,9})\.?\s+(?P<d>\d{1,2})(?:st|nd|rd|th)?,?"
                        r"\s+(?P<y>\d{4})" + _TIME, re.I)


def _year(text: str) -> int:
    year = int(text)
    return year + 2000 if len(text) <= 2 else year


def _build(year: int, month: int, day: int, m: re.Match) -> datetime | None:
    try:
        hour = int(m["h"] or 0)
        if m["ampm"]:
            if not 1 <= hour <= 12:
                return None
            hour = hour % 12 + (12 if m["ampm"].lower() == "p" else 0)
        micro = int((m["f"] or "0").ljust(6, "0"))
        value = datetime(year, month, day, hour, int(m["mi"] or 0), int(m["s"] or 0), micro)
    except ValueError:
        return None
    return value.replace(tzinfo=_zone(m["tz"]))


def _zone(text: str | None) -> timezone:
    if not text or text.upper() in ("Z", "UTC", "GMT"):
        return timezone.utc
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    return timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))


def _fixed_width(text: str) -> tuple[int, int, int, int, int, int] | None:
    """The common fixed-width forms, read without a regex: "01/03/2026", "01/03/2026 09:15" and
    "01/03/2026 09:15:07" (/ - or .): (first, second, year, hour, minute, second)."""
    n = len(text)
    if n not in (10, 16, 19) or text[2] not in "/.-" or text[5] != text[2]:
        return None
    if n > 10 and (text[10] != " " or text[13] != ":" or (n == 19 and text[16] != ":")):
        return None
    h, mi, sec = text[11:13], text[14:16], text[17:19]
    if not (text[0:2] + text[3:5] + text[6:10] + h + mi + sec).isdecimal():
        return None
    return int(text[0:2]), int(text[3:5]), int(text[6:10]), int(h or 0), int(mi or 0), int(sec or 0)


def _numeric_parts(text: str) -> tuple[int, int] | None:
    """(first, second) numbers of a d/m/y or m/d/y date, for guessing the file's order."""
    fixed = _fixed_width(text)
    if fixed:
        return fixed[0], fixed[1]
    m = _NUMERIC.fullmatch(text.strip())
    if not m or len(m["a"]) == 4:
        return None
    return int(m["a"]), int(m["b"])


def day_first_for(texts: Iterable[str]) -> bool:
    """False only when the dates themselves show month-first (see the module docstring)."""
    first_big = second_big = False
    for text in texts:
        parts = _numeric_parts(text)
        if parts:
            first_big |= parts[0] > 12
            second_big |= parts[1] > 12
    return not (second_big and not first_big)


def parse_date(text: str, day_first: bool = True) -> datetime | None:
    """A timezone-aware datetime, or None when `text` is not a date we can read."""
    text = text.strip()
    if not text:
        return None
    fixed = _fixed_width(text)
    if fixed:
        a, b, year, hour, minute, second = fixed
        day, month = (a, b) if day_first else (b, a)
        for d, m in ((day, month), (month, day)):  # 25/12 in a month-first file: the only reading
            try:
                return datetime(year, m, d, hour, minute, second, tzinfo=timezone.utc)
            except ValueError:
                pass
        return None
    if text[:4].isdigit() and len(text) >= 8 and text[4] in "-0123456789":
        try:
            value = datetime.fromisoformat(text.replace(" UTC", "Z").replace(" GMT", "Z"))
            return value.astimezone(timezone.utc) if value.tzinfo else value.replace(tzinfo=timezone.utc)
        except ValueError:
            pass
    m = _NUMERIC.fullmatch(text)
    if m:
        a, b, c = m["a"], int(m["b"]), m["c"]
        if len(a) == 4:
            value = _build(int(a), b, int(c), m)
        elif len(c) in (2, 4):
            day, month = (int(a), b) if day_first else (b, int(a))
            value = _build(_year(c), month, day, m) or _build(_year(c), day, month, m)  # 25/12 when month-first
        else:
            value = None
        return value.astimezone(timezone.utc) if value else None
    for pattern in (_DAY_MONTH, _MONTH_DAY):
        m = pattern.fullmatch(text)
        if m:
            month = _MONTHS.get(m["mon"][:3].lower())
            if month is None:
                continue
            value = _build(_year(m["y"]), month, int(m["d"]), m)
            return value.astimezone(timezone.utc) if value else None
    return None


def _epoch(value: float) -> datetime | None:
    if value > 1e11:  # milliseconds
        value /= 1000
    try:
        return datetime.fromtimestamp(value, timezone.utc)
    except (OverflowError, OSError, ValueError):
        return None


# -- rows ----------------------------------------------------------------------------------

@dataclass(slots=True)
class Row:
    """One usable row: `error` True (error row), False (success row) or None (nothing to do)."""

    line: int
    kind: str
    reference: str
    date: datetime | None
    error: bool | None
    message: str


@dataclass
class ParsedRows:
    rows: list[Row]
    problems: list[tuple[int, str]]
    rows_read: int
    unit: str = "line"


def status_is_success(status: str) -> bool:
    words = status.lower().split()
    return bool(words) and all(w in SUCCESS_WORDS or w in _SUCCESS_FILLER for w in words) \
        and any(w in SUCCESS_WORDS for w in words)


def _text(value: Any) -> str | None:
    """A cell or JSON value as text; None for values that cannot be text (lists, objects)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return str(value)
    return None


class _RowMaker:
    """Turns raw field values into Rows, reporting what is wrong with a bad one."""

    def __init__(self, day_first: bool = True) -> None:
        self.day_first = day_first
        self._dates: dict[str, datetime | None] = {}
        self._statuses: dict[str, tuple[bool, bool]] = {}  # status -> (success, says "processing errors")
        self._kinds: dict[str, str] = {}

    def date(self, text: str) -> tuple[datetime | None, str | None]:
        try:
            parsed = self._dates[text]
        except KeyError:
            parsed = self._dates[text] = parse_date(text, self.day_first)
        if parsed is None and text.strip():
            return None, f"date {_clip(text.strip())!r} is not a date I can read"
        return parsed, None

    def make_json(self, number: int, values: Mapping[str, Any]) -> Row | str:
        texts = {}
        for name in ("type", "reference", "status", "message"):
            text = _text(values.get(name))
            if text is None:
                return f"{name} must be text"
            texts[name] = text
        date = values.get("date")
        if isinstance(date, (int, float)) and not isinstance(date, bool):
            when = _epoch(float(date))
            if when is None:
                return f"date {date!r} is out of range"
            made = self.make(number, "", texts["type"], texts["reference"], texts["status"], texts["message"])
            if isinstance(made, Row):
                made.date = when
            return made
        date_text = _text(date)
        if date_text is None:
            return "date must be text"
        return self.make(number, date_text, texts["type"], texts["reference"], texts["status"], texts["message"])

    def make(self, number: int, date_text: str, kind: str, reference: str, status: str, message: str) -> Row | str:
        """A Row, or the reason this row cannot be used."""
        try:
            kind = self._kinds[kind]
        except KeyError:
            kind = self._kinds[kind] = " ".join(kind.split())
        reference, status = reference.strip(), status.strip()
        if not (kind and reference and status):
            missing = [n for n, v in (("type", kind), ("reference", reference), ("status", status)) if not v]
            return "no " + " or ".join(missing)
        if len(kind) > KIND_CHARS:
            return f"type is longer than {KIND_CHARS} characters"
        if len(reference) > REFERENCE_CHARS:
            return f"reference is longer than {REFERENCE_CHARS} characters"
        date, problem = self.date(date_text) if date_text else (None, None)
        if problem:
            return problem
        message = message.strip()
        try:
            success, processing = self._statuses[status]
        except KeyError:
            success, processing = self._statuses[status] = (status_is_success(status),
                                                             bool(_PROCESSING_ERRORS.search(status)))
        error: bool | None
        if processing:
            error, message = True, message or status  # "Completed with processing errors"
        elif success:
            error = bool(message) and bool(_PROCESSING_ERRORS.search(message))  # Completed + "Processing errors"
        else:
            error = True if message else None  # e.g. Pending with no message: only queued
        return Row(number, kind, reference, date, error, message)


def _clip(text: str, n: int = 40) -> str:
    return text if len(text) <= n else text[:n] + "..."


# -- CSV -----------------------------------------------------------------------------------

def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")  # Excel on Windows saves CSV this way


def read_text(source: str | os.PathLike | IO) -> str:
    """The whole input as text: a path, or a text or binary stream (BOM and encoding handled)."""
    if isinstance(source, (str, os.PathLike)):
        return _decode(Path(source).read_bytes())
    data = source.read()
    if isinstance(data, bytes):
        return _decode(data)
    return data.removeprefix("\ufeff")


def _records(text: str, delimiter: str) -> Iterator[tuple[int, int, list[str] | str]]:
    """(first line, last line, fields or the csv error) for each record of `text`."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    start = 1
    while True:
        try:
            for fields in reader:  # the reader carries on after a bad record
                end = reader.line_num
                yield start, end, fields
                start = end + 1
            return
        except csv.Error as exc:
            yield start, reader.line_num, str(exc)
            start = reader.line_num + 1


def _find_header(text: str) -> tuple[str, int, list[str]]:
    """(delimiter, header line, header fields): the first of the first few records that names
    every required column, trying comma, semicolon and tab."""
    best: tuple[int, list[str]] = (-1, [])
    for delimiter in _DELIMITERS:
        seen = 0
        for start, _end, fields in _records(text, delimiter):
            if not isinstance(fields, str) and not any(f.strip() for f in fields):
                continue
            seen += 1
            if seen > HEADER_SEARCH_LINES:
                break
            if isinstance(fields, str):
                continue
            mapping = map_header(fields)
            if all(f in mapping for f in REQUIRED):
                return delimiter, start, fields
            if len(mapping) > best[0]:
                best = (len(mapping), fields)
    if best[0] < 0:
        what = "the file is empty" if not text.strip() else "no readable header line"
        raise IngestError(f"{what}: expected a header line naming type, reference and status columns")
    found = map_header(best[1])
    missing = [f for f in REQUIRED if f not in found]
    names = "; ".join(f"{f} ({', '.join(HEADER_SYNONYMS[f][:6])}, ...)" for f in missing)
    raise IngestError(f"no header line with the required columns: missing {names}. "
                      f"First line read: {_clip(', '.join(best[1]), 120)!r}")


def parse_csv(source: str | os.PathLike | IO) -> ParsedRows:
    """Rows of a sync-history CSV export; raises IngestError when it has no usable header."""
    text = read_text(source)
    delimiter, header_line, header = _find_header(text)
    columns = map_header(header)
    used = max(columns.values()) + 1
    raw: list[tuple[int, list[str]]] = []
    problems: list[tuple[int, str]] = []
    rows_read = 0
    for start, end, fields in _records(text, delimiter):
        if start <= header_line:
            continue
        if isinstance(fields, str):
            rows_read += 1
            reason = f"unreadable CSV ({fields})"
            if "unexpected end of data" in fields:
                reason = f"a quoted field is never closed; lines {start}-{end} could not be read"
            problems.append((start, reason))
            continue
        if not any(f.strip() for f in fields):
            continue  # blank line
        rows_read += 1
        if len(fields) < used:
            problems.append((start, f"has {len(fields)} fields, the header has {len(header)}"))
            continue
        if len(fields) > len(header) and any(f.strip() for f in fields[len(header):]):
            problems.append((start, f"has {len(fields)} fields, the header has {len(header)} "
                                    f"(a {_DELIMITER_NAMES[delimiter]} in an unquoted message?)"))
            continue
        raw.append((start, fields))
    date_column = columns.get("date")
    maker = _RowMaker(day_first_for({f[date_column] for _n, f in raw} if date_column is not None else ()))
    rows: list[Row] = []
    c_type, c_ref, c_status = columns["type"], columns["reference"], columns["status"]
    c_date, c_message = columns.get("date"), columns.get("message")
    make = maker.make
    for number, fields in raw:
        made = make(number, fields[c_date] if c_date is not None else "", fields[c_type], fields[c_ref],
                    fields[c_status], fields[c_message] if c_message is not None else "")
        if made.__class__ is str:
            problems.append((number, made))  # type: ignore[arg-type]
        else:
            rows.append(made)  # type: ignore[arg-type]
    problems.sort()
    return ParsedRows(rows, problems, rows_read, "line")


# -- JSON ----------------------------------------------------------------------------------

def parse_json_rows(payload: Any) -> ParsedRows:
    """Rows from a decoded JSON body: a list of objects or {"rows": [...]}. Keys are matched
    like CSV headers. Raises IngestError when the body is neither."""
    if isinstance(payload, dict) and "rows" in payload:
        payload = payload["rows"]
    if not isinstance(payload, list):
        raise IngestError('expected a JSON list of row objects, or {"rows": [...]}')
    mapped: list[tuple[int, dict[str, Any]]] = []
    problems: list[tuple[int, str]] = []
    key_fields: dict[str, tuple[str, int] | None] = {}
    for number, item in enumerate(payload, start=1):
        if not isinstance(item, dict):
            problems.append((number, "not an object"))
            continue
        values: dict[str, tuple[int, Any]] = {}
        for key, value in item.items():
            if not isinstance(key, str):
                continue
            if key not in key_fields:
                key_fields[key] = _HEADER_LOOKUP.get(_header_key(key))
            hit = key_fields[key]
            if hit is not None and (hit[0] not in values or hit[1] < values[hit[0]][0]):
                values[hit[0]] = (hit[1], value)
        mapped.append((number, {name: value for name, (_rank, value) in values.items()}))
    maker = _RowMaker(day_first_for(v["date"] for _n, v in mapped if isinstance(v.get("date"), str)))
    rows: list[Row] = []
    for number, values in mapped:
        made = maker.make_json(number, values)
        if isinstance(made, str):
            problems.append((number, made))
        else:
            rows.append(made)
    problems.sort()
    return ParsedRows(rows, problems, len(payload), "row")


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
        wanted = None
        queries = [columns.where(tuple_(t.kind, t.reference).in_(keys[at: at + LOAD_CHUNK]))
                   .order_by(t.kind, t.reference) for at in range(0, len(keys), LOAD_CHUNK)]
    for query in queries:
        if lock:
            query = query.with_for_update()
        for row in conn.execute(query):
            key = (row[0], row[1])
            if wanted is None or key in wanted:
                found[key] = _State(*row[2:], text=row[8])
    return found


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


def import_rows(store: Store, engine: Classifier, parsed: ParsedRows, *, source: str = "") -> ImportReport:
    """Apply parsed rows to the tracked sync errors in one transaction; the report says what changed.

    The decision is made twice: first from a snapshot, so that the slow part (classifying new
    messages) runs before the write transaction starts; then again inside the transaction
    with the rows locked, classifying whatever changed in between (usually nothing).
    """
    started = time.perf_counter()
    report = ImportReport(rows_read=parsed.rows_read, problems=list(parsed.problems), unit=parsed.unit)
    keys = sorted({(r.kind, r.reference) for r in parsed.rows if r.error is not None})
    now = store.clock()
    cache: dict[str, tuple[str, float, dict]] = {}
    with store.engine.connect() as conn:
        with conn.begin():
            snapshot = _load(conn, keys, lock=False)
    first = plan(parsed.rows, snapshot, now)
    _classify(engine, first, cache)
    for attempt in range(1, ATTEMPTS + 1):
        try:
            with store.session() as s:
                conn = s.connection()
                current = _load(conn, keys, lock=True)
                final = first if current == snapshot else plan(parsed.rows, current, now)
                _classify(engine, final, cache)
                _write(conn, final, source)
            break
        except DBAPIError as exc:
            if attempt == ATTEMPTS or not _retryable(exc):
                raise
    for name, value in final.counts.items():
        setattr(report, name, value)
    report.seconds = time.perf_counter() - started
    return report


def import_csv(store: Store, engine: Classifier, source: str | os.PathLike | IO, *,
               source_name: str = "csv") -> ImportReport:
    """`python -m bot ingest FILE.csv`: raises IngestError when the file has no usable header."""
    started = time.perf_counter()
    report = import_rows(store, engine, parse_csv(source), source=source_name)
    report.seconds = time.perf_counter() - started
    return report


def import_json(store: Store, engine: Classifier, payload: Any, *, source_name: str = "api") -> ImportReport:
    """POST /api/sync-errors: `payload` is the decoded JSON body; IngestError for a wrong shape."""
    started = time.perf_counter()
    report = import_rows(store, engine, parse_json_rows(payload), source=source_name)
    report.seconds = time.perf_counter() - started
    return report
