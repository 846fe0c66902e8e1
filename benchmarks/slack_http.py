"""Slack delivery over real HTTP: signed app_mention events in, threaded replies out.

The app runs as an operator runs it in production: `python -m bot run` in HTTP mode with
WEB_CONCURRENCY=2 (one web process per core of this machine; bot/serving.py), a fresh SQLite
database in a temporary directory, and SLACK_API_BASE_URL pointing at a local stand-in for the
Slack Web API (benchmarks/slack_server.py, a process of its own) that records when each
chat.postMessage arrives. This process only generates the load: like Slack, it holds keep-alive
connections to the app and writes each signed event to one of them. The load generator and the
stand-in play Slack's servers, which in production are not on the bot's machine; both are
written on bare asyncio (benchmarks/rawhttp.py) so that they take as little as they can of the
two cores the app is measured on.

Each round writes CONCURRENCY signed `app_mention` events at once, one per connection
(distinct channel and ts, held-out error texts), after one unmeasured warm-up round. Per event:
  ack      from writing the POST to /slack/events until the last byte of its response reached
           the load generator's socket
  reply    from writing that POST until the first bytes of the chat.postMessage for the same
           channel + thread_ts reached the stand-in's socket
Arrivals are the kernel's receive timestamps (benchmarks/rawhttp.py), on CLOCK_MONOTONIC like
the send times, so neither program's own wait for a core counts. That lets them stay out of the
app's way, as Slack's servers would: the stand-in runs at the lowest CPU priority (nice 19), and
the load generator reads a round's acknowledgements only once all its replies have arrived.
Every event must get exactly one reply. Rounds start on a quiet server (the previous round's
replies all arrived, then a short pause for its last database writes).

    python -m benchmarks.slack_http [--json] [--workers N]

runs this stage alone.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import random
import re
import select
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any, Callable, Sequence

from benchmarks.inputs import SEED
from benchmarks.rawhttp import Connection, request_bytes
from benchmarks.process import ROOT, _last_line, child_env
from benchmarks.report import Figure
from benchmarks.speed import _percentile

CONCURRENCY = 50
ROUNDS = 20               # 1,000 measured events: the median moves less from run to run
WARMUP_ROUNDS = 1
WORKERS = 2              # WEB_CONCURRENCY: one web process per core of this machine
ACK_P99_LIMIT_MS = 100.0
REPLY_P50_LIMIT_MS = 50.0
REPLY_P99_LIMIT_MS = 250.0
START_TIMEOUT_S = 120
ROUND_TIMEOUT_S = 15
STUB_NICE = 19           # the stand-in's CPU priority: the lowest
SETTLE_S = 0.25          # pause between rounds: the last round's database writes finish
LATE_GRACE_S = 0.5       # after the last round: time for a duplicate reply to show up
SECTION = f"Slack over HTTP: {CONCURRENCY} concurrent signed app_mention events"

SIGNING_SECRET = "bench-signing-secret"
BOT_TOKEN = "xoxb-bench-token"
TEAM = "TBENCH"
BOT_USER = "UBOT"        # what the stand-in's auth.test says the bot is
LISTENING = re.compile(r"listening on http://127\.0\.0\.1:(\d+)")


def now() -> float:
    return time.clock_gettime(time.CLOCK_MONOTONIC)


class _Child:
    """A child process that is ready once a line of its stdout matches `ready`."""

    def __init__(self, name: str, command: list[str], env: dict[str, str], tmp: Path) -> None:
        self.name = name
        self.stderr_path = tmp / f"{name}.stderr"
        self._stderr = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen(command, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=self._stderr)

    def error(self, what: str) -> RuntimeError:
        return RuntimeError(f"{self.name} {what}: {_last_line(self.stderr_path.read_text(errors='replace'))}")

    def ready(self, pattern: re.Pattern[str]) -> re.Match[str]:
        deadline = time.monotonic() + START_TIMEOUT_S
        assert self.proc.stdout is not None
        while True:
            readable, _, _ = select.select([self.proc.stdout], [], [], max(0.0, deadline - time.monotonic()))
            if not readable:
                raise self.error(f"not listening after {START_TIMEOUT_S} s")
            line = self.proc.stdout.readline()
            if not line:
                self.proc.wait()
                raise self.error(f"exited with {self.proc.returncode} before listening")
            if found := pattern.search(line.decode(errors="replace")):
                return found

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        self._stderr.close()
        if self.proc.returncode not in (0, -signal.SIGTERM):
            raise self.error(f"exited with {self.proc.returncode}")


class Server:
    """The Slack stand-in and the app (`python -m bot run`), each in its own process."""

    def __init__(self, tmp: Path, workers: int = WORKERS, stub_args: Sequence[str] = (),
                 env: dict[str, str] | None = None) -> None:
        self.tmp = tmp
        self.workers = workers
        self.stub_args = list(stub_args)   # faults for the stand-in (benchmarks/slack_server.py)
        self.env = dict(env or {})         # more settings for the app
        self.children: list[_Child] = []
        self.app_port = self.stub_port = 0
        self.app_pids: list[int] = []

    def app_env(self) -> dict[str, str]:
        from bot.settings import Settings

        base = Settings.from_env()  # the model, intents and responses from the usual places
        env = {k: v for k, v in child_env().items()
               if not k.startswith(("SLACK_", "MICROSOFT_", "DIGEST_", "TEAMS", "INGEST_"))}
        env.update({"SYNCMEDIC_ROOT": str(base.root), "SYNCMEDIC_DATA_DIR": str(base.data_dir),
                    "HOST": "127.0.0.1", "PORT": "0", "WEB_CONCURRENCY": str(self.workers),
                    "SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET,
                    "SLACK_API_BASE_URL": f"http://127.0.0.1:{self.stub_port}/api/",
                    "DATABASE_URL": f"sqlite:///{self.tmp / 'bench.db'}", "SCHEDULER": "off", "TEAMS": "off",
                    "LOG_LEVEL": "WARNING", **self.env})
        return env

    def __enter__(self) -> "Server":
        try:
            stub = _Child("stub", [sys.executable, "-m", "benchmarks.slack_server", *self.stub_args], child_env(),
                          self.tmp)
            self.children.append(stub)
            # Slack's servers are not on the bot's machine: the stand-in takes only what the
            # app leaves of the cores (its arrival times are the kernel's, see the docstring).
            os.setpriority(os.PRIO_PROCESS, stub.proc.pid, STUB_NICE)
            self.stub_port = int(stub.ready(re.compile(r'"stub_port": (\d+)')).group(1))
            app = _Child("app", [sys.executable, "-m", "bot", "run"], self.app_env(), self.tmp)
            self.children.append(app)
            self.app_port = int(app.ready(LISTENING).group(1))
            self.app_pids = _processes(app.proc.pid)
        except BaseException:
            self._stop_all()
            raise
        return self

    def _stop_all(self) -> list[RuntimeError]:
        errors = []
        for child in reversed(self.children):
            try:
                child.stop()
            except RuntimeError as exc:
                errors.append(exc)
        return errors

    def __exit__(self, *exc: Any) -> None:
        errors = self._stop_all()
        if errors and exc[0] is None:
            raise errors[0]

    def warnings(self) -> list[str]:
        return [ln for child in self.children for ln in child.stderr_path.read_text(errors="replace").splitlines()
                if (" WARNING " in ln or " ERROR " in ln) and "`token` will be unused" not in ln]


def _processes(pid: int) -> list[int]:
    """The process and its children (the web workers, when it forks them)."""
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        children = []
    return [pid, *map(int, children)]


def _cpu_seconds(pids: Sequence[int]) -> tuple[float, float]:
    """CPU time (user + system) the processes have used: (their main threads, all other threads)."""
    tick = os.sysconf("SC_CLK_TCK")
    main = other = 0.0
    for pid in pids:
        try:
            tasks = list(Path(f"/proc/{pid}/task").iterdir())
        except OSError:
            continue
        for task in tasks:
            try:
                fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:  # the thread ended meanwhile
                continue
            used = (int(fields[11]) + int(fields[12])) / tick  # utime, stime
            if task.name == str(pid):
                main += used
            else:
                other += used
    return main, other


def own_channel(n: int) -> str:
    """Event n's channel in the normal run: a channel of its own."""
    return f"CBENCH{n:05d}"


