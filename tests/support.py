"""Helpers shared by the tests (fixtures live in conftest.py)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Awaitable, Callable, Iterator, TypeVar

PROJECT_ROOT = Path(__file__).resolve().parent.parent
S = TypeVar("S", bound="LoopbackServer")


def current_model_dir(folder: Path, root: Path) -> bool:
    """True when `folder` holds a complete model built from root's intents/ and training/."""
    from bot.core.model.store import ModelPaths, stale_reason

    paths = ModelPaths(folder)
    if not (paths.meta.is_file() and paths.model.is_file()):
        return False
    try:
        meta = json.loads(paths.meta.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return stale_reason(meta, root / "intents", root / "training") is None


def _bot_environment(env: dict[str, str] | None) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items()
            if not k.startswith("SYNCMEDIC_") and k not in ("MODEL_STALE", "PORT", "DATABASE_URL")}
    base.update({"PYTHONIOENCODING": "utf-8", "PYTHONUTF8": "1"})
    base.update(env or {})
    return base


def run_bot(args: list[str], *, stdin: bytes | str = b"", env: dict[str, str] | None = None,
            timeout: float = 300) -> subprocess.CompletedProcess[bytes]:
    """`python -m bot ARGS` from the project root, in an environment the test controls."""
    data = stdin.encode("utf-8") if isinstance(stdin, str) else stdin
    return subprocess.run([sys.executable, "-m", "bot", *args], input=data, capture_output=True,
                          cwd=PROJECT_ROOT, env=_bot_environment(env), timeout=timeout)


def run_bot_here(args: list[str], *, stdin: bytes | str = b"", env: dict[str, str] | None = None
                 ) -> subprocess.CompletedProcess[bytes]:
    """What run_bot returns, from `bot.__main__.main` in this process: the same environment (and
    only it), the project root as the working directory, stdin a real pipe, stdout and stderr
    in UTF-8 as bytes, an uncaught exception a traceback and exit status 1. It saves a second
    interpreter's start (about a second) for tests of what a command does; tests of the process
    itself (its imports, invalid bytes on its stdin, exit statuses at start-up) use run_bot."""
    import io
    import traceback

    from bot.__main__ import main

    data = stdin.encode("utf-8") if isinstance(stdin, str) else stdin
    read_end, write_end = os.pipe()

    def feed() -> None:
        with open(write_end, "wb") as pipe:
            with contextlib.suppress(BrokenPipeError):
                pipe.write(data)

    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()
    saved_env, saved_cwd = dict(os.environ), os.getcwd()
    saved_streams = sys.stdin, sys.stdout, sys.stderr
    reader = open(read_end, encoding="utf-8")
    out = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", write_through=True)
    err = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", write_through=True)
    try:
        os.environ.clear()
        os.environ.update(_bot_environment(env))
        os.chdir(PROJECT_ROOT)
        sys.stdin, sys.stdout, sys.stderr = reader, out, err
        try:
            code = main(args)
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        except Exception:  # noqa: BLE001 - what the interpreter would print, and its status
            traceback.print_exc()
            code = 1
    finally:
        sys.stdin, sys.stdout, sys.stderr = saved_streams
        reader.close()
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_env)
        feeder.join(10)
    return subprocess.CompletedProcess(["bot", *args], code, out.buffer.getvalue(), err.buffer.getvalue())


