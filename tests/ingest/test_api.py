"""POST /api/sync-errors on a real aiohttp server, and the `ingest` command's entry point."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import threading
import time

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot.core.storage.store import Store, make_engine
from bot.__main__ import build_parser
from bot.ingest_api import cmd_ingest, sync_errors_handler

from tests.ingest.helpers import by_key, table

TOKEN = "s3cret-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
CURRENCY = "The transaction needs to be in the same currency as the A/R and A/P accounts you use"
ROWS = [
    {"Date": "2026-03-01T09:00:00Z", "Type": "Sale", "Reference": "SO-1", "Status": "Error", "Message": CURRENCY},
    {"date": "2026-03-01T09:05:00Z", "type": "Purchase", "reference": "B-9", "status": "Error",
     "message": 'Bill "B-9" has not been exported to QuickBooks'},
    {"date": "2026-03-01T10:00:00Z", "type": "Sale", "reference": "SO-1", "status": "Completed"},
]


def server(store, engine, token: str | None = TOKEN, **options) -> TestClient:
    app = web.Application()
    app.router.add_post("/api/sync-errors", sync_errors_handler(store, engine, token, **options))

    async def ping(_request):
        return web.Response(text="pong")

    app.router.add_get("/ping", ping)
    return TestClient(TestServer(app))


async def test_rows_are_imported_and_the_report_returned(sqlite_store, engine):
    async with server(sqlite_store, engine) as client:
        response = await client.post("/api/sync-errors", json={"rows": ROWS}, headers=AUTH)
        assert response.status == 200
        report = await response.json()
        assert {k: report[k] for k in ("rows_read", "errors_tracked", "resolved", "problems")} == {
            "rows_read": 3, "errors_tracked": 2, "resolved": 1, "problems": []}
        rows = by_key(sqlite_store)
        assert rows[("Purchase", "B-9")]["intent"] == "bill_not_exported"
        assert rows[("Sale", "SO-1")]["status"] == "resolved" and rows[("Sale", "SO-1")]["source"] == "api"
        before = table(sqlite_store)
        again = await (await client.post("/api/sync-errors", json=ROWS, headers=AUTH)).json()
        assert (again["errors_tracked"], again["unchanged"], again["skipped"]) == (0, 2, 1)
        assert table(sqlite_store) == before


@pytest.mark.parametrize("headers, invalid", [
    ({}, False),
    ({"Authorization": "Bearer wrong"}, True),
    ({"Authorization": f"Basic {TOKEN}"}, True),
    ({"Authorization": TOKEN}, True),
    ({"Authorization": f"Bearer {TOKEN}x"}, True),
    ({"Authorization": "Bearer t\u00f6ken"}, True),
])
async def test_a_missing_or_wrong_token_is_refused(sqlite_store, engine, headers, invalid):
    async with server(sqlite_store, engine) as client:
        response = await client.post("/api/sync-errors", json=ROWS, headers=headers)
        assert response.status == 401
        challenge = response.headers["WWW-Authenticate"]
        assert challenge.startswith("Bearer ") and ('error="invalid_token"' in challenge) is invalid
        assert "bearer token" in (await response.json())["error"]
    assert table(sqlite_store) == []


async def test_the_scheme_is_case_insensitive(sqlite_store, engine):
    async with server(sqlite_store, engine) as client:
        response = await client.post("/api/sync-errors", json=ROWS, headers={"Authorization": f"bearer {TOKEN}"})
        assert response.status == 200


async def test_without_a_configured_token_the_endpoint_is_off(sqlite_store, engine):
    async with server(sqlite_store, engine, token="") as client:
        response = await client.post("/api/sync-errors", json=ROWS, headers={"Authorization": "Bearer "})
        assert response.status == 503 and "INGEST_TOKEN" in (await response.json())["error"]


@pytest.mark.parametrize("body, content_type, message", [
    (b'{"rows": [', "application/json", "invalid JSON: Expecting value at line 1 column 11"),
    (b"", "application/json", "invalid JSON"),
    (b'{"data": []}', "application/json", 'expected a JSON list of row objects, or {"rows": [...]}'),
    (b'"\xff"', "application/json", "not UTF-8"),
    (b"[" * 100_000 + b"]" * 100_000, "application/json", "invalid JSON"),
    (b"a,b,c\n1,2,3\n", "text/csv", "missing type"),
])
async def test_bad_bodies_are_400_with_a_clear_message(sqlite_store, engine, body, content_type, message):
    async with server(sqlite_store, engine) as client:
        response = await client.post("/api/sync-errors", data=body, headers={**AUTH, "Content-Type": content_type})
        assert response.status == 400
        assert message in (await response.json())["error"]
    assert table(sqlite_store) == []


async def test_bad_rows_are_listed_by_index_and_the_rest_imported(sqlite_store, engine):
    rows = [ROWS[0], {"type": "Sale", "status": "Error", "message": "x"}, "junk", ROWS[1],
            {**ROWS[1], "reference": "B-10", "date": "31/31/2026"}]
    async with server(sqlite_store, engine) as client:
        response = await client.post("/api/sync-errors", json=rows, headers=AUTH)
        assert response.status == 200
        report = await response.json()
    assert report["problems"] == [{"row": 2, "reason": "no reference"}, {"row": 3, "reason": "not an object"},
                                  {"row": 5, "reason": "date '31/31/2026' is not a date I can read"}]
    assert report["errors_tracked"] == 2 and report["problems_total"] == 3
    assert set(by_key(sqlite_store)) == {("Sale", "SO-1"), ("Purchase", "B-9")}


async def test_a_csv_body(sqlite_store, engine):
    body = "Type,Reference,Status,Message,Date\nSale,SO-1,Error,\"Reference number is not unique, please " \
           "specify a unique value\",01/03/2026 09:00\n"
    async with server(sqlite_store, engine) as client:
        response = await client.post("/api/sync-errors", data=body.encode(),
                                     headers={**AUTH, "Content-Type": "text/csv; charset=utf-8"})
        assert response.status == 200 and (await response.json())["errors_tracked"] == 1
    assert by_key(sqlite_store)[("Sale", "SO-1")]["intent"] == "reference_number_not_unique"


async def test_bodies_over_the_limit_are_413(sqlite_store, engine):
    big = json.dumps(ROWS * 20).encode()
    assert len(big) > 2_000

    async def chunks():
        for at in range(0, len(big), 500):
            yield big[at: at + 500]

    async with server(sqlite_store, engine, max_bytes=2_000) as client:
        response = await client.post("/api/sync-errors", data=big, headers=AUTH)  # Content-Length says so
        assert response.status == 413 and "larger than 2,000 bytes" in (await response.json())["error"]
        response = await client.post("/api/sync-errors", data=chunks(), headers=AUTH)  # chunked: counted
        assert response.status == 413
        small = await client.post("/api/sync-errors", json=ROWS, headers=AUTH)
        assert small.status == 200
    assert len(table(sqlite_store)) == 2


async def test_only_post(sqlite_store, engine):
    async with server(sqlite_store, engine) as client:
        assert (await client.get("/api/sync-errors", headers=AUTH)).status == 405
    app = web.Application()
    app.router.add_route("*", "/x", sync_errors_handler(sqlite_store, engine, TOKEN))
    async with TestClient(TestServer(app)) as client:
        assert (await client.put("/x", json=ROWS, headers=AUTH)).status == 405


async def test_a_database_failure_is_503_and_imports_nothing(tmp_path, engine):
    broken = Store(make_engine(f"sqlite:///{tmp_path / 'missing' / 'dir' / 'x.db'}"))
    async with server(broken, engine) as client:
        response = await client.post("/api/sync-errors", json=ROWS, headers=AUTH)
        assert response.status == 503 and "nothing was imported" in (await response.json())["error"]


async def test_the_import_does_not_block_the_event_loop(sqlite_store, engine):
    importing, finish = threading.Event(), threading.Event()

    class Slow:  # holds the import in the middle until the test has pinged the server
        def diagnose_error_texts(self, texts):
            importing.set()
            assert finish.wait(10), "the test never let the import finish"
            return engine.diagnose_error_texts(texts)

    async with server(lambda: sqlite_store, lambda: Slow()) as client:
        post = asyncio.create_task(client.post("/api/sync-errors", json=ROWS, headers=AUTH))
        try:
            assert await asyncio.to_thread(importing.wait, 10), "the import never started"
            started = time.perf_counter()
            pong = await client.get("/ping")
            assert pong.status == 200 and time.perf_counter() - started < 0.5
            assert not post.done()
        finally:
            finish.set()
        assert (await post).status == 200


# -- python -m bot ingest FILE ---------------------------------------------------------------------

def cli(argv: list[str]) -> argparse.Namespace:
    return build_parser().parse_args(["ingest", *argv])  # the CLI's own parser


@pytest.fixture
def cli_settings(settings, tmp_path):
    return dataclasses.replace(settings, database_url=f"sqlite:///{tmp_path / 'db' / 'syncmedic.db'}")


def test_cli_imports_a_file_and_prints_a_summary(cli_settings, tmp_path, capsys):
    path = tmp_path / "history.csv"
    path.write_text("Date,Type,Reference,Status,Message\n"
                    f"01/03/2026 09:00,Sale,SO-1,Error,{CURRENCY}\n"
                    "01/03/2026 09:00,Sale,SO-2,Error,Bill has not, been exported\n"
                    "01/03/2026 10:00,Sale,SO-3,Completed,\n", encoding="utf-8")
    # A skipped row makes the exit status 3 (documented in the README); the good rows are in.
    assert cmd_ingest(cli_settings, cli([str(path)])) == 3
    out = capsys.readouterr().out
    assert f"imported {path}: 3 rows" in out
    assert "new sync errors tracked         1" in out
    assert "line 3: has 6 fields, the header has 5" in out
    assert cmd_ingest(cli_settings, cli([str(path), "--json"])) == 3
    report = json.loads(capsys.readouterr().out)
    assert (report["errors_tracked"], report["unchanged"], report["problems_total"]) == (0, 1, 1)
    store = Store.from_url(cli_settings.database_url)
    assert set(by_key(store)) == {("Sale", "SO-1")}
    store.engine.dispose()


def test_cli_refuses_a_file_it_cannot_use(cli_settings, tmp_path, capsys):
    assert cmd_ingest(cli_settings, cli([str(tmp_path / "nope.csv")])) == 1
    assert "no such file" in capsys.readouterr().err
    (tmp_path / "bad.csv").write_text("Date,Message\n2026-03-01,x\n", encoding="utf-8")
    assert cmd_ingest(cli_settings, cli([str(tmp_path / "bad.csv")])) == 1
    assert "missing type" in capsys.readouterr().err
    assert not (tmp_path / "db").exists()  # nothing was created


def test_cli_reads_standard_input(cli_settings, monkeypatch, capsys):
    import io
    import sys

    data = f"Type,Reference,Status,Message\nSale,SO-1,Error,{CURRENCY}\n".encode()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    assert cmd_ingest(cli_settings, cli(["-", "--json"])) == 0
    assert json.loads(capsys.readouterr().out)["errors_tracked"] == 1
