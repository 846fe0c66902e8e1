"""The SQLite writers' queue (bot/core/storage/sqlite.py): a lock file beside the database, taken before
BEGIN IMMEDIATE and released at COMMIT or ROLLBACK."""

from __future__ import annotations

import fcntl
import os
import threading
import time

from sqlalchemy import text

from pathlib import Path

import pytest

from bot.core.storage import sqlite
from bot.core.storage.sqlite import database_file, sqlite_engine, write_lock_path
from bot.core.storage.store import Store, make_engine


def test_a_writer_waits_for_the_lock_file_and_goes_on_when_it_is_released(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'q.db'}"
    store = Store.from_url(url)
    queued, real_pause = threading.Event(), sqlite.pause

    def pause(seconds: float) -> None:  # the writer found the lock taken and waits its turn
        queued.set()
        real_pause(seconds)

    monkeypatch.setattr(sqlite, "pause", pause)
    lock = os.open(write_lock_path(url), os.O_RDWR | os.O_CREAT)
    fcntl.flock(lock, fcntl.LOCK_EX)  # another process is writing
    finished = threading.Event()

    def write() -> None:
        store.record_events([dict(platform="slack", workspace="T", channel="C", message="1.1", event_id="E1",
                                  kind="message", payload={})])
        finished.set()

    writer = threading.Thread(target=write)
    writer.start()
    assert queued.wait(5), "the writer never waited for the lock"
    assert not finished.is_set(), "the write went ahead while another writer held the lock"
    fcntl.flock(lock, fcntl.LOCK_UN)
    assert finished.wait(5), "the write did not go ahead once the lock was released"
    writer.join()
    os.close(lock)
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM events")).scalar() == 1
    store.engine.dispose()


def test_concurrent_writers_all_commit_and_the_lock_is_released_after_errors(tmp_path):
    url = f"sqlite:///{tmp_path / 'many.db'}"
    store = Store.from_url(url)
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            for i in range(25):
                store.record_events([dict(platform="slack", workspace="T", channel=f"C{n}", message=f"{i}.1",
                                          event_id="", kind="message", payload={"n": i})])
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors, errors
    # A transaction that fails (here: a bad statement) rolls back and frees the lock for the next.
    try:
        with store.engine.begin() as conn:
            conn.execute(text("INSERT INTO no_such_table VALUES (1)"))
    except Exception:  # noqa: BLE001 - expected
        pass
    lock = os.open(write_lock_path(url), os.O_RDWR)
    fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)  # raises if the failed transaction kept it
    fcntl.flock(lock, fcntl.LOCK_UN)
    os.close(lock)
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM events")).scalar() == 100
    store.engine.dispose()


def test_in_memory_databases_have_no_lock_file():
    assert write_lock_path("sqlite://") is None
    assert write_lock_path("sqlite:///:memory:") is None
    engine = sqlite_engine("sqlite://")
    with engine.begin() as conn:
        assert conn.execute(text("SELECT 1")).scalar() == 1
    engine.dispose()


@pytest.mark.parametrize("url, path", [
    ("sqlite:////srv/data/syncmedic.db", Path("/srv/data/syncmedic.db")),
    ("sqlite:///var/syncmedic.db", Path("var/syncmedic.db")),        # relative, as SQLite reads it
    ("sqlite+pysqlite:///var/x.db?timeout=5", Path("var/x.db")),      # a driver name; the query is not the path
    ("sqlite:///my%20data/x.db", Path("my data/x.db")),              # escapes decoded
    ("sqlite://", None), ("sqlite:///:memory:", None), ("sqlite:///file:x?mode=memory&uri=true", None),
    ("postgresql://u:pw@db.example/syncmedic", None), ("postgres://u@h/sqlite.db", None),
])
def test_database_file_reads_the_url_with_sqlalchemy(url, path):
    assert database_file(url) == path


def test_a_sqlite_store_creates_the_folder_of_its_file(tmp_path):
    url = f"sqlite:///{tmp_path / 'new' / 'folder' / 'x.db'}"
    store = Store.from_url(url)
    assert (tmp_path / "new" / "folder" / "x.db").is_file()
    store.engine.dispose()


def test_postgres_urls_use_psycopg_3():
    for scheme in ("postgres", "postgresql"):
        # No connection is made until the engine is used.
        engine = make_engine(f"{scheme}://u:p%40ss@db.example:5433/syncmedic?sslmode=require")
        assert engine.url.drivername == "postgresql+psycopg"
        assert (engine.url.password, engine.url.port, engine.url.query) == ("p@ss", 5433, {"sslmode": "require"})
        engine.dispose()


def test_a_connection_dropped_mid_transaction_frees_the_lock(tmp_path):
    url = f"sqlite:///{tmp_path / 'dropped.db'}"
    store = Store.from_url(url)
    conn = store.engine.connect()
    conn.begin()
    conn.execute(text("UPDATE events SET attempts = attempts"))
    conn.close()  # returned to the pool while its transaction is open: the pool rolls it back
    lock = os.open(write_lock_path(url), os.O_RDWR)
    fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)  # raises if the dropped transaction kept it
    fcntl.flock(lock, fcntl.LOCK_UN)
    os.close(lock)
    store.engine.dispose()


def test_no_wait_refuses_at_once_when_another_writer_holds_the_lock(tmp_path):
    import pytest

    from bot.core.storage.sqlite import WriterBusy, no_wait

    url = f"sqlite:///{tmp_path / 'busy.db'}"
    store = Store.from_url(url)
    item = dict(platform="slack", workspace="T", channel="C", message="1.1", event_id="", kind="message", payload={})
    lock = os.open(write_lock_path(url), os.O_RDWR)
    fcntl.flock(lock, fcntl.LOCK_EX)
    started = time.monotonic()
    with pytest.raises(WriterBusy), no_wait():
        store.record_events([item])
    assert time.monotonic() - started < 0.5
    fcntl.flock(lock, fcntl.LOCK_UN)
    with no_wait():  # free now: it writes in place
        assert store.record_events([item]) != [None]
    os.close(lock)
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM events")).scalar() == 1
    store.engine.dispose()
