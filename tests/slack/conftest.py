"""Fixtures for the Slack end-to-end tests: one real core per session (tests/conftest.py),
and per test a fresh Slack Web API stand-in, SQLite database and app served on 127.0.0.1."""

from __future__ import annotations

from pathlib import Path
from typing import Any, AsyncIterator, Awaitable, Callable

import pytest
import pytest_asyncio

from tests.slack.harness import BotClient, start_slack_bot
from tests.support import ServedApps

ESCALATION_CHANNEL = "C0ESCALATE"


@pytest.fixture
def retrains(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Retraining would write into the project's training/ and swap the shared core's model:
    replace it with a recorder. build_slack imports bot.wiring.retrain at click time."""
    calls: list[int] = []

    def fake_retrain(settings: Any, core: Any, store: Any) -> dict:
        calls.append(1)
        return {"examples": 1234, "cv_accuracy": 0.987}

    monkeypatch.setattr("bot.wiring.retrain", fake_retrain)
    return calls


@pytest_asyncio.fixture
async def start_bot(tmp_path: Path, core, retrains) -> AsyncIterator[Callable[..., Awaitable[BotClient]]]:
    """start_bot(**env) -> BotClient: a fresh Web API stand-in, database and app with these
    settings (see tests.slack.harness.start_slack_bot for the options)."""
    served = ServedApps()
    counter = [0]

    async def start(**options: Any) -> BotClient:
        counter[0] += 1
        options.setdefault("ESCALATION_CHANNEL", ESCALATION_CHANNEL)
        return await start_slack_bot(served, core, tmp_path / "data", f"sqlite:///{tmp_path / f'slack{counter[0]}.db'}",
                                     **options)

    yield start
    await served.close()


@pytest_asyncio.fixture
async def bot(start_bot) -> BotClient:
    return await start_bot()
