"""Slack over HTTP under faults: one channel hangs, one is throttled; the others must not notice.

The set-up of benchmarks/slack_http.py (`python -m bot run` with WEB_CONCURRENCY=2, SQLite, the
bare-asyncio stand-ins, kernel timestamps), with one difference in the load and two in Slack:
each round's CONCURRENCY events go to CHANNELS channels, several to each, and the Web API
stand-in (benchmarks/slack_server.py) never answers chat.postMessage in one channel (Slack
took the post; the answer never comes) and holds another to Slack's limit of about one post
a second per channel (HTTP 429, Retry-After: 1). A round is over when the replies of the
other channels have arrived, so the backlogs of the two bad channels grow from round to round.

Gated: the other channels' reply p99 (<= 250 ms, as in the normal run) and no message answered
twice anywhere. Shown: acknowledgements in every channel, the throttled channel's replies (one a
second) and the hung channel's (each given up after OUTBOUND_DEADLINE, then found in its thread
and adopted).

    python -m benchmarks.slack_faults [--json] [--workers N]

runs this stage alone.
"""

from __future__ import annotations

import asyncio
import math
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any, Sequence

from benchmarks.report import Figure
from benchmarks import slack_http
from benchmarks.slack_http import (ACK_P99_LIMIT_MS, CONCURRENCY, REPLY_P99_LIMIT_MS, WARMUP_ROUNDS, WORKERS, Server,
                                   _load, _ms, shuffled)

CHANNELS = 10
ROUNDS = 10               # 500 measured events, 400 of them in the channels that work
HUNG, THROTTLED = "CFAULT00", "CFAULT01"
DEADLINE_S = 3            # OUTBOUND_DEADLINE for this run: short enough to see hung posts given up and adopted
SECTION = (f"Slack under faults: {CONCURRENCY} concurrent events across {CHANNELS} channels, "
           "one hung and one throttled")


def channel_of(n: int) -> str:
    return f"CFAULT{n % CHANNELS:02d}"


def _measure(texts: Sequence[str], workers: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="syncmedic-bench-faults-") as tmp:
        with Server(Path(tmp), workers, stub_args=["--hang", HUNG, "--throttle", THROTTLED],
                    env={"OUTBOUND_DEADLINE": f"{DEADLINE_S}s"}) as server:
            started = time.perf_counter()
            result = asyncio.run(_load(server, texts, ROUNDS, channel_of, exclude=(HUNG, THROTTLED)))
            result["load_seconds"] = time.perf_counter() - started
        result["server_warnings"] = server.warnings()
    return result


def figures_from(result: dict[str, Any]) -> list[Figure]:
    section = SECTION
    sent = result["sent"]
    replies = [r for r in result["records"]["replies"] if (r["channel"], r["thread_ts"]) not in result["warm_keys"]]
    by_key: dict[tuple[str, str], list[float]] = defaultdict(list)
    for r in replies:
        by_key[(r["channel"], r["thread_ts"])].append(r["arrived"])
    duplicated = sum(1 for times in by_key.values() if len(times) > 1)
    others = [(k, started) for k, started, _a, _s in sent if k[0] not in (HUNG, THROTTLED)]
    late = {k: min(by_key[k]) - started if by_key.get(k) else math.inf for k, started in others}
    unanswered = sum(1 for v in late.values() if math.isinf(v))
    reply = _ms(list(late.values()))
    acks = _ms([acked - started for _k, started, acked, _s in sent])
    throttled = [min(by_key[k]) - started for k, started, _a, _s in sent if k[0] == THROTTLED and by_key.get(k)]
    hung = sum(1 for r in result["records"]["replies"] if r["channel"] == HUNG)  # the warm-up's too
    per_channel = CONCURRENCY // CHANNELS * ROUNDS
    calls = result["records"]["calls"]
    note = (f"n={len(others)} in {CHANNELS - 2} channels, {ROUNDS} rounds x {CONCURRENCY} after {WARMUP_ROUNDS} "
            f"warm-up, {result['workers']} web process(es); {result['load_seconds']:.1f} s under load")
    if unanswered:
        note += f"; {unanswered} never answered (infinitely late)"
    if result["server_warnings"]:
        note += f"; server logged {len(result['server_warnings'])} warning(s): {result['server_warnings'][0][:160]}"
    return [
        Figure("slack_faults.ack_p99_ms", section, "ack latency p99, every channel", acks["p99"], "ms",
               detail=f"the normal run's target is {ACK_P99_LIMIT_MS:.0f} ms; n={len(sent)}"),
        Figure("slack_faults.reply_p50_ms", section, "other channels: event-to-reply-posted p50", reply["p50"], "ms",
               detail=note),
        Figure("slack_faults.reply_p99_ms", section, "other channels: event-to-reply-posted p99", reply["p99"], "ms",
               REPLY_P99_LIMIT_MS, "<="),
        Figure("slack_faults.answered_twice", section, "messages answered more than once (any channel)", duplicated,
               "count", 0, "=="),
        Figure("slack_faults.throttled_replies", section, f"throttled channel: replies by the end ({per_channel} sent)",
               len(throttled), "count",
               detail=(f"one a second, as Slack allows: the last {max(throttled):.1f} s after its event; "
                       f"{calls.get('429', 0)} answered 429") if throttled else "none"),
        Figure("slack_faults.hung_replies", section,
               f"hung channel: replies posted, each then found and adopted ({per_channel + per_channel // ROUNDS} sent)",
               hung, "count", detail=f"one every OUTBOUND_DEADLINE ({DEADLINE_S} s), the warm-up round's first; "
                                     f"{calls.get('conversations.replies', 0)} conversations.replies"),
    ]


def run(texts: Sequence[str], workers: int = WORKERS) -> list[Figure]:
    return figures_from(_measure(shuffled(texts), workers))


def main(argv: list[str] | None = None) -> int:
    return slack_http.main(argv, prog="python -m benchmarks.slack_faults", doc=__doc__ or "", measure=run)


if __name__ == "__main__":
    sys.exit(main())
