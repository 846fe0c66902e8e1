"""`python -m bot report` and `python -m bot gaps`: the admin's report from the command line.

Whoever runs these on the server reads the database anyway, so they get everything the report
has, message samples (masked) included. Exit status: 0, or 1 when there is no database or no
such gap, 2 for a bad period or an option that cannot be honoured.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from .settings import Settings


def _desk(settings: Settings):
    """The core and the database, or None when there is no database yet (nothing to report,
    and a report must not create an empty one)."""
    from .core.desk import Desk
    from .core.storage.sqlite import database_file
    from .core.storage.store import Store
    from .wiring import build_core

    database = database_file(settings.database_url)
    if database is not None and not database.exists():
        print(f"There is no database at {database} yet, so there is nothing to report. "
              "(Set DATABASE_URL if the bot uses another.)", file=sys.stderr)
        return None
    core = build_core(settings)
    store = Store.from_url(settings.database_url)
    return Desk(core.engine, store, escalate_after=settings.escalate_after, default_tz=settings.digest_tz,
                retention=settings.retention), core


def _period(settings: Settings, args: argparse.Namespace, now):
    from .core.insights.period import PeriodError, between

    try:
        return between(args.since, args.until, now, settings.digest_tz)
    except PeriodError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return None


def _report(settings: Settings, args: argparse.Namespace) -> tuple[Any, Any] | int:
    """The report for the command line's period, with the core that made it; or the exit code
    (1: no database yet, 2: a bad period)."""
    from .core.storage.tables import utcnow

    made = _desk(settings)
    if made is None:
        return 1
    desk, core = made
    period = _period(settings, args, utcnow())
    if period is None:
        return 2
    return desk.build_report(period), core


def cmd_report(settings: Settings, args: argparse.Namespace) -> int:
    from .core.insights.render import report_renderer

    built = _report(settings, args)
    if isinstance(built, int):
        return built
    report, core = built
    rendered = report_renderer(core.renderer)
    if args.html:
        target = Path(args.html)
        if not target.parent.is_dir():
            print(f"error: the folder {target.parent} does not exist", file=sys.stderr)
            return 2
        target.write_text(rendered.html(report), encoding="utf-8")
        print(f"report written to {target}", file=sys.stderr)
    if args.json:
        print(json.dumps(report.to_json(), indent=2, ensure_ascii=False))
    elif not args.html:
        sys.stdout.write(rendered.text(report))
    return 0


def cmd_gaps(settings: Settings, args: argparse.Namespace) -> int:
    from .core.insights.draft import DraftError, write_draft
    from .core.storage.tables import utcnow

    built = _report(settings, args)
    if isinstance(built, int):
        return built
    report, core = built
    gaps, period = report.gaps, report.period
    if not args.draft:
        if args.json:
            print(json.dumps(gaps.to_json(), indent=2, ensure_ascii=False))
            return 0
        for gap in gaps.clusters:
            print(f"{gap.id}  {gap.size:5d} messages  {gap.people:3d} people  {gap.samples[0] if gap.samples else ''}")
        if not gaps.clusters:
            print("No knowledge gaps in this period.")
        return 0
    wanted = args.draft.strip().lower()
    gap = next((g for g in gaps.clusters if g.id == wanted), None)
    if gap is None:
        known = ", ".join(g.id for g in gaps.clusters[:10]) or "none"
        print(f"error: no gap {args.draft!r} between {period.first_day} and {period.last_day} (the same --since "
              f"and --until as the report it came from?). Gaps now: {known}", file=sys.stderr)
        return 1
    try:
        draft = write_draft(gap, core.catalog, settings.intents_dir, settings.training_dir, made_at=utcnow(),
                            name=args.name)
    except DraftError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {draft.intent_file} (a draft intent: fill in every TODO)")
    print(f"wrote {draft.examples_file} ({draft.examples} examples from the cluster, with made-up specifics)")
    if draft.signature:
        print(f"suggested signature: {draft.signature}")
    print("SyncMedic ignores both until you delete their `draft: true` lines; then run `python -m bot train`.")
    return 0


def add_parsers(sub: argparse._SubParsersAction) -> None:
    report = sub.add_parser("report", help="what the bot solved, where it failed, what it does not know yet")
    report.add_argument("--since", help="first day (YYYY-MM-DD, in DIGEST_TZ); default 30 days before --until")
    report.add_argument("--until", help="last day, included (YYYY-MM-DD); default now")
    report.add_argument("--json", action="store_true", help="machine-readable report")
    report.add_argument("--html", metavar="FILE", help="write the report as one self-contained web page")
    gaps = sub.add_parser("gaps", help="the knowledge gaps; --draft ID starts an intent for one")
    gaps.add_argument("--since", help="first day (YYYY-MM-DD); as for report")
    gaps.add_argument("--until", help="last day, included (YYYY-MM-DD); as for report")
    gaps.add_argument("--draft", metavar="ID", help="write intents/<new id>.yaml and training examples for gap ID")
    gaps.add_argument("--name", help="the new intent's id (default: from the error code or key words)")
    gaps.add_argument("--json", action="store_true", help="list the gaps as JSON")
