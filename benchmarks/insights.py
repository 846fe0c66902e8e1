"""The admin's report: outcomes over 100,000 cases and 20,000 refused messages on SQLite, and
the knowledge-gap clustering of those 20,000 messages, its time and its peak memory.

The history is made up by benchmarks/history.py: cases with their clicks and every answered
message over 30 days; the refused messages are paraphrases of a dozen problems the bot does not
know, with made-up specifics, plus 40% one-off questions (each its own point), so most of the
20,000 texts are distinct, as real ones are, and the approximate clustering (cluster.py: leaders
in a random projection, then exact on the leaders) is the one measured.

Figures: the report's outcomes over 100,000 cases and the 20,000 refused messages (every figure
but the gaps, which cluster); the gaps of a history holding only those 20,000 refused messages
(read, mask, cluster, describe) in a fresh process whose peak resident memory (VmHWM, the model
and scikit-learn included) is the memory figure; and the whole report as `python -m bot report`
builds it (shown, not gated: its gaps also hold the diagnoses people corrected). Wall times
come with the process's CPU time: on a shared machine the two differ.
`python -m benchmarks.insights` runs this stage alone.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

from benchmarks.history import make_history
from benchmarks.process import ROOT, child_env
from benchmarks.report import Figure

SECTION = "Admin's report (insights)"
CASES = 100_000
REFUSED = 20_000
FREE_SHARE = 0.4
RUNS = 3
REPORT_LIMIT_S = 3.0
GAPS_LIMIT_S = 10.0
GAPS_MEMORY_MB = 500.0
NOW = datetime(2026, 5, 1, 9, tzinfo=timezone.utc)

# Run in a fresh process: its peak memory is the clustering's, with the model loaded as the
# report command loads it, and none of this benchmark's own.
_GAPS_CHILD = r"""
import json, sys, time
from datetime import datetime, timedelta, timezone
from bot.settings import Settings
from bot.wiring import build_core
from bot.core.storage.store import Store
from bot.core.insights.gaps import find_gaps
from bot.core.insights.period import last_days
from bot.core.insights.report import build_report

def hwm():
    with open("/proc/self/status") as fh:
        return next(int(line.split()[1]) for line in fh if line.startswith("VmHWM:")) / 1024

url, now, whole = sys.argv[1], datetime.fromisoformat(sys.argv[2]), sys.argv[3] == "report"
core = build_core(Settings.from_env())
import sklearn, scipy.cluster.hierarchy  # the imports the report needs, before the clock starts
store = Store.from_url(url, migrate=False)
loaded = hwm()
started, cpu = time.perf_counter(), time.process_time()
if whole:
    gaps = build_report(store, core.engine, last_days(now), now, retention=timedelta(days=60)).gaps
else:
    gaps = find_gaps(store, core.engine, last_days(now), now, timedelta(days=60))
seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
print(json.dumps({"seconds": seconds, "cpu": cpu, "peak_mb": hwm(), "loaded_mb": loaded, "clusters": len(gaps.clusters),
                  "smaller": gaps.undescribed_clusters, "approximate": gaps.approximate, "total": gaps.total,
                  "biggest": [g.size for g in gaps.clusters[:12]]}))
