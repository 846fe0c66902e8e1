"""One queue per conversation, so a slow, hung or throttled conversation delays only itself.

Posting into a conversation can take long: Slack throttles a busy channel (about one message
a second per channel) and says how long to wait, a call can hang until its deadline. Each
conversation (a key: workspace and channel) gets its own lane, worked through in order by its
own task; other lanes flow meanwhile. A lane's task ends when its queue is empty, so an idle
conversation costs nothing.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from typing import Awaitable, Callable, Generic, Hashable, TypeVar

log = logging.getLogger(__name__)
K = TypeVar("K", bound=Hashable)
T = TypeVar("T")


class Lanes(Generic[K, T]):
    """`work(item)` is awaited for each item put, one at a time per key, in the order put; a
    failure is logged and the lane goes on with its next item."""

    def __init__(self, work: Callable[[T], Awaitable[None]], what: str = "delivering a message") -> None:
        self._work = work
        self._what = what
        self._queues: dict[K, deque[T]] = {}
        self._tasks: dict[K, asyncio.Task[None]] = {}

    def put(self, key: K, item: T) -> None:
        queue = self._queues.setdefault(key, deque())
        queue.append(item)
        task = self._tasks.get(key)
        if task is None or task.done():
            self._tasks[key] = asyncio.ensure_future(self._run(key, queue))

    def __len__(self) -> int:
        """Items waiting or being worked on, in every lane."""
        return sum(len(q) for q in self._queues.values()) + len(self._tasks)

    async def _run(self, key: K, queue: deque[T]) -> None:
        try:
            while queue:
                item = queue[0]
                try:
                    await self._work(item)
                except asyncio.CancelledError:
                    raise
                except Exception:  # noqa: BLE001 - one item must not stop its conversation
                    log.exception("%s failed", self._what)
                finally:
                    queue.popleft()
        finally:
            # Checked and removed without an await in between: nothing put meanwhile is lost.
            if self._tasks.get(key) is asyncio.current_task():
                del self._tasks[key]
            if not queue and self._queues.get(key) is queue:
                del self._queues[key]

    async def join(self) -> None:
        """Return once every lane is empty (work put meanwhile included). Looks at the tasks
        rather than trusting the table: one cancelled before it ran never removed itself."""
        while running := [task for task in self._tasks.values() if not task.done()]:
            await asyncio.wait(running)

    async def close(self) -> None:
        """Stop every lane (shutdown after a grace period); what was queued stays unanswered
        (recovery answers it)."""
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks)
        self._tasks.clear()
        self._queues.clear()
