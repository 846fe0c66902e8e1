"""Fixtures for the Teams end-to-end tests: one real core per session (tests/conftest.py), and
per test a fresh connector stand-in, SQLite database and app served on 127.0.0.1."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, AsyncIterator, Awaitable, Callable

import pytest_asyncio
from aiohttp import ClientSession

from bot.app import create_app
from bot.core.store import Store
from bot.settings import Settings
from bot.teams.connector import Backoff
from tests.support import LoopbackServer

from .harness import ConnectorStub, TeamsClient, services_of


@pytest_asyncio.fixture
async def start_bot(tmp_path: Path, core) -> AsyncIterator[Callable[..., Awaitable[TeamsClient]]]:
    """start_bot(**env) -> TeamsClient: a fresh stand-in, database and app with these settings
    (an env value of None removes a default). `host` is where the app listens; `middlewares`
    are added to the app before it starts (to play a remote peer)."""
    cleanups: list[Callable[[], Awaitable[None]]] = []
    session = ClientSession()
    counter = [0]

    async def start(*, host: str = "127.0.0.1", middlewares: list[Any] | None = None,
                    **env: str | None) -> TeamsClient:
        counter[0] += 1
        stub = ConnectorStub()
        await stub.start()
        cleanups.append(stub.stop)
        values = {"SYNCMEDIC_DATA_DIR": str(tmp_path / "data"), "MODEL_STALE": "refuse", "LOG_LEVEL": "INFO",
                  "DATABASE_URL": f"sqlite:///{tmp_path}/teams{counter[0]}.db"}
        values.update(env)
        settings = Settings.from_env({k: v for k, v in values.items() if v is not None})
        app = create_app(settings, core, Store.from_url(settings.database_url), background=False)
        app.middlewares.extend(middlewares or [])
        services = services_of(app)
        # Quick backoff without Retry-After, so throttling tests take a moment, not seconds.
        services.teams.hosting.backoff = Backoff(attempts=4, base=0.05, cap=0.2)
        services.teams.hosting.reply_backoff = Backoff(attempts=3, base=0.05, cap=0.2, max_retry_after=5)
        cleanups.append(lambda: _dispose(services))
        served = LoopbackServer()
        await served.serve(app, host=host)
        cleanups.append(lambda: asyncio.wait_for(served.stop(), 30))
        return TeamsClient(served.base, services, stub, session)

    yield start
    for cleanup in reversed(cleanups):
        await cleanup()
    await session.close()


async def _dispose(services: Any) -> None:
    services.store.engine.dispose()


@pytest_asyncio.fixture
async def bot(start_bot) -> TeamsClient:
    return await start_bot()
