"""Imports that keep the good rows (issue 15, items 5 and 6), on SQLite and PostgreSQL.

A lone surrogate used to give HTTP 500 with nothing imported, a NUL byte on PostgreSQL 503 on
every retry, and a year-0001 date was accepted (the digest then said "oldest 739951 days").
Every row is now cleaned or reported on its own. Large imports are written a chunk of keys
per transaction, so other writers (a Slack acknowledgement) get the SQLite lock in between.
"""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import event
from sqlalchemy.exc import DataError

from bot.core.synchistory import ingest
from bot.core.synchistory.ingest import import_rows
from bot.core.synchistory.parse import parse_json_rows

from tests.ingest.helpers import by_key
from tests.ingest.test_api import AUTH, server

CURRENCY = "The transaction needs to be in the same currency as the A/R and A/P accounts you use"
BILL = 'Bill "B-{n}" has not been exported to QuickBooks'


def row(reference: str, message: str = CURRENCY, date: object = "2026-03-01T09:00:00Z", **fields) -> dict:
    return {"date": date, "type": "Sale", "reference": reference, "status": "Error", "message": message, **fields}


async def test_bad_rows_are_reported_and_every_good_row_imported(store, engine):
    now = datetime.now(timezone.utc)
    rows = [
        row("GOOD-1"),
        row("SURROGATE-IN-MESSAGE", CURRENCY + " \ud800"),
        row("SURROGATE-\udc00-IN-REFERENCE"),
        row("NUL-IN-MESSAGE", CURRENCY + "\x00 (task 7)"),
        row("NUL-\x00-IN-REFERENCE"),
        row("CONTROL-IN-MESSAGE", "\x1b[31m" + CURRENCY + "\x07"),
        row("YEAR-1", date="0001-01-01T00:00:00Z"),
        row("YEAR-1999", date="31/12/1999 23:59"),
        row("EPOCH-0", date=0),
        row("NEXT-YEAR", date=(now + timedelta(days=400)).isoformat()),
        row("TOMORROW-MORNING", date=(now + timedelta(hours=20)).isoformat()),  # a clock a little ahead
        row("GOOD-2", BILL.format(n=7)),
    ]
    body = json.dumps({"rows": rows})  # json escapes the lone surrogates as \\ud800, as a client would send them
    async with server(store, engine) as client:
        response = await client.post("/api/sync-errors", data=body.encode(),
                                     headers={**AUTH, "Content-Type": "application/json"})
        assert response.status == 200, await response.text()
        report = await response.json()
    refused = {p["row"]: p["reason"] for p in report["problems"]}
    assert sorted(refused) == [3, 5, 7, 8, 9, 10]
    assert "before 2000" in refused[7] and "before 2000" in refused[8] and "before 2000" in refused[9]
    assert "future" in refused[10] and "reference" in refused[3] and "reference" in refused[5]
    stored = by_key(store)
    assert sorted(ref for _kind, ref in stored) == sorted(
        ["GOOD-1", "GOOD-2", "SURROGATE-IN-MESSAGE", "NUL-IN-MESSAGE", "CONTROL-IN-MESSAGE", "TOMORROW-MORNING"])
    assert stored[("Sale", "SURROGATE-IN-MESSAGE")]["message"] == CURRENCY + " \ufffd"
    assert stored[("Sale", "NUL-IN-MESSAGE")]["message"] == CURRENCY + " (task 7)"
    assert stored[("Sale", "CONTROL-IN-MESSAGE")]["message"] == "[31m" + CURRENCY
    assert {r["intent"] for r in stored.values()} == {"ar_ap_currency_mismatch", "bill_not_exported"}
    assert report["errors_tracked"] == 6 and report["problems_total"] == 6


async def test_the_same_body_again_changes_nothing_and_retries_are_not_needed(store, engine):
    rows = [row("A-1", CURRENCY + "\x00"), row("A-2", date="0001-01-01T00:00:00Z"), row("A-3")]
    async with server(store, engine) as client:
        first = await (await client.post("/api/sync-errors", json=rows, headers=AUTH)).json()
        again = await (await client.post("/api/sync-errors", json=rows, headers=AUTH)).json()
    assert (first["errors_tracked"], first["problems_total"]) == (2, 1)
    assert (again["errors_tracked"], again["unchanged"], again["problems_total"]) == (0, 2, 1)


def test_a_row_the_database_still_refuses_is_reported_alone(store, engine, monkeypatch):
    """The last line of defence: a value no check above caught. Its chunk is written again key by
    key, and only its row is reported."""
    real = ingest._write

    def refuse_one(conn, plan_, source):
        if any(ref == "POISON" for (_kind, ref), _state in plan_.inserts):
            raise DataError("INSERT", {}, Exception("invalid byte sequence"))
        real(conn, plan_, source)

    monkeypatch.setattr(ingest, "_write", refuse_one)
    parsed = parse_json_rows([row(f"R-{i}") for i in range(5)] + [row("POISON")] + [row(f"S-{i}") for i in range(5)])
    report = import_rows(store, engine, parsed, source="api")
    assert [n for n, _reason in report.problems] == [6]
    assert "refused" in report.problems[0][1]
    assert report.errors_tracked == 10 and len(by_key(store)) == 10


def test_large_imports_are_written_in_chunks_with_other_writers_in_between(sqlite_store, engine, monkeypatch):
    """Between two chunks the write lock is free: a Slack acknowledgement's INSERT (here, from
    another connection, while the import waits) goes through, and sees the chunks before."""
    monkeypatch.setattr(ingest, "CHUNK_KEYS", 10)
    commits: list[int] = []
    event.listen(sqlite_store.engine, "commit", lambda _conn: commits.append(1))
    seen: list[int] = []

    def acknowledge_a_message(seconds: float) -> None:
        assert seconds > 0.002  # longer than a queued SQLite writer sleeps between tries
        n = len(seen) + 1
        assert sqlite_store.record_event("slack", "T1", "C1", f"{n}.0", kind="message", payload={}) is not None
        with sqlite_store.engine.connect() as conn:
            seen.append(conn.exec_driver_sql("SELECT COUNT(*) FROM sync_errors").scalar_one())

    monkeypatch.setattr(ingest, "pause", acknowledge_a_message)
    parsed = parse_json_rows([row(f"K-{i:03d}") for i in range(45)])
    report = import_rows(sqlite_store, engine, parsed, source="api")
    assert report.errors_tracked == 45 and len(by_key(sqlite_store)) == 45
    assert seen == [10, 20, 30, 40]  # each acknowledgement got in after a chunk was committed
    assert len(commits) >= 5 * 2 + 4  # a snapshot and a write per chunk, and the four acknowledgements


@pytest.mark.parametrize("raw", [b"Bearer t\xf6ken", b"Bearer \xff\xfe\xfd", "Bearer t\u00f6ken".encode()])
async def test_a_token_that_is_not_ascii_is_refused_not_a_500(sqlite_store, engine, raw):
    async with server(sqlite_store, engine) as client:
        host, port = client.server.host, client.server.port
        reader, writer = await asyncio.open_connection(host, port)
        writer.write(b"POST /api/sync-errors HTTP/1.1\r\nHost: x\r\nAuthorization: " + raw +
                     b"\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n[]")
        await writer.drain()
        status_line = (await reader.readline()).decode()
        writer.close()
    assert status_line.split()[1] == "401", status_line
