"""The store on both backends (the PostgreSQL server itself comes from tests/conftest.py)."""

from __future__ import annotations

import pytest

from bot.core.storage.store import Store


@pytest.fixture
def store(database_url):
    s = Store.from_url(database_url)
    yield s
    s.engine.dispose()
