"""Minimal HTTP/1.1 over asyncio, for the two programs that play Slack in benchmarks/slack_http.py.

In production, Slack's servers (the ones that send events and the Web API that receives
replies) are not on the bot's machine. Here they share its two cores, so they are written to
take as little CPU as they can: keep-alive connections, Content-Length bodies only, no
framework. `Server` stamps a request's arrival when its first bytes are read; `Connection`
stamps a response when its last byte is read.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any, Awaitable, Callable
from urllib.parse import parse_qsl, urlsplit

MAX_HEAD = 64 * 1024
MAX_BODY = 16 * 1024 * 1024
REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 413: "Payload Too Large"}


def now() -> float:
    return time.clock_gettime(time.CLOCK_MONOTONIC)


class Request:
    __slots__ = ("method", "path", "query", "headers", "body", "arrived")

    def __init__(self, method: str, target: str, headers: dict[str, str], body: bytes, arrived: float) -> None:
        parts = urlsplit(target)
        self.method, self.path, self.query = method, parts.path, dict(parse_qsl(parts.query))
        self.headers, self.body, self.arrived = headers, body, arrived

    def data(self) -> dict[str, Any]:
        """The body as a dict: JSON or a form (the two ways the Slack SDK sends arguments)."""
        if self.headers.get("content-type", "").startswith("application/json"):
            return json.loads(self.body or b"{}")
        return dict(parse_qsl(self.body.decode("utf-8", "replace")))


# A handler answers (status, payload) at once, or returns an awaitable of it when it must wait.
Handler = Callable[[Request], "tuple[int, Any] | Awaitable[tuple[int, Any]]"]


def _parse_head(head: bytes) -> tuple[list[str], dict[str, str]]:
    """(the first line's three parts, headers with lower-case names)."""
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    first = lines[0].split(" ", 2)
    if len(first) < 2:
        raise ValueError(f"not an HTTP message: {lines[0][:80]!r}")
    return first, headers


class _ServerProtocol(asyncio.Protocol):
    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.buffer = b""
        self.arrived = 0.0
        self.transport: asyncio.Transport | None = None
        self.queue: asyncio.Queue[Any] = asyncio.Queue()  # a Request, a handler's awaitable, or None: closed
        self.waiting = 0  # requests read whose responses are not written yet
        self.worker = asyncio.ensure_future(self._serve())

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def connection_lost(self, exc: Exception | None) -> None:
        self.queue.put_nowait(None)

    def data_received(self, data: bytes) -> None:
        if not self.buffer:
            self.arrived = now()
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(self.buffer) > MAX_HEAD:
                    self._fail(400)
                return
            try:
                (method, target, *_), headers = _parse_head(self.buffer[:end])
                length = int(headers.get("content-length", "0"))
            except ValueError:
                self._fail(400)
                return
            if "chunked" in headers.get("transfer-encoding", "") or length > MAX_BODY:
                self._fail(413 if length > MAX_BODY else 400)
                return
            if len(self.buffer) < end + 4 + length:
                return
            body = self.buffer[end + 4: end + 4 + length]
            self.buffer = self.buffer[end + 4 + length:]
            self._dispatch(Request(method, target, headers, body, self.arrived))
            self.arrived = now()

    def _dispatch(self, request: Request) -> None:
        """Answer right here when nothing is ahead of it and the handler needs no waiting (no
        task switch: the stand-in takes less of the cores the app is measured on); otherwise
        in order, by the connection's worker."""
        if self.waiting:
            self.waiting += 1
            self.queue.put_nowait(request)
            return
        result = self.handler(request)
        if isinstance(result, tuple):
            self._respond(*result)
            return
        self.waiting += 1
        self.queue.put_nowait(result)  # type: ignore[arg-type]

    def _fail(self, status: int) -> None:
        if self.transport is not None:
            self.transport.write(_response(status, {"ok": False}, close=True))
            self.transport.close()

    def _respond(self, status: int, payload: Any) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(_response(status, payload))

    async def _serve(self) -> None:
        """Requests that had to wait, one at a time, answered in order (HTTP/1.1 pipelining rules)."""
        while (item := await self.queue.get()) is not None:
            result = self.handler(item) if isinstance(item, Request) else item
            self._respond(*(result if isinstance(result, tuple) else await result))
            self.waiting -= 1
        while not self.queue.empty():  # the connection closed: what still waits is never answered
            item = self.queue.get_nowait()
            if asyncio.iscoroutine(item):
                item.close()


def _response(status: int, payload: Any, close: bool = False) -> bytes:
    body = json.dumps(payload).encode()
    return (f"HTTP/1.1 {status} {REASONS.get(status, 'Status')}\r\nContent-Type: application/json; charset=utf-8\r\n"
            f"Content-Length: {len(body)}\r\nConnection: {'close' if close else 'keep-alive'}\r\n\r\n").encode() + body


async def serve(handler: Handler, host: str = "127.0.0.1", port: int = 0) -> tuple[asyncio.Server, int]:
    server = await asyncio.get_running_loop().create_server(lambda: _ServerProtocol(handler), host, port)
    return server, server.sockets[0].getsockname()[1]


class Connection(asyncio.Protocol):
    """One keep-alive client connection with one request in flight at a time."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = b""
        self.waiting: asyncio.Future | None = None

    @classmethod
    async def open(cls, host: str, port: int) -> "Connection":
        _transport, protocol = await asyncio.get_running_loop().create_connection(cls, host, port)
        return protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def connection_lost(self, exc: Exception | None) -> None:
        if self.waiting is not None and not self.waiting.done():
            self.waiting.set_exception(ConnectionError("connection closed before the response"))

    def send(self, raw: bytes) -> "asyncio.Future[tuple[int, bytes, float]]":
        """Write one whole request; the future gets (status, body, when its last byte arrived)."""
        assert self.transport is not None and (self.waiting is None or self.waiting.done())
        self.waiting = asyncio.get_running_loop().create_future()
        self.transport.write(raw)
        return self.waiting

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            return
        (_version, status, *_), headers = _parse_head(self.buffer[:end])
        length = int(headers.get("content-length", "0"))
        if len(self.buffer) < end + 4 + length:
            return
        body, self.buffer = self.buffer[end + 4: end + 4 + length], self.buffer[end + 4 + length:]
        if self.waiting is not None and not self.waiting.done():
            self.waiting.set_result((int(status), body, now()))

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


def request_bytes(method: str, host: str, port: int, path: str, body: bytes = b"",
                  headers: dict[str, str] | None = None) -> bytes:
    head = [f"{method} {path} HTTP/1.1", f"Host: {host}:{port}", f"Content-Length: {len(body)}"]
    head += [f"{k}: {v}" for k, v in (headers or {}).items()]
    return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body
