"""Minimal HTTP/1.1 over asyncio, for the two programs that play Slack in benchmarks/slack_http.py.

In production, Slack's servers (the ones that send events and the Web API that receives
replies) are not on the bot's machine. Here they share its two cores, so they are written to
take as little CPU as they can: keep-alive connections, Content-Length bodies only, no
framework, sockets read straight from the event loop's selector.

Times are the kernel's: each read asks for the moment its data reached the socket
(SO_TIMESTAMPNS), so a measurement does not include how long the stand-in itself waited for a
core. `Server` stamps a request's arrival with its first read; `Connection` stamps a response
with the read that completes it. Both are CLOCK_MONOTONIC, comparable across processes.
"""

from __future__ import annotations

import asyncio
import json
import socket
import struct
import time
from typing import Any, Awaitable, Callable
from urllib.parse import parse_qsl, urlsplit

MAX_HEAD = 64 * 1024
MAX_BODY = 16 * 1024 * 1024
READ_SIZE = 256 * 1024
REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 413: "Payload Too Large", 429: "Too Many Requests"}
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)  # Linux; the module lacks the name on some builds
_TIMESPEC = struct.Struct("qq")
_ANCILLARY = socket.CMSG_SPACE(_TIMESPEC.size)


def now() -> float:
    return time.clock_gettime(time.CLOCK_MONOTONIC)


def _arrival(ancillary: list[tuple[int, int, bytes]]) -> float:
    """When the data just read reached the socket, on CLOCK_MONOTONIC. The kernel stamps it on
    CLOCK_REALTIME; the two clocks' distance is taken now, at most a fraction of a second
    after the stamp, when a clock adjustment can move it by microseconds at most. Without a
    stamp (not Linux), the time of the read."""
    for level, kind, data in ancillary:
        if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(data) >= _TIMESPEC.size:
            seconds, nanoseconds = _TIMESPEC.unpack_from(data)
            return seconds + nanoseconds * 1e-9 - (time.clock_gettime(time.CLOCK_REALTIME) - now())
    return now()


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


# A handler answers (status, payload) or (status, payload, headers) at once, or returns an
# awaitable of it when it must wait.
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


class _Socket:
    """A connected socket read and written straight from the loop's selector."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.loop = asyncio.get_running_loop()
        self.closed = False
        self._unsent = bytearray()
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        self.reading = False
        self.resume_reading()

    def pause_reading(self) -> None:
        """Leave what arrives in the kernel's buffer (stamped there) until resume_reading()."""
        if self.reading and not self.closed:
            self.loop.remove_reader(self.sock.fileno())
            self.reading = False

    def resume_reading(self) -> None:
        if not self.reading and not self.closed:
            self.loop.add_reader(self.sock.fileno(), self._readable)
            self.reading = True

    def _readable(self) -> None:
        try:
            data, ancillary, _flags, _address = self.sock.recvmsg(READ_SIZE, _ANCILLARY)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:
            self.close(exc)
            return
        if not data:
            self.close(None)
            return
        self.received(data, _arrival(ancillary))

    def received(self, data: bytes, arrived: float) -> None:
        raise NotImplementedError

    def closing(self, exc: Exception | None) -> None:
        """The connection is gone (`exc`: why, None if the peer closed it)."""

    def write(self, data: bytes) -> None:
        if self.closed:
            return
        if not self._unsent:
            try:
                sent = self.sock.send(data)
            except (BlockingIOError, InterruptedError):
                sent = 0
            except OSError as exc:
                self.close(exc)
                return
            if sent == len(data):
                return
            data = data[sent:]
            self.loop.add_writer(self.sock.fileno(), self._writable)
        self._unsent += data

    def _writable(self) -> None:
        try:
            sent = self.sock.send(self._unsent)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:
            self.close(exc)
            return
        del self._unsent[:sent]
        if not self._unsent:
            self.loop.remove_writer(self.sock.fileno())

    def close(self, exc: Exception | None = None) -> None:
        if self.closed:
            return
        self.closed = True
        if self.reading:
            self.loop.remove_reader(self.sock.fileno())
        if self._unsent:
            self.loop.remove_writer(self.sock.fileno())
        self.sock.close()
        self.closing(exc)


