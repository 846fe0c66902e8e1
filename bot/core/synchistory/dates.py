"""Reading the dates in a sync-history export: ISO, numeric (day first unless the file shows
otherwise), month names and epoch seconds. Dates without a time zone are taken as UTC."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Iterable

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


def epoch_date(value: float) -> datetime | None:
    if value > 1e11:  # milliseconds
        value /= 1000
    try:
        return datetime.fromtimestamp(value, timezone.utc)
    except (OverflowError, OSError, ValueError):
        return None
