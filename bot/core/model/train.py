"""The statistical half of the diagnosis: TF-IDF features and a calibrated linear model.

Vectorisers and classifier live in one scikit-learn Pipeline so training and serving can
never disagree about features. The acceptance threshold (below it the bot says it does
not know) is chosen from cross-validated predictions on the training data only; the
held-out set is never read here.
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
from sklearn.calibration import CalibratedClassifierCV
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.svm import LinearSVC

from ..nlu.catalog import OUT_OF_SCOPE
from .compiled import PARAMS, Block, CompiledModel, TrainedModel, model_text

Progress = Callable[[str], None]


def build_pipeline() -> Pipeline:
    features = FeatureUnion([
        ("words", TfidfVectorizer(preprocessor=model_text, ngram_range=PARAMS["word_ngrams"],
                                  sublinear_tf=True, token_pattern=PARAMS["word_token_pattern"])),
        ("chars", TfidfVectorizer(preprocessor=model_text, analyzer="char_wb",
                                  ngram_range=PARAMS["char_ngrams"], sublinear_tf=True,
                                  min_df=PARAMS["char_min_df"])),
    ])
    model = CalibratedClassifierCV(
        LinearSVC(C=PARAMS["C"], class_weight="balanced"),
        method="sigmoid", cv=PARAMS["calibration_folds"],
    )
    return Pipeline([("features", features), ("model", model)])


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
    progress("compiling the model for serving and checking it against the pipeline")
    scorer = compile_pipeline(final, list(X) + kb_X)
    return TrainedModel(scorer, threshold=threshold, margin=PARAMS["margin"], cv_accuracy=scores[threshold])


class CompileError(RuntimeError):
    """The compiled model does not reproduce the pipeline; never saved."""


def _most_common_first(vocabulary: dict, idf: np.ndarray) -> tuple[dict[str, int], np.ndarray, np.ndarray]:
    """A block's features renumbered by falling document frequency (rising idf): (vocabulary,
    idf, old number of each new one). Every message uses the common n-grams, so their rows of
    coefficients end up side by side and tend to stay in the CPU cache; in scikit-learn's
    alphabetical order they are spread over the whole (tens of MB) matrix."""
    idf = np.asarray(idf)
    order = np.argsort(idf, kind="stable")
    renumber = np.empty_like(order)
    renumber[order] = np.arange(len(order))
    return {str(g): int(renumber[j]) for g, j in vocabulary.items()}, idf[order], order


# The coefficients are kept in single precision (half the memory, and half the bytes each message
# gathers from it); the sums stay in double. Probabilities then differ from the pipeline's by
# about 1e-8, far below anything a threshold or a shown percentage can tell apart.
COMPILE_TOLERANCE = 1e-7


def compile_pipeline(pipe: Pipeline, check_texts: Sequence[str], tolerance: float = COMPILE_TOLERANCE) -> CompiledModel:
    """Export the fitted Pipeline's arrays, and prove the export scores exactly as it does."""
    words, chars = (t for _, t in pipe.named_steps["features"].transformer_list)
    calibrated = pipe.named_steps["model"]
    classes = [str(c) for c in calibrated.classes_]
    n_words = len(words.vocabulary_)
    n_features = n_words + len(chars.vocabulary_)
    models = calibrated.calibrated_classifiers_
    coef = np.zeros((len(models), n_features, len(classes)))
    intercept = np.zeros((len(models), len(classes)))
    # A class a fold never saw keeps probability 0 there: a huge b makes its sigmoid 0.
    sig_a = np.zeros((len(models), len(classes)))
    sig_b = np.full((len(models), len(classes)), 1e9)
    for m, cc in enumerate(models):
        columns = [classes.index(str(c)) for c in cc.estimator.classes_]
        for k, (col, calibrator) in enumerate(zip(columns, cc.calibrators)):
            coef[m, :, col] = cc.estimator.coef_[k]
            intercept[m, col] = cc.estimator.intercept_[k]
            sig_a[m, col] = calibrator.a_
            sig_b[m, col] = calibrator.b_
    word_vocab, word_idf, word_rows = _most_common_first(words.vocabulary_, words.idf_)
    char_vocab, char_idf, char_rows = _most_common_first(chars.vocabulary_, chars.idf_)
    rows = np.concatenate((word_rows, char_rows + n_words))
    compiled = CompiledModel(
        classes=classes,
        words=Block(word_vocab, word_idf, 0),
        chars=Block(char_vocab, char_idf, n_words),
        word_pattern=PARAMS["word_token_pattern"],
        word_range=tuple(PARAMS["word_ngrams"]),
        char_range=tuple(PARAMS["char_ngrams"]),
        coef=np.ascontiguousarray(coef.transpose(1, 0, 2).reshape(n_features, -1)[rows], dtype=np.float32),
        intercept=intercept, sigmoid_a=sig_a, sigmoid_b=sig_b,
    )
    expected = pipe.predict_proba(list(check_texts))
    got = compiled.predict_proba(list(check_texts))
    worst = float(np.abs(expected - got).max()) if len(check_texts) else 0.0
    if worst > tolerance:
        raise CompileError(f"compiled model differs from the pipeline by {worst:.2e}")
    return compiled


