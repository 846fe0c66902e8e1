"""Slack acknowledgements while a 100,000-row sync history is imported over HTTP, on SQLite.

The app runs as in production (`python -m bot run`, HTTP mode, WEB_CONCURRENCY web processes,
a fresh SQLite database, INGEST_TOKEN set), with the Slack Web API played by
benchmarks/slack_server.py. One POST to /api/sync-errors carries a 100,000-row CSV (kept under
the endpoint's 5 MB limit: short references, dates without times, one row in three an error).
While it runs, a signed app_mention is sent every EVENT_EVERY_S on its own connection, and the
time until its acknowledgement comes back is measured: Slack retries a delivery that is not
acknowledged within 3 s. Before the import was written a chunk of entries per transaction, it
held SQLite's write lock for about 6 s and an acknowledgement took 4.4 s.

    python -m benchmarks.import_acks [--json] [--workers N]

runs this stage alone.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from benchmarks.report import Figure
from benchmarks.slack_http import BOT_USER, SIGNING_SECRET, TEAM, Server
from benchmarks.speed import _percentile

ROWS = 100_000
ERROR_SHARE = 3           # one row in three is an error row (a bad week)
WORKERS = 2
EVENT_EVERY_S = 0.1
ACK_MAX_LIMIT_MS = 1000.0
IMPORT_TIMEOUT_S = 300
SECTION = f"Slack acknowledgements during a {ROWS:,}-row import over HTTP (SQLite)"

TOKEN = "bench-ingest-token"
ERRORS = ['Bill "{ref}" has not been exported to QuickBooks', "Unexpected user error. (-{n})",
          "Item version already exists in QBO", "Reference number is not unique (journal JE-{n})"]
EVENT_TEXT = "The transaction needs to be in the same currency as the A/R and A/P accounts you use"


def history(rows: int = ROWS, seed: int = 20261203) -> bytes:
    """A compact DEAR-shaped sync history: mostly entries that synced, some failing."""
    rng = random.Random(seed)
    lines = ["Date,Type,Reference,Status,Message"]
    for i in range(rows):
        day = f"2026-03-{1 + i % 28:02d}"
        if i % ERROR_SHARE == 0:
            message = rng.choice(ERRORS).format(ref=f"B{i}", n=rng.randint(1, 99_999))
            lines.append(f"{day},Bill,B{i},Error,{_field(message)}")
        else:
            lines.append(f"{day},Sale,S{i},Completed,")
    return ("\n".join(lines) + "\n").encode()


def _field(value: str) -> str:
    return '"' + value.replace('"', '""') + '"' if any(c in value for c in ',"\n') else value


def _event(n: int, epoch: int) -> tuple[bytes, dict[str, str]]:
    from slack_sdk.signature import SignatureVerifier

    ts = f"{epoch + n}.{n:06d}"
    event = {"type": "app_mention", "client_msg_id": str(uuid.UUID(int=n)), "user": "UPERSON",
             "text": f"<@{BOT_USER}> {EVENT_TEXT}", "ts": ts, "team": TEAM, "channel": f"CACK{n:05d}", "event_ts": ts}
    body = json.dumps({"token": "t", "team_id": TEAM, "api_app_id": "ABENCH", "event": event, "type": "event_callback",
                       "event_id": f"Ev{n:010d}", "event_time": epoch + n,
                       "authorizations": [{"enterprise_id": None, "team_id": TEAM, "user_id": BOT_USER,
                                           "is_bot": True, "is_enterprise_install": False}]}).encode()
    stamp = str(int(time.time()))
    return body, {"Content-Type": "application/json", "X-Slack-Request-Timestamp": stamp,
                  "X-Slack-Signature": SignatureVerifier(SIGNING_SECRET).generate_signature(timestamp=stamp, body=body)}


async def _load(port: int, csv: bytes) -> dict[str, Any]:
    import aiohttp

    base = f"http://127.0.0.1:{port}"
    epoch = int(time.time()) - 200_000
    acks: list[float] = []
    statuses: list[int] = []
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=IMPORT_TIMEOUT_S)) as session:
        async def one(n: int) -> None:
            body, headers = _event(n, epoch)
            started = time.perf_counter()
            # Its own connection, as Slack's deliveries come: not queued behind another request.
            async with aiohttp.ClientSession() as fresh, fresh.post(base + "/slack/events", data=body,
                                                                   headers=headers) as resp:
                await resp.read()
                statuses.append(resp.status)
            acks.append(time.perf_counter() - started)

        for n in range(3):  # warm-up: the first replies, out of the measurement
            await one(n)
        acks.clear()
        started = time.perf_counter()
        importing = asyncio.ensure_future(session.post(
            base + "/api/sync-errors", data=csv, headers={"Authorization": f"Bearer {TOKEN}",
                                                          "Content-Type": "text/csv"}))
        sent = []
        n = 3
        while not importing.done():
            sent.append(asyncio.ensure_future(one(n)))
            n += 1
            await asyncio.sleep(EVENT_EVERY_S)
        response = await importing
        report = await response.json()
        import_s = time.perf_counter() - started
        await asyncio.gather(*sent)
    if response.status != 200:
        raise RuntimeError(f"the import answered {response.status}: {report}")
    return {"acks": acks, "statuses": statuses, "import_s": import_s, "report": report}


def measure(workers: int = WORKERS) -> dict[str, Any]:
    csv = history()
    with tempfile.TemporaryDirectory(prefix="syncmedic-bench-import-acks-") as tmp_name:
        with Server(Path(tmp_name), workers, env={"INGEST_TOKEN": TOKEN}) as server:
            result = asyncio.run(_load(server.app_port, csv))
    result.update({"bytes": len(csv), "workers": workers})
    return result


def figures_from(result: dict[str, Any]) -> list[Figure]:
    acks = sorted(result["acks"])
    report = result["report"]
    bad = [s for s in result["statuses"] if s != 200]
    detail = (f"n={len(acks)} acks, one every {EVENT_EVERY_S:g} s while the import ran; "
              f"{result['workers']} web process(es)" + (f"; non-200 acks: {len(bad)}" if bad else ""))
    return [
        Figure("import_acks.ack_max_ms", SECTION, "slowest Slack acknowledgement during the import",
               acks[-1] * 1000 if acks else None, "ms", ACK_MAX_LIMIT_MS, "<=", detail=detail),
        Figure("import_acks.ack_p50_ms", SECTION, "Slack acknowledgement p50 during the import",
               _percentile(acks, .5) * 1000 if acks else None, "ms"),
        Figure("import_acks.import_seconds", SECTION, f"the import itself ({result['bytes'] / 1e6:.1f} MB of CSV)",
               result["import_s"], "s",
               detail=f"{report['rows_read']:,} rows, {report['errors_tracked']:,} errors tracked, "
                      f"{report['rows_read'] / result['import_s']:,.0f} rows/s"),
    ]


def run(workers: int = WORKERS) -> list[Figure]:
    return figures_from(measure(workers))


def main(argv: list[str] | None = None) -> int:
    from benchmarks.report import as_json, table

    parser = argparse.ArgumentParser(prog="python -m benchmarks.import_acks", description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--workers", type=int, default=WORKERS, help=f"WEB_CONCURRENCY for the app (default {WORKERS})")
    args = parser.parse_args(argv)
    figures = run(args.workers)
    print(as_json(figures, {}) if args.json else table(figures))
    return 1 if any(f.failed for f in figures) else 0


if __name__ == "__main__":
    sys.exit(main())
