"""Garbage collection that stays out of the way of a burst of messages.

CPython's cycle collector runs after every 700 net allocations of container objects. During a
burst of Slack events that was dozens of collections per second, each walking the request
objects still alive at that moment (and promoting them, to be walked again later), plus the
occasional full collection over everything start-up built. A web process does better to:

* freeze what start-up built (model, catalog, templates, the app itself: alive for good), so no
  collection walks it again, and forked workers keep sharing those memory pages;
* raise the automatic threshold, so a burst is not interrupted; it stays as the backstop that
  bounds memory under sustained load;
* collect the young generations once a second from the event loop, when most of a burst's
  objects are already freed by reference counting.

What it buys, side by side in `make bench` (Slack burst, 2 web processes): without it, a full
collection over everything start-up built lands in some bursts and stalls a process for about
100 ms: acknowledgement p99 125-158 ms (target 100) and reply p99 160-200 ms; with it, 26-43 ms
and 84-110 ms. (The reply median moved less, within the machine's noise.)
Only the server (`python -m bot run`) uses it; tests and one-shot commands keep the defaults.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc

from aiohttp import web

from .delivery.timers import Sleep

YOUNG_THRESHOLD = 50_000  # net allocations before an automatic collection (CPython's default: 700)
PERIOD_S = 1.0
_TASK = web.AppKey("syncmedic_gc_task", asyncio.Task)


def settle() -> None:
    """Collect once, freeze everything alive, and raise the automatic threshold."""
    gc.collect()
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, older, oldest)


async def collect_young(period: float = PERIOD_S, sleep: Sleep = asyncio.sleep) -> None:
    """Collect the two young generations every `period` seconds (as `sleep` counts them), for ever."""
    while True:
        await sleep(period)
        gc.collect(1)


def install(app: web.Application, period: float = PERIOD_S, sleep: Sleep = asyncio.sleep) -> None:
    """Apply the policy to a serving process once `app` has started (its start-up objects are
    then frozen too), and stop the periodic collection when it shuts down."""

    async def start(app: web.Application) -> None:
        settle()
        app[_TASK] = asyncio.create_task(collect_young(period, sleep))

    async def stop(app: web.Application) -> None:
        task = app.get(_TASK)
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    app.on_startup.append(start)
    app.on_cleanup.append(stop)
