"""Insights on both databases: the report's queries differ by dialect (epoch seconds)."""

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
    s = Store.from_url(f"sqlite:///{tmp_path / 'insights.db'}")
    yield s
    s.engine.dispose()
