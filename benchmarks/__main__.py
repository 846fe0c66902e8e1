"""`python -m benchmarks [--json]`: measure the diagnosis engine against the issue's targets.

Order: bring the model up to date (and time it), held-out accuracy, in-process cost,
hostile inputs, then the child-process figures (cold start, peak memory), then Slack delivery
over real HTTP (the app and a Slack stand-in in child processes), normally and under faults.
Progress goes to stderr; the table (or with --json the JSON document) to stdout. Exit status 1 when any gated
figure misses its target or a stage crashes, 2 when the run could not start at all.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
import traceback
from importlib import metadata
from typing import Callable

from benchmarks import accuracy, import_acks, process, slack_faults, slack_http, speed
from benchmarks import digest as digest_bench
from benchmarks import ingest as ingest_bench
from benchmarks import insights as insights_bench
from benchmarks.report import Figure, as_json, table


def _log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def _versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for dist in ("scikit-learn", "numpy", "scipy"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            pass
    return out


def _stage(name: str, key: str, section: str, run: Callable[[], list[Figure]]) -> list[Figure]:
    """Run one stage; a crash becomes an ERROR row (and a traceback on stderr), not the end of the run."""
    _log(name)
    try:
        return run()
    except Exception as exc:  # noqa: BLE001 - report every stage, whatever breaks
        traceback.print_exc(file=sys.stderr)
        where = traceback.extract_tb(exc.__traceback__)[-1]
        return [Figure(f"{key}.error", section, name, None, "s",
                       error=f"{type(exc).__name__}: {exc} ({os.path.basename(where.filename)}:{where.lineno})")]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print the figures as JSON instead of a table")
    args = parser.parse_args(argv)
    run_started = time.perf_counter()
    load_before = os.getloadavg()[0]

    from bot.core.nlu.catalog import CatalogError
    from bot.settings import Settings, SettingsError
    from bot.wiring import build_core

    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    if settings.stale_model != "rebuild":
        _log(f"MODEL_STALE={settings.stale_model}: using rebuild for the benchmark's own load")
        settings = Settings.from_env({**os.environ, "MODEL_STALE": "rebuild"})

    _log("loading the model (rebuilding it if stale)")
    notes: list[str] = []
    started = time.perf_counter()
    try:
        core = build_core(settings, progress=lambda m: (notes.append(m), _log(f"  {m}")))
    except CatalogError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    setup_s = time.perf_counter() - started
    rebuilt = next((n for n in notes if n.startswith("rebuilding")), "")
    model = {
        "dir": str(settings.model_dir),
        "rebuilt": bool(rebuilt),
        "reason": rebuilt.removeprefix("rebuilding the model: "),
        "setup_seconds": round(setup_s, 3),
        "built_at": core.model_meta.get("built_at"),
        "threshold": core.model_meta.get("threshold"),
    }
    figures: list[Figure] = [
        Figure("setup.model_seconds", "Setup", "model " + ("rebuilt (was stale)" if rebuilt else "loaded (current)"),
               setup_s, "s", detail=model["reason"] or f"built {model['built_at']}"),
    ]

    from bot.core.nlu.catalog import OUT_OF_SCOPE
    from bot.core.model.examples import load_heldout_examples, load_wild_examples

    examples = load_heldout_examples(settings.training_dir, core.catalog)
    wild = load_wild_examples(settings.training_dir, core.catalog)
    # Cost is measured on both sets: the wild one brings API payloads, logs and other languages.
    texts = [e.text for e in examples + wild]
    engine = core.engine

    summary: list[str] = []

    def held_out() -> list[Figure]:
        found, text = accuracy.run(engine, {"heldout": examples, "wild": wild})
        summary.append(text)
        return found

    figures += _stage("held-out accuracy (both sets)", "accuracy", accuracy.section(accuracy.SETS[0]), held_out)
    figures += _stage("classification cost", "cost", speed.COST_SECTION, lambda: speed.throughput(engine, texts))
    figures += _stage("bad input", "bad_input", speed.BAD_SECTION, lambda: speed.bad_input(engine))
    figures += _stage(f"cold start of `python -m bot classify` x{process.COLD_RUNS}", "process.cold_start",
                      process.SECTION, lambda: process.cold_start(examples[0].text))
    figures += _stage("peak memory of `python -m bot classify`", "process.peak_rss", process.SECTION,
                      lambda: process.peak_memory([e.text for e in examples]))
    error_texts = [e.text for e in examples if e.intent != OUT_OF_SCOPE]
    figures += _stage(f"Slack over HTTP: {slack_http.ROUNDS} rounds of {slack_http.CONCURRENCY} concurrent signed "
                      "app_mention events", "slack", slack_http.SECTION, lambda: slack_http.run(error_texts))
    figures += _stage(f"Slack under faults: {slack_faults.ROUNDS} rounds of {slack_http.CONCURRENCY} events across "
                      f"{slack_faults.CHANNELS} channels, one hung and one throttled", "slack_faults",
                      slack_faults.SECTION, lambda: slack_faults.run(error_texts))

    figures += _stage(f"sync-history import ({ingest_bench.ROWS:,} rows into SQLite)", "ingest",
                      ingest_bench.SECTION, lambda: ingest_bench.run(engine))
    figures += _stage(f"Slack acknowledgements during a {import_acks.ROWS:,}-row import over HTTP", "import_acks",
                      import_acks.SECTION, import_acks.run)
    figures += _stage(f"digest for {digest_bench.OPEN_ERRORS:,} open sync errors", "digest", digest_bench.SECTION,
                      lambda: digest_bench.run(core))
    figures += _stage(f"the admin's report over {insights_bench.CASES:,} cases and {insights_bench.REFUSED:,} refused "
                      "messages", "insights", insights_bench.SECTION, lambda: insights_bench.run(core))
    total_s = time.perf_counter() - run_started
    failed = [f for f in figures if f.failed]
    cpus = os.cpu_count() or 1
    load = max(load_before, os.getloadavg()[0])
    context = {"environment": {**_versions(), "cpus": cpus, "platform": platform.platform(),
                               "load_average_1m": round(load, 2)},
               "model": model, "run_seconds": round(total_s, 1)}
    if args.json:
        print(as_json(figures, context))
    else:
        env = context["environment"]
        print(f"SyncMedic diagnosis-engine benchmarks   python {env['python']}, scikit-learn "
              f"{env.get('scikit-learn', '-')}, numpy {env.get('numpy', '-')}, {env['cpus']} CPUs")
        if load > 0.5 * cpus:
            print(f"note: load average {load:.1f} on {cpus} CPUs while measuring; timings are inflated by other work")
        print()
        if summary:
            print(summary[0])
            print()
        print(table(figures))
        print()
        verdict = "all targets met" if not failed else f"{len(failed)} target(s) missed: " + ", ".join(
            f.key for f in failed)
        print(f"{verdict}   (run took {total_s:.1f} s)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
