"""Background work an edge starts and must see finished before it stops.

A click is acknowledged at once and handled in a task; `wait()` returns once every task started
so far, and every task those tasks start, is done. It never loops on `asyncio.gather` over a set
that done-callbacks shrink: on Python 3.12 `gather` over futures that are all done completes
without yielding to the loop, so the callbacks that would empty the set never run and such a
loop spins for ever. Here, finished tasks are dropped by looking at them, not by callbacks.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Coroutine

log = logging.getLogger(__name__)


class TaskTracker:
    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()

    def spawn(self, coro: Coroutine[Any, Any, Any], what: str = "background work") -> asyncio.Task[Any]:
        """Run `coro` in the background; its failure is logged (as `what`), never raised."""
        task = asyncio.ensure_future(self._logged(coro, what))
        self._tasks = {t for t in self._tasks if not t.done()}
        self._tasks.add(task)
        return task

    @staticmethod
    async def _logged(coro: Coroutine[Any, Any, Any], what: str) -> None:
        try:
            await coro
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - one failed click or delivery must not end the process
            log.exception("%s failed", what)

    @property
    def pending(self) -> int:
        return sum(1 for t in self._tasks if not t.done())

    async def wait(self) -> None:
        """Return once nothing tracked is running (tasks started meanwhile included)."""
        while True:
            running = [t for t in self._tasks if not t.done()]
            self._tasks = set(running)
            if not running:
                return
            await asyncio.wait(running)

    async def cancel(self) -> None:
        """Stop whatever is still running (shutdown after a grace period)."""
        running = [t for t in self._tasks if not t.done()]
        for task in running:
            task.cancel()
        if running:
            await asyncio.wait(running)
        self._tasks = set()
