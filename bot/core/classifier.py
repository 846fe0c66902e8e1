"""The statistical half of the diagnosis: TF-IDF features and a calibrated linear model.

Vectorisers and classifier live in one scikit-learn Pipeline so training and serving can
never disagree about features. The acceptance threshold (below it the bot says it does
not know) is chosen from cross-validated predictions on the training data only; the
held-out set is never read here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
from sklearn.calibration import CalibratedClassifierCV
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.svm import LinearSVC

from .catalog import OUT_OF_SCOPE

_DIGITS = re.compile(r"\d{1,50}")
_SPACE = re.compile(r"\s{1,10000}")

# Hyper-parameters are part of the model's identity: changing them makes a stored model stale.
PARAMS = {
    "word_ngrams": (1, 2),
    "char_ngrams": (2, 5),
    "C": 0.5,
    "calibration_folds": 3,
    "cv_folds": 5,
    "margin": 0.12,
    "threshold_grid": [round(x, 2) for x in np.arange(0.15, 0.71, 0.05)],
}

Progress = Callable[[str], None]


def model_text(text: str) -> str:
    """What the vectorisers see: lower case, numbers folded, so SO-00412 looks like SO-00999."""
    return _SPACE.sub(" ", _DIGITS.sub("0", text.lower())).strip()


def build_pipeline() -> Pipeline:
    features = FeatureUnion([
        ("words", TfidfVectorizer(preprocessor=model_text, ngram_range=PARAMS["word_ngrams"],
                                  sublinear_tf=True, min_df=1, token_pattern=r"(?u)\b\w[\w'/-]{0,40}\b")),
        ("chars", TfidfVectorizer(preprocessor=model_text, analyzer="char_wb",
                                  ngram_range=PARAMS["char_ngrams"], sublinear_tf=True, min_df=2)),
    ])
    model = CalibratedClassifierCV(
        LinearSVC(C=PARAMS["C"], class_weight="balanced"),
        method="sigmoid", cv=PARAMS["calibration_folds"],
    )
    return Pipeline([("features", features), ("model", model)])


@dataclass
class TrainedModel:
    pipeline: Pipeline
    threshold: float
    margin: float
    cv_accuracy: float

    @property
    def classes(self) -> list[str]:
        return [str(c) for c in self.pipeline.classes_]

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        return self.pipeline.predict_proba(list(texts))


def _accuracy_at(threshold: float, proba: np.ndarray, classes: np.ndarray, y: np.ndarray) -> float:
    best = proba.argmax(axis=1)
    predicted = np.where(proba.max(axis=1) >= threshold, classes[best], OUT_OF_SCOPE)
    return float((predicted == y).mean())


def train(texts: Sequence[str], labels: Sequence[str], kb_texts: Sequence[str], kb_labels: Sequence[str],
          progress: Progress = lambda _msg: None) -> TrainedModel:
    """Fit on examples plus knowledge-base text; pick the threshold by cross-validation.

    Cross-validation folds split the examples only; the knowledge-base text is in every
    training fold (it is what the bot always knows), never scored.
    """
    X, y = np.array(texts, dtype=object), np.array(labels, dtype=object)
    kb_X, kb_y = list(kb_texts), list(kb_labels)
    folds = StratifiedKFold(n_splits=PARAMS["cv_folds"], shuffle=True, random_state=7)
    proba = None
    classes = np.array(sorted(set(labels) | set(kb_labels)), dtype=object)
    for n, (train_idx, test_idx) in enumerate(folds.split(X, y), start=1):
        progress(f"cross-validation fold {n}/{PARAMS['cv_folds']}")
        pipe = build_pipeline().fit(list(X[train_idx]) + kb_X, list(y[train_idx]) + kb_y)
        fold_proba = pipe.predict_proba(list(X[test_idx]))
        if proba is None:
            proba = np.zeros((len(X), len(classes)))
        order = [list(pipe.classes_).index(c) for c in classes]
        proba[test_idx] = fold_proba[:, order]
    assert proba is not None
    scores = {t: _accuracy_at(t, proba, classes, y) for t in PARAMS["threshold_grid"]}
    # Highest accuracy; among ties the higher threshold, since a wrong answer costs more than "not sure".
    threshold = max(scores, key=lambda t: (round(scores[t], 4), t))
    progress(f"threshold {threshold:.2f} (cross-validated accuracy {scores[threshold]:.3f})")
    progress("fitting the final model on all examples")
    final = build_pipeline().fit(list(X) + kb_X, list(y) + kb_y)
    return TrainedModel(final, threshold=threshold, margin=PARAMS["margin"], cv_accuracy=scores[threshold])


__all__ = ["PARAMS", "TrainedModel", "build_pipeline", "model_text", "train"]
