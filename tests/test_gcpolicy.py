"""The server's garbage-collection policy (bot/gcpolicy.py)."""

from __future__ import annotations

import asyncio
import gc

import pytest
from aiohttp import web

from bot import gcpolicy
from tests.support import SteppedSleep


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
    periods = SteppedSleep()
    task = asyncio.create_task(gcpolicy.collect_young(period=0.5, sleep=periods))
    for _ in range(3):
        await periods.step()   # a period passes
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert calls == [1, 1, 1]
    assert periods.delays == [0.5] * 4


async def test_install_runs_the_collector_while_the_app_serves_and_stops_it_after(restore_gc, monkeypatch):
    collected: list[int] = []
    real_collect = gc.collect
    monkeypatch.setattr(gcpolicy.gc, "collect", lambda generation=2: collected.append(generation) or real_collect(generation))
    app = web.Application()
    periods = SteppedSleep()
    gcpolicy.install(app, period=0.5, sleep=periods)
    runner = web.AppRunner(app)
    await runner.setup()  # runs on_startup
    try:
        for _ in range(3):
            await periods.step()
        assert collected == [2, 1, 1, 1]  # settle() collected everything first, then the young ones
    finally:
        await runner.cleanup()
    task = app[gcpolicy._TASK]
    assert task.cancelled()
    before = len(collected)
    assert periods.wake() == 0  # nothing is waiting to collect any more
    await asyncio.sleep(0)
    assert len(collected) == before
