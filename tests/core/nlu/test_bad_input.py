"""Whatever arrives, diagnose returns exactly one sane Answer and every channel renders it."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, example, given, settings, strategies as st

from bot.core.nlu.answers import Answer, AnswerKind
from bot.core.nlu.catalog import OUT_OF_SCOPE
from bot.slack.format import SLACK_MAX_BLOCKS

ERRORS = [
    'Bill "BILL-7731" has not been exported to QuickBooks',
    'Product "GRN-MUG-12" in "SO-00412" has not been exported to QuickBooks',
    "Unexpected user error. ( -12476 )",
    "Max:999,999,999 supported. Supplied value:-45.00",
    "Transactions can have only one foreign currency at a time",
]

any_chars = st.characters(exclude_categories=())  # every code point, lone surrogates included
texts = st.one_of(
    st.text(any_chars, max_size=300),
    st.binary(max_size=300).map(lambda b: b.decode("utf-8", "replace")),
    st.text(st.characters(max_codepoint=0x1F), max_size=100),  # control characters
    st.lists(st.sampled_from(["\U0001F525", "\U0001F468\u200D\U0001F4BB", "\u05E9\u05DC\u05D5\u05DD", "\u0645\u0631\u062D\u0628\u0627",
                             "\u202E", "\u200F", "\uFEFF", "\u0301", "&lt;", "<!channel>", " ", "\n"]),
             max_size=80).map("".join),  # emoji, RTL text, bidi controls
    # junk around a real error text, so the signature path sees hostile input too
    st.tuples(st.text(any_chars, max_size=100), st.sampled_from(ERRORS), st.text(any_chars, max_size=100)).map("".join),
)

HUGE = "Bill \"BILL-7731\" has not been exported to QuickBooks\n" + "\u00e9\U0001F525 noise line\n" * 140_000


def check_answer(core, answer: Answer) -> None:
    assert isinstance(answer, Answer)
    assert answer.kind in set(AnswerKind)
    assert answer.intent == OUT_OF_SCOPE or answer.intent in core.catalog
    assert 0.0 <= answer.confidence <= 1.0
    for alt in answer.alternatives:
        assert alt.intent in core.catalog and 0.0 <= alt.confidence <= 1.0
    for finding in answer.findings:
        assert finding.intent in core.catalog and 0.0 <= finding.confidence <= 1.0
    if answer.kind in (AnswerKind.DIAGNOSIS, AnswerKind.CHOICE, AnswerKind.META):
        assert answer.findings and answer.findings[0].intent == answer.intent
    json.dumps(answer.to_json(), allow_nan=False, ensure_ascii=False).encode("utf-8")  # strict JSON, valid UTF-8


def check_renders(core, answer: Answer) -> None:
    slack = core.renderer.slack(answer)
    assert 1 <= len(slack["blocks"]) <= SLACK_MAX_BLOCKS
    json.dumps(slack, ensure_ascii=False).encode("utf-8")
    teams = core.renderer.teams(answer)
    assert teams["type"] == "AdaptiveCard" and teams["body"]
    json.dumps(teams, ensure_ascii=False).encode("utf-8")
    text = core.renderer.text(answer)
    assert text.strip()
    text.encode("utf-8")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(text=texts)
@example(text="")
@example(text="   \n\t  ")
@example(text='"' * 5000)
@example(text="\ud800\udfff lone surrogates \udc80 Bill \"B-\ud83d\" has not been exported to QuickBooks")
@example(text="\x00\x01\x1b[31m\x7f")
@example(text="\u202eUnexpected user error. ( -12476 )\u202c")
@example(text="\U0001F525" * 2000)
def test_diagnose_is_total(core, text):
    answer = core.engine.diagnose(text)
    check_answer(core, answer)
    check_renders(core, answer)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batch=st.lists(texts, min_size=0, max_size=6))
def test_diagnose_many_answers_each_message_once(core, batch):
    answers = core.engine.diagnose_many(batch)
    assert len(answers) == len(batch)
    for text, answer in zip(batch, answers):
        assert answer.to_json() == core.engine.diagnose(text).to_json()


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(intent=st.sampled_from(["order_product_not_exported", "one_foreign_currency", "negative_amount", "help"]),
       text=texts)
def test_answer_for_is_total(core, intent, text):
    answer = core.engine.answer_for(intent, text)
    check_answer(core, answer)
    check_renders(core, answer)


@pytest.mark.parametrize("text", [
    "x" * 2_000_000,
    HUGE,
    ("sync error product pending " * 80_000),
    ("\n" * 1_000_000) + "Unexpected user error. ( -12476 )",
])
def test_megabyte_pastes(core, text):
    assert len(text) >= 1_000_000
    answer = core.engine.diagnose(text)
    check_answer(core, answer)
    check_renders(core, answer)


def test_megabyte_paste_keeps_the_error_at_its_start(core):
    answer = core.engine.diagnose(HUGE)
    assert answer.intent == "bill_not_exported"
    assert answer.entities["bill"] == "BILL-7731"


def test_surrogates_in_a_captured_value_do_not_break_rendering(core):
    answer = core.engine.diagnose('Product "GRN-\ud83d-MUG" in "SO-00412" has not been exported to QuickBooks')
    assert answer.intent == "order_product_not_exported"
    check_renders(core, answer)
    assert "\ud83d" not in answer.entities["product"]
