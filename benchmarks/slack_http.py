"""Slack delivery over real HTTP: signed app_mention events in, threaded replies out.

The server side runs in child processes (benchmarks/slack_server.py): the real app from
create_app(settings, core, store, background=False) served by aiohttp over a fresh SQLite
database in a temporary directory, and, in a process of its own, a local stand-in for the Slack
Web API that records when each chat.postMessage arrives. This process is only the load
generator, so the client's own work does not run on the app's event loop (nor on its GIL).

Each round sends CONCURRENCY signed `app_mention` events at once (distinct channel and ts,
held-out error texts), after one unmeasured warm-up round. Per event:
  ack      from starting the POST to /slack/events until its HTTP response has been read
  reply    from starting that POST until the stand-in receives the chat.postMessage for the same
           channel + thread_ts (both clocks are CLOCK_MONOTONIC on this machine)
Every event must get exactly one reply. Rounds start on a quiet server (the previous round's
replies all arrived, then a short pause for its last database writes).

    python -m benchmarks.slack_http [--json] [--profile FILE] [--trace]

runs this stage alone. For finding where the time goes: --profile writes a cProfile of the app
process (on Python 3.12 it records every thread, in wall-clock time), --trace prints the reply
path stage by stage, SQLite write-lock waits and event-loop lag (timing wrappers installed in the
app process; they add some overhead of their own, so the gated run does not use them).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import random
import select
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any, Sequence

from .inputs import SEED
from .process import ROOT, _last_line, child_env
from .report import Figure
from .speed import _percentile

CONCURRENCY = 50
ROUNDS = 5
WARMUP_ROUNDS = 1
ACK_P99_LIMIT_MS = 100.0
REPLY_P50_LIMIT_MS = 50.0
REPLY_P99_LIMIT_MS = 250.0
START_TIMEOUT_S = 60
ROUND_TIMEOUT_S = 15
SEPARATE_STUB = True    # the Slack stand-in in a process of its own (see Server)
SETTLE_S = 0.25          # pause between rounds: the last round's database writes finish
LATE_GRACE_S = 0.5       # after the last round: time for a duplicate reply to show up
SECTION = f"Slack over HTTP: {CONCURRENCY} concurrent signed app_mention events"

SIGNING_SECRET = "bench-signing-secret"
BOT_TOKEN = "xoxb-bench-token"
TEAM = "TBENCH"
BOT_USER = "UBOT"        # what the stand-in's auth.test says the bot is


def now() -> float:
    return time.clock_gettime(time.CLOCK_MONOTONIC)


class _Child:
    """One `python -m benchmarks.slack_server` process; ready once it prints its ports."""

    def __init__(self, name: str, config: dict[str, Any], tmp: Path) -> None:
        self.name = name
        self.stderr_path = tmp / f"{name}.stderr"
        self._stderr = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen([sys.executable, "-m", "benchmarks.slack_server", json.dumps(config)],
                                     cwd=ROOT, env=child_env(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=self._stderr)

    def error(self, what: str) -> RuntimeError:
        return RuntimeError(f"{self.name} {what}: {_last_line(self.stderr_path.read_text(errors='replace'))}")

    def ready(self) -> dict[str, int]:
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
            try:
                return json.loads(line)
            except ValueError:
                continue

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
    """The Slack stand-in and the app, each in its own process (a context manager).

    The stand-in gets a process of its own so that its work does not run on the app's event loop
    and a reply's arrival time is not delayed by the app's backlog (SEPARATE_STUB = False puts the
    two in one process, as the smoke test does)."""

    def __init__(self, tmp: Path, profile: str | None = None, trace: str | None = None) -> None:
        self.tmp = tmp
        self.config = {"db_url": f"sqlite:///{tmp / 'bench.db'}", "signing_secret": SIGNING_SECRET,
                       "bot_token": BOT_TOKEN, "profile": profile, "trace": trace}
        self.children: list[_Child] = []
        self.app_port = self.stub_port = 0
        self.app_pid = 0

    def __enter__(self) -> "Server":
        try:
            if SEPARATE_STUB:
                stub = _Child("stub", {"role": "stub"}, self.tmp)
                self.children.append(stub)
                self.stub_port = stub.ready()["stub_port"]
                app = _Child("app", {**self.config, "role": "app", "stub_port": self.stub_port}, self.tmp)
            else:
                app = _Child("app", {**self.config, "role": "both"}, self.tmp)
            self.children.append(app)
            ports = app.ready()
            self.app_port, self.stub_port, self.app_pid = ports["app_port"], ports["stub_port"], app.proc.pid
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
                if " WARNING " in ln or " ERROR " in ln]


def _cpu_seconds(pid: int) -> tuple[float, float]:
    """CPU time (user + system) the process has used: (its main thread, all other threads)."""
    tick = os.sysconf("SC_CLK_TCK")
    main = other = 0.0
    for task in Path(f"/proc/{pid}/task").iterdir():
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


def _events(texts: Sequence[str], first: int, count: int, epoch: int) -> list[tuple[tuple[str, str], bytes, dict]]:
    """`count` signed event_callback bodies: ((channel, ts), body, headers)."""
    from slack_sdk.signature import SignatureVerifier

    signer = SignatureVerifier(SIGNING_SECRET)
    out = []
    for n in range(first, first + count):
        channel, ts = f"CBENCH{n:05d}", f"{epoch + n}.{n % 1_000_000:06d}"
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
        out.append(((channel, ts), body, headers))
    return out


async def _send_round(session, url: str, events) -> list[tuple[tuple[str, str], float, float, int]]:
    async def one(key, body, headers):
        sent = now()
        async with session.post(url, data=body, headers=headers) as resp:
            await resp.read()
            return key, sent, now(), resp.status

    return await asyncio.gather(*(one(*e) for e in events))


async def _load(server: Server, texts: Sequence[str]) -> dict[str, Any]:
    import aiohttp

    url = f"http://127.0.0.1:{server.app_port}/slack/events"
    stub = f"http://127.0.0.1:{server.stub_port}"
    epoch = int(time.time()) - 100_000
    sent: list[tuple[tuple[str, str], float, float, int]] = []
    warm_keys: set[tuple[str, str]] = set()
    timeouts = 0
    cpu_before = (0.0, 0.0)
    connector = aiohttp.TCPConnector(limit=CONCURRENCY * 2)
    async with aiohttp.ClientSession(connector=connector) as session:
        for r in range(WARMUP_ROUNDS + ROUNDS):
            events = _events(texts, r * CONCURRENCY, CONCURRENCY, epoch)  # signed before the clock starts
            if r == WARMUP_ROUNDS:
                cpu_before = _cpu_seconds(server.app_pid)
            results = await _send_round(session, url, events)
            async with session.get(f"{stub}/__wait", params={"n": str((r + 1) * CONCURRENCY),
                                                             "timeout": str(ROUND_TIMEOUT_S)}) as resp:
                arrived = (await resp.json())["count"]
            if r < WARMUP_ROUNDS:
                warm_keys.update(k for k, *_ in results)
            else:
                sent += results
                timeouts += arrived < (r + 1) * CONCURRENCY
            await asyncio.sleep(SETTLE_S)
        await asyncio.sleep(LATE_GRACE_S)
        cpu_after = _cpu_seconds(server.app_pid)
        async with session.get(f"{stub}/__records") as resp:
            records = await resp.json()
    return {"sent": sent, "warm_keys": warm_keys, "records": records, "timeouts": timeouts,
            "cpu": [after - before for before, after in zip(cpu_before, cpu_after)]}


def _measure(texts: Sequence[str], profile: str | None = None, trace: bool = False) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="syncmedic-bench-slack-") as tmp:
        trace_path = str(Path(tmp) / "trace.json") if trace else None
        with Server(Path(tmp), profile, trace_path) as server:
            started = time.perf_counter()
            result = asyncio.run(_load(server, texts))
            result["load_seconds"] = time.perf_counter() - started
        result["server_warnings"] = server.warnings()  # after the with: includes what shutdown logged
        if trace_path:
            result["trace"] = json.loads(Path(trace_path).read_text())
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
    runs = f"{ROUNDS} rounds x {CONCURRENCY} after {WARMUP_ROUNDS} warm-up"
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
        Figure("slack.cpu_loop_ms_per_event", section, "server CPU per event: event-loop thread", loop_cpu, "ms",
               detail="bolt, aiohttp server, Slack client, rendering"
                      + ("" if SEPARATE_STUB else "; includes the Slack stand-in's share")),
        Figure("slack.cpu_workers_ms_per_event", section, "server CPU per event: worker threads", worker_cpu, "ms",
               detail="asyncio.to_thread: database writes and diagnosis; a burst of "
                      f"{CONCURRENCY} needs {CONCURRENCY * (loop_cpu + worker_cpu):.0f} ms of CPU"),
    ]


def run(texts: Sequence[str], profile: str | None = None, trace: bool = False) -> list[Figure]:
    """`texts`: realistic error messages (the held-out in-scope texts), used in a fixed shuffle."""
    if not texts:
        raise ValueError("no texts to send")
    mixed = list(texts)
    random.Random(SEED).shuffle(mixed)
    result = _measure(mixed, profile, trace)
    figures = figures_from(result)
    if trace:
        print(trace_report(result), file=sys.stderr)
    return figures


# -- investigation: where the reply time goes ---------------------------------------------------

_STAGES = ("accept", "record_event", "answer", "diagnose", "handle", "open_case", "schedule", "slack", "post",
           "set_reply_ref", "finish_event")


def trace_report(result: dict[str, Any]) -> str:
    """Per stage, over the measured events: when it started, how long it took, and (for the code that
    runs synchronously, on a worker thread or on the loop) how much CPU its thread used, in ms."""
    trace = result["trace"]
    sent = {k: (started, acked) for k, started, acked, _st in result["sent"]}
    stages: dict[tuple[str, str], dict[str, tuple[float, float, float | None]]] = defaultdict(dict)
    threads: Counter = Counter()
    for stage, channel, ts, start, end, thread, cpu in trace["rows"]:
        if (channel, ts) in sent:
            stages[(channel, ts)][stage] = (start, end, cpu)
            threads[thread] += 1
    arrived = {(r["channel"], r["thread_ts"]): r["arrived"] for r in result["records"]["replies"]}
    lines = [f"{'stage (ms; start = after the POST)':<38} {'start p50':>9} {'start p99':>9} {'took p50':>9} "
             f"{'took p99':>9} {'took max':>9} {'cpu p50':>8} {'cpu p99':>8}"]

    def pct(values: list[float], q: float) -> str:
        return f"{_percentile(values, q) * 1e3:.1f}" if values else "-"

    def row(name: str, starts: list[float], took: list[float], cpu: list[float] = ()) -> None:
        if took:
            lines.append(f"{name:<38} {pct(starts, .5):>9} {pct(starts, .99):>9} {pct(took, .5):>9} "
                         f"{pct(took, .99):>9} {max(took) * 1e3:9.1f} {pct(list(cpu), .5):>8} "
                         f"{pct(list(cpu), .99):>8}")

    for stage in _STAGES:
        found = [(st[stage], sent[key][0]) for key, st in stages.items() if stage in st]
        row(stage, [s - t0 for (s, _e, _c), t0 in found], [e - s for (s, e, _c), _t0 in found],
            [c for (_s, _e, c), _t0 in found if c is not None])

    def gap(name: str, values: list[float]) -> None:
        row(name, [], values)

    gap("  thread queue: accept -> record_event", [st["record_event"][0] - st["accept"][0]
                                                   for st in stages.values() if "accept" in st and "record_event" in st])
    gap("  thread queue: answer -> diagnose", [st["diagnose"][0] - st["answer"][0]
                                               for st in stages.values() if "answer" in st and "diagnose" in st])
    gap("  loop resumes: diagnose -> slack", [st["slack"][0] - st["diagnose"][1]
                                              for st in stages.values() if "slack" in st and "diagnose" in st])
    gap("  ack read by client after accept", [sent[k][1] - st["accept"][1] for k, st in stages.items()
                                              if "accept" in st])
    gap("  stub has it after post started", [arrived[k] - st["post"][0] for k, st in stages.items()
                                             if "post" in st and k in arrived])
    first = min(t0 for t0, _a in sent.values())
    last = max(arrived.get(k, first) for k in sent)
    waits = [e - s for s, e in trace["begins"] if first <= s <= last]
    lags = [lag for when, lag in trace["loop_lag"] if first <= when <= last]
    lines.append(f"SQLite BEGIN IMMEDIATE (write-lock wait), {len(waits)} transactions under load: "
                 f"p50 {pct(waits, .5)} ms, p90 {pct(waits, .9)} ms, p99 {pct(waits, .99)} ms, "
                 f"max {max(waits, default=0) * 1e3:.1f} ms, sum {sum(waits) * 1e3:.0f} ms; "
                 f"over 5 ms: {sum(w > 0.005 for w in waits)}")
    lines.append(f"event-loop lag (a 5 ms timer fires late by), {len(lags)} samples under load: p50 {pct(lags, .5)} ms, "
                 f"p90 {pct(lags, .9)} ms, max {max(lags, default=0) * 1e3:.1f} ms")
    lines.append("calls by thread: " + ", ".join(f"{t} {c}" for t, c in sorted(threads.items())))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    from bot.core.catalog import OUT_OF_SCOPE, load_catalog
    from bot.core.training_data import load_heldout_examples
    from bot.settings import Settings

    from .report import as_json, table

    parser = argparse.ArgumentParser(prog="python -m benchmarks.slack_http", description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--profile", metavar="FILE", help="write a cProfile of the app process")
    parser.add_argument("--trace", action="store_true", help="print the reply path's stage timings on stderr")
    args = parser.parse_args(argv)
    settings = Settings.from_env()
    texts = [e.text for e in load_heldout_examples(settings.training_dir, load_catalog(settings.intents_dir))
             if e.intent != OUT_OF_SCOPE]
    figures = run(texts, os.path.abspath(args.profile) if args.profile else None, args.trace)
    print(as_json(figures, {}) if args.json else table(figures))
    return 1 if any(f.failed for f in figures) else 0


if __name__ == "__main__":
    sys.exit(main())
