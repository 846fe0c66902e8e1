"""The command line: `python -m bot COMMAND`. Nothing else in the project reads argv."""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path
from typing import Iterator, Sequence

from .core.nlu.catalog import CatalogError
from .core.model.store import StaleModelError
from .settings import Settings, SettingsError

BATCH_LINES = 256


def _progress(quiet: bool):
    started = time.perf_counter()

    def show(message: str) -> None:
        if not quiet:
            print(f"[{time.perf_counter() - started:5.1f}s] {message}", file=sys.stderr, flush=True)

    return show


def _core(settings: Settings, quiet: bool = True, store=None):
    """The core; with `store`, serving the model the database says is in use (bot.wiring)."""
    from .wiring import build_core

    return build_core(settings, progress=_progress(quiet), store=store)


# -- classify ----------------------------------------------------------------------------

def _input_batches(fd: int) -> Iterator[list[bytes]]:
    """Complete lines as they arrive: whatever one read returns is one batch, so a piped file
    is classified in large batches while an interactive writer gets each answer at once."""
    pending = b""
    while True:
        chunk = os.read(fd, 1 << 16)
        if not chunk:
            if pending.strip():
                yield [pending]
            return
        pending += chunk
        *lines, pending = pending.split(b"\n")
        for start in range(0, len(lines), BATCH_LINES):
            yield lines[start: start + BATCH_LINES]


def _parse_line(raw: bytes, phrases) -> tuple[object, str | None, str | None]:
    """(id, text, error) for one input line."""
    line = raw.decode("utf-8", "replace").strip()
    try:
        item = json.loads(line)
    except (json.JSONDecodeError, RecursionError) as exc:
        return None, None, phrases("cli_bad_json", detail=exc.msg if hasattr(exc, "msg") else "too deeply nested")
    if not isinstance(item, dict) or not isinstance(item.get("text"), str):
        item_id = item.get("id") if isinstance(item, dict) else None
        return _plain_id(item_id), None, phrases("cli_bad_shape")
    return _plain_id(item.get("id")), item["text"], None