def _events(texts: Sequence[str], first: int, count: int, epoch: int, port: int,
            channel_of: Callable[[int], str] = own_channel) -> list[tuple[tuple[str, str], bytes]]:
    """`count` signed event_callback requests: ((channel, ts), the whole HTTP request)."""
    from slack_sdk.signature import SignatureVerifier

    signer = SignatureVerifier(SIGNING_SECRET)
    out = []
    for n in range(first, first + count):
        channel, ts = channel_of(n), f"{epoch + n}.{n % 1_000_000:06d}"
        event = {"type": "app_mention", "client_msg_id": str(uuid.UUID(int=n)), "user": f"U{n % 7:03d}PERSON",
                 "text": f"<@{BOT_USER}> {texts[n % len(texts)]}", "ts": ts, "team": TEAM, "channel": channel,
                 "event_ts": ts}
        body = json.dumps({"token": "legacy-verification-token", "team_id": TEAM, "api_app_id": "ABENCH",
                           "event": event, "type": "event_callback", "event_id": f"Ev{n:010d}",
                           "event_time": epoch + n, "authorizations": [
                               {"enterprise_id": None, "team_id": TEAM, "user_id": BOT_USER, "is_bot": True,
                                "is_enterprise_install": False}],
                           "is_ext_shared_channel": False}).encode()
        stamp = str(int(time.time()))
        headers = {"Content-Type": "application/json", "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
                   "X-Slack-Request-Timestamp": stamp,
                   "X-Slack-Signature": signer.generate_signature(timestamp=stamp, body=body)}
        out.append(((channel, ts), request_bytes("POST", "127.0.0.1", port, "/slack/events", body, headers)))
    return out


