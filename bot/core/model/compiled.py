"""The served model: the trained pipeline's arithmetic in plain numpy.

Training uses scikit-learn (bot.core.model.train). Importing scikit-learn costs over a
second (it pulls in scipy.stats), which alone would blow the cold-start budget of
`python -m bot classify`. So after fitting, the Pipeline is compiled into the arrays it
actually uses: vocabularies, idf weights, the linear models' coefficients and the sigmoid
calibration. `compile_pipeline` checks that the compiled form reproduces the Pipeline's
probabilities on the training texts before anything is saved, so the two cannot drift.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import chain
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


def word_char_grams(word: str, ngrams: tuple[int, int]) -> list[str]:
    """One word's character n-grams, padded with a space (scikit-learn's char_wb analyser
    makes them word by word: they depend on the word alone, so the model memoises them)."""
    w = f" {word} "
    grams = []
    for n in range(ngrams[0], ngrams[1] + 1):
        if len(w) <= n:  # a short word counts once, whole
            grams.append(w)
            break
        grams += [w[i: i + n] for i in range(len(w) - n + 1)]
    return grams


@dataclass
class Block:
    """One TF-IDF block: sublinear tf, idf weighting, l2 normalisation. Its features are
    numbered from `offset` in the model's feature space."""

    vocabulary: dict[str, int]
    idf: np.ndarray
    offset: int

    def indices(self, grams: list[str]) -> list[int]:
        """The model's feature numbers of the n-grams this block knows, repeats kept (they count)."""
        get, offset = self.vocabulary.get, self.offset
        return [j + offset for g in grams if (j := get(g)) is not None]


# Words whose character n-gram lookups are remembered. Messages about sync errors reuse a few
# thousand words; a paste of random text could bring endless new ones, so the memo is emptied
# when full rather than allowed to grow.
CHAR_MEMO_WORDS = 50_000
# Coefficient rows gathered at once when scoring a batch (under 2 MB of float32; a chunk of
# six messages uses about 1,700).
GATHER_ROWS = 4_096


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
    coef: np.ndarray        # (n_features, n_models * n_classes), float32
    intercept: np.ndarray   # (n_models, n_classes)
    sigmoid_a: np.ndarray   # (n_models, n_classes)
    sigmoid_b: np.ndarray   # (n_models, n_classes)

    def __post_init__(self) -> None:
        self._derive()

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._derive()

    def __getstate__(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if not k.startswith("_")}

    def _derive(self) -> None:
        """What serving needs beyond the stored arrays (never pickled: rebuilt on load)."""
        self._pattern = re.compile(self.word_pattern)
        self._idf = np.concatenate((self.words.idf, self.chars.idf))
        # The calibration sigmoid of (decision + intercept) as one multiply-add of the decision.
        self._slope = self.sigmoid_a.reshape(-1).copy()
        self._shift = (self.sigmoid_a * self.intercept + self.sigmoid_b).reshape(-1)
        self._char_memo: dict[str, list[int]] = {}

    def feature_indices(self, text: str) -> list[int]:
        """The feature number of every known n-gram of `text`, once per occurrence: words first."""
        prepared = model_text(text)
        found = self.words.indices(word_ngrams(prepared, self._pattern, self.word_range))
        memo = self._char_memo
        for word in prepared.split():
            known = memo.get(word)
            if known is None:
                known = self.chars.indices(word_char_grams(word, self.char_range))
                if len(memo) >= CHAR_MEMO_WORDS:
                    memo.clear()
                memo[word] = known
            found += known
        return found

    def _tfidf(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The tf-idf vectors of all `texts` at once, as (text number, feature number, value)
        triples sorted by text then feature. Counting, weighting and normalising a whole batch
        in a few array operations costs far less than doing it text by text."""
        found = [self.feature_indices(t) for t in texts]
        n_features = self.coef.shape[0]
        keys = np.fromiter(chain.from_iterable(found), dtype=np.int64, count=sum(map(len, found)))
        if len(found) > 1:  # (text, feature) as one number, so one sort counts them all
            keys += np.repeat(np.arange(len(found), dtype=np.int64) * n_features, [len(f) for f in found])
        if not len(keys):
            return keys, keys, np.zeros(0)
        keys.sort()
        # The count of each distinct key: the distance between the starts of its runs.
        first = np.empty(len(keys), dtype=bool)
        first[0] = True
        np.not_equal(keys[1:], keys[:-1], out=first[1:])
        starts = np.flatnonzero(first)
        tf = np.empty(len(starts))
        np.subtract(starts[1:], starts[:-1], out=tf[:-1])
        tf[-1] = len(keys) - starts[-1]
        rows, idx = np.divmod(keys[starts], n_features)
        values = np.log(tf)
        values += 1.0
        values *= self._idf[idx]
        # Each block is l2-normalised on its own: group = (text, block).
        group = rows * 2 + (idx >= self.chars.offset)
        norms = np.sqrt(np.bincount(group, weights=values * values, minlength=2 * len(texts)))
        values /= norms[group]
        return rows, idx, values

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        n_models, n_classes = self.intercept.shape
        decision = np.zeros((len(texts), n_models * n_classes))
        if len(texts):
            rows, idx, values = self._tfidf(texts)
            starts = np.searchsorted(rows, np.arange(len(texts) + 1)).tolist()
            # The rows of a run of texts gathered at once, then a dot product per text: per-text
            # fancy indexing and `@` (a ufunc, slow on mixed float32/float64) cost twice as much.
            # A run holds at most GATHER_ROWS rows, so a huge paste's segments stay in bounded memory.
            first = 0
            while first < len(texts):
                end = first + 1
                while end < len(texts) and starts[end + 1] - starts[first] <= GATHER_ROWS:
                    end += 1
                base = starts[first]
                gathered = self.coef.take(idx[base: starts[end]], axis=0)
                for n in range(first, end):
                    a, b = starts[n], starts[n + 1]
                    if a < b:
                        decision[n] = np.dot(values[a:b], gathered[a - base: b - base])
                first = end
        decision *= self._slope
        decision += self._shift
        with np.errstate(over="ignore"):  # exp overflow is a probability of exactly 0
            np.exp(decision, out=decision)
        decision += 1.0
        proba = np.reciprocal(decision, out=decision).reshape(len(texts), n_models, n_classes)
        total = proba.sum(axis=2, keepdims=True)
        if total.all():
            proba /= total
        else:  # every class's sigmoid underflowed: that model says nothing, evenly
            proba = np.divide(proba, total, out=np.full_like(proba, 1.0 / n_classes), where=total != 0)
        return proba.sum(axis=1) * (1.0 / n_models)


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
