"""The server side of benchmarks/slack_http.py: the real app, and a Slack stand-in, as child processes.

    python -m benchmarks.slack_server '<json config>'

config["role"]:
  "stub"  a stand-in for the Slack Web API (`/api/{method}`) on 127.0.0.1, port chosen by the OS.
          It answers like Slack and records every chat.postMessage with its arrival time
          (CLOCK_MONOTONIC, comparable across processes on one machine); `/__wait?n=N&timeout=S`
          returns once N replies have arrived, `/__records` returns them all.
  "app"   the real app, create_app(settings, core, store, background=False), served by aiohttp
          as `python -m bot run` serves it (no access log), with the SQLite database at
          config["db_url"] and the Web API at the stand-in on config["stub_port"].
  "both"  the two in one process and one event loop (as the smoke test does).

Prints one JSON line with its port(s) on stdout once listening, then serves until SIGTERM or
SIGINT. For investigation: config["profile"] (cProfile, written there on exit; in Python 3.12
it sees every thread) and config["trace"] (a path: per-event stage timings of the reply path,
SQLite write-lock waits and event-loop lag, written as JSON on exit).
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import signal
import sys
import threading
import time
from typing import Any

from aiohttp import web


def now() -> float:
    return time.clock_gettime(time.CLOCK_MONOTONIC)


class SlackStub:
    """Just enough of the Slack Web API for the app's reply path."""

    def __init__(self) -> None:
        self.replies: list[dict[str, Any]] = []
        self.calls: dict[str, int] = {}
        self._arrived = asyncio.Condition()

    def app(self) -> web.Application:
        app = web.Application(client_max_size=10_000_000)
        app.router.add_post("/api/{method}", self.api)
        app.router.add_get("/__wait", self.wait)
        app.router.add_get("/__records", self.records)
        return app

    async def api(self, request: web.Request) -> web.Response:
        arrived = now()  # before reading the body: the moment Slack would have the request
        method = request.match_info["method"]
        self.calls[method] = self.calls.get(method, 0) + 1
        if request.content_type == "application/json":
            body = await request.json()
        else:
            body = dict(await request.post())
        if method == "auth.test":
            return web.json_response({"ok": True, "url": "https://bench.slack.com/", "team": "Bench",
                                      "user": "syncmedic", "team_id": "TBENCH", "user_id": "UBOT",
                                      "bot_id": "BBOT", "is_enterprise_install": False})
        if method == "chat.postMessage":
            ts = f"{time.time():.6f}"
            async with self._arrived:
                self.replies.append({"channel": body.get("channel"), "thread_ts": body.get("thread_ts"),
                                     "arrived": arrived, "blocks": len(body.get("blocks") or []),
                                     "text_chars": len(body.get("text") or "")})
                self._arrived.notify_all()
            return web.json_response({"ok": True, "channel": body.get("channel"), "ts": ts,
                                      "message": {"type": "message", "ts": ts, "text": body.get("text", "")}})
        return web.json_response({"ok": True})

    async def wait(self, request: web.Request) -> web.Response:
        n = int(request.query.get("n", "0"))
        timeout = float(request.query.get("timeout", "10"))
        async with self._arrived:
            try:
                await asyncio.wait_for(self._arrived.wait_for(lambda: len(self.replies) >= n), timeout)
            except TimeoutError:
                pass
        return web.json_response({"count": len(self.replies)})

    async def records(self, request: web.Request) -> web.Response:
        return web.json_response({"replies": self.replies, "calls": self.calls})