def migrated_sqlite(path: Path, template: Path) -> str:
    """`path` as a migrated database: the template's copy unless a database is already there."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(template, path)
    return f"sqlite:///{path}"


def strings(value: Any) -> Iterator[str]:
    """Every string inside a JSON-like value (keys included)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from strings(k)
            yield from strings(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from strings(v)


def strict_json(line: str) -> Any:
    """json.loads that refuses NaN and Infinity, which are not JSON."""
    def bad_constant(name: str) -> Any:
        raise ValueError(f"{name} is not valid JSON")

    return json.loads(line, parse_constant=bad_constant)


# -- a tiny synthetic project ------------------------------------------------------------

TINY_INTENTS = {
    "widget_stuck": """\
        id: widget_stuck
        kind: problem
        title: A widget is stuck in the queue
        summary: Nudge the widget and sync again.
        section: Widgets stuck
        means: The widget {{ product|em("in question") }} has not left the queue.
        causes:
          - The widget queue is paused.
        steps:
          - Open **Widgets** and find {{ product|em("the widget") }}.
          - Click **Resume queue**.
        escalate: Ask the widget team if it stays stuck.
        signatures:
          - pattern: 'Widget "?(?P<product>[^"\\n]{1,40}?)"? is stuck in the queue'
        related: [gadget_lost]
        """,
    "gadget_lost": """\
        id: gadget_lost
        kind: problem
        title: A gadget went missing on the way
        summary: Trace the gadget shipment and resend it.
        section: Lost gadgets
        means: A gadget left the warehouse but never arrived at the store.
        causes:
          - The courier lost the gadget parcel.
        steps:
          - Look up the courier tracking number.
          - Resend the gadget.
        escalate: Ask logistics if the courier cannot find it.
        related: [widget_stuck]
        """,
    "ledger_locked": """\
        id: ledger_locked
        kind: problem
        title: The ledger is locked for that month
        summary: Unlock the month, post, then lock it again.
        section: Locked ledger months
        means: The ledger month is closed, so new postings into it are refused.
        causes:
          - Someone closed the month in the ledger.
        steps:
          - Unlock the month in **Ledger settings**.
          - Post the entry again.
        escalate: Ask the accountant before reopening a closed month.
        related: []
        """,
}

TINY_EXAMPLES = {
    "widget_stuck": [
        "my widget is stuck in the queue", "widget queue will not move", "the widget has been queued for hours",
        "widgets are not leaving the queue", "stuck widget again", "widget W-12 stuck", "queue of widgets frozen",
        "why is the widget still queued", "widget never leaves the queue", "queued widget stuck since monday",
    ],
    "gadget_lost": [
        "the gadget never arrived", "gadget parcel lost by courier", "where is my gadget shipment",
        "gadget missing in transit", "lost gadget delivery", "courier lost the gadget", "gadget did not reach the store",
        "gadget shipment vanished", "tracking shows gadget lost", "our gadget order went missing",
    ],
    "ledger_locked": [
        "ledger month is locked", "cannot post into a closed ledger month", "ledger refuses postings for march",
        "the ledger is closed for that period", "locked ledger month error", "posting fails because month is closed",
        "ledger says period locked", "month closed in the ledger", "how to unlock the ledger month",
        "ledger lock blocks the entry",
    ],
    "out_of_scope": [
        "what is the weather like", "recommend a film", "my cat is hungry", "how tall is mount everest",
        "play some music", "tell me a joke", "best pizza in town", "how do I knit a scarf",
        "what time is the football on", "translate hello into french",
    ],
}


def make_tiny_root(root: Path) -> Path:
    """A minimal project root (intents/, training/, responses/) that trains in seconds."""
    (root / "intents").mkdir(parents=True)
    for intent_id, text in TINY_INTENTS.items():
        (root / "intents" / f"{intent_id}.yaml").write_text(textwrap.dedent(text), encoding="utf-8")
    for folder in ("examples", "heldout", "corrections"):
        (root / "training" / folder).mkdir(parents=True)
    for intent_id, examples in TINY_EXAMPLES.items():
        doc = {"intent": intent_id, "examples": examples}
        (root / "training" / "examples" / f"{intent_id}.yaml").write_text(json.dumps(doc, indent=1), encoding="utf-8")
        held = {"intent": intent_id, "examples": [examples[0] + " please help"]}
        (root / "training" / "heldout" / f"{intent_id}.yaml").write_text(json.dumps(held, indent=1), encoding="utf-8")
    shutil.copytree(PROJECT_ROOT / "responses", root / "responses")
    return root


def copy_trained(src: tuple[Path, Path], dest: Path) -> tuple[Path, Path]:
    """A private, editable copy of a trained tiny project: (root, data_dir)."""
    root, data = src
    shutil.copytree(root, dest / "project")
    shutil.copytree(data, dest / "data")
    return dest / "project", dest / "data"


class LoopbackServer:
    """An aiohttp app served on 127.0.0.1, port 0: the stand-ins for Slack and Teams use it."""

    base = ""
    _runner = None

    async def serve(self, app, host: str = "127.0.0.1", **runner_options: Any) -> None:
        from aiohttp import web

        self._runner = web.AppRunner(app, **runner_options)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.base = f"http://{'[' + host + ']' if ':' in host else host}:{port}"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


class ServedApps:
    """What a start_bot fixture started (stand-ins, apps, their databases), stopped in reverse
    order at teardown, with one client session for the test's requests."""

    def __init__(self) -> None:
        from aiohttp import ClientSession

        self.session = ClientSession()
        self._cleanups: list[Callable[[], Awaitable[Any]]] = []

    def on_close(self, cleanup: Callable[[], Awaitable[Any]]) -> None:
        self._cleanups.append(cleanup)

    async def serve(self, app: Any, store: Any, **server: Any) -> str:
        """Serve `app` on loopback; its store's connections are closed at teardown. The base URL."""
        async def dispose() -> None:
            store.engine.dispose()

        self.on_close(dispose)
        served = LoopbackServer()
        await served.serve(app, **server)
        # Stopped first: drains background work and closes the edges; bounded so a wedged bot
        # fails its own test instead of hanging the suite.
        self.on_close(lambda: asyncio.wait_for(served.stop(), 30))
        return served.base

    async def close(self) -> None:
        for cleanup in reversed(self._cleanups):
            await cleanup()
        await self.session.close()


class PostedMessages(dict):
    """A Slack stand-in's messages by ts, as chat.postMessage stores them and chat.update edits them."""

    def post(self, body: dict[str, Any], ts: str, **fields: Any) -> dict[str, Any]:
        """Store what `body` posts; the message as Slack returns it (without its channel)."""
        message = {"type": "message", **fields, "text": body.get("text", ""), "ts": ts,
                   "blocks": body.get("blocks", [])}
        for key in ("thread_ts", "metadata"):
            if body.get(key):
                message[key] = body[key]
        self[ts] = {**message, "channel": body.get("channel")}
        return message

    def update(self, body: dict[str, Any]) -> None:
        stored = self.get(body.get("ts", ""))
        if stored is not None:
            stored.update({k: body[k] for k in ("text", "blocks") if k in body})


@contextlib.contextmanager
def alarm(seconds: float) -> Iterator[None]:
    """Raise TimeoutError in this thread after `seconds`, even inside a loop that never yields
    to the event loop (where asyncio.wait_for's own timeout could never fire)."""
    def ring(_signum, _frame):
        raise TimeoutError(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, ring)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


# -- time the test controls ---------------------------------------------------------------------

class Clock:
    """The injected clock (Store, Desk, create_app take one): tests move `now`, nobody sleeps."""

    def __init__(self, now: datetime | None = None) -> None:
        self.now = now or datetime.now(timezone.utc)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> datetime:
        self.now = self.now + delta
        return self.now

    def set(self, moment: datetime) -> datetime:
        self.now = moment
        return moment


class RecordedSleep:
    """An injected `sleep` that returns at once (after one turn of the event loop, as a real
    sleep would give others) and records the delays it was asked for."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)
        await asyncio.sleep(0)


class SteppedSleep:
    """An injected `sleep` that returns only when the test says the time has passed: each call
    records its delay and waits for `wake()`. `step()` wakes the sleepers and waits until one
    of them sleeps again, i.e. a loop that sleeps between rounds has gone round once."""

    def __init__(self) -> None:
        self.delays: list[float] = []                           # every delay asked for
        self._sleepers: dict[asyncio.Future[None], float] = {}  # those still sleeping
        self._changed = asyncio.Condition()

    async def __call__(self, delay: float) -> None:
        woken = asyncio.get_running_loop().create_future()
        self._sleepers[woken] = delay
        self.delays.append(delay)
        async with self._changed:
            self._changed.notify_all()
        try:
            await woken
        finally:
            self._sleepers.pop(woken, None)

    async def until(self, condition: Callable[[], bool], timeout: float = 10.0) -> None:
        async def met() -> None:
            async with self._changed:
                await self._changed.wait_for(condition)

        try:
            await asyncio.wait_for(met(), timeout)
        except TimeoutError:
            raise AssertionError(f"nothing came to sleep here within {timeout:g} s") from None

    async def asleep(self, delay: float | None = None, timeout: float = 10.0) -> None:
        """Return once something is sleeping here (for `delay` seconds, if given)."""
        await self.until(lambda: any(delay in (None, d) for d in self._sleepers.values()), timeout)

    def wake(self) -> int:
        """Let everything sleeping here go on; how many were sleeping."""
        woken = [f for f in self._sleepers if not f.done()]
        for sleeper in woken:
            sleeper.set_result(None)
        self._sleepers.clear()
        return len(woken)

    async def step(self, timeout: float = 10.0) -> None:
        """Wake what sleeps here now, and return once it (or anything) sleeps again."""
        await self.asleep(timeout=timeout)
        asked = len(self.delays)
        self.wake()
        await self.until(lambda: len(self.delays) > asked, timeout)


@contextlib.contextmanager
def served_in_thread(server: S) -> Iterator[S]:
    """Run a stand-in (a LoopbackServer) on its own event loop in a background thread, for tests
    whose bot runs in child processes; stopped when the block ends."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        asyncio.run_coroutine_threadsafe(server.start(), loop).result(timeout=10)
        try:
            yield server
        finally:
            asyncio.run_coroutine_threadsafe(server.stop(), loop).result(timeout=10)
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()