"""


def _build(core, path: Path, cases: int) -> tuple[str, list[tuple[str, int]]]:
    """A history of `cases` cases and REFUSED refused messages (the same refused messages, from
    the same seed, whatever `cases` is)."""
    from bot.core.storage.store import Store

    url = f"sqlite:///{path}"
    store = Store.from_url(url)
    codes = core.engine.lookups.codes
    words = sorted({w.lower() for i in core.catalog.problems for t in i.training_texts() for w in t.split()
                    if w.isalpha()})
    truth = make_history(store, [i.id for i in core.catalog.problems], NOW, cases=cases, refused=REFUSED,
                         sync_errors=cases // 10, questions={i.id: i.title for i in core.catalog.problems},
                         code_of=lambda t: (hit.code if (hit := codes.find(t)) else ""), free_words=words,
                         free_share=FREE_SHARE)
    store.engine.dispose()
    return url, truth


def run(core) -> list[Figure]:
    from bot.core.insights.outcomes import outcomes
    from bot.core.insights.period import last_days
    from bot.core.storage.store import Store

    with tempfile.TemporaryDirectory() as work:
        started = time.perf_counter()
        url, truth = _build(core, Path(work) / "report.db", CASES)
        built_s = time.perf_counter() - started
        # The clustering's own figure: exactly the REFUSED messages (the report's history also has
        # the diagnoses people corrected, which are gaps too).
        gaps_url, _ = _build(core, Path(work) / "gaps.db", 0)
        store = Store.from_url(url, migrate=False)
        period = last_days(NOW)
        timings, cpu = [], []
        for _ in range(RUNS):
            started, used = time.perf_counter(), time.process_time()
            found = outcomes(store, period)
            timings.append(time.perf_counter() - started)
            cpu.append(time.process_time() - used)
        counted = found.cases.cases == CASES and found.messages.refused == REFUSED
        gaps = _in_child(gaps_url, "gaps")
        whole = _in_child(url, "report")   # its gaps: the 20,000 refused and the corrected diagnoses
        from bot.core.insights.gaps import find_gaps, masker_for

        grouped = _grouping(find_gaps(store, core.engine, period, NOW, timedelta(days=60)), masker_for(core.engine),
                            truth)
        store.engine.dispose()
    median = statistics.median(timings)
    return [
        Figure("insights.report_seconds", SECTION,
               f"report figures over {CASES:,} cases and {REFUSED:,} refused messages (SQLite, median)", median, "s",
               target=REPORT_LIMIT_S, op="<=",
               detail=f"runs: {', '.join(f'{t:.2f}' for t in timings)}; CPU {statistics.median(cpu):.2f} s; "
                      f"history written in {built_s:.0f} s"),
        Figure("insights.report_complete", SECTION, "every case and refused message counted",
               1.0 if counted else 0.0, "count", target=1.0, op="=="),
        Figure("insights.gaps_seconds", SECTION, f"gap clustering of {gaps['total']:,} messages (read, mask, cluster, "
               "describe)", gaps["seconds"], "s", target=GAPS_LIMIT_S, op="<=",
               detail=f"CPU {gaps['cpu']:.2f} s; {'approximate' if gaps['approximate'] else 'exact'}; "
                      f"{gaps['clusters']} clusters described, {gaps['smaller']} smaller; "
                      f"biggest {gaps['biggest'][:6]}"),
        Figure("insights.gaps_peak_mb", SECTION, "peak memory of the process that clusters them (model included)",
               gaps["peak_mb"], "MB", target=GAPS_MEMORY_MB, op="<=",
               detail=f"{gaps['loaded_mb']:.0f} MB with the model and scikit-learn loaded, before clustering"),
        Figure("insights.paraphrases_grouped", SECTION, "messages of the made-up problems in their problem's biggest "
               "cluster", grouped, "ratio", detail="one-off questions left out; shown, not gated"),
        Figure("insights.whole_report_seconds", SECTION, "the whole report (figures and gaps), as `report` builds it",
               whole["seconds"], "s", detail=f"CPU {whole['cpu']:.2f} s; {whole['total']:,} gap messages; shown, not "
                                             "gated: the targets are the figures' and the clustering's"),
    ]


def _in_child(url: str, what: str) -> dict:
    """Run the clustering ("gaps") or the whole report ("report") in a fresh process."""
    child = subprocess.run([sys.executable, "-c", _GAPS_CHILD, url, NOW.isoformat(), what], capture_output=True,
                           cwd=ROOT, env=child_env(), timeout=600)
    if child.returncode != 0:
        raise RuntimeError(f"{what} failed: {child.stderr.decode()[-400:]}")
    return json.loads(child.stdout.decode().strip().splitlines()[-1])


def _grouping(gaps, masker, truth: list[tuple[str, int]]) -> float:
    """For the template-made messages: the share that sits in the cluster holding most of its
    problem's messages (1.0: every paraphrase of every problem found together). Messages in
    clusters too small to be described count as not grouped."""
    problem_of = {masker.shape(text): which for text, which in truth if which >= 0}
    counts: dict[int, Counter] = {}
    for gap in gaps.clusters:
        for shape in gap.shapes:
            problem = problem_of.get(shape)
            if problem is not None:
                counts.setdefault(problem, Counter())[gap.id] += 1
    total = sum(1 for _, which in truth if which >= 0)
    return sum(c.most_common(1)[0][1] for c in counts.values()) / total if total else float("nan")


if __name__ == "__main__":
    from bot.settings import Settings
    from bot.wiring import build_core
    from benchmarks.report import table

    print(table(run(build_core(Settings.from_env()))))