def _plain_id(value: object) -> object:
    """The id echoed back: JSON scalars as they came, anything else (or NaN/Infinity,
    which JSON cannot carry) as its text."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value if isinstance(value, (str, int, float, bool)) or value is None else json.dumps(value)


def cmd_classify(settings: Settings, args: argparse.Namespace) -> int:
    core = _core(settings)
    phrases = core.phrases
    out = sys.stdout
    for batch in _input_batches(sys.stdin.fileno()):
        parsed = [_parse_line(raw, phrases) for raw in batch if raw.strip()]
        texts = [text for _, text, error in parsed if error is None]
        answers = iter(core.engine.diagnose_many(texts))
        for item_id, _text, error in parsed:
            record = {"id": item_id, "error": error} if error else {"id": item_id, **next(answers).to_json()}
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
        out.flush()
    return 0


# -- ask / chat --------------------------------------------------------------------------

def cmd_ask(settings: Settings, args: argparse.Namespace) -> int:
    text = " ".join(args.text) if args.text else sys.stdin.read()
    core = _core(settings)
    from .core.desk import Desk

    answer = Desk(core.engine).answer(text)
    if args.format == "json":
        print(json.dumps(answer.to_json(), ensure_ascii=False, indent=2))
    elif args.format == "slack":
        print(json.dumps(core.renderer.slack(answer), ensure_ascii=False, indent=2))
    elif args.format == "teams":
        print(json.dumps(core.renderer.teams(answer), ensure_ascii=False, indent=2))
    else:
        sys.stdout.write(core.renderer.text(answer))
    return 0


def cmd_chat(settings: Settings, args: argparse.Namespace) -> int:
    from .chat import run_chat

    return run_chat(_core(settings, quiet=False))


# -- train / evaluate --------------------------------------------------------------------

def cmd_train(settings: Settings, args: argparse.Namespace) -> int:
    from .core.nlu.catalog import load_catalog
    from .core.model.store import build_model, save_model

    progress = _progress(args.quiet)
    store = _existing_store(settings)
    if store is not None:
        from .core.model.retrain import export_corrections

        progress(f"exported {export_corrections(settings.training_dir, store)} corrections from the database")
    catalog = load_catalog(settings.intents_dir)
    progress(f"loaded {len(catalog.ids)} intents from {settings.intents_dir}")
    model, meta, data = build_model(catalog, settings.intents_dir, settings.training_dir, progress)
    save_model(settings.model_dir, data, meta)
    print(f"model saved to {settings.model_dir}")
    if store is not None:
        # Published: every running process, on every machine, serves it within MODEL_CHECK_INTERVAL.
        from .core.model.inuse import publish
        from .core.storage.modelshelf import ModelShelf

        publish(ModelShelf(store.engine), data, meta)
        store.engine.dispose()
        print(f"  published as the model in use ({meta['fingerprint'][:12]})")
    print(f"  examples: {meta['examples']}   classes: {len(meta['classes'])}")
    print(f"  cross-validated accuracy: {meta['cv_accuracy']:.1%}   threshold: {meta['threshold']:.2f}")
    print(f"  trained in {meta['train_seconds']} s with scikit-learn {meta['libraries']['scikit-learn']}")
    return 0


def cmd_evaluate(settings: Settings, args: argparse.Namespace) -> int:
    from .core.model.evaluation import score, write_confusion_svg
    from .core.model.examples import load_heldout_examples, load_wild_examples
    from .core.model.trust import trust

    core = _core(settings, quiet=False)
    matrix = Path(args.matrix) if args.matrix else settings.data_dir / "confusion-matrix.svg"
    sets = {"heldout": load_heldout_examples(settings.training_dir, core.catalog),
            "heldout-wild": load_wild_examples(settings.training_dir, core.catalog)}
    results = {}
    for n, (name, examples) in enumerate((k, v) for k, v in sets.items() if v):
        answers = core.engine.diagnose_many([e.text for e in examples])
        path = matrix if n == 0 else matrix.with_name(f"{matrix.stem}-{name}{matrix.suffix}")
        report = score(examples, answers)
        write_confusion_svg(report, path)
        results[name] = (report, trust(examples, answers), path)
    if args.json:
        described = {name: {**report.to_json(), **found.to_json(), "confusion_matrix": str(path)}
                     for name, (report, found, path) in results.items()}
        # The first set's report at the top level, as before; every set under "sets".
        print(json.dumps({**next(iter(described.values())), "sets": described}, indent=2))
        return 0
    _print_side_by_side(results)
    for name, (_report, _found, path) in results.items():
        print(f"confusion matrix for training/{name}/ written to {path}")
    return 0


def _print_side_by_side(results: dict) -> None:
    """The held-out sets next to each other: summary figures, then per intent."""
    from .core.model.trust import CONFIDENT

    names = list(results)
    width = 26
    print(f"{'':38}" + "".join(f"{'training/' + n + '/':>{width}}" for n in names))

    def row(label: str, cell) -> None:
        print(f"{label:38}" + "".join(f"{cell(*results[n][:2]):>{width}}" for n in names))

    row("messages", lambda r, t: f"{r.total}")
    row("overall accuracy", lambda r, t: f"{r.accuracy:.1%}")
    row("in-scope top-3 accuracy", lambda r, t: f"{r.in_scope_top3:.1%}")
    row("out-of-scope refused (recall)", lambda r, t: f"{r.oos_recall:.1%}")
    row("out-of-scope precision", lambda r, t: f"{r.oos_precision:.1%}")
    row(f"out-of-scope answered at >= {CONFIDENT}", lambda r, t: f"{t.oos_confident_share:.1%} ({t.oos_confident}/{t.oos_total})")
    row("multi-error pastes accounted for", lambda r, t: f"{t.pastes_accounted}/{t.pastes_total}")
    print()
    labels = sorted({label for n in names for label in results[n][0].per_intent})
    print(f"{'intent':34}" + "".join(f"{n:>26}" for n in names))
    print(f"{'':34}" + "".join(f"{'precision recall  f1   n':>26}" for _ in names))
    for label in labels:
        cells = []
        for n in names:
            m = results[n][0].per_intent.get(label)
            cells.append(f"{m['precision']:9.2f} {m['recall']:6.2f} {m['f1']:4.2f} {int(m['support']):3d}" if m else "-")
        print(f"{label:34}" + "".join(f"{c:>26}" for c in cells))
    for n in names:
        report = results[n][0]
        if report.confusions:
            print(f"\nmost frequent confusions in training/{n}/ (expected -> predicted):")
            for expected, predicted, count in report.confusions:
                print(f"  {count:3d}  {expected} -> {predicted}")
    print()


def _existing_store(settings: Settings):
    """The database, if there is one (train must not create an empty SQLite file)."""
    from .core.storage.sqlite import database_file

    database = database_file(settings.database_url)
    if database is not None and not database.exists():
        return None
    return open_store(settings)


def _logging(settings: Settings) -> None:
    import logging

    logging.basicConfig(level=getattr(logging, settings.log_level, logging.INFO),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # two INFO lines per tick, every few seconds
    from .health import install_log_filter

    install_log_filter()  # a database outage: one line, then one a minute, not a traceback per request


def open_store(settings: Settings, migrate: bool = True):
    """The database, migrated; one that cannot be used is a configuration error naming
    DATABASE_URL (bot.wiring.open_store)."""
    from .wiring import open_store as open_checked

    return open_checked(settings, migrate=migrate)


def cmd_run(settings: Settings, args: argparse.Namespace) -> int:
    from .app import create_app
    from .sandbox import browse_url, wanted
    from .serving import ServeError, serve, workers_for

    _logging(settings)
    settings.check_slack()
    sandbox = wanted(settings)  # no Slack or Teams credentials: serve the local sandbox at /
    workers, why_fewer = workers_for(settings, sandbox)
    if why_fewer:
        print(f"note: WEB_CONCURRENCY={settings.web_concurrency} ignored, running one process: {why_fewer}",
              file=sys.stderr)
    # Opened (and migrated) once, here, before the model is loaded and before workers fork: a
    # database that cannot be used stops start-up at once, naming DATABASE_URL.
    store = open_store(settings)
    core = _core(settings, quiet=False, store=store)
    if workers > 1:
        store.engine.dispose()  # each worker opens its own connections

    def make_app(settings: Settings, _index: int):
        return create_app(settings, core, store if workers == 1 else open_store(settings, migrate=False),
                          sandbox=sandbox)

    def announce(settings: Settings) -> None:
        extra = f", {workers} worker processes" if workers > 1 else ""
        print(f"SyncMedic listening on http://{settings.host}:{settings.port} "
              f"(Slack: {'sandbox' if sandbox else settings.slack_mode or 'off'}{extra})", flush=True)
        if sandbox:
            print(f"Open {browse_url(settings.host, settings.port)} in your browser", flush=True)

    try:
        return serve(settings, make_app, workers, announce)
    except ServeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def cmd_scheduler(settings: Settings, args: argparse.Namespace) -> int:
    """The clock process: check-ins and digests only, no HTTP server."""
    import asyncio
    import signal

    from .app import build_services
    from .core.schedule.clockwork import start_scheduler

    _logging(settings)
    settings.check_slack()
    store = open_store(settings)
    core = _core(settings, quiet=False, store=store)
    services = build_services(settings, core, store)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        scheduler = start_scheduler(services.clockwork.tick, settings.scheduler_interval)
        print(f"SyncMedic scheduler running (every {settings.scheduler_interval:g} s)", flush=True)
        await stop.wait()
        scheduler.shutdown(wait=False)
        if services.clockwork is not None:
            await services.clockwork.close()
        if services.slack is not None:
            await services.slack.close()

    asyncio.run(main())
    return 0


def cmd_digest(settings: Settings, args: argparse.Namespace) -> int:
    from .core.cases.digest import build_digest
    from .core.storage.tables import utcnow

    store = open_store(settings)
    core = _core(settings)
    digest = build_digest(store, core.catalog, utcnow())
    if args.json:
        print(json.dumps(core.renderer.digest_json(digest), indent=2, ensure_ascii=False))
    else:
        sys.stdout.write(core.renderer.digest("text", digest))
    return 0


def cmd_ingest(settings: Settings, args: argparse.Namespace) -> int:
    # Imported here: bot.ingest_api pulls in aiohttp, which `classify` must not pay for.
    from .ingest_api import cmd_ingest as run_ingest

    return run_ingest(settings, args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot", description="SyncMedic: DEAR to QuickBooks sync-error bot")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("classify", help="JSON Lines in ({id, text}), one diagnosis per line out")
    ask = sub.add_parser("ask", help="print the reply the bot would give to TEXT (or stdin)")
    ask.add_argument("text", nargs="*")
    ask.add_argument("--format", choices=["text", "json", "slack", "teams"], default="text")
    sub.add_parser("chat", help="talk to the bot in the terminal")
    train = sub.add_parser("train", help="build the model from intents/ and training/")
    train.add_argument("--quiet", action="store_true", help="no progress display")
    evaluate = sub.add_parser("evaluate", help="accuracy report on both held-out sets, side by side")
    evaluate.add_argument("--json", action="store_true", help="machine-readable report")
    evaluate.add_argument("--matrix", help="where to write the confusion-matrix SVG")
    sub.add_parser("run", help="run the bot (Slack/Teams from the environment)")
    ingest = sub.add_parser("ingest", help="import DEAR's sync history (CSV) and track its errors")
    ingest.add_argument("file", help="the sync-history CSV export ('-' reads standard input)")
    ingest.add_argument("--json", action="store_true", help="print the import report as JSON")
    sub.add_parser("scheduler", help="run the scheduler alone (check-ins and the digest): the clock process")
    digest = sub.add_parser("digest", help="the digest of unresolved sync errors")
    digest.add_argument("--preview", action="store_true", required=True, help="print it now instead of posting")
    digest.add_argument("--json", action="store_true", help="machine-readable")
    from .insights_cli import add_parsers

    add_parsers(sub)
    return parser


def cmd_report(settings: Settings, args: argparse.Namespace) -> int:
    from .insights_cli import cmd_report as run_report

    return run_report(settings, args)


def cmd_gaps(settings: Settings, args: argparse.Namespace) -> int:
    from .insights_cli import cmd_gaps as run_gaps

    return run_gaps(settings, args)


COMMANDS = {"classify": cmd_classify, "ask": cmd_ask, "chat": cmd_chat, "train": cmd_train, "evaluate": cmd_evaluate,
            "run": cmd_run, "scheduler": cmd_scheduler, "ingest": cmd_ingest, "digest": cmd_digest,
            "report": cmd_report, "gaps": cmd_gaps}


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = Settings.from_env()
        return COMMANDS[args.command](settings, args)
    except SettingsError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    except (CatalogError, StaleModelError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
