"""The task tracker both edges use for work done after an acknowledgement."""

from __future__ import annotations

import asyncio

import pytest

from bot.delivery.tasks import TaskTracker
from tests.support import alarm

pytestmark = pytest.mark.asyncio


async def finished_but_not_yet_seen(tracker: TaskTracker) -> asyncio.Task:
    """A tracked task that has finished, before the loop has run the callbacks its end scheduled."""
    async def quick() -> None:
        return None

    task = tracker.spawn(quick())
    await asyncio.sleep(0)  # quick() runs to its end; what its end scheduled runs after us
    assert task.done()
    return task


async def test_wait_returns_when_a_task_finished_before_its_callbacks_ran():
    tracker = TaskTracker()
    await finished_but_not_yet_seen(tracker)
    with alarm(2):
        await tracker.wait()
    assert tracker.pending == 0


async def test_wait_also_waits_for_tasks_started_by_tasks():
    tracker = TaskTracker()
    done: list[str] = []

    async def child() -> None:
        await asyncio.sleep(0.01)
        done.append("child")

    async def parent() -> None:
        await asyncio.sleep(0.01)
        tracker.spawn(child())
        done.append("parent")

    tracker.spawn(parent())
    await asyncio.wait_for(tracker.wait(), 5)
    assert done == ["parent", "child"]


async def test_a_failing_task_is_logged_and_does_not_stop_the_others(caplog):
    tracker = TaskTracker()
    ran: list[int] = []

    async def boom() -> None:
        raise RuntimeError("broken click")

    async def fine() -> None:
        ran.append(1)

    tracker.spawn(boom(), "a broken click")
    tracker.spawn(fine())
    await asyncio.wait_for(tracker.wait(), 5)
    assert ran == [1]
    assert "a broken click failed" in caplog.text


async def test_cancel_stops_what_is_still_running():
    tracker = TaskTracker()
    task = tracker.spawn(asyncio.sleep(3600))
    await asyncio.sleep(0)
    await asyncio.wait_for(tracker.cancel(), 5)
    assert task.cancelled() and tracker.pending == 0
