"""A paste's failing lines: QuickBooks fault payloads and the error lines of a log.

A question is diagnosed whole. A paste of a log or a sync history is not one error but several,
and each deserves an answer, including the ones we do not know: "I found 2 errors" about three
failing lines is a silent drop. `units` cuts a paste into what failed (each error of a QuickBooks
fault payload, in JSON or XML, and each failing log or table line), so the engine can account
for every one of them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Fault payloads past this size are not parsed (their errors still reach the line scan).
FAULT_SCAN_CHARS = 200_000
# Distinct failing lines looked at, at most: a log repeats a few errors thousands of times.
MAX_UNITS = 40

# One QuickBooks error object: {"Message": "...", "Detail": "...", "code": "6240", "element": ""},
# also as a JavaScript object literal ({ Message: '...', code: '6240' }). Error objects are flat.
_OBJECT = re.compile(r"\{[^{}]{1,4000}\}")


def _field(name: str) -> re.Pattern[str]:
    return re.compile(rf"[\"']?\b{name}[\"']?\s{{0,3}}[:=]\s{{0,3}}"
                      r"(?:\"((?:[^\"\\]|\\.){0,3000})\"|'((?:[^'\\]|\\.){0,3000})'|(-?\d{1,7}))",
                      re.IGNORECASE)


_MESSAGE, _DETAIL, _CODE = _field("message"), _field("detail"), _field("code")
# <Error code="6240" element="..."><Message>...</Message><Detail>...</Detail></Error>
_XML_ERROR = re.compile(r"<Error\b([^<>]{0,300})>(.{0,8000}?)</Error>", re.IGNORECASE | re.DOTALL)
_XML_CODE = re.compile(r"\bcode\s{0,2}=\s{0,2}[\"'](-?\d{1,7})[\"']", re.IGNORECASE)
_XML_MESSAGE = re.compile(r"<Message>(.{0,3000}?)</Message>", re.IGNORECASE | re.DOTALL)
_XML_DETAIL = re.compile(r"<Detail>(.{0,3000}?)</Detail>", re.IGNORECASE | re.DOTALL)
_ENTITIES = {"&quot;": '"', "&apos;": "'", "&#39;": "'", "&amp;": "&", "&lt;": "<", "&gt;": ">"}
_ENTITY = re.compile("|".join(map(re.escape, _ENTITIES)))
_JSON_ESCAPE = re.compile(r"\\(u[0-9a-fA-F]{4}|.)")

# A log or table line: a timestamp, a level or a [tag] first, or columns separated by tabs or pipes.
_LOG_LINE = re.compile(
    r"^\s{0,8}(?:\[?\d{4}-\d{2}-\d{2}|\[?\d{1,2}[/.]\d{1,2}[/.]\d{2,4}\b|\[?\d{1,2}:\d{2}(?::\d{2})?\b"
    r"|\[?(?:ERROR|ERR|FATAL|CRITICAL|SEVERE|WARN|WARNING)\b|\[[^\]\n]{1,40}\]"
    r"|(?:error|failed|failure|exception)\s{0,2}(?:code\s{0,2})?[:!(-])", re.IGNORECASE)
# What a failing line says (a log's INFO and WARN chatter does not count).
_FAILING = re.compile(
    r"error|fail|exception|fault|reject|refused|denied|invalid|cannot|can't|unable|not been exported"
    r"|unauthori[sz]ed|not unique|not mapped|no lines|has been deposited|matched to|made inactive"
    r"|period has closed|already (?:exists|using|in use)|duplicate|not found", re.IGNORECASE)
_PREFIX = re.compile(r"^\s{0,8}(?:(?:\[[^\]\n]{0,40}\]|\d[\d:/.TZ+-]{3,30}|ERROR|ERR|FATAL|CRITICAL|SEVERE|WARN(?:ING)?)\s{0,3}){1,6}",
                     re.IGNORECASE)
_DIGITS = re.compile(r"\d{1,30}")


@dataclass(frozen=True)
class Unit:
    """One failing thing in a paste."""

    text: str          # what is diagnosed
    start: int         # where it is in the message (findings keep this order)
    code: str = ""     # the code of a QuickBooks fault payload's error

    @property
    def key(self) -> str:
        """Lines that differ only in their timestamp and numbers are one error."""
        return _DIGITS.sub("0", _PREFIX.sub("", self.text).strip().lower())


def _unescape_json(value: str) -> str:
    def one(m: re.Match[str]) -> str:
        c = m.group(1)
        if c.startswith("u") and len(c) == 5:
            return chr(int(c[1:], 16))
        return {"n": " ", "t": " ", "r": " "}.get(c, c)

    return _JSON_ESCAPE.sub(one, value)


def _value(pattern: re.Pattern[str], body: str) -> str:
    m = pattern.search(body)
    if not m:
        return ""
    return _unescape_json(next((g for g in m.groups() if g is not None), ""))


def _fault_text(message: str, detail: str) -> str:
    message, detail = " ".join(message.split()), " ".join(detail.split())
    if detail.lower().startswith(message.lower()):
        return detail
    return f"{message}. {detail}" if message and detail else message or detail


def faults(text: str) -> list[tuple[Unit, int, int]]:
    """Each error of every QuickBooks fault payload in `text`, with the span it takes."""
    sample = text[:FAULT_SCAN_CHARS]
    lowered = sample.lower()
    found: list[tuple[Unit, int, int]] = []
    if "code" in lowered and ("message" in lowered or "detail" in lowered):
        for m in _OBJECT.finditer(sample):
            body = m.group(0)
            code = _value(_CODE, body)
            message, detail = _value(_MESSAGE, body), _value(_DETAIL, body)
            if code and (message or detail):
                found.append((Unit(_fault_text(message, detail), m.start(), code), m.start(), m.end()))
    if "<error" in lowered:
        for m in _XML_ERROR.finditer(sample):
            code = _XML_CODE.search(m.group(1))
            body = _ENTITY.sub(lambda e: _ENTITIES[e.group(0)], m.group(2))
            message = _XML_MESSAGE.search(body)
            detail = _XML_DETAIL.search(body)
            if code and (message or detail):
                value = _fault_text(message.group(1) if message else "", detail.group(1) if detail else "")
                found.append((Unit(value, m.start(), code.group(1)), m.start(), m.end()))
    return found


def _failing_lines(text: str, spans: list[tuple[int, int]]) -> list[Unit]:
    lines: list[Unit] = []
    at = 0
    raw = text.split("\n")
    for n, line in enumerate(raw):
        start, end = at, at + len(line)
        at = end + 1
        stripped = line.strip()
        if not stripped or any(s < end and start < e for s, e in spans):
            continue  # part of a fault payload: its errors are units already
        if stripped.endswith(":") and any(at <= s <= at + 200 for s, _ in spans):
            continue  # "2025-03-01 ERROR QuickBooks said:" introducing the payload below it
        columns = line.count("\t") >= 2 or line.count(" | ") >= 2
        if (columns or _LOG_LINE.match(line)) and _FAILING.search(line):
            lines.append(Unit(stripped, start))
    return lines


def units(text: str) -> list[Unit]:
    """The failing units of `text`, in order, one per distinct error. Two or more make it a paste
    to account for line by line; one or none, a message to diagnose whole (a lone fault payload
    still gives its code)."""
    found = faults(text)
    spans = [(s, e) for _, s, e in found]
    candidates = [u for u, _, _ in found] + _failing_lines(text, spans)
    candidates.sort(key=lambda u: u.start)
    distinct: list[Unit] = []
    seen: set[str] = set()
    for unit in candidates:
        if unit.key in seen:
            continue
        seen.add(unit.key)
        distinct.append(unit)
    return distinct
