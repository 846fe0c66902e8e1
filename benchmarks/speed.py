"""In-process cost of diagnosis: batch throughput, single-message latency, hostile inputs."""

from __future__ import annotations

import statistics
import time
from typing import Sequence

from benchmarks.inputs import bad_inputs, repeat_to
from benchmarks.report import Figure

BATCH_SIZE = 2_000
BATCH_RUNS = 5
BAD_INPUT_LIMIT_S = 2.0
COST_SECTION = "Classification cost (in process, after warm-up)"
BAD_SECTION = "Bad input: time to diagnose one message"


def _percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def throughput(engine, texts: Sequence[str]) -> list[Figure]:
    section = COST_SECTION
    batch = repeat_to(texts, BATCH_SIZE)
    engine.diagnose_many(texts[:200])  # warm-up: first-call allocations, regex and numpy caches
    runs = []
    for _ in range(BATCH_RUNS):
        started = time.perf_counter()
        answers = engine.diagnose_many(batch)
        runs.append(time.perf_counter() - started)
        assert len(answers) == len(batch)
    per_message = [r / len(batch) * 1000 for r in runs]

    for text in texts[:20]:
        engine.diagnose(text)
    single = []
    for text in texts:
        started = time.perf_counter()
        engine.diagnose(text)
        single.append((time.perf_counter() - started) * 1000)
    return [
        # Best of N: the engine's own cost, least disturbed by whatever else the machine is doing.
        Figure("cost.batch_ms_per_message", section, f"diagnose_many, {len(batch):,} messages (best run)",
               min(per_message), "ms", 1.0, "<=",
               detail=f"median {statistics.median(per_message):.3f} ms; runs {', '.join(f'{r:.2f}' for r in runs)} s"),
        Figure("cost.single_p50_ms", section, f"diagnose() latency p50 (n={len(single)})",
               _percentile(single, 0.50), "ms"),
        Figure("cost.single_p99_ms", section, f"diagnose() latency p99 (n={len(single)})",
               _percentile(single, 0.99), "ms", detail=f"max {max(single):.1f} ms"),
    ]


def bad_input(engine) -> list[Figure]:
    section = BAD_SECTION
    figures = []
    worst = 0.0
    for key, name, text in bad_inputs():
        started = time.perf_counter()
        answer = engine.diagnose(text)
        elapsed = time.perf_counter() - started
        worst = max(worst, elapsed)
        figures.append(Figure(f"bad_input.{key}", section, f"{name} ({len(text):,} chars)", elapsed, "s",
                              BAD_INPUT_LIMIT_S, "<=", detail=f"-> {answer.kind} {answer.intent}"))
    figures.append(Figure("bad_input.max", section, "slowest of the above", worst, "s", BAD_INPUT_LIMIT_S, "<="))
    return figures

