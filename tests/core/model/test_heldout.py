"""The two held-out sets: read by their own functions, never part of the model's inputs, and
scored with the trust figures (out-of-scope answered confidently, pastes accounted for)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.core.model.examples import load_training_examples, load_wild_examples, training_files
from bot.core.model.trust import trust
from bot.core.nlu.answers import Answer, AnswerKind, Finding, FindingKind
from bot.core.nlu.catalog import CatalogError

PROJECT_TRAINING = Path(__file__).resolve().parents[3] / "training"


def test_the_wild_set_is_read_on_its_own_and_never_trained_on(catalog):
    wild = load_wild_examples(PROJECT_TRAINING, catalog)
    assert len(wild) >= 300
    assert sum(1 for e in wild if e.intent == "out_of_scope") >= 60
    assert any(e.findings for e in wild)
    trained = {e.text for e in load_training_examples(PROJECT_TRAINING, catalog)}
    assert not trained & {e.text for e in wild}
    assert all("heldout" not in str(path) for path in training_files(PROJECT_TRAINING))


def test_a_paste_example_lists_its_findings(tmp_path, catalog):
    folder = tmp_path / "heldout-wild"
    folder.mkdir()
    (folder / "period_closed.yaml").write_text(
        "intent: period_closed\nexamples:\n  - closed books\n"
        "  - text: \"line one\\nline two\"\n    findings: [period_closed, out_of_scope]\n", encoding="utf-8")
    plain, paste = load_wild_examples(tmp_path, catalog)
    assert plain.findings == () and paste.findings == ("period_closed", "out_of_scope")
    (folder / "period_closed.yaml").write_text(
        "intent: period_closed\nexamples:\n  - text: x\n    findings: [no_such_intent]\n", encoding="utf-8")
    with pytest.raises(CatalogError, match="unknown intents in findings"):
        load_wild_examples(tmp_path, catalog)


def test_a_project_without_a_wild_set(tmp_path, catalog):
    assert load_wild_examples(tmp_path, catalog) == []


def test_trust_figures(catalog):
    from bot.core.model.examples import Example

    examples = [Example("a", "out_of_scope", "x"), Example("b", "out_of_scope", "x"), Example("c", "out_of_scope", "x"),
                Example("d", "period_closed", "x", ("period_closed", "out_of_scope"))]
    answers = [
        Answer(AnswerKind.DIAGNOSIS, "period_closed", 0.85),        # refused? no, and confidently
        Answer(AnswerKind.DIAGNOSIS, "period_closed", 0.55),        # answered, but not confidently
        Answer(AnswerKind.OUT_OF_SCOPE, "out_of_scope", 0.99),      # refused
        Answer(AnswerKind.DIAGNOSIS, "period_closed", 0.99, findings=(
            Finding("period_closed", 0.99), Finding("out_of_scope", 0.9, kind=FindingKind.NOT_RECOGNISED))),
    ]
    found = trust(examples, answers)
    assert (found.oos_confident, found.oos_total) == (1, 3)
    assert (found.pastes_accounted, found.pastes_total) == (1, 1)
    answers[3] = Answer(AnswerKind.DIAGNOSIS, "period_closed", 0.99, findings=(Finding("period_closed", 0.99),))
    assert trust(examples, answers).pastes_accounted == 0  # the unknown line was dropped
