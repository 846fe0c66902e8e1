"""Held-out accuracy: the same numbers `python -m bot evaluate` prints, checked against targets."""

from __future__ import annotations

from typing import Sequence

from bot.core.nlu.catalog import OUT_OF_SCOPE
from bot.core.model.evaluation import score
from bot.core.model.examples import Example

from benchmarks.report import Figure

SECTION = "Accuracy on training/heldout/"


def run(engine, examples: Sequence[Example]) -> list[Figure]:
    report = score(examples, engine.diagnose_many([e.text for e in examples]))
    n_oos = sum(1 for e in examples if e.intent == OUT_OF_SCOPE)
    worst = ", ".join(f"{a}->{b} x{n}" for a, b, n in report.confusions[:3])
    figures = [
        Figure("accuracy.overall", SECTION, f"overall accuracy (n={report.total})", report.accuracy, "ratio",
               0.95, ">=", detail=f"top confusions: {worst}" if worst else ""),
        Figure("accuracy.in_scope_top3", SECTION, f"in-scope top-3 (n={report.total - n_oos})",
               report.in_scope_top3, "ratio", 0.99, ">="),
        Figure("accuracy.oos_recall", SECTION, f"out-of-scope refused (recall, n={n_oos})",
               report.oos_recall, "ratio", 0.90, ">="),
        Figure("accuracy.oos_precision", SECTION, "out-of-scope precision", report.oos_precision, "ratio"),
    ]
    return figures
