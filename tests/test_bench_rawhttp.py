"""The benchmark's bare HTTP (benchmarks/rawhttp.py): the Slack figures rest on its timestamps."""

from __future__ import annotations

import asyncio
import json
from typing import AsyncIterator

import pytest_asyncio

from benchmarks.rawhttp import Connection, now, request_bytes, serve


def _echo(request):
    return 200, {"path": request.path, "arrived": request.arrived, "body": request.body.decode()}


@pytest_asyncio.fixture
async def echo() -> AsyncIterator[tuple[Connection, int]]:
    """A keep-alive connection to an echoing server: (connection, the server's port)."""
    server, port = await serve(_echo)
    connection = await Connection.open("127.0.0.1", port)
    yield connection, port
    connection.close()
    server.close()


async def test_a_request_and_its_response_round_trip_on_one_keep_alive_connection(echo) -> None:
    connection, port = echo
    for n in range(3):
        status, body, _ = await connection.send(request_bytes("POST", "127.0.0.1", port, f"/api/x{n}", b"hi"))
        assert status == 200
        assert json.loads(body)["path"] == f"/api/x{n}" and json.loads(body)["body"] == "hi"


async def test_arrival_times_are_when_data_reached_the_socket_not_when_it_was_read(echo) -> None:
    connection, port = echo
    connection.pause_reading()
    sent = now()
    waiting = connection.send(request_bytes("GET", "127.0.0.1", port, "/"))
    await asyncio.sleep(0.2)  # the response sits in the kernel's buffer meanwhile
    assert not waiting.done()
    resumed = now()
    connection.resume_reading()
    status, body, acked = await waiting
    arrived = json.loads(body)["arrived"]
    assert status == 200
    assert sent <= arrived <= acked  # the server's stamp: its own socket, same clock
    assert acked < resumed - 0.1     # stamped on arrival, not when read 0.2 s later


async def test_a_request_read_in_two_parts_is_stamped_by_the_read_of_its_first_bytes(echo) -> None:
    connection, port = echo
    raw = request_bytes("POST", "127.0.0.1", port, "/split", b"x" * 100)
    first = now()
    connection.write(raw[:20])
    await asyncio.sleep(0.1)
    waiting = connection.loop.create_future()
    connection.waiting = waiting
    connection.write(raw[20:])
    status, body, _ = await waiting
    assert status == 200
    assert first <= json.loads(body)["arrived"] < first + 0.09
