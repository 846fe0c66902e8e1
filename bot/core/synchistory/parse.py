"""Reading DEAR's sync history: CSV exports and JSON rows into Row objects, with headers matched
by name (HEADER_SYNONYMS) and bad rows reported by line. No database, no classification:
bot.core.synchistory.ingest decides what the rows mean."""

from __future__ import annotations

import csv
import io
import os
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any, Iterator, Mapping, Sequence

from .dates import day_first_for, epoch_date, parse_date

KIND_CHARS = 64                # sync_errors.kind
REFERENCE_CHARS = 128          # sync_errors.reference
HEADER_SEARCH_LINES = 10       # a title line or two above the header is tolerated


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

# Text no database column should get: NUL (PostgreSQL refuses it in text), other control
# characters, and lone surrogates (a JSON "\ud800" decodes to one; no encoder accepts it).
_SURROGATES = "\ud800-\udfff"
_MESSAGE_JUNK = re.compile(f"[\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f-\\x9f{_SURROGATES}]")
_KEY_JUNK = re.compile(f"[\\x00-\\x1f\\x7f-\\x9f{_SURROGATES}]")
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
            when = epoch_date(float(date))
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
        for name, value in (("type", kind), ("reference", reference)):
            if _KEY_JUNK.search(value):  # a key is matched exactly later: not guessed at
                return f"{name} contains control characters or broken text"
        date, problem = self.date(date_text) if date_text else (None, None)
        if problem:
            return problem
        message = clean_message(message).strip()
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


def clean_message(text: str) -> str:
    """A message as it can be stored and shown: control characters dropped (line breaks and tabs
    kept), a lone surrogate replaced by U+FFFD."""
    if _MESSAGE_JUNK.search(text) is None:  # the usual case, at C speed
        return text
    return _MESSAGE_JUNK.sub(lambda m: "\ufffd" if m.group() >= "\ud800" else "", text)


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
