"""Fixtures for the Teams end-to-end tests: one real core per session (tests/conftest.py), and
per test a fresh connector stand-in, SQLite database and app served on 127.0.0.1."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any, AsyncIterator, Awaitable, Callable

import pytest_asyncio

from bot.app import create_app
from bot.core.storage.store import Store
from bot.settings import Settings
from tests.support import RecordedSleep, ServedApps

from tests.teams.harness import ConnectorStub, TeamsClient, services_of


@pytest_asyncio.fixture
async def start_bot(tmp_path: Path, core) -> AsyncIterator[Callable[..., Awaitable[TeamsClient]]]:
    """start_bot(**env) -> TeamsClient: a fresh stand-in, database and app with these settings
    (an env value of None removes a default). `host` is where the app listens; `middlewares`
    are added to the app before it starts (to play a remote peer); `clock` is injected into
    the store and the app."""
    served = ServedApps()
    counter = [0]

    async def start(*, host: str = "127.0.0.1", middlewares: list[Any] | None = None, clock: Any = None,
                    **env: str | None) -> TeamsClient:
        counter[0] += 1
        stub = ConnectorStub()
        await stub.start()
        served.on_close(stub.stop)
        values = {"SYNCMEDIC_DATA_DIR": str(tmp_path / "data"), "MODEL_STALE": "refuse", "LOG_LEVEL": "INFO",
                  "DATABASE_URL": f"sqlite:///{tmp_path}/teams{counter[0]}.db"}
        values.update(env)
        settings = Settings.from_env({k: v for k, v in values.items() if v is not None})
        timed: dict[str, Any] = {} if clock is None else {"clock": clock}
        store = Store.from_url(settings.database_url, **timed)
        app = create_app(settings, core, store, background=False, **timed)
        app.middlewares.extend(middlewares or [])
        services = services_of(app)
        # Throttling is retried at once; the waits it asked for are recorded in each sleep's delays.
        hosting = services.teams.hosting
        hosting.backoff = replace(hosting.backoff, sleep=RecordedSleep())
        hosting.reply_backoff = replace(hosting.reply_backoff, sleep=RecordedSleep())
        base = await served.serve(app, store, host=host)
        return TeamsClient(base, services, stub, served.session)

    yield start
    await served.close()


@pytest_asyncio.fixture
async def bot(start_bot) -> TeamsClient:
    return await start_bot()
