"""Whether this process can still keep what it is told, said once, not once per request.

- DatabaseHealth: /healthz fails when the database cannot be reached, or when the SQLite file
  this process opened has been deleted or replaced: its connections would go on writing into
  the old (unlinked) file, and every case written from then on would be gone at the next
  restart. Requests that would write (Slack events, Teams activities, imports) are then refused
  with 503, so Slack and Teams deliver them again later (bot.app), instead of being answered
  into a file nobody will see again.
- OutageLog: a database outage used to fill the log with a traceback per request and per
  scheduler round (80 in 20 s during a PostgreSQL outage). The outage is logged once, then
  once a minute with the number of errors it caused meanwhile, and its end once; the
  filter installed on the log handlers (install_log_filter) turns every "database unavailable"
  error into that, from whichever logger it comes.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from pathlib import Path
from typing import Any, Callable

from .core.storage.sqlite import database_file
from .delivery.timers import Sleep

log = logging.getLogger(__name__)

REPEAT_EVERY_S = 60.0   # an outage that lasts is logged again this often, not once per error
CHECK_EVERY_S = 5.0     # how often a serving process looks, with or without requests
CHECK_TIMEOUT_S = 3.0   # /healthz answers 503 rather than wait longer for the database


def database_unavailable(exc: BaseException | None) -> bool:
    """An error that says the database cannot be used right now (connection refused or lost,
    server shutting down, a file that cannot be opened), as opposed to a bug."""
    from sqlalchemy import exc as sa

    seen = 0
    while exc is not None and seen < 10:
        if isinstance(exc, (sa.OperationalError, sa.InterfaceError, sa.DisconnectionError, sa.TimeoutError)):
            return True
        exc, seen = exc.__cause__ or exc.__context__, seen + 1
    return False


def reason_of(exc: BaseException) -> str:
    from .wiring import failure_reason

    return failure_reason(exc)


class OutageLog:
    """When to say that the database is unavailable: at once, then every REPEAT_EVERY_S."""

    def __init__(self, every: float = REPEAT_EVERY_S, clock: Callable[[], float] = time.monotonic) -> None:
        self.every = every
        self.clock = clock
        self.since: float | None = None       # the outage's start (None: no outage known)
        self._last: float | None = None       # when it was last said
        self.suppressed = 0                   # errors not logged since then
        self._lock = threading.Lock()

    def should_say(self) -> tuple[bool, int]:
        """(say it now?, errors held back since it was last said) for one more error."""
        with self._lock:
            now = self.clock()
            if self.since is None:
                self.since = now
            if self._last is None or now - self._last >= self.every:
                held, self.suppressed, self._last = self.suppressed, 0, now
                return True, held
            self.suppressed += 1
            return False, 0

    def ended(self) -> float | None:
        """The outage is over: how long it lasted (None if there was none)."""
        with self._lock:
            if self.since is None:
                return None
            lasted = self.clock() - self.since
            self.since = self._last = None
            self.suppressed = 0
            return lasted


OUTAGE = OutageLog()  # one per process: every logger's database errors count toward it


class DatabaseErrorFilter(logging.Filter):
    """On a log handler: a record carrying a "database unavailable" error is logged as one line
    without its traceback, at most once per REPEAT_EVERY_S (the rest are counted)."""

    def __init__(self, outage: OutageLog = OUTAGE) -> None:
        super().__init__()
        self.outage = outage

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if not database_unavailable(exc):
            return True
        say, held = self.outage.should_say()
        if not say:
            return False
        assert exc is not None
        more = f"; {held} more database errors since the last report" if held else ""
        record.msg = f"{record.getMessage()}: the database is unavailable ({reason_of(exc)}){more}; " \
                     f"such errors are reported once a minute while it lasts"
        record.args = None
        record.exc_info = record.exc_text = None
        return True


def install_log_filter(logger: logging.Logger | None = None) -> None:
    """Put DatabaseErrorFilter on every handler of `logger` (the root logger: every record)."""
    for handler in (logger or logging.getLogger()).handlers:
        if not any(isinstance(f, DatabaseErrorFilter) for f in handler.filters):
            handler.addFilter(DatabaseErrorFilter())


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino


class DatabaseHealth:
    def __init__(self, store: Any, outage: OutageLog | None = None, sleep: Sleep = asyncio.sleep) -> None:
        self.store = store
        self.outage = outage or OutageLog()  # its own: what it says does not hide the errors' first line
        self.sleep = sleep
        self.path = database_file(store.engine.url)  # None: not a SQLite file
        self.identity = _identity(self.path) if self.path is not None else None
        self.problem: str | None = None

    def file_problem(self) -> str | None:
        """Whether the SQLite file is still the one this process opened (a stat: cheap enough
        for every request)."""
        if self.path is None:
            return None
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return f"the database file {self.path} was deleted while the bot was running"
        except OSError as exc:
            return f"the database file {self.path} cannot be read ({exc.strerror})"
        if (st.st_dev, st.st_ino) != self.identity:
            return f"the database file {self.path} was replaced while the bot was running"
        return None

    def check(self) -> str | None:
        """The database's problem, or None when it is usable; logged as an outage (blocking:
        call it in a thread)."""
        problem = self.file_problem()
        if problem is None:
            try:
                self.store.ping()
            except Exception as exc:  # noqa: BLE001 - whatever it is, the database is not usable
                problem = f"the database cannot be reached ({reason_of(exc)})"
        self.note(problem)
        return problem

    def note(self, problem: str | None) -> None:
        """Log a problem once, then once a minute; its end once."""
        self.problem = problem
        if problem is None:
            lasted = self.outage.ended()
            if lasted is not None:
                log.warning("the database is usable again (after %.0f s)", lasted)
            return
        say, held = self.outage.should_say()
        if say:
            more = f"; {held} database errors since the last report" if held else ""
            hint = "; restart the bot (what it records now would be lost)" if self.path is not None and \
                "database file" in problem else ""
            log.error("%s%s%s; /healthz answers 503 until it is fixed", problem, hint, more)

    async def watch(self, every: float = CHECK_EVERY_S) -> None:
        """Look every `every` seconds, requests or not, until cancelled."""
        while True:
            await self.sleep(every)
            try:
                await asyncio.wait_for(asyncio.to_thread(self.check), CHECK_TIMEOUT_S * 4)
            except Exception:  # noqa: BLE001 - check() logs what it finds; this must not stop
                log.debug("database check failed", exc_info=True)
