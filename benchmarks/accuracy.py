"""Held-out accuracy on both held-out sets: the numbers `python -m bot evaluate` prints, checked
against the targets, plus a side-by-side summary of the two sets."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from bot.core.model.evaluation import Report, score
from bot.core.model.examples import Example
from bot.core.model.trust import CONFIDENT, Trust, trust
from bot.core.nlu.catalog import OUT_OF_SCOPE

from benchmarks.report import Figure


@dataclass(frozen=True)
class HeldoutSet:
    key: str             # figure keys: accuracy.<key>.overall ...
    folder: str          # training/<folder>/
    overall: float       # targets
    top3: float
    refused: float
    confident_oos: float | None  # most out-of-scope messages answered at >= CONFIDENT (None: shown only)


SETS = (
    # The project's own set: the figures it had before issue 13 must hold.
    HeldoutSet("heldout", "heldout", overall=0.97, top3=0.99, refused=0.90, confident_oos=None),
    # Written from public material, never tuned on: what a new user's real pastes look like.
    HeldoutSet("wild", "heldout-wild", overall=0.95, top3=0.98, refused=0.90, confident_oos=0.03),
)


def section(spec: HeldoutSet) -> str:
    return f"Accuracy on training/{spec.folder}/"


def measure(engine, examples: Sequence[Example]) -> tuple[Report, Trust]:
    answers = engine.diagnose_many([e.text for e in examples])
    return score(examples, answers), trust(examples, answers)


def figures(spec: HeldoutSet, report: Report, found: Trust, n_oos: int) -> list[Figure]:
    name = section(spec)
    worst = ", ".join(f"{a}->{b} x{n}" for a, b, n in report.confusions[:3])
    out = [
        Figure(f"accuracy.{spec.key}.overall", name, f"overall accuracy (n={report.total})", report.accuracy, "ratio",
               spec.overall, ">=", detail=f"top confusions: {worst}" if worst else ""),
        Figure(f"accuracy.{spec.key}.in_scope_top3", name, f"in-scope top-3 (n={report.total - n_oos})",
               report.in_scope_top3, "ratio", spec.top3, ">="),
        Figure(f"accuracy.{spec.key}.oos_recall", name, f"out-of-scope refused (recall, n={n_oos})",
               report.oos_recall, "ratio", spec.refused, ">="),
        Figure(f"accuracy.{spec.key}.oos_precision", name, "out-of-scope precision", report.oos_precision, "ratio"),
        Figure(f"accuracy.{spec.key}.oos_confident", name, f"out-of-scope answered anyway at >= {CONFIDENT}",
               found.oos_confident_share, "ratio", spec.confident_oos, "<=",
               detail=f"{found.oos_confident} of {found.oos_total}"),
    ]
    if found.pastes_total:
        out.append(Figure(f"accuracy.{spec.key}.pastes", name, "multi-error pastes with every line accounted for",
                          found.pastes_share, "ratio", detail=f"{found.pastes_accounted} of {found.pastes_total}"))
    return out


def run(engine, examples_by_set: dict[str, Sequence[Example]]) -> tuple[list[Figure], str]:
    """Figures for every set that has examples, and the side-by-side summary as text."""
    out: list[Figure] = []
    measured = {}
    for spec in SETS:
        examples = examples_by_set.get(spec.key) or []
        if not examples:
            continue
        report, found = measure(engine, examples)
        measured[spec.folder] = (report, found)
        out += figures(spec, report, found, sum(1 for e in examples if e.intent == OUT_OF_SCOPE))
    return out, side_by_side(measured)


def side_by_side(measured: dict[str, tuple[Report, Trust]]) -> str:
    names = list(measured)
    width = 26
    lines = ["Held-out sets side by side".ljust(38) + "".join(f"{'training/' + n + '/':>{width}}" for n in names)]
    rows = [
        ("messages", lambda r, t: f"{r.total}"),
        ("overall accuracy", lambda r, t: f"{r.accuracy:.1%}"),
        ("in-scope top-3", lambda r, t: f"{r.in_scope_top3:.1%}"),
        ("out-of-scope refused", lambda r, t: f"{r.oos_recall:.1%}"),
        (f"out-of-scope answered at >= {CONFIDENT}", lambda r, t: f"{t.oos_confident_share:.1%}"),
        ("multi-error pastes accounted for", lambda r, t: f"{t.pastes_accounted}/{t.pastes_total}"),
    ]
    for label, cell in rows:
        lines.append(f"  {label:36}" + "".join(f"{cell(*measured[n]):>{width}}" for n in names))
    return "\n".join(lines)
