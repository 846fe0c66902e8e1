"""SQLite engines: WAL, explicit write transactions, and a writers' queue that does not poll.

Every transaction starts with BEGIN IMMEDIATE (takes SQLite's write lock up front: two
processes that both read then write would otherwise deadlock on the upgrade and one would fail
with "locked"). When several web processes share one database file, SQLite's own answer to a
held lock is its busy handler, which sleeps 1, 2, 5, 10, 15, 20, 25... ms between tries: under
a burst of Slack events a waiting writer sleeps 20-60 ms past the moment the lock came free.
So writers first queue on an advisory lock on a file beside the database (flock), with short
waits, and only then ask SQLite for its lock, which is then free. The busy timeout stays as the
backstop for programs that do not know about the lock file.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
import time
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any, Iterator

from sqlalchemy import create_engine, event
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.exc import OperationalError

BUSY_TIMEOUT_S = 30.0
_no_wait = threading.local()


class WriterBusy(RuntimeError):
    """Another writer holds the lock, and the caller asked not to wait (see no_wait)."""


@contextmanager
def no_wait() -> Iterator[None]:
    """Transactions begun in this block fail at once with WriterBusy instead of queueing, so
    an event loop can write in place when the lock is free and hand the write to a thread
    when it is not."""
    _no_wait.on = True
    try:
        yield
    finally:
        _no_wait.on = False
_FIRST_WAIT_S, _LONGEST_WAIT_S = 0.0002, 0.002
pause = time.sleep  # a writer's wait for its turn (tests replace it to see a writer queue)
_LOCK_FD = "syncmedic_write_lock_fd"
_LOCKED = "syncmedic_write_locked"


def database_file(url: str | URL) -> Path | None:
    """The file a SQLite URL names (relative paths stay relative to the working directory, as
    SQLite reads them); None for an in-memory database, a `file:` URI or another database.
    SQLAlchemy parses the URL: query strings, driver names (`sqlite+pysqlite://`) and escapes
    are its business, not a string prefix's."""
    parsed = make_url(url)
    database = parsed.database
    if parsed.get_backend_name() != "sqlite" or not database or database == ":memory:" \
            or database.startswith("file:"):
        return None
    return Path(database)


def write_lock_path(url: str) -> str | None:
    """The lock file for a database file; None for an in-memory database (one process only)."""
    database = database_file(url)
    return None if database is None else f"{database}.write-lock"


def sqlite_engine(url: str) -> Engine:
    engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_S, "check_same_thread": False})
    lock_path = write_lock_path(url)

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn: Any, _record: Any) -> None:  # WAL: readers never block the writer
        dbapi_conn.isolation_level = None  # we issue BEGIN and COMMIT ourselves (below)
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_S * 1000)}")
        cur.close()

    @event.listens_for(engine, "close")
    def _close(_dbapi_conn: Any, record: Any) -> None:
        record.info.pop(_LOCKED, None)  # closing the file lets the lock go
        fd = record.info.pop(_LOCK_FD, None)
        if fd is not None:
            os.close(fd)

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        fd = _lock_fd(conn, lock_path)
        if fd is not None:
            _acquire(fd)
            conn.connection.info[_LOCKED] = True
        try:
            # Straight to the driver: this runs on every write, and a statement through
            # SQLAlchemy's execution machinery cost more than SQLite's own work here.
            conn.connection.dbapi_connection.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            _release(conn.connection.info)
            raise OperationalError("BEGIN IMMEDIATE", {}, exc) from exc
        except BaseException:
            _release(conn.connection.info)
            raise

    # COMMIT here so the queue moves on as soon as the data is written; the DBAPI commit
    # SQLAlchemy sends next finds no transaction open, which in autocommit mode is a no-op.
    event.listen(engine, "commit", partial(_end, statement="COMMIT"))
    event.listen(engine, "rollback", partial(_end, statement="ROLLBACK"))

    @event.listens_for(engine, "reset")
    def _reset(_dbapi_conn: Any, record: Any, _state: Any = None) -> None:
        # A connection returned to the pool mid-transaction (its owner was dropped) is rolled
        # back by the pool without the "rollback" event: let the next writer in.
        _release(record.info)

    return engine


def _end(conn: Connection, statement: str) -> None:
    """End the transaction with `statement` and let the next writer in."""
    if conn.invalidated:  # the connection is gone; closing it closes (and frees) the lock file
        return
    try:
        dbapi_conn = conn.connection.dbapi_connection
        if dbapi_conn is not None and dbapi_conn.in_transaction:
            dbapi_conn.execute(statement)
    finally:
        _release(conn.connection.info)


def _lock_fd(conn: Connection, lock_path: str | None) -> int | None:
    """This connection's own descriptor for the lock file (flock locks belong to an open file,
    so two connections in one process queue like two processes). None: no lock file here (an
    in-memory database, or a folder that cannot be written; SQLite reports the real problem)."""
    if lock_path is None:
        return None
    info = conn.connection.info
    fd = info.get(_LOCK_FD)
    if fd is None:
        try:
            fd = info[_LOCK_FD] = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except OSError:
            return None
    return fd


def _acquire(fd: int) -> None:
    """Short sleeps (0.2 ms, doubling to 2 ms) rather than a blocking flock, so a thread waiting
    here can never hang for good: after the busy timeout it fails the way SQLite would."""
    if getattr(_no_wait, "on", False):
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise WriterBusy("another writer holds the database") from None
        return
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    wait = _FIRST_WAIT_S
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                raise OperationalError("BEGIN IMMEDIATE", {}, Exception("database is locked")) from None
            pause(wait)
            wait = min(wait * 2, _LONGEST_WAIT_S)


def _release(info: dict) -> None:
    """Let the next writer in, if this connection holds the lock file."""
    if info.pop(_LOCKED, False):
        fcntl.flock(info[_LOCK_FD], fcntl.LOCK_UN)
