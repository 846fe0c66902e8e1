"""Serving the app over HTTP: one process, or several sharing the port (WEB_CONCURRENCY).

Answering a Slack event is Python work (bolt, the model, the templates), and one Python
process runs on one core at a time. With WEB_CONCURRENCY=N, `python -m bot run` loads the
model once, then forks N workers that share its memory; each listens on the same port with
its own socket (SO_REUSEPORT), so the kernel spreads connections across them. What must
happen once is already safe across processes: deliveries are deduplicated by a unique key in
the database, recovery, check-ins and digests claim their rows, and the in-process scheduler
runs in worker 0 only. The parent only supervises: it forwards SIGTERM and SIGINT and starts
a new worker when one dies.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import select
import signal
import socket
import sys
import time
import traceback
from typing import Callable

from aiohttp import web

from . import gcpolicy
from .settings import Settings

log = logging.getLogger(__name__)

STARTUP_TIMEOUT_S = 300        # a worker that is not serving by then is a failed start
QUICK_DEATH_S = 10.0           # a worker that dies this soon after starting...
MAX_QUICK_DEATHS = 5           # ...this many times in a row: stop, something is wrong
SHUTDOWN_GRACE_S = 30          # a worker still running this long after SIGTERM is killed
STOP_SIGNALS = {signal.SIGTERM, signal.SIGINT}

AppFactory = Callable[[Settings, int], web.Application]


class ServeError(RuntimeError):
    pass


def bind(host: str, port: int, *, reuse_port: bool, listen: bool) -> socket.socket:
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        if sock.family == socket.AF_INET6 and hasattr(socket, "IPV6_V6ONLY"):
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.bind((host, port))
        if listen:
            sock.listen(socket.SOMAXCONN)
    except OSError:
        sock.close()
        raise
    return sock


def workers_for(settings: Settings, sandbox: bool) -> tuple[int, str]:
    """How many web processes to run, and why not more when that is fewer than asked for."""
    if settings.web_concurrency <= 1:
        return 1, ""
    if sandbox:
        return 1, "the sandbox keeps its pretend Slack in one process"
    if settings.slack_mode == "socket":
        return 1, "Socket Mode holds one connection to Slack per process; run more processes, not workers"
    return settings.web_concurrency, ""


def _refuse_a_running_instance(host: str, port: int) -> None:
    """SO_REUSEPORT would let a second `bot run` on the same port quietly take half of the first
    one's connections. A plain socket cannot bind where anyone listens, so a trial bind of one
    tells whether the port is free before the shared sockets are made."""
    if port:
        bind(host, port, reuse_port=False, listen=False).close()


def serve(settings: Settings, make_app: AppFactory, workers: int, announce: Callable[[Settings], None]) -> int:
    """Listen on settings.host:settings.port (0: any free port) and serve until SIGTERM/SIGINT."""
    try:
        if workers > 1:
            _refuse_a_running_instance(settings.host, settings.port)
        sock = bind(settings.host, settings.port, reuse_port=workers > 1, listen=workers == 1)
    except OSError as exc:
        raise ServeError(f"cannot listen on {settings.host}:{settings.port}: {exc.strerror or exc}") from None
    settings = dataclasses.replace(settings, port=sock.getsockname()[1])
    if workers == 1:
        app = make_app(settings, 0)
        gcpolicy.install(app)

        async def ready(_app: web.Application) -> None:
            announce(settings)

        app.on_startup.append(ready)
        web.run_app(app, sock=sock, access_log=None, print=None, shutdown_timeout=10)
        return 0
    return _Supervisor(settings, make_app, workers, sock, announce).run()


class _Supervisor:
    """The parent of N workers. It keeps a bound, non-listening socket on the port, so the port
    stays ours while a worker is restarted, and takes no connections itself."""

    def __init__(self, settings: Settings, make_app: AppFactory, workers: int, reserved: socket.socket,
                 announce: Callable[[Settings], None]) -> None:
        self.settings = settings
        self.make_app = make_app
        self.workers = workers
        self.reserved = reserved
        self.announce = announce
        self.children: dict[int, tuple[int, float]] = {}  # pid -> (worker index, started at)
        self.stopping = False
        self.quick_deaths = 0
        self.ready_read, self.ready_write = os.pipe()

    def run(self) -> int:
        signal.signal(signal.SIGTERM, self._stop)
        signal.signal(signal.SIGINT, self._stop)
        try:
            return self._supervise()
        finally:  # whatever happened here, no worker is left running without its parent
            self._stop()
            self._reap_all()
            for fd in (self.ready_read, self.ready_write):
                try:
                    os.close(fd)
                except OSError:
                    pass

    def _supervise(self) -> int:
        gcpolicy.settle()  # what the parent loaded (the model) is frozen once, shared by every worker
        for index in range(self.workers):
            self._spawn(index)
        if not self._wait_until_ready():
            return 0 if self.stopping else 1
        self.announce(self.settings)
        status = 0
        while self.children:
            try:
                pid, code = os.wait()
            except ChildProcessError:
                break
            index, started = self.children.pop(pid, (None, 0.0))
            if index is None or self.stopping:
                continue
            log.error("web worker %d (pid %d) exited with %s; starting a new one", index, pid, _describe(code))
            self.quick_deaths = self.quick_deaths + 1 if time.monotonic() - started < QUICK_DEATH_S else 0
            if self.quick_deaths >= MAX_QUICK_DEATHS:
                log.error("web workers keep dying at start-up; stopping")
                self._stop()
                status = 1
                continue
            time.sleep(min(5.0, 0.5 * self.quick_deaths))
            if not self.stopping:  # a stop may have come during the pause
                self._spawn(index)
        return status

    def _spawn(self, index: int) -> None:
        # Signals stay blocked across the fork, so a SIGTERM in between can neither run the
        # parent's handler in the child nor be lost: the child unblocks once its own are set.
        signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
        try:
            pid = os.fork()
        except BaseException:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
            raise
        if pid:
            self.children[pid] = (index, time.monotonic())
            signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
            return
        code = 1
        try:  # the worker: never returns into the parent's code
            _die_with_parent()
            for sig in STOP_SIGNALS:
                signal.signal(sig, signal.SIG_DFL)
            signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
            os.close(self.ready_read)
            self.reserved.close()
            sock = bind(self.settings.host, self.settings.port, reuse_port=True, listen=True)
            # Only worker 0 runs the in-process scheduler: one set of ticks is enough.
            settings = self.settings if index == 0 else dataclasses.replace(self.settings, scheduler=False)
            app = self.make_app(settings, index)
            gcpolicy.install(app)
            ready_write = self.ready_write

            async def ready(_app: web.Application) -> None:
                _stop_once_on(asyncio.get_running_loop())
                os.write(ready_write, b".")
                os.close(ready_write)

            app.on_startup.append(ready)
            web.run_app(app, sock=sock, access_log=None, print=None, shutdown_timeout=10, handle_signals=False)
            code = 0
        except BaseException:  # noqa: BLE001 - report, then leave with a failure status
            try:
                traceback.print_exc()
            except BaseException:  # noqa: BLE001 - stderr itself is gone
                pass
        finally:
            for stream in (sys.stdout, sys.stderr):
                try:
                    stream.flush()
                except BaseException:  # noqa: BLE001 - nothing left to tell
                    pass
            os._exit(code)

    def _wait_until_ready(self) -> bool:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        ready = 0
        while ready < self.workers:
            left = deadline - time.monotonic()
            if left <= 0 or self.stopping:
                return False
            readable, _, _ = select.select([self.ready_read], [], [], min(left, 0.2))
            if readable:
                ready += len(os.read(self.ready_read, 64))
            pid, code = os.waitpid(-1, os.WNOHANG)
            if pid:
                self.children.pop(pid, None)
                log.error("a web worker exited with %s before it was serving", _describe(code))
                return False
        return True

    def _stop(self, *_args: object) -> None:
        self.stopping = True
        for pid in list(self.children):
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass

    def _reap_all(self) -> None:
        """Wait for every worker; one still there after the shutdown grace is killed."""
        deadline = time.monotonic() + SHUTDOWN_GRACE_S
        while self.children:
            for pid in list(self.children):
                try:
                    done, _ = os.waitpid(pid, os.WNOHANG)
                except ChildProcessError:
                    done = pid
                if done:
                    self.children.pop(pid, None)
            if self.children and time.monotonic() > deadline:
                for pid in list(self.children):
                    log.error("web worker (pid %d) did not stop in %d s; killing it", pid, SHUTDOWN_GRACE_S)
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                deadline = float("inf")
            if self.children:
                time.sleep(0.05)


def _stop_once_on(loop: asyncio.AbstractEventLoop) -> None:
    """The worker's SIGTERM/SIGINT: stop gracefully once. The same stop can arrive twice (from
    the parent, and from a terminal's Ctrl-C or a service manager signalling every process);
    the second must not interrupt the first's shutdown."""
    stopping = []

    def stop() -> None:
        if stopping:  # two signals read at once are two callbacks: only the first stops
            return
        stopping.append(True)
        for sig in STOP_SIGNALS:
            loop.remove_signal_handler(sig)
            signal.signal(sig, signal.SIG_IGN)
        raise web.GracefulExit()

    for sig in STOP_SIGNALS:
        loop.add_signal_handler(sig, stop)


def _die_with_parent() -> None:
    """Linux: the worker gets SIGTERM if the parent dies, even by SIGKILL (no orphans serving)."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _describe(wait_status: int) -> str:
    if os.WIFSIGNALED(wait_status):
        number = os.WTERMSIG(wait_status)
        try:
            return f"signal {signal.Signals(number).name}"
        except ValueError:
            return f"signal {number}"
    return f"status {os.waitstatus_to_exitcode(wait_status)}"
