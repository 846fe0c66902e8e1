"""Scoring the engine on the held-out set: the numbers behind `python -m bot evaluate`.

Precision, recall, F1 and the confusion matrix are scikit-learn's (`sklearn.metrics`), so they
mean exactly what they mean everywhere else. Only `evaluate`, `train` and the benchmarks import
this module; serving (`classify`, the bot) never does, and never pays for scikit-learn.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from html import escape as xml_escape
from pathlib import Path
from typing import Sequence

from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

from ..nlu.answers import Answer
from ..nlu.catalog import OUT_OF_SCOPE
from .examples import Example


@dataclass
class Report:
    total: int
    accuracy: float
    in_scope_top3: float
    oos_precision: float
    oos_recall: float
    per_intent: dict[str, dict[str, float]] = field(default_factory=dict)
    confusions: list[tuple[str, str, int]] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    matrix: list[list[int]] = field(default_factory=list)

    def to_json(self) -> dict:
        return {
            "total": self.total,
            "accuracy": round(self.accuracy, 4),
            "in_scope_top3": round(self.in_scope_top3, 4),
            "out_of_scope": {"precision": round(self.oos_precision, 4), "recall": round(self.oos_recall, 4)},
            "per_intent": self.per_intent,
            "confusions": [{"expected": a, "predicted": b, "count": n} for a, b, n in self.confusions],
        }


def _ratio(a: int, b: int) -> float:
    return a / b if b else 0.0


SHOWN_CONFUSIONS = 15


def score(examples: Sequence[Example], answers: Sequence[Answer]) -> Report:
    expected = [e.intent for e in examples]
    predicted = [a.intent for a in answers]
    if not expected:
        return Report(total=0, accuracy=0.0, in_scope_top3=0.0, oos_precision=0.0, oos_recall=0.0)
    labels = sorted(set(expected) | set(predicted))
    # zero_division=0: an intent never predicted (or never expected) scores 0, not a warning.
    precision, recall, f1, support = precision_recall_fscore_support(
        expected, predicted, labels=labels, zero_division=0)
    per_intent = {label: {"precision": round(float(p), 4), "recall": round(float(r), 4), "f1": round(float(f), 4),
                          "support": int(n)}
                  for label, p, r, f, n in zip(labels, precision, recall, f1, support)}
    matrix = confusion_matrix(expected, predicted, labels=labels)  # rows expected, columns predicted
    pairs = [(labels[i], labels[j], int(matrix[i, j])) for i in range(len(labels)) for j in range(len(labels))
             if i != j and matrix[i, j]]
    pairs.sort(key=lambda pair: (-pair[2], pair[0], pair[1]))  # most frequent first; ties by name
    in_scope = [(e, a) for e, a in zip(expected, answers) if e != OUT_OF_SCOPE]
    top3 = sum(1 for e, a in in_scope if e in [a.intent, *[s.intent for s in a.alternatives]][:3])
    oos = per_intent.get(OUT_OF_SCOPE, {"precision": 0.0, "recall": 0.0})
    return Report(
        total=len(examples),
        accuracy=_ratio(int(matrix.trace()), len(examples)),
        in_scope_top3=_ratio(top3, len(in_scope)),
        oos_precision=oos["precision"],
        oos_recall=oos["recall"],
        per_intent=per_intent,
        confusions=pairs[:SHOWN_CONFUSIONS],
        labels=labels,
        matrix=matrix.tolist(),
    )


LABEL_FONT = 10          # px, the labels' font size
LABEL_CHAR = 6.6         # px a character may take at LABEL_FONT in a common sans-serif (wider than most)
TITLE_FONT = 13
TITLE_CHAR = 8.0
CELL = 18
PAD = 10
SLANT = 60               # degrees the column labels rise at


def confusion_svg(report: Report) -> str:
    """A confusion-matrix picture (rows: expected, columns: predicted) as a standalone SVG.

    Sized from its labels: the row labels' column is as wide as the longest label, the slanted
    column labels get the height (and, for the last columns, the width) they rise into, so no
    label is clipped and there is no fixed margin left empty."""
    labels, n = report.labels, len(report.labels)
    lengths = [len(label) * LABEL_CHAR for label in labels]
    rise = math.sin(math.radians(SLANT))
    run = math.cos(math.radians(SLANT))
    titles = ["Confusion matrix (rows: expected, columns: predicted)",
              f"{report.total} held-out messages, accuracy {report.accuracy:.1%}"]
    title_height = PAD + len(titles) * (TITLE_FONT + 4)
    left = PAD + max(lengths, default=0) + 6
    top = title_height + max(lengths, default=0) * rise + 8
    anchor = CELL * 0.65  # where along its column a label starts
    width = max([left + n * CELL + PAD, PAD + max(len(t) for t in titles) * TITLE_CHAR + PAD]
                + [left + j * CELL + anchor + lengths[j] * run + PAD for j in range(n)])
    height = top + n * CELL + PAD
    peak = max((max(row) for row in report.matrix), default=1) or 1
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
             f'viewBox="0 0 {width:.0f} {height:.0f}" font-family="sans-serif" font-size="{LABEL_FONT}">']
    for k, line in enumerate(titles):
        parts.append(f'<text class="title" x="{PAD}" y="{PAD + (k + 1) * (TITLE_FONT + 2)}" font-size="{TITLE_FONT}">'
                     f'{xml_escape(line)}</text>')
    for i, label in enumerate(labels):
        y = top + i * CELL
        parts.append(f'<text class="row" x="{left - 6:.1f}" y="{y + 13}" text-anchor="end">{xml_escape(label)}</text>')
        x = left + i * CELL + anchor
        parts.append(f'<text class="column" x="{x:.1f}" y="{top - 4:.1f}" transform="rotate(-{SLANT} {x:.1f} '
                     f'{top - 4:.1f})">{xml_escape(label)}</text>')
        for j, count in enumerate(report.matrix[i]):
            if not count:
                colour = "#f4f4f4"
            elif i == j:
                colour = f"rgb({int(230 - 180 * count / peak)},{int(245 - 80 * count / peak)},{int(230 - 180 * count / peak)})"
            else:
                colour = "#e4572e"
            parts.append(f'<rect x="{left + j * CELL:.1f}" y="{y:.1f}" width="{CELL - 1}" height="{CELL - 1}" '
                         f'fill="{colour}"><title>{xml_escape(label)} -> {xml_escape(labels[j])}: {count}</title></rect>')
            if count:
                parts.append(f'<text x="{left + j * CELL + CELL / 2:.1f}" y="{y + 13:.1f}" text-anchor="middle">'
                             f'{count}</text>')
    parts.append("</svg>")
    return "\n".join(parts)


def write_confusion_svg(report: Report, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(confusion_svg(report), encoding="utf-8")
