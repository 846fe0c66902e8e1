"""Calendar rules: business hours, digest days, snoozes. Pure functions of an explicit `now`,
so tests travel in time (including across daylight-saving changes) without sleeping."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DAY_NAMES = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
_HOURS = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})(?:\s+(.{3,40}))?\s*$")


class RuleError(ValueError):
    """A time setting is malformed. `reason` says how to write it; the message also quotes the
    text, and Settings puts the variable's name in front (BUSINESS_HOURS='9-5': use ...)."""

    def __init__(self, text: str, reason: str) -> None:
        super().__init__(f"{text!r}: {reason}")
        self.text, self.reason = text, reason


def zone(name: str | None, fallback: str = "UTC") -> ZoneInfo:
    """An IANA time zone; an unknown or empty name falls back (users.info may send odd values)."""
    for candidate in (name, fallback, "UTC"):
        if candidate:
            try:
                return ZoneInfo(candidate)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return ZoneInfo("UTC")


def parse_zone(text: str) -> str:
    """An IANA zone name, checked: unlike `zone`, a setting that names no zone is an error."""
    try:
        ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        raise RuleError(text, "use an IANA zone such as Europe/London") from None
    return text


def parse_days(text: str) -> frozenset[int]:
    """`Mon-Fri`, `Mon-Sun`, `Mon,Wed,Fri`, `Sat-Sun` -> weekday numbers (Mon = 0)."""
    days: set[int] = set()
    for part in text.lower().replace(" ", "").split(","):
        if not part:
            continue
        first, _, last = part.partition("-")
        try:
            a = DAY_NAMES.index(first[:3])
            b = DAY_NAMES.index(last[:3]) if last else a
        except ValueError:
            raise RuleError(text, "use day names such as Mon-Fri or Mon,Wed,Fri") from None
        days.update(DAY_NAMES.index(DAY_NAMES[(a + i) % 7]) for i in range((b - a) % 7 + 1))
    if not days:
        raise RuleError(text, "name at least one day")
    return frozenset(days)


def parse_clock(text: str) -> time:
    """`09:00`, `7:45` -> a time of day (24-hour clock)."""
    m = re.fullmatch(r"\s*(\d{1,2}):(\d{2})\s*", text or "")
    if not m or int(m.group(1)) > 23 or int(m.group(2)) > 59:
        raise RuleError(text, "use a 24-hour time such as 09:00")
    return time(int(m.group(1)), int(m.group(2)))


@dataclass(frozen=True)
class BusinessHours:
    start: time
    end: time
    days: frozenset[int]

    @classmethod
    def parse(cls, text: str) -> "BusinessHours":
        """`09:00-17:30 Mon-Fri`; without days, every day."""
        m = _HOURS.match(text or "")
        if not m:
            raise RuleError(text, "use a window such as 09:00-17:30 Mon-Fri")
        try:  # a bad part is reported with the whole window, as the operator wrote it
            start = parse_clock(f"{m.group(1)}:{m.group(2)}")
            end = parse_clock(f"{m.group(3)}:{m.group(4)}")
            days = parse_days(m.group(5) or "Mon-Sun")
        except RuleError as exc:
            raise RuleError(text, exc.reason) from None
        if end <= start:
            raise RuleError(text, "the window must end after it starts")
        return cls(start, end, days)

    def allows(self, moment: datetime, tz: ZoneInfo) -> bool:
        local = moment.astimezone(tz)
        return local.weekday() in self.days and self.start <= local.time() < self.end

    def next_open(self, moment: datetime, tz: ZoneInfo) -> datetime:
        """`moment` if inside the window, else the next time the window opens (as UTC)."""
        if self.allows(moment, tz):
            return moment
        local = moment.astimezone(tz)
        for offset in range(0, 8):
            day = local.date() + timedelta(days=offset)
            if day.weekday() not in self.days:
                continue
            opening = local_datetime(day, self.start, tz)
            if opening > moment:
                return opening.astimezone(timezone.utc)
        return moment  # unreachable with at least one day; never loop for ever


def local_datetime(day: date, at: time, tz: ZoneInfo) -> datetime:
    """The instant `day` `at` in `tz`. A wall time skipped by a DST jump maps to the moment of
    the jump (02:30 on a spring-forward night is 03:00); a repeated one to its first occurrence."""
    naive = datetime.combine(day, at)
    first = naive.replace(tzinfo=tz, fold=0)
    if first.astimezone(timezone.utc).astimezone(tz).replace(tzinfo=None) == naive:
        return first
    # Skipped: between the instant read with the later offset and the one read with the earlier
    # offset lies the jump; find it to the minute.
    after = first.astimezone(timezone.utc)
    before = naive.replace(tzinfo=tz, fold=1).astimezone(timezone.utc)
    low, high = min(before, after), max(before, after)
    target = high.astimezone(tz).utcoffset()
    moment = low
    while moment < high and moment.astimezone(tz).utcoffset() != target:
        moment += timedelta(minutes=1)
    return moment.astimezone(tz)


def tomorrow_morning(moment: datetime, tz: ZoneInfo, hours: BusinessHours | None) -> datetime:
    """The next working morning after `moment` in the user's zone (09:00 without business hours)."""
    local = moment.astimezone(tz)
    start = hours.start if hours else time(9, 0)
    days = hours.days if hours else frozenset(range(7))
    for offset in range(1, 9):
        day = local.date() + timedelta(days=offset)
        if day.weekday() in days:
            return local_datetime(day, start, tz).astimezone(timezone.utc)
    return moment + timedelta(days=1)


def digest_day(now: datetime, at: time, tz: ZoneInfo, days: frozenset[int]) -> str | None:
    """The local date whose digest is due at `now` (it is a digest day and past the time), else None.

    Checked on every scheduler tick and claimed once per day in the database, this posts the
    digest once a day whatever restarts or DST changes happen: after a jump the first tick past
    the (shifted) time posts it; a repeated hour finds the day already claimed.
    """
    local = now.astimezone(tz)
    if local.weekday() not in days:
        return None
    if now < local_datetime(local.date(), at, tz):
        return None
    return local.date().isoformat()
