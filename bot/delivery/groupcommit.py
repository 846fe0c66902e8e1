"""Group commit: calls that arrive while a write is running share the next one.

A burst of 50 Slack deliveries then costs a few transactions instead of 50, and every caller
still waits for its own result (an acknowledgement is sent only once its own row is written).
The same batching serves any call that is cheaper for many items at once than for each
alone (the Slack edge diagnoses a burst's messages with one model call).
"""

from __future__ import annotations

import asyncio
from typing import Any, Awaitable, Callable, Generic, TypeVar

Item = TypeVar("Item")


class GroupCommit(Generic[Item]):
    """`write(items)` returns one result per item, in order. If a batch fails, its items are
    tried one at a time, so only the callers whose own item fails get the error. `max_batch`
    bounds a batch; the loop gets a turn between two batches (a synchronous `write` would
    otherwise hold it for the whole burst)."""

    def __init__(self, write: Callable[[list[Item]], Awaitable[list[Any]]], max_batch: int | None = None) -> None:
        self._write = write
        self._max = max_batch
        self._pending: list[tuple[Item, asyncio.Future]] = []
        self._writer: asyncio.Future | None = None

    async def __call__(self, item: Item) -> Any:
        future = asyncio.get_running_loop().create_future()
        self._pending.append((item, future))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.ensure_future(self._drain())
        return await future

    async def _drain(self) -> None:
        while self._pending:
            cut = len(self._pending) if self._max is None else self._max
            batch, self._pending = self._pending[:cut], self._pending[cut:]
            try:
                await self._settle(batch)
                if self._pending and self._max is not None:
                    await asyncio.sleep(0)
            except BaseException as exc:  # cancelled (shutting down): nobody may wait for ever
                waiting, self._pending = batch + self._pending, []
                for _, future in waiting:
                    if not future.done():
                        future.set_exception(exc if isinstance(exc, Exception) else RuntimeError("shut down"))
                raise

    async def _settle(self, batch: list[tuple[Item, asyncio.Future]]) -> None:
        try:
            results = await self._write([item for item, _ in batch])
            if len(results) != len(batch):
                raise RuntimeError(f"{len(results)} results for {len(batch)} items")
        except Exception as exc:  # noqa: BLE001 - handed to the callers
            if len(batch) > 1:
                # One bad item must not fail the others: each is tried alone.
                for one in batch:
                    await self._settle([one])
                return
            _, future = batch[0]
            if not future.done():
                future.set_exception(exc)
            return
        for (_, future), result in zip(batch, results):
            if not future.done():
                future.set_result(result)
