"""The Slack Web API stand-in for benchmarks/slack_http.py and slack_faults.py, run as a child
process.

    python -m benchmarks.slack_server [--hang CHANNEL] [--throttle CHANNEL]

Listens on 127.0.0.1 (port chosen by the OS) and prints {"stub_port": N} once it does, then
serves until SIGTERM or SIGINT:
  POST /api/{method}    answers like Slack; every chat.postMessage is recorded with the time
                        its first bytes reached the socket (the kernel's stamp, on
                        CLOCK_MONOTONIC: comparable across processes). conversations.replies
                        answers from what was posted (metadata included), so the app can look
                        before it posts again
  GET  /__wait?n=N&timeout=S[&exclude=C1,C2]   returns {"count"} once N replies have arrived
                        (replies in the excluded channels not counted), or at the timeout
  GET  /__records              returns {"replies": [...], "calls": {method: count}}
Faults (the fault run): in the --hang channel, chat.postMessage is acted on (the reply is
recorded and shows in conversations.replies) but never answered, as a Slack call that hangs;
in the --throttle channel, Slack's limit of about one message per second per channel: a second
post within a second is refused with HTTP 429 and Retry-After: 1 (and not acted on).
It is a separate process so that its work is not on the app's event loop, and it is written on
bare asyncio (benchmarks/rawhttp.py) so that it takes little of the machine the app is measured on.
That is why it is not the tests' stand-in (tests/standins/slack.py, on aiohttp, recording every
call's body and checking its blocks): here every microsecond spent is taken from the app.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import time
from collections import defaultdict
from typing import Any, Awaitable

from benchmarks.rawhttp import Request, now, serve

AUTH_TEST = {"ok": True, "url": "https://bench.slack.com/", "team": "Bench", "user": "syncmedic", "team_id": "TBENCH",
             "user_id": "UBOT", "bot_id": "BBOT", "is_enterprise_install": False}
THROTTLE_S = 1.0   # Slack: about one message per second per channel


class SlackStub:
    """Just enough of the Slack Web API for the app's reply path."""

    def __init__(self, hang: str = "", throttle: str = "") -> None:
        self.replies: list[dict[str, Any]] = []
        self.calls: dict[str, int] = {}
        self.hang, self.throttle = hang, throttle
        self._last_post: dict[str, float] = {}                       # channel -> last accepted post
        self._threads: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
        self._waiters: list[tuple[int, frozenset[str], asyncio.Future[None]]] = []
        self._never: asyncio.Future[Any] | None = None

    def handle(self, request: Request) -> tuple | Awaitable[tuple]:
        """Web API calls and records are answered at once; /__wait (and a hung call) returns an awaitable."""
        if request.path.startswith("/api/"):
            return self.api(request.path[len("/api/"):], request)
        if request.path == "/__wait":
            exclude = frozenset(c for c in request.query.get("exclude", "").split(",") if c)
            return self.wait(int(request.query.get("n", "0")), float(request.query.get("timeout", "10")), exclude)
        if request.path == "/__records":
            return 200, {"replies": self.replies, "calls": self.calls}
        return 404, {"ok": False, "error": "unknown_method"}

    def api(self, method: str, request: Request) -> tuple | Awaitable[tuple]:
        self.calls[method] = self.calls.get(method, 0) + 1
        if method == "auth.test":
            return 200, AUTH_TEST
        if method == "conversations.replies":
            thread = (request.query.get("channel", ""), request.query.get("ts", ""))
            return 200, {"ok": True, "messages": self._threads.get(thread, []), "has_more": False}
        if method != "chat.postMessage":
            return 200, {"ok": True}
        body = request.data()
        channel = str(body.get("channel") or "")
        if channel == self.throttle:
            if now() - self._last_post.get(channel, -THROTTLE_S) < THROTTLE_S:
                self.calls["429"] = self.calls.get("429", 0) + 1
                return 429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "1"}
            self._last_post[channel] = now()
        ts = f"{time.time():.6f}"
        self.replies.append({"channel": channel, "thread_ts": body.get("thread_ts"), "arrived": request.arrived,
                             "blocks": len(body.get("blocks") or []), "text_chars": len(body.get("text") or "")})
        self._threads[(channel, str(body.get("thread_ts") or ""))].append(
            {"type": "message", "ts": ts, "metadata": body.get("metadata")})
        for n, exclude, waiter in list(self._waiters):
            if self._count(exclude) >= n and not waiter.done():
                waiter.set_result(None)
        answer = {"ok": True, "channel": channel, "ts": ts, "message": {"type": "message", "ts": ts,
                                                                        "text": body.get("text", "")}}
        if channel == self.hang:
            return self._never_answered()
        return 200, answer

    async def _never_answered(self) -> tuple:
        if self._never is None:
            self._never = asyncio.get_running_loop().create_future()
        return await self._never   # resolved by nobody: the connection stays open until the app gives up

    def _count(self, exclude: frozenset[str]) -> int:
        return sum(1 for r in self.replies if r["channel"] not in exclude) if exclude else len(self.replies)

    async def wait(self, n: int, timeout: float, exclude: frozenset[str] = frozenset()) -> tuple[int, dict[str, int]]:
        """Once `n` replies outside `exclude` have arrived (or after `timeout` seconds): how many have."""
        if self._count(exclude) < n:
            waiter = asyncio.get_running_loop().create_future()
            entry = (n, exclude, waiter)
            self._waiters.append(entry)
            try:
                await asyncio.wait_for(waiter, timeout)
            except TimeoutError:
                pass
            finally:
                self._waiters.remove(entry)
        return 200, {"count": self._count(exclude)}


async def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.slack_server")
    parser.add_argument("--hang", default="", help="a channel whose chat.postMessage is never answered")
    parser.add_argument("--throttle", default="", help="a channel limited to one post a second (429 otherwise)")
    args = parser.parse_args(argv)
    server, port = await serve(SlackStub(args.hang, args.throttle).handle)
    print(json.dumps({"stub_port": port}), flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    server.close()


if __name__ == "__main__":
    asyncio.run(main())