class _ServerConnection(_Socket):
    def __init__(self, sock: socket.socket, handler: Handler, forget: Callable[["_ServerConnection"], None]) -> None:
        super().__init__(sock)
        self.handler = handler
        self.forget = forget
        self.buffer = b""
        self.arrived = 0.0
        self.queue: asyncio.Queue[Any] = asyncio.Queue()  # a Request, a handler's awaitable, or None: closed
        self.waiting = 0  # requests read whose responses are not written yet
        self.worker = asyncio.ensure_future(self._serve())

    def closing(self, exc: Exception | None) -> None:
        self.queue.put_nowait(None)
        self.forget(self)

    def received(self, data: bytes, arrived: float) -> None:
        if not self.buffer:
            self.arrived = arrived
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
            self.arrived = arrived  # what is left in the buffer came with this read

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
            self.write(_response(*result))
            return
        self.waiting += 1
        self.queue.put_nowait(result)  # type: ignore[arg-type]

    def _fail(self, status: int) -> None:
        self.write(_response(status, {"ok": False}, None, close=True))
        self.close()

    async def _serve(self) -> None:
        """Requests that had to wait, one at a time, answered in order (HTTP/1.1 pipelining rules)."""
        while (item := await self.queue.get()) is not None:
            result = self.handler(item) if isinstance(item, Request) else item
            self.write(_response(*(result if isinstance(result, tuple) else await result)))
            self.waiting -= 1
        while not self.queue.empty():  # the connection closed: what still waits is never answered
            item = self.queue.get_nowait()
            if asyncio.iscoroutine(item):
                item.close()


def _response(status: int, payload: Any, headers: dict[str, str] | None = None, close: bool = False) -> bytes:
    body = json.dumps(payload).encode()
    extra = "".join(f"{name}: {value}\r\n" for name, value in (headers or {}).items())
    return (f"HTTP/1.1 {status} {REASONS.get(status, 'Status')}\r\nContent-Type: application/json; charset=utf-8\r\n"
            f"{extra}Content-Length: {len(body)}\r\nConnection: {'close' if close else 'keep-alive'}\r\n\r\n"
            ).encode() + body


class Server:
    """Accepts connections on a listening socket until close()."""

    def __init__(self, handler: Handler, host: str, port: int) -> None:
        self.handler = handler
        self.listener = socket.create_server((host, port), backlog=1024)
        self.listener.setblocking(False)
        self.port: int = self.listener.getsockname()[1]
        self.connections: set[_ServerConnection] = set()
        self.loop = asyncio.get_running_loop()
        self.loop.add_reader(self.listener.fileno(), self._accept)

    def _accept(self) -> None:
        try:
            sock, _address = self.listener.accept()
        except (BlockingIOError, InterruptedError, ConnectionAbortedError):
            return
        self.connections.add(_ServerConnection(sock, self.handler, self.connections.discard))

    def close(self) -> None:
        self.loop.remove_reader(self.listener.fileno())
        self.listener.close()
        for connection in list(self.connections):
            connection.close()


async def serve(handler: Handler, host: str = "127.0.0.1", port: int = 0) -> tuple[Server, int]:
    server = Server(handler, host, port)
    return server, server.port


class Connection(_Socket):
    """One keep-alive client connection with one request in flight at a time."""

    def __init__(self, sock: socket.socket) -> None:
        super().__init__(sock)
        self.buffer = b""
        self.waiting: asyncio.Future | None = None

    @classmethod
    async def open(cls, host: str, port: int) -> "Connection":
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setblocking(False)
        try:
            await asyncio.get_running_loop().sock_connect(sock, (host, port))
        except BaseException:
            sock.close()
            raise
        return cls(sock)

    def closing(self, exc: Exception | None) -> None:
        if self.waiting is not None and not self.waiting.done():
            self.waiting.set_exception(ConnectionError("connection closed before the response"))

    def send(self, raw: bytes) -> "asyncio.Future[tuple[int, bytes, float]]":
        """Write one whole request; the future gets (status, body, when its last byte arrived)."""
        assert not self.closed and (self.waiting is None or self.waiting.done())
        self.waiting = self.loop.create_future()
        self.write(raw)
        return self.waiting

    def received(self, data: bytes, arrived: float) -> None:
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
            self.waiting.set_result((int(status), body, arrived))


def request_bytes(method: str, host: str, port: int, path: str, body: bytes = b"",
                  headers: dict[str, str] | None = None) -> bytes:
    head = [f"{method} {path} HTTP/1.1", f"Host: {host}:{port}", f"Content-Length: {len(body)}"]
    head += [f"{k}: {v}" for k, v in (headers or {}).items()]
    return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body
