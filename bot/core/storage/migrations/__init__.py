"""Alembic migrations for the SyncMedic database, run programmatically at start-up.

`upgrade(engine)` brings any database (SQLite or PostgreSQL) to the newest schema. Several
processes starting together take turns: on PostgreSQL through an advisory lock, on SQLite
through a lock file beside the database (the `filelock` package: flock where there is one).
"""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from pathlib import Path

from filelock import FileLock
from sqlalchemy import text
from sqlalchemy.engine import Engine

from ..sqlite import database_file

HERE = Path(__file__).resolve().parent
_LOCK_KEY = 0x5CA7_3D1C  # arbitrary, constant: "SyncMedic migrations"


def _config(connection=None):
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(HERE))
    cfg.attributes["connection"] = connection
    return cfg


def _sqlite_file_lock(engine: Engine) -> AbstractContextManager[object]:
    """Processes migrating one SQLite file take turns; nothing to share for an in-memory
    database or PostgreSQL (which takes its advisory lock in upgrade)."""
    database = database_file(engine.url)
    return FileLock(f"{database}.migrate-lock") if database is not None else nullcontext()


def upgrade(engine: Engine, revision: str = "head") -> None:
    from alembic import command

    with _sqlite_file_lock(engine), engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _LOCK_KEY})
            conn.commit()
        try:
            command.upgrade(_config(conn), revision)
            conn.commit()
        finally:
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _LOCK_KEY})
                conn.commit()


def current(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head() -> str:
    """The newest revision in versions/: what upgrade() brings a database to."""
    from alembic.script import ScriptDirectory

    found = ScriptDirectory.from_config(_config()).get_current_head()
    assert found is not None
    return found
