"""The sandbox's clock: real time plus an offset the page can only move forward.

Everything that decides "is it due?" (check-ins, the daily digest, case ages, imports) reads
this clock, so fast-forwarding four hours makes exactly what four real hours would make due.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Callable

from ..core.storage.tables import utcnow
from ..core.schedule.timerules import local_datetime, zone

MORNING = time(9, 0)
STEPS = {"1h": timedelta(hours=1), "4h": timedelta(hours=4)}


class SandboxClock:
    def __init__(self, base: Callable[[], datetime] = utcnow) -> None:
        self.base = base
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return self.base() + self.offset

    def advance(self, step: str, tz_name: str = "UTC") -> datetime:
        """Move forward by a named step ("1h", "4h", or "morning": the next 09:00 in
        `tz_name`); returns the new time. Unknown steps raise KeyError."""
        now = self()
        if step == "morning":
            target = next_morning(now, tz_name)
        else:
            target = now + STEPS[step]
        self.offset += target - now
        return self()


def next_morning(now: datetime, tz_name: str) -> datetime:
    """The first 09:00 strictly after `now` in the zone (today's, if it is still before nine)."""
    tz = zone(tz_name)
    local = now.astimezone(tz)
    for days in range(0, 3):
        candidate = local_datetime(local.date() + timedelta(days=days), MORNING, tz)
        if candidate > now:
            return candidate
    return now + timedelta(days=1)  # unreachable: some 09:00 within two days is always later