async def _send_round(connections: Sequence[Connection], events, stub_port: int, replies: int,
                      exclude: Sequence[str] = ()) -> tuple[list[tuple[tuple[str, str], float, float, int]], int]:
    """Write every event, one per connection, as fast as the loop can; wait until the stand-in
    has `replies` replies in all (those in `exclude`d channels not counted) or the round times
    out; then read the acknowledgements, which waited in the kernel with their arrival stamps.
    Returns ((key, sent, acked, status) per event, the replies the stand-in has)."""
    started = []
    for connection, (key, raw) in zip(connections, events):
        connection.pause_reading()
        sent = now()
        started.append((key, sent, connection.send(raw)))
    arrived = (await _get(stub_port, f"/__wait?n={replies}&timeout={ROUND_TIMEOUT_S}"
                               f"&exclude={','.join(exclude)}"))["count"]
    for connection in connections:
        connection.resume_reading()
    results = []
    for connection, (key, sent, waiting) in zip(connections, started):
        try:
            status, _body, acked = await asyncio.wait_for(waiting, ROUND_TIMEOUT_S)
        except (TimeoutError, ConnectionError):  # never acknowledged: infinitely late, status 0
            status, acked = 0, math.inf
            connection.close()  # a late answer must not pass for the next round's (see _load)
        results.append((key, sent, acked, status))
    return results, arrived


async def _get(port: int, path: str, timeout: float = ROUND_TIMEOUT_S + 5) -> Any:
    connection = await Connection.open("127.0.0.1", port)
    try:
        status, body, _ = await asyncio.wait_for(connection.send(request_bytes("GET", "127.0.0.1", port, path)),
                                                 timeout)
    finally:
        connection.close()
    if status != 200:
        raise RuntimeError(f"GET {path} answered {status}")
    return json.loads(body)


