"""Pauses the delivery code takes, through an injected `sleep`.

Production passes asyncio.sleep; tests pass one that records the delay and returns at once,
or returns when the test says the time has passed, so no test waits for a timer in real time.
"""

from __future__ import annotations

import asyncio
from typing import Any, Awaitable, Callable

Sleep = Callable[[float], Awaitable[Any]]


async def wait_at_most(awaitable: Awaitable[Any], seconds: float, sleep: Sleep = asyncio.sleep) -> bool:
    """Await `awaitable`, but for no longer than `sleep(seconds)` takes: True if it finished
    first (its exception, if any, is raised), False if the time ran out (it is then cancelled,
    as asyncio.wait_for would)."""
    work = asyncio.ensure_future(awaitable)
    timer = asyncio.ensure_future(sleep(seconds))
    try:
        await asyncio.wait((work, timer), return_when=asyncio.FIRST_COMPLETED)
    finally:
        for future in (work, timer):
            if not future.done():
                future.cancel()
    if work.done() and not work.cancelled():
        work.result()
        return True
    return False
