"""Group commit: calls that arrive while a write is running share the next one.

A burst of 50 Slack deliveries then costs a few transactions instead of 50, and every caller
still waits for its own result (an acknowledgement is sent only once its own row is written).
"""

from __future__ import annotations

import asyncio
from typing import Any, Awaitable, Callable, Generic, TypeVar

Item = TypeVar("Item")


class GroupCommit(Generic[Item]):
    """`write(items)` returns one result per item, in order. If it raises, every caller of that
    batch gets the error and the next batch is tried afresh."""

    def __init__(self, write: Callable[[list[Item]], Awaitable[list[Any]]]) -> None:
        self._write = write
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
            batch, self._pending = self._pending, []
            try:
                results = await self._write([item for item, _ in batch])
            except Exception as exc:  # noqa: BLE001 - handed to each waiting caller
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for (_, future), result in zip(batch, results):
                if not future.done():
                    future.set_result(result)
