"""The claims a clock is working on (check-ins being sent, digests being posted), renewed while
it lives.

A claim in the database is a lease of EVENT_RETRY_AFTER: this process renews the ones it holds
every third of that (a heartbeat, in a thread: the store is synchronous), so no other clock
takes them over while this one is alive, however long a post takes; when it dies, its claims
run out within one lease and another clock takes them (looking before it posts again). The
heartbeat runs only while something is held.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from typing import Any, Awaitable, Callable

from ..cases.digest_state import renew_digest
from ..cases.followups import Followups
from ..storage.store import Store

log = logging.getLogger(__name__)
MIN_BEAT_S = 0.05


class Holding:
    def __init__(self, store: Store, followups: Followups, clock: Callable[[], datetime],
                 sleep: Callable[[float], Awaitable[Any]]) -> None:
        self.store = store
        self.followups = followups
        self.clock = clock
        self.sleep = sleep
        self.checkins: dict[int, int] = {}            # follow-up id -> the attempts it was claimed at
        self.digests: set[tuple[str, str]] = set()    # (day, target)
        self._beat: asyncio.Future[None] | None = None

    @property
    def lease(self) -> timedelta:
        return self.followups.claim_lease

    def hold_checkin(self, followup_id: int, attempts: int) -> None:
        self.checkins[followup_id] = attempts
        self._start()

    def hold_digest(self, day: str, target: str) -> None:
        self.digests.add((day, target))
        self._start()

    def holds_checkin(self, followup_id: int) -> bool:
        """Still this process's to send (not taken over by another clock meanwhile)."""
        return followup_id in self.checkins

    def release_checkin(self, followup_id: int) -> None:
        self.checkins.pop(followup_id, None)
        self._stop_if_idle()

    def release_digest(self, day: str, target: str) -> None:
        self.digests.discard((day, target))
        self._stop_if_idle()

    def _start(self) -> None:
        if self._beat is None or self._beat.done():
            self._beat = asyncio.ensure_future(self._loop())

    def _stop_if_idle(self) -> None:
        if not self.checkins and not self.digests and self._beat is not None:
            self._beat.cancel()
            self._beat = None

    async def close(self) -> None:
        if self._beat is not None:
            self._beat.cancel()
            await asyncio.gather(self._beat, return_exceptions=True)
            self._beat = None

    async def _loop(self) -> None:
        while self.checkins or self.digests:
            await self.sleep(max(self.lease.total_seconds() / 3, MIN_BEAT_S))
            checkins, digests = dict(self.checkins), set(self.digests)
            try:
                kept = await asyncio.to_thread(self._renew, checkins, digests)
            except Exception:  # noqa: BLE001 - next beat; the lease has two more in it
                log.exception("renewing the scheduler's claims failed")
                continue
            for lost in set(checkins) - kept:
                if self.checkins.get(lost) == checkins[lost]:
                    del self.checkins[lost]   # another clock took it over: that one sends it
                    log.info("check-in %d was taken over by another clock", lost)

    def _renew(self, checkins: dict[int, int], digests: set[tuple[str, str]]) -> set[int]:
        now = self.clock()
        for day, target in digests:
            renew_digest(self.store, day, target, now)
        return self.followups.renew(checkins, now)
