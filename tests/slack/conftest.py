"""Fixtures for the Slack end-to-end tests: one real core per session (tests/conftest.py),
and per test a fresh Slack stub, SQLite database and app served on 127.0.0.1."""

from __future__ import annotations

from pathlib import Path
from typing import Any, AsyncIterator, Awaitable, Callable

import pytest
import pytest_asyncio

from bot.app import create_app
from bot.core.storage.store import Store
from bot.settings import Settings
from tests.support import ServedApps

from tests.slack.harness import BOT_TOKEN, SIGNING_SECRET, BotClient, SlackStub, services_of

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
    """start_bot(**env) -> BotClient: a fresh stub, database and app with these settings
    (an env value of None removes a default); `server` are extra aiohttp AppRunner options."""
    served = ServedApps()
    counter = [0]

    async def start(*, server: dict[str, Any] | None = None, **env: str | None) -> BotClient:
        counter[0] += 1
        stub = SlackStub()
        await stub.start()
        served.on_close(stub.stop)
        db = tmp_path / f"slack{counter[0]}.db"
        values = {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET,
                  "SLACK_API_BASE_URL": stub.api_url, "SYNCMEDIC_DATA_DIR": str(tmp_path / "data"),
                  "DATABASE_URL": f"sqlite:///{db}", "ESCALATION_CHANNEL": ESCALATION_CHANNEL,
                  "MODEL_STALE": "refuse", "LOG_LEVEL": "INFO"}
        values.update(env)
        values = {k: v for k, v in values.items() if v is not None}
        settings = Settings.from_env(values)
        store = Store.from_url(settings.database_url)
        app = create_app(settings, core, store, background=False)
        base = await served.serve(app, store, **(server or {}))
        return BotClient(base, services_of(app), stub, served.session)

    yield start
    await served.close()


@pytest_asyncio.fixture
async def bot(start_bot) -> BotClient:
    return await start_bot()