async def _load(server: Server, texts: Sequence[str], rounds: int = ROUNDS, channel_of: Callable[[int], str] = own_channel,
                exclude: Sequence[str] = ()) -> dict[str, Any]:
    """`rounds` measured rounds of CONCURRENCY events (event n in `channel_of(n)`); a round is
    over when the replies of every event outside the `exclude`d channels have arrived."""
    epoch = int(time.time()) - 100_000
    waited = sum(1 for n in range(CONCURRENCY) if channel_of(n) not in exclude)  # replies per round
    sent: list[tuple[tuple[str, str], float, float, int]] = []
    warm_keys: set[tuple[str, str]] = set()
    timeouts = 0
    cpu_before = (0.0, 0.0)
    connections = [await Connection.open("127.0.0.1", server.app_port) for _ in range(CONCURRENCY)]
    try:
        for r in range(WARMUP_ROUNDS + rounds):
            events = _events(texts, r * CONCURRENCY, CONCURRENCY, epoch, server.app_port,  # before the clock starts
                             channel_of)
            connections = [c if not c.closed else await Connection.open("127.0.0.1", server.app_port)
                           for c in connections]
            if r == WARMUP_ROUNDS:
                cpu_before = _cpu_seconds(server.app_pids)
            results, arrived = await _send_round(connections, events, server.stub_port, (r + 1) * waited, exclude)
            if r < WARMUP_ROUNDS:
                warm_keys.update(k for k, *_ in results)
            else:
                sent += results
                timeouts += arrived < (r + 1) * waited
            await asyncio.sleep(SETTLE_S)
        await asyncio.sleep(LATE_GRACE_S)
        cpu_after = _cpu_seconds(server.app_pids)
        records = await _get(server.stub_port, "/__records")
    finally:
        for connection in connections:
            connection.close()
    return {"sent": sent, "warm_keys": warm_keys, "records": records, "timeouts": timeouts,
            "workers": len(server.app_pids) - 1 or 1,
            "cpu": [after - before for before, after in zip(cpu_before, cpu_after)]}


def _measure(texts: Sequence[str], workers: int = WORKERS) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="syncmedic-bench-slack-") as tmp:
        with Server(Path(tmp), workers) as server:
            started = time.perf_counter()
            result = asyncio.run(_load(server, texts))
            result["load_seconds"] = time.perf_counter() - started
        result["server_warnings"] = server.warnings()  # after the with: includes what shutdown logged
    return result


def _ms(values: Sequence[float]) -> dict[str, float | None]:
    """p50/p95/p99/max in ms; None where the percentile reaches an event that was never answered (inf)."""
    ordered = sorted(values)
    out: dict[str, float | None] = {}
    for name, q in (("p50", .50), ("p95", .95), ("p99", .99), ("max", 1.0)):
        reaches = ordered[min(math.ceil((len(ordered) - 1) * q), len(ordered) - 1)]
        out[name] = None if math.isinf(reaches) else _percentile(ordered, q) * 1000
    return out


