"""GroupCommit: callers that arrive during a write share the next one, and each gets its own result."""

from __future__ import annotations

import asyncio

import pytest

from bot.delivery.groupcommit import GroupCommit


async def test_callers_during_a_write_share_the_next_one_and_each_gets_its_own_result():
    batches: list[list[int]] = []
    release = asyncio.Event()

    async def write(items: list[int]) -> list[int]:
        batches.append(list(items))
        if len(batches) == 1:
            await release.wait()  # the first write is slow: the others queue meanwhile
        return [n * 10 for n in items]

    commit = GroupCommit(write)
    first = asyncio.ensure_future(commit(1))
    await asyncio.sleep(0)
    others = [asyncio.ensure_future(commit(n)) for n in (2, 3, 4, 5)]
    await asyncio.sleep(0)
    release.set()
    assert await first == 10
    assert [await o for o in others] == [20, 30, 40, 50]
    assert batches == [[1], [2, 3, 4, 5]]


async def test_a_failed_write_fails_its_callers_only():
    calls = 0

    async def write(items: list[str]) -> list[str]:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("database connection lost")
        return [s.upper() for s in items]

    commit = GroupCommit(write)
    with pytest.raises(RuntimeError, match="connection lost"):
        await commit("a")
    assert await commit("b") == "B"
    assert await asyncio.gather(commit("c"), commit("d")) == ["C", "D"]


async def test_one_bad_item_fails_only_its_own_caller():
    async def write(items: list[str]) -> list[str]:
        if "bad" in items:
            raise ValueError("cannot store 'bad'")
        return [s.upper() for s in items]

    commit = GroupCommit(write)
    results = await asyncio.gather(commit("a"), commit("bad"), commit("c"), return_exceptions=True)
    assert results[0] == "A" and results[2] == "C"
    assert isinstance(results[1], ValueError)


async def test_a_write_that_loses_results_fails_its_callers_instead_of_leaving_them_waiting():
    async def write(items: list[str]) -> list[str]:
        return []

    commit = GroupCommit(write)
    with pytest.raises(RuntimeError, match="0 results for 1 items"):
        await asyncio.wait_for(commit("a"), 2)
