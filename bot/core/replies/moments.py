"""One way of writing a moment, for every note a person reads: "today at 14:05", "tomorrow at
09:00", "on Mon 9 Mar at 09:00" (snoozes, "already marked fixed by ... at ...", escalations,
claims), and "Mon 9 Mar 14:05" where a bare timestamp is wanted (the sandbox's clock and
message times). Always relative to the injected clock's `now`, never the machine's, so the
sandbox's fast-forward and the tests read the same words a person would; the words are
responses/phrases.yaml's (when_*)."""

from __future__ import annotations

from datetime import datetime
from typing import Callable
from zoneinfo import ZoneInfo

Say = Callable[..., str]


def day_text(moment: datetime, now: datetime | None = None) -> str:
    """"Mon 9 Mar" (with the year when it is not `now`'s)."""
    text = f"{moment:%a} {moment.day} {moment:%b}"
    return text if now is None or now.year == moment.year else f"{text} {moment.year}"


def stamp(moment: datetime, tz: ZoneInfo) -> str:
    """"Mon 9 Mar 14:05" in `tz`: a timestamp on its own."""
    local = moment.astimezone(tz)
    return f"{day_text(local)} {local:%H:%M}"


def when_text(moment: datetime, now: datetime, tz: ZoneInfo, say: Say) -> str:
    """"today at 14:05", "tomorrow at 09:00", "yesterday at 16:30", "on Mon 9 Mar at 09:00",
    in `tz` and relative to `now`. `say(key, **values)` renders a phrase for the channel."""
    local, today = moment.astimezone(tz), now.astimezone(tz)
    days = (local.date() - today.date()).days
    key = {0: "when_today", 1: "when_tomorrow", -1: "when_yesterday"}.get(days, "when_day")
    return say(key, time=f"{local:%H:%M}", day=day_text(local, today))


def age_text(since: datetime | None, now: datetime, phrases: Say) -> str:
    """How long something has been open ("12 min", "5 hours", "3 days"; the words are
    phrases.yaml's age_*): the digest's "oldest ..." and the App Home's "Asked ... ago"."""
    if since is None:
        return phrases("age_unknown")
    minutes = max(1, int((now - since).total_seconds() // 60))  # "1 min" for anything just asked
    if minutes < 120:
        return phrases("age_minutes", count=minutes)
    if minutes < 2 * 24 * 60:
        return phrases("age_hours", count=minutes // 60)
    return phrases("age_days", count=minutes // (24 * 60))