def figures_from(result: dict[str, Any]) -> list[Figure]:
    section = SECTION
    sent = result["sent"]
    n = len(sent)
    replies = [r for r in result["records"]["replies"]
               if (r["channel"], r["thread_ts"]) not in result["warm_keys"]]
    by_key: dict[tuple[str, str], list[float]] = defaultdict(list)
    for r in replies:
        by_key[(r["channel"], r["thread_ts"])].append(r["arrived"])
    sent_keys = {k for k, *_ in sent}
    stray = sum(len(v) for k, v in by_key.items() if k not in sent_keys)
    duplicated = sum(1 for k in sent_keys if len(by_key.get(k, ())) > 1)
    unanswered = sum(1 for k in sent_keys if not by_key.get(k))
    bad_acks = Counter(status for _k, _s, _a, status in sent if status != 200)

    acks = [acked - started for _k, started, acked, _st in sent]
    # An event never answered counts as infinitely late: a percentile that reaches one is n/a (FAIL).
    reply_lat = [min(by_key[k]) - started if by_key.get(k) else math.inf for k, started, _a, _st in sent]
    a = _ms(acks)
    r = _ms(reply_lat)
    runs = f"{ROUNDS} rounds x {CONCURRENCY} after {WARMUP_ROUNDS} warm-up, {result['workers']} web process(es)"
    ack_note = f"n={n}, {runs}" + (f"; non-200 acks: {dict(bad_acks)}" if bad_acks else "")
    reply_note = f"n={n}" + (f"; {unanswered} never answered (infinitely late)" if unanswered else "")
    if result["timeouts"]:
        reply_note += f"; {result['timeouts']} round(s) waited {ROUND_TIMEOUT_S} s for missing replies"
    count_note = (f"{len(replies)} chat.postMessage for {n} events: {unanswered} unanswered, {duplicated} answered "
                  f"more than once, {stray} for unknown threads; {result['load_seconds']:.1f} s under load")
    if result["server_warnings"]:
        count_note += f"; server logged {len(result['server_warnings'])} warning(s): {result['server_warnings'][0][:160]}"
    loop_cpu, worker_cpu = (seconds / n * 1000 for seconds in result["cpu"])
    return [
        Figure("slack.ack_p50_ms", section, "ack latency p50", a["p50"], "ms", detail=ack_note),
        Figure("slack.ack_p95_ms", section, "ack latency p95", a["p95"], "ms"),
        Figure("slack.ack_p99_ms", section, "ack latency p99", a["p99"], "ms", ACK_P99_LIMIT_MS, "<="),
        Figure("slack.ack_max_ms", section, "ack latency max", a["max"], "ms"),
        Figure("slack.reply_p50_ms", section, "event-to-reply-posted p50", r["p50"], "ms", REPLY_P50_LIMIT_MS, "<=",
               detail=reply_note),
        Figure("slack.reply_p95_ms", section, "event-to-reply-posted p95", r["p95"], "ms"),
        Figure("slack.reply_p99_ms", section, "event-to-reply-posted p99", r["p99"], "ms", REPLY_P99_LIMIT_MS, "<="),
        Figure("slack.reply_max_ms", section, "event-to-reply-posted max", r["max"], "ms"),
        Figure("slack.replies", section, f"replies posted ({n} events sent)", len(replies), "count", n, "==",
               detail=count_note),
        Figure("slack.answered_once", section, "events answered exactly once", n - unanswered - duplicated, "count",
               n, "=="),
        Figure("slack.cpu_loop_ms_per_event", section, "server CPU per event: event-loop threads", loop_cpu, "ms",
               detail="bolt, aiohttp server and client, model, rendering (all web processes)"),
        Figure("slack.cpu_workers_ms_per_event", section, "server CPU per event: other threads", worker_cpu, "ms",
               detail=f"database writes; a burst of {CONCURRENCY} needs {CONCURRENCY * (loop_cpu + worker_cpu):.0f} ms "
                      f"of CPU, shared by {result['workers']} process(es)"),
    ]


def shuffled(texts: Sequence[str]) -> list[str]:
    """`texts` (realistic error messages: the held-out in-scope texts) in a fixed shuffle."""
    if not texts:
        raise ValueError("no texts to send")
    mixed = list(texts)
    random.Random(SEED).shuffle(mixed)
    return mixed


def run(texts: Sequence[str], workers: int = WORKERS) -> list[Figure]:
    return figures_from(_measure(shuffled(texts), workers))


def main(argv: list[str] | None = None, *, prog: str = "python -m benchmarks.slack_http", doc: str = __doc__ or "",
         measure: Callable[[Sequence[str], int], list[Figure]] = run) -> int:
    """The command line of this benchmark, and of the others that drive the app the same way."""
    from bot.core.nlu.catalog import OUT_OF_SCOPE, load_catalog
    from bot.core.model.examples import load_heldout_examples
    from bot.settings import Settings

    from benchmarks.report import as_json, table

    parser = argparse.ArgumentParser(prog=prog, description=doc.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--workers", type=int, default=WORKERS, help=f"WEB_CONCURRENCY for the app (default {WORKERS})")
    args = parser.parse_args(argv)
    settings = Settings.from_env()
    texts = [e.text for e in load_heldout_examples(settings.training_dir, load_catalog(settings.intents_dir))
             if e.intent != OUT_OF_SCOPE]
    figures = measure(texts, args.workers)
    print(as_json(figures, {}) if args.json else table(figures))
    return 1 if any(f.failed for f in figures) else 0


if __name__ == "__main__":
    sys.exit(main())
