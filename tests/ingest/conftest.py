"""Fixtures for the sync-history import: the real engine from the session's `core` (the store on
SQLite and on the session's throwaway PostgreSQL server is tests/conftest.py's).
Helpers are in tests/ingest/helpers.py."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def engine(core):
    """The real diagnosis engine, built once per session."""
    return core.engine
