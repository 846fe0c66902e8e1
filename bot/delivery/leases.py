"""Holding recorded messages while this process answers them, so a recovery leaves them alone.

Recovery (Store.claim_unfinished_events, in any process) answers messages that were recorded
but not answered within EVENT_RETRY_AFTER: their process presumably died. A live process can
take longer than that (a message queued behind a burst, or a reply Slack or Teams keeps
throttling), so it renews what it holds three times per delay (Store.renew_events). A message
a recovery claimed meanwhile is dropped from the holds: it is the recovery's to answer.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Awaitable, Callable

from .timers import Sleep

log = logging.getLogger(__name__)

MIN_RENEW_S = 0.05  # the shortest pause between renewals


class Leases:
    """`renew(holds)` writes the renewals (row -> attempts it was taken at) and returns the rows
    still held; `retry_after` is the recovery delay in seconds (0: recovery takes everything at
    once, and holding is pointless); `sleep` is the pause between renewals (tests drive it)."""

    def __init__(self, renew: Callable[[dict[int, int]], Awaitable[set[int]]], retry_after: float,
                 sleep: Sleep = asyncio.sleep) -> None:
        self._renew = renew
        self.retry_after = retry_after
        self.sleep = sleep
        self._held: dict[int, int] = {}
        self._task: asyncio.Future | None = None

    def hold(self, row: int, attempts: int) -> None:
        self._held[row] = attempts
        if self.retry_after > 0 and (self._task is None or self._task.done()):
            self._task = asyncio.ensure_future(self._loop())

    def release(self, row: int, attempts: int) -> None:
        if self._held.get(row) == attempts:
            del self._held[row]

    def holds(self, row: int, attempts: int) -> bool:
        """Whether `row`, taken at `attempts`, is still this process's to answer (a recovery
        here or elsewhere takes it at a higher count)."""
        return self._held.get(row) == attempts

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass

    async def _loop(self) -> None:
        while self._held:
            await self.sleep(max(self.retry_after / 3, MIN_RENEW_S))
            held = dict(self._held)
            try:
                kept = await self._renew(held)
            except Exception:  # noqa: BLE001 - try again next time; a recovery may take them meanwhile
                log.exception("renewing %d held message(s) failed", len(held))
                continue
            lost = [row for row in held if row not in kept and self._held.get(row) == held[row]]
            for row in lost:
                del self._held[row]
            if lost:  # taken by a recovery, or answered just now (released after its write)
                log.info("%d held message(s) are no longer waiting here to be answered", len(lost))
