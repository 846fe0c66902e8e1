"""The served model's arithmetic: batching and the per-word memo must not change a probability."""

from __future__ import annotations

import math
import pickle
from collections import Counter

import numpy as np
import pytest

import bot.core.model.compiled as model_module
from bot.core.model.compiled import CompiledModel, model_text, word_char_grams, word_ngrams

TEXTS = [
    'Sales invoice INV-00412 could not be exported: "Account period is closed"',
    "the sync keeps failing since we changed our tax codes",
    "",
    "   ",
    "漢字 ǂǂ",  # nothing the model knows
    "Bill for PO-0091 failed. The supplier 'Acme Ltd' is inactive in QuickBooks.\n" * 40,
    "refund credit note not matched to the deposit",
]


@pytest.fixture(scope="module")
def scorer(core) -> CompiledModel:
    return core.engine.model.scorer


def reference_features(scorer: CompiledModel, text: str) -> dict[int, float]:
    """The tf-idf vector written the slow, obvious way (scikit-learn's definition)."""
    prepared = model_text(text)
    out: dict[int, float] = {}
    for block, grams in ((scorer.words, word_ngrams(prepared, scorer._pattern, scorer.word_range)),
                         (scorer.chars, [g for w in prepared.split() for g in word_char_grams(w, scorer.char_range)])):
        counts = Counter(block.vocabulary[g] for g in grams if g in block.vocabulary)
        values = {j: (math.log(tf) + 1.0) * block.idf[j] for j, tf in counts.items()}
        norm = math.sqrt(sum(v * v for v in values.values()))
        out.update({j + block.offset: v / norm for j, v in values.items()})
    return out


@pytest.mark.parametrize("text", TEXTS)
def test_features_match_the_definition(scorer, text):
    _rows, idx, values = scorer._tfidf([text])
    expected = reference_features(scorer, text)
    assert sorted(idx.tolist()) == sorted(expected)
    assert dict(zip(idx.tolist(), values.tolist())) == pytest.approx(expected, rel=1e-12)


def test_a_batch_scores_each_text_as_if_it_were_alone(scorer):
    together = scorer.predict_proba(TEXTS)
    alone = np.vstack([scorer.predict_proba([t]) for t in TEXTS])
    assert together.shape == (len(TEXTS), len(scorer.classes))
    np.testing.assert_allclose(together, alone, rtol=0, atol=1e-12)
    np.testing.assert_allclose(together.sum(axis=1), 1.0, atol=1e-9)
    assert scorer.predict_proba([]).shape == (0, len(scorer.classes))


@pytest.mark.parametrize("rows", [1, 40, 300])
def test_gathering_a_batch_in_runs_of_bounded_rows_changes_nothing(scorer, monkeypatch, rows):
    """Texts longer than the run (one text per run), shorter (several per run), and between."""
    whole = scorer.predict_proba(TEXTS * 3)
    monkeypatch.setattr(model_module, "GATHER_ROWS", rows)
    np.testing.assert_array_equal(scorer.predict_proba(TEXTS * 3), whole)


def test_a_text_with_no_known_feature_gets_the_intercepts_alone(scorer):
    blank, unknown = scorer.predict_proba(["", "漢字 ǂǂ"])
    assert not len(scorer._tfidf(["漢字 ǂǂ"])[1])
    np.testing.assert_allclose(blank, unknown, atol=1e-12)


def test_the_word_memo_is_bounded_and_changes_nothing(scorer, monkeypatch):
    before = scorer.predict_proba(TEXTS)
    monkeypatch.setattr(model_module, "CHAR_MEMO_WORDS", 5)
    scorer._char_memo.clear()
    many = " ".join(f"word{n}x" for n in range(50))
    scorer.predict_proba([many])
    assert len(scorer._char_memo) <= 5
    np.testing.assert_allclose(scorer.predict_proba(TEXTS), before, atol=1e-12)


def test_the_memo_is_not_stored_with_the_model(scorer):
    scorer.predict_proba(TEXTS)
    assert scorer._char_memo
    copy = pickle.loads(pickle.dumps(scorer))
    assert copy._char_memo == {}
    np.testing.assert_allclose(copy.predict_proba(TEXTS), scorer.predict_proba(TEXTS), atol=0)


def test_features_are_numbered_most_common_first(scorer):
    for block in (scorer.words, scorer.chars):
        assert np.all(np.diff(block.idf) >= 0)
        assert sorted(block.vocabulary.values()) == list(range(len(block.idf)))
