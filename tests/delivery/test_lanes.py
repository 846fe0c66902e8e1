"""One queue per conversation (bot/delivery/lanes.py): in order within a conversation, side by
side across them, and one that hangs holds only itself."""

from __future__ import annotations

import asyncio
import logging

import pytest

from bot.delivery.lanes import Lanes

pytestmark = pytest.mark.asyncio


class Work:
    def __init__(self) -> None:
        self.done: list[str] = []
        self.gates: dict[str, asyncio.Event] = {}

    async def __call__(self, item: str) -> None:
        if item in self.gates:
            await self.gates[item].wait()
        if item.startswith("bad"):
            raise RuntimeError(item)
        self.done.append(item)


async def test_a_held_conversation_holds_only_its_own_queue_and_keeps_its_order():
    work = Work()
    work.gates["a1"] = asyncio.Event()
    lanes: Lanes[str, str] = Lanes(work)
    for key, item in [("A", "a1"), ("B", "b1"), ("A", "a2"), ("B", "b2"), ("C", "c1")]:
        lanes.put(key, item)
    while len(work.done) < 3:
        await asyncio.sleep(0)
    assert sorted(work.done) == ["b1", "b2", "c1"] and work.done.index("b1") < work.done.index("b2")
    assert len(lanes) == 3       # a1 (in hand, its lane's task) and a2 wait
    work.gates["a1"].set()
    await asyncio.wait_for(lanes.join(), 5)
    assert work.done[3:] == ["a1", "a2"] and len(lanes) == 0


async def test_a_failing_item_is_logged_and_its_conversation_goes_on(caplog):
    work = Work()
    lanes: Lanes[str, str] = Lanes(work, "answering")
    with caplog.at_level(logging.ERROR):
        for item in ("bad1", "a2"):
            lanes.put("A", item)
        await asyncio.wait_for(lanes.join(), 5)
    assert work.done == ["a2"]
    assert [r.getMessage() for r in caplog.records] == ["answering failed"]


async def test_close_stops_every_lane_and_put_starts_afresh():
    work = Work()
    work.gates["a1"] = asyncio.Event()
    lanes: Lanes[str, str] = Lanes(work)
    lanes.put("A", "a1")
    lanes.put("B", "b1")
    await lanes.close()          # a1 hung, b1 not started: both stopped
    assert len(lanes) == 0
    await asyncio.wait_for(lanes.join(), 5)
    lanes.put("B", "b2")
    await asyncio.wait_for(lanes.join(), 5)
    assert work.done == ["b2"]
