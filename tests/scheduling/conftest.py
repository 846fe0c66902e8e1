"""Fixtures for the scheduling tests (follow-up check-ins, the daily digest, the scheduler).

Stores run on SQLite and on the session's throwaway PostgreSQL server (tests/conftest.py),
writing times from the test's injected clock.
"""

from __future__ import annotations

import pytest

from bot.core.storage.sqlite import database_file
from bot.core.storage.store import Store
from tests.support import Clock, migrated_sqlite

from tests.scheduling.helpers import MONDAY_9_NY
from tests.scheduling.processes import Proc


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'sched.db'}"


@pytest.fixture
def clock() -> Clock:
    return Clock(MONDAY_9_NY)


@pytest.fixture
def store(migrated_url, clock):
    """A migrated store on SQLite and on PostgreSQL, writing times from the test's clock."""
    s = Store.from_url(migrated_url, clock=clock)
    yield s
    s.engine.dispose()


@pytest.fixture
def sqlite_store(sqlite_url, sqlite_template, clock):
    """The store on the file `sqlite_url` names."""
    s = Store.from_url(migrated_sqlite(database_file(sqlite_url), sqlite_template), clock=clock)
    yield s
    s.engine.dispose()


@pytest.fixture
def procs():
    started: list[Proc] = []

    def start(args: list[str], env: dict[str, str], log) -> Proc:
        proc = Proc(args, env, log)
        started.append(proc)
        return proc

    yield start
    for proc in started:
        proc.stop()