class Trace:
    """Per-event timings of the reply path, by wrapping the app's own objects (investigation only)."""

    def __init__(self) -> None:
        # (stage, channel, ts, start, end, thread, cpu seconds of this thread or None for coroutines)
        self.rows: list[tuple[str, str, str, float, float, str, float | None]] = []
        self.begins: list[tuple[float, float]] = []      # each BEGIN IMMEDIATE: (start, end) = SQLite write-lock wait
        self.loop_lag: list[tuple[float, float]] = []    # (when, how late a 5 ms sleep woke up)
        self._lock = threading.Lock()
        self._event_of_row: dict[int, tuple[str, str]] = {}   # events.id -> (channel, ts)
        self._event_of_case: dict[str, tuple[str, str]] = {}  # cases.id -> (channel, ts)

    def add(self, stage: str, channel: str, ts: str, start: float, end: float, cpu: float | None = None) -> None:
        with self._lock:
            self.rows.append((stage, channel, ts, start, end, threading.current_thread().name, cpu))

    def wrap_sync(self, obj: Any, name: str, key, on_result=None) -> None:
        original = getattr(obj, name)

        @functools.wraps(original)
        def wrapper(*args, **kwargs):
            started, cpu = now(), time.thread_time()
            result = None
            try:
                result = original(*args, **kwargs)
                return result
            finally:
                channel, ts = key(args, kwargs)
                self.add(name, channel, ts, started, now(), time.thread_time() - cpu)
                if on_result is not None and result is not None:
                    on_result(result, (channel, ts))

        setattr(obj, name, wrapper)

    def wrap_async(self, obj: Any, name: str, key) -> None:
        original = getattr(obj, name)

        @functools.wraps(original)
        async def wrapper(*args, **kwargs):
            started = now()
            try:
                return await original(*args, **kwargs)
            finally:
                channel, ts = key(args, kwargs)
                self.add(name, channel, ts, started, now())

        setattr(obj, name, wrapper)

    def install(self, services: Any) -> None:
        edge, store, desk = services.slack, services.store, services.desk
        work_key = lambda a, k: (a[0].channel, a[0].ts)  # noqa: E731
        self.wrap_async(edge, "accept", work_key)                       # ack path: record_event in a thread
        self.wrap_async(edge, "answer", lambda a, k: (a[1].channel, a[1].ts))  # whole background answer
        self.wrap_sync(store, "record_event", lambda a, k: (a[2], a[3].removeprefix("app_mention:")),
                       lambda row, key: self._event_of_row.__setitem__(row, key))
        self.wrap_sync(desk, "diagnose", lambda a, k: (a[1].channel, a[1].message))
        self.wrap_sync(desk.assistant, "handle", lambda a, k: (a[0].channel, a[0].thread))
        self.wrap_sync(store, "open_case", lambda a, k: (k["channel"], k["message"]),
                       lambda case, key: self._event_of_case.__setitem__(case.id, key))
        self.wrap_sync(edge.renderer, "slack", lambda a, k: self._event_of_case.get(a[1] or "", ("", "")))
        self.wrap_async(edge, "post", lambda a, k: (a[1], a[2]))
        if getattr(desk, "followups", None) is not None:
            self.wrap_sync(desk.followups, "schedule", lambda a, k: self._event_of_case.get(a[0], ("", a[0])))
        self.wrap_sync(store, "set_reply_ref", lambda a, k: self._event_of_case.get(a[0], ("", a[0])))
        self.wrap_sync(store, "finish_event", lambda a, k: self._event_of_row.get(a[0], ("", str(a[0]))))

        from sqlalchemy import event

        local = threading.local()

        @event.listens_for(store.engine, "before_cursor_execute")
        def _before(conn, cursor, statement, *_a):
            local.begin = now() if statement.startswith("BEGIN") else None

        @event.listens_for(store.engine, "after_cursor_execute")
        def _after(conn, cursor, statement, *_a):
            if statement.startswith("BEGIN") and getattr(local, "begin", None) is not None:
                with self._lock:
                    self.begins.append((local.begin, now()))

    async def watch_loop(self) -> None:
        """How late the event loop runs a 5 ms timer: its backlog of ready callbacks."""
        while True:
            asked = now()
            await asyncio.sleep(0.005)
            self.loop_lag.append((asked, now() - asked - 0.005))


async def _listen(app: web.Application) -> tuple[web.AppRunner, int]:
    runner = web.AppRunner(app, access_log=None)  # as `python -m bot run` serves it: no access log
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]


async def _until_stopped() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()


async def serve_stub() -> None:
    runner, port = await _listen(SlackStub().app())
    print(json.dumps({"stub_port": port}), flush=True)
    await _until_stopped()
    await runner.cleanup()


async def serve_app(config: dict[str, Any], stub_port: int) -> tuple[Any, Trace | None]:
    from bot.app import SERVICES_KEY, create_app
    from bot.core.store import Store
    from bot.settings import Settings
    from bot.wiring import build_core

    base = Settings.from_env()  # model, intents and responses from the usual places
    settings = Settings.from_env({
        "SYNCMEDIC_ROOT": str(base.root), "SYNCMEDIC_DATA_DIR": str(base.data_dir), "MODEL_STALE": "refuse",
        "SLACK_BOT_TOKEN": config["bot_token"], "SLACK_SIGNING_SECRET": config["signing_secret"],
        "SLACK_API_BASE_URL": f"http://127.0.0.1:{stub_port}/api/", "DATABASE_URL": config["db_url"],
        "LOG_LEVEL": "WARNING"})
    core = build_core(settings)
    app = create_app(settings, core, Store.from_url(settings.database_url), background=False)
    trace = Trace() if config.get("trace") else None
    if trace is not None:
        trace.install(app[SERVICES_KEY])
    runner, port = await _listen(app)
    return (runner, port), trace


async def serve(config: dict[str, Any]) -> None:
    """role "stub": the stand-in alone; "app": the app, using the stand-in at config["stub_port"];
    "both": the two in this one process and event loop."""
    role = config.get("role", "both")
    if role == "stub":
        await serve_stub()
        return
    stub_runner = None
    if role == "both":
        stub_runner, stub_port = await _listen(SlackStub().app())
    else:
        stub_port = config["stub_port"]
    (runner, app_port), trace = await serve_app(config, stub_port)
    watcher = asyncio.create_task(trace.watch_loop()) if trace is not None else None
    print(json.dumps({"app_port": app_port, "stub_port": stub_port}), flush=True)
    await _until_stopped()
    await runner.cleanup()  # drains the app's background answers
    if stub_runner is not None:
        await stub_runner.cleanup()
    if trace is not None and watcher is not None:
        watcher.cancel()
        with open(config["trace"], "w", encoding="utf-8") as fh:
            json.dump({"rows": trace.rows, "begins": trace.begins, "loop_lag": trace.loop_lag}, fh)


def main() -> None:
    config = json.loads(sys.argv[1])
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if config.get("profile"):
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
        try:
            asyncio.run(serve(config))
        finally:
            profiler.disable()
            profiler.dump_stats(config["profile"])
    else:
        asyncio.run(serve(config))


if __name__ == "__main__":
    main()
