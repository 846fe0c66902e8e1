"""Scoring the engine on the held-out set: the numbers behind `python -m bot evaluate`.

Precision, recall, F1 and the confusion matrix are scikit-learn's (`sklearn.metrics`), so they
mean exactly what they mean everywhere else. Only `evaluate`, `train` and the benchmarks import
this module; serving (`classify`, the bot) never does, and never pays for scikit-learn.
"""

from __future__ import annotations

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


def confusion_svg(report: Report) -> str:
    """A confusion-matrix picture (rows: expected, columns: predicted) as a standalone SVG."""
    n, cell, margin = len(report.labels), 18, 230
    size = margin + n * cell + 10
    peak = max((max(row) for row in report.matrix), default=1) or 1
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{size}" height="{size + 30}" '
             f'font-family="sans-serif" font-size="10">',
             f'<text x="10" y="16" font-size="13">Confusion matrix: {report.total} held-out messages, '
             f'accuracy {report.accuracy:.1%} (rows expected, columns predicted)</text>']
    for i, label in enumerate(report.labels):
        y = margin + i * cell
        parts.append(f'<text x="{margin - 4}" y="{y + 13}" text-anchor="end">{xml_escape(label)}</text>')
        x = margin + i * cell
        parts.append(f'<text x="{x + 12}" y="{margin - 4}" transform="rotate(-60 {x + 12} {margin - 4})">'
                     f'{xml_escape(label)}</text>')
        for j, count in enumerate(report.matrix[i]):
            if not count:
                colour = "#f4f4f4"
            elif i == j:
                colour = f"rgb({int(230 - 180 * count / peak)},{int(245 - 80 * count / peak)},{int(230 - 180 * count / peak)})"
            else:
                colour = "#e4572e"
            parts.append(f'<rect x="{margin + j * cell}" y="{y}" width="{cell - 1}" height="{cell - 1}" fill="{colour}">'
                         f'<title>{xml_escape(label)} -> {xml_escape(report.labels[j])}: {count}</title></rect>')
            if count:
                parts.append(f'<text x="{margin + j * cell + cell / 2}" y="{y + 13}" text-anchor="middle">{count}</text>')
    parts.append("</svg>")
    return "\n".join(parts)


def write_confusion_svg(report: Report, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(confusion_svg(report), encoding="utf-8")
