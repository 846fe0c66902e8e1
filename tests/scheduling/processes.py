"""`python -m bot ...` as real child processes, for the tests that kill, restart or fork them."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any, Callable

import pytest

from tests.standins.slack_payloads import event_request, mention_event
from tests.support import PROJECT_ROOT

_CLEARED = ("SYNCMEDIC_", "SLACK_", "DIGEST_", "FOLLOWUP_", "SCHEDULER", "BUSINESS_HOURS", "DATABASE_URL", "PORT",
            "HOST", "MODEL_STALE", "ESCALAT", "ADMIN_USERS", "EVENT_RETRY_AFTER", "OUTBOUND_", "RETENTION", "LOG_LEVEL",
            "REPORT_")


def bot_env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(_CLEARED)}
    env.update({"SYNCMEDIC_ROOT": str(PROJECT_ROOT), "SYNCMEDIC_DATA_DIR": str(data_dir), "MODEL_STALE": "refuse",
                "PYTHONUNBUFFERED": "1", "LOG_LEVEL": "INFO"})
    env.update(extra)
    return env


class Proc:
    """A `python -m bot ...` child with its output in a log file (shown when an assertion fails)."""

    def __init__(self, args: list[str], env: dict[str, str], log: Path) -> None:
        self.log = log
        self._out = open(log, "ab")
        self.popen = subprocess.Popen([sys.executable, "-m", "bot", *args], cwd=PROJECT_ROOT, env=env,
                                      stdout=self._out, stderr=subprocess.STDOUT)

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]

    def kill9(self) -> None:
        os.kill(self.popen.pid, signal.SIGKILL)
        self.popen.wait(timeout=10)
        assert self.popen.returncode == -signal.SIGKILL

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(timeout=10)
        self._out.close()


def wait_for(condition: Callable[[], object], timeout: float, what: str, proc: Proc | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        if proc is not None and proc.popen.poll() is not None:
            pytest.fail(f"the bot exited ({proc.popen.returncode}) while waiting for {what}:\n{proc.output()}")
        time.sleep(0.05)
    pytest.fail(f"timed out after {timeout:g} s waiting for {what}" + (f":\n{proc.output()}" if proc else ""))


def healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as resp:
            return resp.status == 200
    except OSError:
        return False


def send_mention(port: int, text: str, ts: str) -> None:
    signed = event_request(mention_event(text, ts=ts))
    request = urllib.request.Request(f"http://127.0.0.1:{port}/slack/events", data=signed.body.encode(),
                                     method="POST", headers=signed.headers)
    with urllib.request.urlopen(request, timeout=10) as resp:
        assert resp.status == 200


def health(port: int) -> dict[str, Any]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as resp:
        return json.loads(resp.read())
