"""REPORT_MONTHLY=on: last month's summary, posted once per month to where the digest goes.

On the first digest day of each month (DIGEST_DAYS, past DIGEST_TIME in DIGEST_TZ, as the
digest), every digest target (Slack's DIGEST_CHANNEL, Teams conversations that said "digest
here") gets the previous calendar month's summary: headline figures and the biggest knowledge
gaps, without message samples (a channel is not an admin). Claimed in the database exactly as
the digest is (digest_runs, bot/core/cases/digest.py), with the month ("2026-04") for the day
and "report:" before the target, so any number of scheduler processes post it once; a
failed post is released and retried by the next tick.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any, Awaitable, Callable

from ..cases.digest_state import claim_digest, digest_posted, release_digest
from ..insights.period import Period, month_before
from ..storage.store import Store
from .clockwork import Gone
from .timerules import digest_day, zone

log = logging.getLogger(__name__)
TARGET_PREFIX = "report:"

Send = Callable[[str, Any], Awaitable[Any]]   # (digest target, Report) -> posted


@dataclass
class MonthlyReports:
    store: Store
    build: Callable[[Period], Any]             # the report for a period (Desk.build_report)
    senders: dict[str, Send]                   # per platform: how to post it to a digest target
    at: time                                   # DIGEST_TIME, DIGEST_TZ, DIGEST_DAYS
    tz: str
    days: frozenset[int]

    async def post(self, now: datetime, targets: dict[str, list[str]]) -> int:
        """`targets`: each platform's digest targets. Returns how many summaries were posted."""
        day = digest_day(now, self.at, zone(self.tz), self.days)
        if day is None:
            return 0
        month, period = month_before(date.fromisoformat(day), self.tz)
        posted = 0
        report = None
        for platform, names in targets.items():
            send = self.senders.get(platform)
            if send is None:
                continue
            for target in names:
                key = TARGET_PREFIX + target
                if not await asyncio.to_thread(claim_digest, self.store, month, key, now):
                    continue
                try:
                    if report is None:
                        report = await asyncio.to_thread(self.build, period)
                    await send(target, report)
                    posted += 1
                except Gone:
                    log.warning("monthly report target %s is gone", target)
                except Exception:  # noqa: BLE001 - released: the next tick tries again
                    log.exception("posting the monthly report to %s failed; will retry", target)
                    await asyncio.to_thread(release_digest, self.store, month, key)
                    continue
                await asyncio.to_thread(digest_posted, self.store, month, key, now)
        return posted
