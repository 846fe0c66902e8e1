"""A database outage in the log (issue 15, item 9): said once, then once a minute with the
number of errors it caused, without tracebacks; every other error keeps its traceback
(bot/health.py). The clock is the test's: nothing waits."""

from __future__ import annotations

import logging

from sqlalchemy.exc import IntegrityError, OperationalError

from bot.health import DatabaseErrorFilter, OutageLog, database_unavailable


def unavailable() -> OperationalError:
    return OperationalError("SELECT 1", {}, Exception('connection to server at "db" failed: Connection refused\n'
                                                      "\tIs the server running on that host?"))


def record(exc: BaseException | None, message: str = "Slack listener failed: %s") -> logging.LogRecord:
    exc_info = (type(exc), exc, None) if exc is not None else None
    return logging.LogRecord("bot.slack.handlers", logging.ERROR, __file__, 1, message, (type(exc).__name__,),
                             exc_info)


def test_a_database_outage_is_logged_once_then_once_a_minute():
    now = [0.0]
    outage = OutageLog(clock=lambda: now[0])
    keep = DatabaseErrorFilter(outage)
    kept = []
    for second in range(0, 125):  # an error every second for two minutes
        now[0] = float(second)
        item = record(unavailable())
        if keep.filter(item):
            kept.append((second, item))
    assert [second for second, _ in kept] == [0, 60, 120]
    first, later = kept[0][1], kept[1][1]
    assert first.exc_info is None and "Traceback" not in first.getMessage()
    assert first.getMessage().startswith("Slack listener failed: OperationalError: the database is unavailable "
                                         "(connection to server at \"db\" failed: Connection refused)")
    assert "59 more database errors" in later.getMessage()
    assert outage.ended() == 124.0  # the health check says when it is over (and resets)
    now[0] = 200.0
    assert keep.filter(record(unavailable())) and outage.ended() == 0.0


def test_other_errors_keep_their_tracebacks():
    keep = DatabaseErrorFilter(OutageLog(clock=lambda: 0.0))
    for exc in (ValueError("a bug"), IntegrityError("INSERT", {}, Exception("duplicate key")), None):
        item = record(exc)
        assert keep.filter(item) and item.exc_info == (None if exc is None else (type(exc), exc, None))
    assert database_unavailable(RuntimeError("wrapped")) is False
    wrapped = RuntimeError("wrapped")
    wrapped.__cause__ = unavailable()
    assert database_unavailable(wrapped)
