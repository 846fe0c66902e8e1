"""The Slack Web API stand-in for benchmarks/slack_http.py, run as a child process.

    python -m benchmarks.slack_server

Listens on 127.0.0.1 (port chosen by the OS) and prints {"stub_port": N} once it does, then
serves until SIGTERM or SIGINT:
  POST /api/{method}    answers like Slack; every chat.postMessage is recorded with the time
                        its first bytes reached the socket (the kernel's stamp, on
                        CLOCK_MONOTONIC: comparable across processes)
  GET  /__wait?n=N&timeout=S   returns {"count"} once N replies have arrived (or at the timeout)
  GET  /__records              returns {"replies": [...], "calls": {method: count}}
It is a separate process so that its work is not on the app's event loop, and it is written on
bare asyncio (benchmarks/rawhttp.py) so that it takes little of the machine the app is measured on.
That is why it is not the tests' stand-in (tests/standins/slack.py, on aiohttp, recording every
call's body and checking its blocks): here every microsecond spent is taken from the app.
"""

from __future__ import annotations

import asyncio
import json
import signal
import time
from typing import Any, Awaitable

from benchmarks.rawhttp import Request, serve

AUTH_TEST = {"ok": True, "url": "https://bench.slack.com/", "team": "Bench", "user": "syncmedic", "team_id": "TBENCH",
             "user_id": "UBOT", "bot_id": "BBOT", "is_enterprise_install": False}


class SlackStub:
    """Just enough of the Slack Web API for the app's reply path."""

    def __init__(self) -> None:
        self.replies: list[dict[str, Any]] = []
        self.calls: dict[str, int] = {}
        self._waiters: list[tuple[int, asyncio.Future[None]]] = []

    def handle(self, request: Request) -> tuple[int, Any] | Awaitable[tuple[int, Any]]:
        """Web API calls and records are answered at once; /__wait returns an awaitable."""
        if request.path.startswith("/api/"):
            return 200, self.api(request.path[len("/api/"):], request)
        if request.path == "/__wait":
            return self.wait(int(request.query.get("n", "0")), float(request.query.get("timeout", "10")))
        if request.path == "/__records":
            return 200, {"replies": self.replies, "calls": self.calls}
        return 404, {"ok": False, "error": "unknown_method"}

    def api(self, method: str, request: Request) -> dict[str, Any]:
        self.calls[method] = self.calls.get(method, 0) + 1
        if method == "auth.test":
            return AUTH_TEST
        if method != "chat.postMessage":
            return {"ok": True}
        body = request.data()
        ts = f"{time.time():.6f}"
        self.replies.append({"channel": body.get("channel"), "thread_ts": body.get("thread_ts"),
                             "arrived": request.arrived, "blocks": len(body.get("blocks") or []),
                             "text_chars": len(body.get("text") or "")})
        for n, waiter in list(self._waiters):
            if len(self.replies) >= n and not waiter.done():
                waiter.set_result(None)
        return {"ok": True, "channel": body.get("channel"), "ts": ts,
                "message": {"type": "message", "ts": ts, "text": body.get("text", "")}}

    async def wait(self, n: int, timeout: float) -> tuple[int, dict[str, int]]:
        """Once `n` replies have arrived (or after `timeout` seconds): how many have."""
        if len(self.replies) < n:
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append((n, waiter))
            try:
                await asyncio.wait_for(waiter, timeout)
            except TimeoutError:
                pass
            finally:
                self._waiters.remove((n, waiter))
        return 200, {"count": len(self.replies)}


async def main() -> None:
    server, port = await serve(SlackStub().handle)
    print(json.dumps({"stub_port": port}), flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    server.close()


if __name__ == "__main__":
    asyncio.run(main())
