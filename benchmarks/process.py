"""`python -m bot classify` as an operator runs it: a fresh process reading JSON Lines.

Cold start is the wall time from spawning the process to its exit with one line of input.
Peak memory is the child's peak resident set (ru_maxrss from wait4), measured from a fresh,
minimal helper process: a child's ru_maxrss starts from the RSS of whoever spawned it (the
vfork/exec path records the parent's high-water mark), so spawning it from this benchmark
process, which holds a loaded model, would inflate the figure.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Sequence

from benchmarks.inputs import log_paste, repeat_to
from benchmarks.report import Figure

ROOT = Path(__file__).resolve().parent.parent
COLD_RUNS = 5
COLD_START_LIMIT_S = 1.5
MEMORY_LIMIT_MB = 200.0
MEMORY_MESSAGES = 500
TIMEOUT_S = 120
SECTION = "Process: python -m bot classify"

# Runs with -S -I: nothing but the standard library, so its own RSS (the floor under the child's
# ru_maxrss) is a few MB. Its own ru_maxrss is useless (inherited from this process at exec), so
# it reports its VmHWM instead. Polls the child's VmHWM as a cross-check while it waits.
_HELPER = r"""
import json, os, sys, time
cmd, stdin_path, stdout_path, stderr_path, timeout = json.loads(sys.argv[1])
fds = [os.open(stdin_path, os.O_RDONLY), os.open(stdout_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC),
       os.open(stderr_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)]
started = time.perf_counter()
pid = os.posix_spawn(cmd[0], cmd, dict(os.environ),
                     file_actions=[(os.POSIX_SPAWN_DUP2, fd, n) for n, fd in enumerate(fds)])
hwm, killed = 0, False
while True:
    done, status, usage = os.wait4(pid, os.WNOHANG)
    if done:
        break
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    hwm = max(hwm, int(line.split()[1]))
    except OSError:
        pass
    if time.perf_counter() - started > timeout and not killed:
        os.kill(pid, 9)
        killed = True
    time.sleep(0.005)
with open("/proc/self/status") as fh:
    own = next(int(line.split()[1]) for line in fh if line.startswith("VmHWM:"))
print(json.dumps({"exit": os.waitstatus_to_exitcode(status), "killed": killed,
                  "wall_s": time.perf_counter() - started, "child_maxrss_kb": usage.ru_maxrss,
                  "vmhwm_seen_kb": hwm, "helper_vmhwm_kb": own}))
"""


def _last_line(text: str) -> str:
    """The line that says what went wrong (a traceback's last), for a one-line table note."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return lines[-1][:300] if lines else "(no output on stderr)"


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    # The model was brought up to date at the start of the run; if someone changes intents/ or
    # training/ meanwhile, fail loudly rather than time a retrain as a "cold start".
    env["MODEL_STALE"] = "refuse"
    env.pop("PYTHONPROFILEIMPORTTIME", None)
    return env


def classify_command() -> list[str]:
    return [sys.executable, "-m", "bot", "classify"]


def cold_start(sample_text: str) -> list[Figure]:
    section = SECTION
    line = (json.dumps({"id": "bench-1", "text": sample_text}) + "\n").encode()
    walls, error = [], ""
    for _ in range(COLD_RUNS):
        started = time.perf_counter()
        proc = subprocess.run(classify_command(), input=line, capture_output=True, cwd=ROOT, env=child_env(),
                              timeout=TIMEOUT_S)
        walls.append(time.perf_counter() - started)
        out = proc.stdout.decode("utf-8", "replace").splitlines()
        if proc.returncode != 0 or len(out) != 1 or json.loads(out[0]).get("id") != "bench-1":
            error = f"exit {proc.returncode}: {_last_line(proc.stderr.decode('utf-8', 'replace'))}"
            break
    detail = error or f"median of {len(walls)}; runs: {', '.join(f'{w:.2f}' for w in walls)} s"
    return [Figure("process.cold_start_s", section, "cold start, 1 message (median)",
                   None if error else statistics.median(walls), "s", COLD_START_LIMIT_S, "<=", detail=detail)]


def peak_memory(texts: Sequence[str]) -> list[Figure]:
    section = SECTION
    batch = repeat_to(texts, MEMORY_MESSAGES)
    paste = log_paste(2_000_000, seed=7)
    lines = [json.dumps({"id": i, "text": t}) for i, t in enumerate(batch)]
    lines.append(json.dumps({"id": "paste-2mb", "text": paste}))
    with tempfile.TemporaryDirectory(prefix="syncmedic-bench-") as tmp:
        stdin_path, stdout_path, stderr_path = (Path(tmp) / n for n in ("in.jsonl", "out.jsonl", "err.txt"))
        stdin_path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        args = json.dumps([classify_command(), str(stdin_path), str(stdout_path), str(stderr_path), TIMEOUT_S])
        helper = subprocess.run([sys.executable, "-S", "-I", "-c", _HELPER, args], capture_output=True, cwd=ROOT,
                                env=child_env(), timeout=TIMEOUT_S + 30)
        label = f"peak RSS, {len(batch)} messages + one 2 MB paste"
        if helper.returncode != 0:
            return [Figure("process.peak_rss_mb", section, label, None, "MB", MEMORY_LIMIT_MB, "<=",
                           detail=f"helper failed: {_last_line(helper.stderr.decode('utf-8', 'replace'))}")]
        result = json.loads(helper.stdout)
        answered = stdout_path.read_text(encoding="utf-8", errors="replace").splitlines()
        problem = ""
        if result["exit"] != 0 or result["killed"]:
            problem = (f"classify exit {result['exit']}{' (killed at timeout)' if result['killed'] else ''}: "
                       f"{_last_line(stderr_path.read_text(errors='replace'))}")
        elif len(answered) != len(lines):
            problem = f"classify answered {len(answered)} of {len(lines)} lines"
    mb = lambda kb: kb * 1024 / 1e6  # noqa: E731  (ru_maxrss is in KiB on Linux)
    detail = problem or (f"{result['wall_s']:.2f} s wall; VmHWM seen {mb(result['vmhwm_seen_kb']):.1f} MB; "
                         f"helper's own peak {mb(result['helper_vmhwm_kb']):.1f} MB")
    return [Figure("process.peak_rss_mb", section, label, None if problem else mb(result["child_maxrss_kb"]), "MB",
                   MEMORY_LIMIT_MB, "<=", detail=detail)]
