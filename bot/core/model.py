"""The served model: the trained pipeline's arithmetic in plain numpy.

Training uses scikit-learn (bot.core.classifier). Importing scikit-learn costs over a
second (it pulls in scipy.stats), which alone would blow the cold-start budget of
`python -m bot classify`. So after fitting, the Pipeline is compiled into the arrays it
actually uses: vocabularies, idf weights, the linear models' coefficients and the sigmoid
calibration. `compile_pipeline` checks that the compiled form reproduces the Pipeline's
probabilities on the training texts before anything is saved, so the two cannot drift.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Sequence

import numpy as np

_DIGITS = re.compile(r"\d{1,50}")
_SPACE = re.compile(r"\s{1,10000}")

# Hyper-parameters are part of the model's identity: changing one makes a stored model stale.
PARAMS = {
    "word_ngrams": (1, 2),
    "word_token_pattern": r"(?u)\b\w[\w'/-]{0,40}\b",
    "char_ngrams": (2, 5),
    "char_min_df": 2,
    "C": 0.5,
    "calibration_folds": 3,
    "cv_folds": 5,
    "margin": 0.12,
    "threshold_grid": [round(0.15 + 0.05 * i, 2) for i in range(12)],
}


def model_text(text: str) -> str:
    """What the vectorisers see: lower case, numbers folded, so SO-00412 looks like SO-00999."""
    return _SPACE.sub(" ", _DIGITS.sub("0", text.lower())).strip()


def word_ngrams(text: str, pattern: re.Pattern[str], ngrams: tuple[int, int]) -> list[str]:
    tokens = pattern.findall(text)
    grams = list(tokens) if ngrams[0] == 1 else []
    for n in range(max(2, ngrams[0]), min(ngrams[1], len(tokens)) + 1):
        grams += [" ".join(tokens[i: i + n]) for i in range(len(tokens) - n + 1)]
    return grams


def char_wb_ngrams(text: str, ngrams: tuple[int, int]) -> list[str]:
    """Character n-grams inside word boundaries, padded with a space (scikit-learn's char_wb)."""
    grams = []
    for w in text.split():
        w = f" {w} "
        for n in range(ngrams[0], ngrams[1] + 1):
            if len(w) <= n:  # a short word counts once, whole
                grams.append(w)
                break
            grams += [w[i: i + n] for i in range(len(w) - n + 1)]
    return grams


@dataclass
class Block:
    """One TF-IDF block: sublinear tf, idf weighting, l2 normalisation."""

    vocabulary: dict[str, int]
    idf: np.ndarray
    offset: int

    def weights(self, grams: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """(feature indices, tf-idf values) for one document's n-grams."""
        get = self.vocabulary.get
        # Look every n-gram up, then count the known ones in numpy: cheaper than counting the
        # strings first (most n-grams of a message are repeats or unknown).
        found = [j for g in grams if (j := get(g)) is not None]
        if not found:
            return _NO_INDEX, _NO_VALUE
        idx, tf = np.unique(np.array(found, dtype=np.int64), return_counts=True)
        values = (np.log(tf) + 1.0) * self.idf[idx]
        values /= np.sqrt(np.dot(values, values))
        return idx + self.offset, values


_NO_INDEX = np.zeros(0, dtype=np.int64)
_NO_VALUE = np.zeros(0, dtype=np.float64)


@dataclass
class CompiledModel:
    classes: list[str]
    words: Block
    chars: Block
    word_pattern: str
    word_range: tuple[int, int]
    char_range: tuple[int, int]
    # Row f holds feature f's coefficient for every (calibration model, class) pair, so one
    # message's few non-zero features gather a few contiguous rows.
    coef: np.ndarray        # (n_features, n_models * n_classes)
    intercept: np.ndarray   # (n_models, n_classes)
    sigmoid_a: np.ndarray   # (n_models, n_classes)
    sigmoid_b: np.ndarray   # (n_models, n_classes)

    def __post_init__(self) -> None:
        self._pattern = re.compile(self.word_pattern)

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._pattern = re.compile(self.word_pattern)

    def __getstate__(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k != "_pattern"}

    def features(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        prepared = model_text(text)
        wi, wv = self.words.weights(word_ngrams(prepared, self._pattern, self.word_range))
        ci, cv = self.chars.weights(char_wb_ngrams(prepared, self.char_range))
        return np.concatenate((wi, ci)), np.concatenate((wv, cv))

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        n_models, n_classes = self.intercept.shape
        decision = np.empty((len(texts), n_models * n_classes))
        for n, text in enumerate(texts):
            idx, val = self.features(text)
            decision[n] = val @ self.coef[idx]
        decision = decision.reshape(len(texts), n_models, n_classes) + self.intercept
        with np.errstate(over="ignore"):  # exp overflow is a probability of exactly 0
            proba = 1.0 / (1.0 + np.exp(self.sigmoid_a * decision + self.sigmoid_b))
        total = proba.sum(axis=2, keepdims=True)
        proba = np.divide(proba, total, out=np.full_like(proba, 1.0 / n_classes), where=total != 0)
        return proba.mean(axis=1)


@dataclass
class TrainedModel:
    scorer: CompiledModel
    threshold: float
    margin: float
    cv_accuracy: float

    @property
    def classes(self) -> list[str]:
        return self.scorer.classes

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        return self.scorer.predict_proba(texts)
