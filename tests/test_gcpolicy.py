"""The server's garbage-collection policy (bot/gcpolicy.py)."""

from __future__ import annotations

import asyncio
import gc

import pytest
from aiohttp import web

from bot import gcpolicy


async def until(condition, timeout: float = 10.0) -> None:
    """Wait for `condition()` (a loaded machine may be slow to run the periodic task)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.01)


@pytest.fixture
def restore_gc():
    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)
    gc.enable()


def test_settle_freezes_what_is_alive_and_raises_the_young_threshold(restore_gc):
    survivor = [{"built": "at start-up"}]
    gc.unfreeze()
    gc.set_threshold(700, 10, 10)
    gcpolicy.settle()
    assert gc.get_freeze_count() > 0
    assert gc.get_threshold() == (gcpolicy.YOUNG_THRESHOLD, 10, 10)
    assert gc.is_tracked(survivor) and gc.isenabled()  # the backstop stays on


async def test_the_young_generations_are_collected_every_period(monkeypatch):
    calls: list[int] = []
    monkeypatch.setattr(gcpolicy.gc, "collect", lambda generation=2: calls.append(generation) or 0)
    task = asyncio.create_task(gcpolicy.collect_young(period=0.01))
    await until(lambda: len(calls) >= 3)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert len(calls) >= 3 and set(calls) == {1}


async def test_install_runs_the_collector_while_the_app_serves_and_stops_it_after(restore_gc, monkeypatch):
    collected: list[int] = []
    real_collect = gc.collect
    monkeypatch.setattr(gcpolicy.gc, "collect", lambda generation=2: collected.append(generation) or real_collect(generation))
    app = web.Application()
    gcpolicy.install(app, period=0.01)
    runner = web.AppRunner(app)
    await runner.setup()  # runs on_startup
    try:
        await until(lambda: collected.count(1) >= 3)  # the periodic young collections
        assert collected[0] == 2  # settle() collected everything first
    finally:
        await runner.cleanup()
    task = app[gcpolicy._TASK]
    assert task.cancelled()
    before = len(collected)
    await asyncio.sleep(0.05)
    assert len(collected) == before
