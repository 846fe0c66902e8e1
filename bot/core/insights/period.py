"""The stretch of time a report covers, and its weeks, in the team's time zone (DIGEST_TZ).

Dates a person types (`--since 2026-04-01`) are days in that zone: `since` starts at its
midnight, `until` ends at the next midnight (so `--until 2026-04-30` includes the 30th).
Weeks start on Monday; the first and last are cut to the period.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

DEFAULT_DAYS = 30


class PeriodError(ValueError):
    """A period a person asked for that cannot be used; the message says why."""


@dataclass(frozen=True)
class Period:
    since: datetime   # inclusive, aware
    until: datetime   # exclusive, aware
    tz: str = "UTC"

    def __post_init__(self) -> None:
        if self.until <= self.since:
            raise PeriodError("the period ends before it starts")

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.tz)

    @property
    def first_day(self) -> date:
        return self.since.astimezone(self.zone).date()

    @property
    def last_day(self) -> date:
        """The last day the period touches (until is exclusive)."""
        return (self.until - timedelta(microseconds=1)).astimezone(self.zone).date()

    def contains(self, when: datetime) -> bool:
        return self.since <= when < self.until

    def weeks(self) -> list["Period"]:
        """Monday-to-Monday weeks in the period's zone, the first and last cut to the period."""
        zone = self.zone
        start_day = self.first_day - timedelta(days=self.first_day.weekday())
        out = []
        start = self.since
        monday = start_day
        while start < self.until:
            monday += timedelta(days=7)
            end = min(self.until, datetime.combine(monday, time(), zone).astimezone(timezone.utc))
            if end > start:
                out.append(Period(start, end, self.tz))
            start = end
        return out

    def to_json(self) -> dict[str, str]:
        return {"since": self.since.isoformat(), "until": self.until.isoformat(), "tz": self.tz,
                "first_day": self.first_day.isoformat(), "last_day": self.last_day.isoformat()}


def _midnight(day: date, tz: str) -> datetime:
    return datetime.combine(day, time(), ZoneInfo(tz)).astimezone(timezone.utc)


def parse_day(text: str, name: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise PeriodError(f"{name} {text!r}: use a date such as 2026-04-01") from None


def last_days(now: datetime, tz: str = "UTC", days: int = DEFAULT_DAYS) -> Period:
    """The default period: the last `days` days up to now."""
    return Period(now - timedelta(days=days), now, tz)


def between(since: str | None, until: str | None, now: datetime, tz: str = "UTC") -> Period:
    """The period `--since` and `--until` describe (either may be missing: the last 30 days up
    to `until`, or from `since` up to now)."""
    end = _midnight(parse_day(until, "--until") + timedelta(days=1), tz) if until else now
    start = _midnight(parse_day(since, "--since"), tz) if since else end - timedelta(days=DEFAULT_DAYS)
    if end <= start:
        raise PeriodError("--until is before --since")
    return Period(start, end, tz)


def month_before(day: date, tz: str) -> tuple[str, Period]:
    """The calendar month before `day`'s: ("2026-04", its period) for any day in May 2026."""
    first = day.replace(day=1)
    previous = (first - timedelta(days=1)).replace(day=1)
    return previous.strftime("%Y-%m"), Period(_midnight(previous, tz), _midnight(first, tz), tz)
