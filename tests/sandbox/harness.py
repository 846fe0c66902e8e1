"""The sandbox under test: `python -m bot run` as a person starts it, and Debian's Chromium
driven by Playwright (Playwright's own browser download is not used).

Used by the browser tests and by `python -m tests.sandbox.screenshot`.
"""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

from tests.support import migrated_sqlite

PROJECT_ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
_URL = re.compile(r"^Open (http://\S+/) in your browser$")
# Passed through from the caller's environment; everything the bot reads is set explicitly.
_KEPT = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT")


class SandboxServer:
    """`python -m bot run` with no credentials (the sandbox), PORT=0 and its own database."""

    def __init__(self, workdir: Path, data_dir: Path | None, *, database: Path | None = None, **env: str) -> None:
        """`database`: a migrated SQLite file the sandbox starts from a copy of (migrating a new
        one costs a start 0.7 s; tests of migrating are elsewhere)."""
        self.workdir = workdir
        self.database = database
        self.log_path = workdir / "server.log"
        self.env = {k: os.environ[k] for k in _KEPT if k in os.environ}
        self.env.update({"PORT": "0", "HOST": "127.0.0.1", "MODEL_STALE": "refuse" if data_dir else "rebuild",
                         "DATABASE_URL": f"sqlite:///{workdir / 'sandbox.db'}", "SYNCMEDIC_ROOT": str(PROJECT_ROOT),
                         "PYTHONUNBUFFERED": "1", "LOG_LEVEL": "INFO"})
        if data_dir is not None:
            self.env["SYNCMEDIC_DATA_DIR"] = str(data_dir)
        self.env.update(env)
        self.url = ""
        self.banner: list[str] = []
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 120) -> "SandboxServer":
        self.workdir.mkdir(parents=True, exist_ok=True)
        if self.database is not None:
            migrated_sqlite(self.workdir / "sandbox.db", self.database)
        log = open(self.log_path, "wb")
        self.proc = subprocess.Popen([sys.executable, "-m", "bot", "run"], cwd=PROJECT_ROOT, env=self.env,
                                     stdout=subprocess.PIPE, stderr=log, text=True)
        log.close()
        lines: queue.Queue = queue.Queue()

        def read() -> None:
            assert self.proc is not None and self.proc.stdout is not None
            for line in self.proc.stdout:
                lines.put(line.rstrip("\n"))
            lines.put(None)

        threading.Thread(target=read, daemon=True).start()
        while not self.url:
            try:
                line = lines.get(timeout=timeout)
            except queue.Empty:
                self.stop()
                raise RuntimeError(f"the sandbox printed no URL within {timeout} s:\n{self.log()}") from None
            if line is None:
                raise RuntimeError(f"the sandbox exited ({self.proc.wait()}):\n{self.log()}")
            self.banner.append(line)
            found = _URL.match(line)
            if found:
                self.url = found.group(1)
        return self

    def stop(self) -> int | None:
        """SIGTERM (what `make demo`'s Ctrl-C or a process manager sends), then wait."""
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise RuntimeError(f"the sandbox did not stop within 20 s of SIGTERM:\n{self.log()}") from None

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace") if self.log_path.exists() else ""

    def problems(self) -> list[str]:
        """Log lines that mean something went wrong in the bot."""
        return [line for line in self.log().splitlines()
                if "Traceback" in line or " ERROR " in line or " CRITICAL " in line]


def launch_chromium(playwright: Any) -> Any:
    return playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)


class Watched:
    """A page whose console errors and uncaught exceptions are kept for the test to check."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.errors: list[str] = []
        page.on("console", lambda m: self.errors.append(f"console.{m.type}: {m.text}") if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))
        page.on("requestfailed", lambda r: self.errors.append(f"request failed: {r.url} {r.failure}")
                if not r.url.endswith("/sandbox/stream") else None)
