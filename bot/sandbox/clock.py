"""The sandbox's clock: real time plus an offset the page can only move forward.

Everything that decides "is it due?" (check-ins, the daily digest, case ages, imports) reads
this clock, so fast-forwarding four hours makes exactly what four real hours would make due.
The offset is kept in the database (clock_offsets): a restart goes on from the time the
database's cases were stamped with, instead of falling back to the real time before them.
"""

from __future__ import annotations

import logging
from datetime import datetime, time, timedelta
from typing import Any, Callable

from ..core.storage.tables import ClockOffsetRow, utcnow
from ..core.schedule.timerules import local_datetime, zone

log = logging.getLogger(__name__)
MORNING = time(9, 0)
STEPS = {"1h": timedelta(hours=1), "4h": timedelta(hours=4)}
NAME = "sandbox"


class SandboxClock:
    def __init__(self, base: Callable[[], datetime] = utcnow) -> None:
        self.base = base
        self.offset = timedelta(0)
        self._store: Any = None

    def __call__(self) -> datetime:
        return self.base() + self.offset

    def keep_in(self, store: Any) -> timedelta:
        """Go on from the offset an earlier run left in `store`'s database, and keep every move
        there from now on; returns the offset restored."""
        self._store = store
        with store.session() as s:
            row = s.get(ClockOffsetRow, NAME)
            if row is not None and row.offset_seconds > 0:
                self.offset = timedelta(seconds=row.offset_seconds)
        return self.offset

    def advance(self, step: str, tz_name: str = "UTC") -> datetime:
        """Move forward by a named step ("1h", "4h", or "morning": the next 09:00 in
        `tz_name`); returns the new time. Unknown steps raise KeyError."""
        now = self()
        if step == "morning":
            target = next_morning(now, tz_name)
        else:
            target = now + STEPS[step]
        self.offset += target - now
        self._save()
        return self()

    def _save(self) -> None:
        if self._store is None:
            return
        with self._store.session() as s:
            row = s.get(ClockOffsetRow, NAME)
            if row is None:
                s.add(ClockOffsetRow(name=NAME, offset_seconds=self.offset.total_seconds(), updated_at=utcnow()))
            else:
                row.offset_seconds, row.updated_at = self.offset.total_seconds(), utcnow()


def next_morning(now: datetime, tz_name: str) -> datetime:
    """The first 09:00 strictly after `now` in the zone (today's, if it is still before nine)."""
    tz = zone(tz_name)
    local = now.astimezone(tz)
    for days in range(0, 3):
        candidate = local_datetime(local.date() + timedelta(days=days), MORNING, tz)
        if candidate > now:
            return candidate
    return now + timedelta(days=1)  # unreachable: some 09:00 within two days is always later
