"""What the scheduler does on each tick: send due check-ins and the daily digest.

Platform-free: each platform supplies a Notifier. Every decision reads the database and an
explicit `now`, so a tick can run in any process (web or clock), any number of times, and
tests drive it by moving the clock.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any, Callable, Protocol

from ..nlu.catalog import Catalog
from ..cases.digest import Digest, build_digest, claim_digest, digest_posted, release_digest
from ..cases.followups import Followups
from ..storage.store import Store
from ..storage.tables import Case, utcnow
from .timerules import BusinessHours, digest_day, zone

log = logging.getLogger(__name__)
RETRY_SEND_AFTER = timedelta(minutes=2)


class Gone(Exception):
    """The conversation no longer exists (or we were removed): do not try again."""


class Notifier(Protocol):
    platform: str

    async def user_timezone(self, case: Case) -> str | None: ...

    async def send_checkin(self, case: Case) -> str: ...

    def digest_targets(self) -> list[str]: ...

    async def send_digest(self, target: str, digest: Digest) -> str: ...


@dataclass
class DigestPlan:
    at: time
    tz: str
    days: frozenset[int]
    all_clear: bool = True


class Clockwork:
    def __init__(self, store: Store, catalog: Catalog, followups: Followups, notifiers: dict[str, Notifier], *,
                 hours: BusinessHours | None = None, digest: DigestPlan | None = None,
                 default_tz: str = "UTC", clock: Callable[[], datetime] = utcnow, monthly: Any = None) -> None:
        self.store = store
        self.catalog = catalog
        self.followups = followups
        self.notifiers = notifiers
        self.hours = hours
        self.digest = digest
        self.default_tz = default_tz  # when the platform cannot tell us the user's zone
        self.clock = clock
        self.monthly = monthly  # REPORT_MONTHLY: bot/core/schedule/monthly.py

    async def tick(self) -> dict[str, int]:
        """One round; returns counts for logging and tests."""
        now = self.clock()
        sent = await self.send_checkins(now)
        posted = await self.post_digests(now)
        done = {"checkins": sent, "digests": posted}
        if self.monthly is not None:
            targets = {name: n.digest_targets() for name, n in self.notifiers.items()}
            done["reports"] = await self.monthly.post(now, targets)
        return done

    async def send_checkins(self, now: datetime) -> int:
        sent = 0
        for due in await asyncio.to_thread(self.followups.claim_due, now):
            notifier = self.notifiers.get(due.case.platform)
            if notifier is None:
                await asyncio.to_thread(self.followups.postpone, due.followup_id, now + timedelta(hours=1))
                continue
            try:
                if self.hours is not None:
                    tz = due.case.user_tz or await notifier.user_timezone(due.case)
                    if tz and tz != due.case.user_tz:
                        await asyncio.to_thread(self.store.set_user_tz, due.case.id, tz)
                    opens = self.hours.next_open(now, zone(tz, self.default_tz))
                    if opens > now:
                        await asyncio.to_thread(self.followups.postpone, due.followup_id, opens)
                        continue
                ref = await notifier.send_checkin(due.case)
            except Gone:
                log.info("conversation for case %s is gone; no more check-ins", due.case.id)
                await asyncio.to_thread(self.followups.give_up, due.followup_id)
                continue
            except Exception:  # noqa: BLE001 - try again later; attempts are capped
                log.exception("sending a check-in failed; will retry")
                await asyncio.to_thread(self.followups.postpone, due.followup_id, now + RETRY_SEND_AFTER)
                continue
            await asyncio.to_thread(self.followups.sent, due.followup_id, ref, self.clock())
            sent += 1
        return sent

    async def post_digests(self, now: datetime) -> int:
        plan = self.digest
        if plan is None:
            return 0
        day = digest_day(now, plan.at, zone(plan.tz), plan.days)
        if day is None:
            return 0
        posted = 0
        for notifier in self.notifiers.values():
            for target in notifier.digest_targets():
                if not await asyncio.to_thread(claim_digest, self.store, day, target, now):
                    continue
                try:
                    digest = await asyncio.to_thread(build_digest, self.store, self.catalog, now)
                    if digest.total or plan.all_clear:
                        await notifier.send_digest(target, digest)
                        posted += 1
                except Gone:
                    log.warning("digest target %s is gone", target)
                except Exception:  # noqa: BLE001
                    log.exception("posting the digest to %s failed; will retry", target)
                    await asyncio.to_thread(release_digest, self.store, day, target)
                    continue
                await asyncio.to_thread(digest_posted, self.store, day, target, self.clock())
        return posted


def start_scheduler(tick: Callable[[], Any], interval_seconds: float) -> Any:
    """APScheduler in the running asyncio loop, ticking every `interval_seconds`.

    Misfire grace and coalescing are set explicitly: APScheduler's defaults drop a run that
    starts a second late. A late tick is still run (once, however many were missed); the
    database decides what is due, so nothing is lost or repeated either way.
    """
    from apscheduler.schedulers.asyncio import AsyncIOScheduler
    from apscheduler.triggers.interval import IntervalTrigger

    scheduler = AsyncIOScheduler(job_defaults={"coalesce": True, "misfire_grace_time": None, "max_instances": 1})
    scheduler.add_job(tick, IntervalTrigger(seconds=interval_seconds), id="syncmedic_tick",
                      next_run_time=datetime.now().astimezone())
    scheduler.start()
    return scheduler
