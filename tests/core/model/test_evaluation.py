"""The held-out report's arithmetic (bot/core/model/evaluation.py), on a set small enough to
count by hand: scikit-learn computes it, these tests say what the numbers must be."""

from __future__ import annotations

import pytest

from bot.core.model.examples import Example
from bot.core.nlu.answers import Answer, AnswerKind, Scored
from bot.core.nlu.catalog import OUT_OF_SCOPE


def answer(intent: str, *alternatives: str) -> Answer:
    return Answer(AnswerKind.DIAGNOSIS, intent, 0.9, tuple(Scored(a, 0.05) for a in alternatives))


# expected -> predicted:  a a a b  b  oos oos c
#                          a a b b  oos oos a  (c is never predicted)
CASES = [("a", answer("a")), ("a", answer("a")), ("a", answer("b", "a")), ("b", answer("b")),
         ("b", answer(OUT_OF_SCOPE, "c", "a", "b")), (OUT_OF_SCOPE, answer(OUT_OF_SCOPE)),
         (OUT_OF_SCOPE, answer("a")), ("c", answer("b", "a", "c"))]


@pytest.fixture(scope="module")
def evaluation():
    """bot.core.model.evaluation, imported when a test here runs: importing scikit-learn while
    collecting cost every test worker a second."""
    from bot.core.model import evaluation

    return evaluation


@pytest.fixture(scope="module")
def report(evaluation):
    return evaluation.score([Example(f"text {n}", intent, "heldout") for n, (intent, _) in enumerate(CASES)],
                 [a for _, a in CASES])


def test_per_intent_precision_recall_f1_and_support(report):
    assert report.per_intent == {
        "a": {"precision": 0.6667, "recall": 0.6667, "f1": 0.6667, "support": 3},   # 2 of 3 predicted, 2 of 3 found
        "b": {"precision": 0.3333, "recall": 0.5, "f1": 0.4, "support": 2},         # 1 of 3 predicted, 1 of 2 found
        "c": {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1},            # never predicted: 0, no warning
        OUT_OF_SCOPE: {"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 2},
    }
    assert (report.oos_precision, report.oos_recall) == (0.5, 0.5)


def test_accuracy_top3_and_the_confusion_matrix(report):
    assert report.total == 8 and report.accuracy == 4 / 8
    # In scope: a, a, a (b first, a second), b (a third: not in the top 3), c (third): 5 of 6.
    assert report.in_scope_top3 == 5 / 6
    assert report.labels == ["a", "b", "c", OUT_OF_SCOPE]
    assert report.matrix == [[2, 1, 0, 0], [0, 1, 0, 1], [0, 1, 0, 0], [1, 0, 0, 1]]  # rows expected
    # Each pair once, most frequent first, ties by name.
    assert report.confusions == [("a", "b", 1), ("b", OUT_OF_SCOPE, 1), ("c", "b", 1), (OUT_OF_SCOPE, "a", 1)]
    assert report.to_json()["confusions"][0] == {"expected": "a", "predicted": "b", "count": 1}


def test_the_confusion_matrix_picture(report, evaluation):
    svg = evaluation.confusion_svg(report)
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert "<title>a -> b: 1</title>" in svg and "8 held-out messages, accuracy 50.0%" in svg


def test_an_empty_held_out_set_scores_zero(evaluation):
    empty = evaluation.score([], [])
    assert (empty.total, empty.accuracy, empty.per_intent, empty.confusions, empty.matrix) == (0, 0.0, {}, [], [])
