"""Digest build time: 10,000 open sync errors in SQLite, grouped and rendered for Slack."""

from __future__ import annotations

import random
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import insert

from bot.core.cases.digest import build_digest
from bot.core.storage.store import Store
from bot.core.storage.tables import SyncErrorRow

from benchmarks.report import Figure

SECTION = "Daily digest"
OPEN_ERRORS = 10_000
RUNS = 5


def run(core) -> list[Figure]:
    problems = [i.id for i in core.catalog.problems]
    rng = random.Random(7)
    now = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
    with tempfile.TemporaryDirectory() as folder:
        store = Store.from_url(f"sqlite:///{Path(folder) / 'digest.db'}")
        rows = [{"kind": rng.choice(["Sale", "Purchase", "Payment", "Journal"]), "reference": f"REF-{n:06d}",
                 "intent": rng.choice(problems), "confidence": 0.99, "message": "error text", "entities": {},
                 "status": "open", "occurrences": 1, "first_seen": now - timedelta(minutes=rng.randint(1, 60 * 24 * 30)),
                 "last_seen": now, "source": "bench"} for n in range(OPEN_ERRORS)]
        with store.engine.begin() as conn:
            conn.execute(insert(SyncErrorRow), rows)
        timings = []
        for _ in range(RUNS):
            started = time.perf_counter()
            digest = build_digest(store, core.catalog, now)
            payload = core.renderer.digest("slack", digest)
            timings.append(time.perf_counter() - started)
        store.engine.dispose()
    ok = digest.total == OPEN_ERRORS and len(payload["blocks"]) <= 50
    return [
        Figure("digest.build_seconds", SECTION, f"digest for {OPEN_ERRORS:,} open errors built and rendered (median)",
               sorted(timings)[len(timings) // 2], "s", target=1.0, op="<=",
               detail=f"{len(digest.groups)} groups, {len(payload['blocks'])} Slack blocks; runs: "
                      + ", ".join(f"{t:.3f}" for t in timings)),
        Figure("digest.complete", SECTION, "every open error counted, within Slack's 50 blocks", 1.0 if ok else 0.0,
               "count", target=1.0, op="=="),
    ]
