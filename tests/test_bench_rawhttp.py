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


async def test_the_bench_stand_ins_faults_a_hung_and_a_throttled_channel() -> None:
    """benchmarks/slack_server.py in the fault run: a hung channel's post is recorded (and shown
    by conversations.replies) but never answered; a throttled channel takes one post a second
    and refuses the next with 429 and Retry-After; /__wait can leave channels out."""
    from benchmarks.slack_server import SlackStub

    server, port = await serve(SlackStub(hang="CHUNG", throttle="CBUSY").handle)
    connections = [await Connection.open("127.0.0.1", port) for _ in range(4)]

    def post(channel: str, ts: str) -> bytes:
        body = json.dumps({"channel": channel, "thread_ts": ts, "text": "x",
                           "metadata": {"event_type": "sync_diagnosis", "event_payload": {"delivery": ts}}})
        return request_bytes("POST", "127.0.0.1", port, "/api/chat.postMessage", body.encode(),
                             {"Content-Type": "application/json"})

    try:
        hung = connections[0].send(post("CHUNG", "1.1"))
        status, body, _ = await connections[1].send(
            request_bytes("GET", "127.0.0.1", port, "/api/conversations.replies?channel=CHUNG&ts=1.1"))
        [message] = json.loads(body)["messages"]
        assert status == 200 and message["metadata"]["event_payload"]["delivery"] == "1.1"
        assert not hung.done()
        assert (await connections[2].send(post("CBUSY", "2.1")))[0] == 200
        status, body, _ = await connections[2].send(post("CBUSY", "2.2"))
        assert (status, json.loads(body)["error"]) == (429, "ratelimited")
        assert (await connections[3].send(post("COK", "3.1")))[0] == 200
        status, body, _ = await connections[3].send(
            request_bytes("GET", "127.0.0.1", port, "/__wait?n=1&timeout=5&exclude=CHUNG,CBUSY"))
        assert json.loads(body)["count"] == 1
    finally:
        for connection in connections:
            connection.close()
        server.close()
    assert isinstance((await asyncio.gather(hung, return_exceptions=True))[0], ConnectionError)  # never answered
