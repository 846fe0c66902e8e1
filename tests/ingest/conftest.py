"""Fixtures for the sync-history import: a store on SQLite and on the session's throwaway
PostgreSQL server (tests/conftest.py), and the real engine from the session's `core`.
Helpers are in tests/ingest/helpers.py."""

from __future__ import annotations

import pytest

from bot.core.storage.store import Store


@pytest.fixture
def store(database_url):
    s = Store.from_url(database_url)
    yield s
    s.engine.dispose()


@pytest.fixture
def sqlite_store(tmp_path):
    s = Store.from_url(f"sqlite:///{tmp_path / 'ingest.db'}")
    yield s
    s.engine.dispose()


@pytest.fixture(scope="session")
def engine(core):
    """The real diagnosis engine, built once per session."""
    return core.engine
