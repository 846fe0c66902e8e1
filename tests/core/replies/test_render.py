"""Replies per channel: golden files for every intent, specifics in the steps, escaping of
user text, and Slack / Teams limits.

Golden answers are built with `engine.answer_for`, or from the exact error text's finding
alone; neither consults the model, so they change only when intents/, responses/ or the
renderer change. Every problem intent has one with the specifics of a message and one
without (`<intent>--bare`: every slot falls back to its plain wording). After an intended
change, run `UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/core/replies/test_render.py`
and review the diff.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from dataclasses import replace

from bot.core.nlu.answers import Answer, AnswerKind, Finding, FindingKind, Scored
from bot.core.nlu.catalog import META_INTENTS, SLOT_NAMES
from bot.core.replies.render import Renderer
from bot.slack.format import (SLACK_BUTTON_CHARS, SLACK_HEADER_CHARS, SLACK_MAX_BLOCKS, SLACK_SECTION_CHARS,
                              slack_literal)
from bot.teams.format import TEAMS_TEXT_CHARS
from bot.wiring import channel_formats
from tests.support import PROJECT_ROOT, strings

GOLDEN = Path(__file__).resolve().parents[2] / "golden"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"
CASE_ID = "case-123"

# One message per intent with the specifics its text can show.
SAMPLES = {
    "ar_ap_currency_mismatch": "The transaction needs to be in the same currency as the A/R and A/P accounts you use (INV-2031)",
    "bill_not_exported": 'Bill "BILL-7731" has not been exported to QuickBooks',
    "completed_with_processing_errors": "SO-00412 shows Completed with processing errors",
    "credit_account_deprecated": "Credit account (4000-Sales) is not mapped to any QuickBooks account",
    "credit_note_no_lines": "No lines found in the sale credit note for SO-00412",
    "credit_note_zeroed": "INV-2031 shows 0 in QuickBooks after the refund",
    "customer_prepayment_not_syncing": 'prepayment from customer "Blue Sky Cafe" of $250.00 is not syncing',
    "duplicate_cogs": "COGS doubled on SO-00412",
    "duplicate_name": 'Another customer, supplier, or employee is already using this name (supplier "Acme Supplies")',
    "duplicate_product_names": "product GRN-MUG-12 exists twice in DEAR",
    "escalate": "can I talk to a person",
    "greeting": "hi",
    "help": "what can you do?",
    "inactive_product_in_qbo": "product GRN-MUG-12 is inactive in QBO but active in DEAR",
    "inactive_reference": "Something you're trying to use has been made inactive (SO-00412)",
    "matched_bank_transaction": "This transaction is matched to a downloaded transaction (PAY-0091)",
    "negative_amount": "Amount is not valid. Min:0 Max:999,999,999 supported. Supplied value:-45.00",
    "one_foreign_currency": "Transactions can have only one foreign currency at a time",
    "order_product_not_exported": 'Product "GRN-MUG-12" in "SO-00412" has not been exported to QuickBooks',
    "payment_account_deprecated": "Payment account code specified for the payment is not mapped to any QuickBooks account (PAY-0091)",
    "pending_products_tax_rule": "product GRN-MUG-12 is Pending in sync history",
    "period_closed": "The account period has closed and the account books cannot be updated (INV-2031, $18.40)",
    "product_not_exported": "Product GRN-MUG-12 has not been exported to QuickBooks",
    "product_version_error": "product GRN-MUG-12: Item version already exists in QBO",
    "qbo_disconnected": "QuickBooks got disconnected from DEAR",
    "reference_number_not_unique": "Reference number is not unique, please specify a unique value.",
    "revenue_account_mapping": "sales of product GRN-MUG-12 post to the wrong income account",
    "sale_cogs_pending": "COGS entry for SO-00412 stuck on Pending",
    "sales_tax_mismatch": "taxable sales do not equal tax collected for Shopify in USD",
    "thanks": "thanks",
    "transaction_deposited": "This transaction has been deposited (payment on INV-2031)",
    "unauthorized_401": "Unauthorized-401",
    "unexpected_user_error": "Unexpected user error. ( -12476 )",
}
# Extra cases for the two-cause intents: a variant the evidence proves, and both when it does not.
# These go through the exact error texts (the evidence), keeping only the finding.
VARIANT_SAMPLES = {
    "reference_number_not_unique--journal": (
        "reference_number_not_unique",
        "Failed to export a journal entry for JNL-0087 from DEAR to QuickBooks: Reference number is not unique"),
    "reference_number_not_unique--both": (
        "reference_number_not_unique", "Invoice INV-2031: Reference number is not unique"),
    "one_foreign_currency--both": (
        "one_foreign_currency", "Transactions can have only one foreign currency at a time; the inventory account and A/R differ"),
    "one_foreign_currency--customer": (
        "one_foreign_currency",
        'Transactions can have only one foreign currency at a time; customer "Blue Sky Cafe" sale from Shopify in CAD'),
}
BARE = "--bare"


def from_error_text(core, intent: str, text: str) -> Answer:
    """The answer to an exact error text, without the model's alternatives."""
    found = core.engine.diagnose(text)
    assert found.intent == intent and found.primary.source == "signature"
    return Answer(found.kind, found.intent, found.confidence, (), found.entities, found.findings[:1])


def problem_ids() -> list[str]:
    return sorted(i for i in SAMPLES if i not in META_INTENTS)


def answer_cases(core) -> dict[str, Answer]:
    cases = {intent: core.engine.answer_for(intent, text) for intent, text in SAMPLES.items()}
    cases.update({name: from_error_text(core, intent, text) for name, (intent, text) in VARIANT_SAMPLES.items()})
    cases.update({intent + BARE: core.engine.answer_for(intent, "") for intent in problem_ids()})
    cases["_empty"] = Answer(AnswerKind.EMPTY, "out_of_scope", 1.0)
    cases["_out_of_scope"] = Answer(AnswerKind.OUT_OF_SCOPE, "out_of_scope", 0.91, (
        Scored("qbo_disconnected", 0.05), Scored("unauthorized_401", 0.03), Scored("unexpected_user_error", 0.01)))
    cases["_choice"] = Answer(AnswerKind.CHOICE, "pending_products_tax_rule", 0.45, (Scored("sale_cogs_pending", 0.41),),
                              {}, (Finding("pending_products_tax_rule", 0.45), Finding("sale_cogs_pending", 0.41)))
    cases["_two_errors"] = Answer(AnswerKind.DIAGNOSIS, "bill_not_exported", 0.99, (Scored("negative_amount", 0.99),),
                                  {"bill": "BILL-7731"}, (
        Finding("bill_not_exported", 0.99, {"bill": "BILL-7731"}, 'Bill "BILL-7731" has not been exported to QuickBooks', "signature"),
        Finding("negative_amount", 0.99, {"amount": "-45.00"}, "Max:999,999,999 supported. Supplied value:-45.00", "signature"),
        Finding("duplicate_cogs", 0.81),
    ))
    cases.update(finding_cases(core))
    return cases


def finding_cases(core) -> dict[str, Answer]:
    """Replies that show findings which are no known problem (issue 13)."""
    stale = core.engine.lookups.codes.by_code["5010"]
    uncovered = Finding("out_of_scope", 0.97, {"error_code": "5010"}, "", "code", kind=FindingKind.UNCOVERED_CODE,
                        code="5010", code_name=stale.name, meaning=stale.meaning)
    topics = (Scored("transaction_deposited", 0.99), Scored("matched_bank_transaction", 0.2))
    deposited = core.engine.answer_for("transaction_deposited", "This transaction has been deposited (INV-2031)")
    return {
        "_uncovered_code": Answer(AnswerKind.OUT_OF_SCOPE, "out_of_scope", 0.97, topics[1:], {"error_code": "5010"},
                                  (uncovered,)),
        "_other_product": Answer(AnswerKind.OUT_OF_SCOPE, "out_of_scope", 0.95, topics, {"source_system": "bill_com"}, (
            Finding("transaction_deposited", 0.95, {}, "", "signature", kind=FindingKind.OTHER_PRODUCT,
                    system="bill_com", system_name="Bill.com"),)),
        "_paste": Answer(AnswerKind.DIAGNOSIS, "transaction_deposited", 0.99, (), deposited.entities, (
            *deposited.findings,
            replace(uncovered, evidence="2025-06-01 ERROR CODE:5010 Stale Object Error (INV-2032)"),
            Finding("out_of_scope", 0.9, {}, "2025-06-01 ERROR [wms] bin <C-4> & <D-2> frozen", "model",
                    kind=FindingKind.NOT_RECOGNISED),
        ), unlisted=2),
        "_paste_unrecognised": Answer(AnswerKind.OUT_OF_SCOPE, "out_of_scope", 0.9, topics[1:], {}, (
            Finding("out_of_scope", 0.9, {}, "2025-06-01 ERROR [wms] label printer offline", "model",
                    kind=FindingKind.NOT_RECOGNISED),
            Finding("out_of_scope", 0.9, {}, "2025-06-01 ERROR [wms] carrier API timeout", "model",
                    kind=FindingKind.NOT_RECOGNISED),
        )),
        "_language": replace(core.engine.answer_for("period_closed", "la période comptable est clôturée (INV-2031)"),
                             language="fr", language_name="French"),
    }


FINDING_CASES = {"_uncovered_code", "_other_product", "_paste", "_paste_unrecognised", "_language"}
CASE_NAMES = sorted(set(SAMPLES) | set(VARIANT_SAMPLES) | {i + BARE for i in problem_ids()}
                    | {"_empty", "_out_of_scope", "_choice", "_two_errors"} | FINDING_CASES)
CHANNEL_FILES = {"slack": ".json", "teams": ".json", "text": ".txt"}


@pytest.fixture(scope="module")
def cases(core) -> dict[str, Answer]:
    return answer_cases(core)


def render(core, channel: str, answer: Answer):
    return getattr(core.renderer, channel)(answer, CASE_ID)


def serialise(channel: str, rendered) -> str:
    if channel == "text":
        return rendered
    return json.dumps(rendered, indent=2, ensure_ascii=False) + "\n"


# -- golden files --------------------------------------------------------------------------

@pytest.mark.parametrize("channel", sorted(CHANNEL_FILES))
@pytest.mark.parametrize("name", CASE_NAMES)
def test_golden(core, cases, name, channel):
    rendered = render(core, channel, cases[name])
    path = GOLDEN / channel / f"{name}{CHANNEL_FILES[channel]}"
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(serialise(channel, rendered), encoding="utf-8")
    assert path.exists(), f"no golden file {path}; run with UPDATE_GOLDEN=1 and review it"
    stored = path.read_text(encoding="utf-8")
    if channel == "text":
        assert rendered == stored
    else:
        assert rendered == json.loads(stored)


def test_every_intent_has_a_golden_case(catalog):
    assert set(catalog.ids) <= set(SAMPLES)


def test_no_orphan_golden_files():
    expected = {f"{channel}/{name}{ext}" for channel, ext in CHANNEL_FILES.items() for name in CASE_NAMES}
    found = {str(p.relative_to(GOLDEN)) for p in GOLDEN.rglob("*") if p.is_file()}
    assert found <= expected, f"golden files with no case: {sorted(found - expected)}"


def test_golden_samples_carry_their_specifics(cases):
    # Guards the samples themselves: each one with a slot the intent can show actually fills it.
    assert cases["order_product_not_exported"].entities == {"product": "GRN-MUG-12", "order": "SO-00412"}
    assert cases["bill_not_exported"].entities == {"bill": "BILL-7731"}
    assert cases["credit_account_deprecated"].entities == {"account_code": "4000-Sales"}
    assert cases["unexpected_user_error"].entities == {"error_code": "-12476"}
    assert cases["negative_amount"].entities["amount"] == "-45.00"
    assert cases["reference_number_not_unique--journal"].primary.variants == ("journal_entries",)
    assert cases["reference_number_not_unique--both"].primary.variants == ()
    assert cases["one_foreign_currency--both"].primary.variants == ()
    assert cases["one_foreign_currency--customer"].primary.variants == ("customer_currency",)
    assert cases["one_foreign_currency--customer"].entities["sale_currency"] == "CAD"
    assert cases["completed_with_processing_errors"].entities == {"order": "SO-00412"}
    for intent in problem_ids():
        assert cases[intent + BARE].entities == {}


# -- specifics in the steps ----------------------------------------------------------------

def steps_section(slack: dict) -> str:
    return next(b["text"]["text"] for b in slack["blocks"] if b["type"] == "section"
                and b["text"]["text"].startswith("*How to fix it*"))


def test_specifics_are_bold_in_the_steps_per_channel(core, cases):
    answer = cases["order_product_not_exported"]
    steps = steps_section(core.renderer.slack(answer))
    assert "*GRN-MUG-12*" in steps and "*SO-00412*" in steps
    teams = json.dumps(core.renderer.teams(answer), ensure_ascii=False)
    assert "**GRN-MUG-12**" in teams and "**SO-00412**" in teams
    text = core.renderer.text(answer)
    assert "Sync history for GRN-MUG-12." in text
    assert "*" not in text


def test_fallback_wording_when_the_message_has_no_specifics(core):
    answer = core.engine.answer_for("order_product_not_exported", "")
    steps = steps_section(core.renderer.slack(answer))
    assert "look in *Sync history* for the product." in steps
    assert "If the order still shows *Pending*" in steps


def test_knowledge_base_bold_marks_become_channel_bold(core, cases):
    answer = cases["duplicate_cogs"]
    assert "*Track inventory quantity on hand*" in steps_section(core.renderer.slack(answer))
    assert "**Track inventory quantity on hand**" in json.dumps(core.renderer.teams(answer))
    assert "switch Track inventory quantity on hand to off" in core.renderer.text(answer)


# -- escaping user text --------------------------------------------------------------------

HOSTILE = ('hey <!channel> <@U123> look: Product "&lt;!channel&gt; &amp; *bold* [link](x) <@U999>" '
           'in "SO-00412" has not been exported to QuickBooks')
PRODUCT_SHOWN = "<!channel> & *bold* [link](x)"


@pytest.fixture(scope="module")
def hostile(core) -> Answer:
    answer = core.engine.diagnose(HOSTILE)
    assert answer.intent == "order_product_not_exported"
    assert answer.entities["product"] == PRODUCT_SHOWN  # what the user literally typed
    return answer


# How slack_literal shows a formatting character as itself (bot/slack/format.py).
_LITERAL_MARKUP = re.compile(r"<!date\^00000000\^\{_\}\|[*_~`]>")


def assert_slack_safe(payload: dict) -> None:
    dumped = _LITERAL_MARKUP.sub("", json.dumps(payload, ensure_ascii=False))
    for raw in ("<!channel>", "<!here>", "<!everyone>", "<@U", "<#C"):
        assert raw not in dumped
    for s in strings(payload):
        s = _LITERAL_MARKUP.sub("", s)
        assert "<" not in s and ">" not in s, s
        assert not re.search(r"&(?!amp;|lt;|gt;)", s), s


def test_slack_escapes_user_text(core, hostile):
    payload = core.renderer.slack(hostile)
    assert_slack_safe(payload)
    steps = steps_section(payload)
    # The user's own *bold* is shown as typed: it neither formats nor closes the bold around it.
    assert "*&lt;!channel&gt; &amp; " + slack_literal("*bold*") + " [link](x)*" in steps
    evidence = next(b for b in payload["blocks"] if b["type"] == "context"
                    and b["elements"][0]["text"].startswith("From your message"))
    assert "&lt;!channel&gt; &amp;" in evidence["elements"][0]["text"]


def test_teams_backslash_escapes_user_text(core, hostile):
    card = core.renderer.teams(hostile)
    texts = list(strings(card))
    assert any(r"**<!channel> & \*bold\* \[link\](x)**" in t for t in texts)
    for t in texts:
        assert "[link](x)" not in t                      # no link
        assert "*bold*" not in t.replace(r"\*bold\*", "")  # no emphasis
        # "<!channel>" stays as typed: a card has no mentions without msteams entities, and no HTML.


def test_text_channel_shows_user_text_as_typed(core, hostile):
    text = core.renderer.text(hostile)
    assert f"Sync history for {PRODUCT_SHOWN}." in text


def test_user_text_is_never_evaluated_as_a_template(core):
    answer = core.engine.diagnose('Product "{{ 7*7 }} {% if 1 %}x{% endif %}" in "SO-1" has not been exported to QuickBooks')
    assert answer.entities["product"] == "{{ 7*7 }} {% if 1 %}x{% endif %}"
    for channel, shown in (("slack", slack_literal("{{ 7*7 }}")), ("teams", "{{ 7*7 }}"), ("text", "{{ 7*7 }}")):
        rendered = render(core, channel, answer)
        out = "\n".join(strings(rendered)) if channel != "text" else rendered
        assert shown in out
        assert "49" not in out


def test_terminal_control_characters_never_reach_the_text_reply(core):
    answer = core.engine.diagnose('Product "GRN\x1b[31mRED\x07" in "SO-00412" has not been exported to QuickBooks')
    text = core.renderer.text(answer)
    assert "\x1b" not in text and "\x07" not in text
    assert "GRN[31mRED" in text


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.lists(st.sampled_from(list("<>&*_~`[]()!@#|\\{}%-=.:; aZ09\u00e9\u202e")
                                     + ["&lt;", "&gt;", "&amp;", "<!channel>", "<@U1>", "<https://x.example|y>"]),
                     min_size=1, max_size=30).map("".join))
def test_any_product_name_is_escaped_for_slack(core, name):
    text = f'Product "{name}" in "SO-00412" has not been exported to QuickBooks'
    answer = core.engine.diagnose(text)
    assert_slack_safe(core.renderer.slack(answer))
    assert_slack_safe(core.renderer.slack(core.engine.answer_for("order_product_not_exported", text)))


# -- Slack limits and buttons ----------------------------------------------------------------

def assert_slack_limits(payload: dict) -> None:
    blocks = payload["blocks"]
    assert 1 <= len(blocks) <= SLACK_MAX_BLOCKS
    assert isinstance(payload["text"], str) and 0 < len(payload["text"]) <= 3000
    action_ids = []
    for block in blocks:
        if block["type"] == "section":
            assert 0 < len(block["text"]["text"]) <= SLACK_SECTION_CHARS
        if block["type"] == "header":
            assert block["text"]["type"] == "plain_text"
            assert 0 < len(block["text"]["text"]) <= SLACK_HEADER_CHARS
        if block["type"] == "context":
            assert 1 <= len(block["elements"]) <= 10
            assert all(0 < len(e["text"]) <= SLACK_SECTION_CHARS for e in block["elements"])
        buttons = [e for e in block.get("elements", []) if e.get("type") == "button"]
        buttons += [block["accessory"]] if "accessory" in block else []
        for button in buttons:
            assert 0 < len(button["text"]["text"]) <= SLACK_BUTTON_CHARS
            assert len(button["value"]) <= 2000
            action_ids.append(button["action_id"])
    assert len(action_ids) == len(set(action_ids)), "action_ids must be unique within a message"


def feedback_action_ids(payload: dict) -> list[str]:
    actions = [b for b in payload["blocks"] if b["type"] == "actions"]
    return [e["action_id"] for b in actions for e in b["elements"]]


@pytest.mark.parametrize("name", CASE_NAMES)
def test_slack_limits_for_every_case(core, cases, name):
    assert_slack_limits(render(core, "slack", cases[name]))


@pytest.mark.parametrize("name", [n for n in CASE_NAMES if not n.startswith("_") and n not in META_INTENTS]
                         + ["_two_errors"])
def test_diagnoses_have_the_three_feedback_buttons(core, cases, name):
    answer = cases[name]
    assert answer.kind == AnswerKind.DIAGNOSIS
    payload = render(core, "slack", answer)
    assert feedback_action_ids(payload) == ["syncmedic_fixed", "syncmedic_still_failing", "syncmedic_not_this"]
    assert payload["blocks"][-1]["type"] == "actions"
    value = json.loads(payload["blocks"][-1]["elements"][0]["value"])
    assert value == {"case_id": CASE_ID, "intent": answer.intent}


def button_intent(value: str) -> str:
    """The intent a topic button carries: its value is a JSON object with an "intent" (or the bare id)."""
    try:
        return json.loads(value)["intent"]
    except ValueError:
        return value


def test_choice_and_out_of_scope_offer_the_topics_as_buttons(core, cases):
    choice = render(core, "slack", cases["_choice"])
    accessories = [b["accessory"] for b in choice["blocks"] if "accessory" in b]
    assert [button_intent(a["value"]) for a in accessories] == ["pending_products_tax_rule", "sale_cogs_pending"]
    assert "syncmedic_not_this" in feedback_action_ids(choice)
    oos = render(core, "slack", cases["_out_of_scope"])
    accessories = [b["accessory"] for b in oos["blocks"] if "accessory" in b]
    assert [button_intent(a["value"]) for a in accessories] == [
        "qbo_disconnected", "unauthorized_401", "unexpected_user_error"]
    assert "syncmedic_escalate" in feedback_action_ids(oos)


FIVE_ERRORS = "\n".join([
    'Sale SO-00412: Product "GRN-MUG-12" in "SO-00412" has not been exported to QuickBooks',
    'Bill BILL-7731: Bill "BILL-7731" has not been exported to QuickBooks',
    "Payment PAY-0091: Amount is not valid. Min:0 Max:999,999,999 supported. Supplied value:-45.00",
    "Journal JNL-0087: Failed to export a journal entry for JNL-0087 from DEAR to QuickBooks: Reference number is not unique",
    "Invoice INV-2031: Transactions can have only one foreign currency at a time",
])


def test_a_paste_with_five_errors_stays_within_slack_limits(core):
    answer = core.engine.diagnose(FIVE_ERRORS)
    assert [f.intent for f in answer.findings] == [
        "order_product_not_exported", "bill_not_exported", "negative_amount", "reference_number_not_unique",
        "one_foreign_currency"]
    payload = core.renderer.slack(answer, CASE_ID)
    assert_slack_limits(payload)
    assert feedback_action_ids(payload) == ["syncmedic_fixed", "syncmedic_still_failing", "syncmedic_not_this"]
    assert "5 different sync errors" in payload["blocks"][0]["text"]["text"]
    sections = "\n".join(b["text"]["text"] for b in payload["blocks"] if b["type"] == "section")
    for n, f in enumerate(answer.findings, start=1):
        assert f"*{n}. {core.catalog.title(f.intent)}*" in sections
    # the variant-less currency error shows both causes, still inside the limits
    assert sections.count("*How to fix it*") == 6
    card = core.renderer.teams(answer, CASE_ID)
    assert len([b for b in card["body"] if b["type"] == "Container"]) == 5


def test_more_errors_than_the_cap_still_fit(core):
    answer = core.engine.diagnose(FIVE_ERRORS + "\nSale SO-00413: Unexpected user error. ( -12476 )\n"
                                  + "Deposit: This transaction has been deposited")
    assert len(answer.findings) == 5
    assert_slack_limits(core.renderer.slack(answer, CASE_ID))


# -- Teams ---------------------------------------------------------------------------------

@pytest.mark.parametrize("name", CASE_NAMES)
def test_teams_card_shape(core, cases, name):
    card = render(core, "teams", cases[name])
    assert card["type"] == "AdaptiveCard"
    assert tuple(int(p) for p in card["version"].split(".")) >= (1, 4)  # Action.Execute needs 1.4
    assert card["body"]
    for action in card.get("actions", []):
        assert action["type"] == "Action.Execute"
        assert action["verb"] and isinstance(action["data"], dict)
        assert len(action["title"]) <= 41

    def walk(items):
        for item in items:
            if item["type"] == "TextBlock":
                assert 0 < len(item["text"]) <= TEAMS_TEXT_CHARS
                assert item.get("wrap") is True
            walk(item.get("items", []))

    walk(card["body"])


def test_teams_diagnosis_actions(core, cases):
    card = render(core, "teams", cases["bill_not_exported"])
    assert [a["verb"] for a in card["actions"]] == ["fixed", "still_failing", "not_this"]
    assert all(a["data"] == {"case_id": CASE_ID, "intent": "bill_not_exported"} for a in card["actions"])
    # A choice: the titles in a ChoiceSet (they wrap on a phone), one short button to show the fix.
    choice = render(core, "teams", cases["_choice"])
    [picker] = [b for b in choice["body"] if b["type"] == "Input.ChoiceSet"]
    assert [c["value"] for c in picker["choices"]] == ["pending_products_tax_rule", "sale_cogs_pending"]
    assert picker["id"] == "intent" and picker["label"] and picker["isRequired"]
    assert [(a["title"], a["verb"]) for a in choice["actions"]] == [("Show its fix", "choose"),
                                                                     ("Ask a person", "escalate")]


@pytest.mark.parametrize("name", ["slack/answer.json.j2", "teams/answer.json.j2"])
def test_a_layout_gives_the_same_reply_as_data_and_as_json_text(core, cases, name):
    channel = name.split("/")[0]
    ctx = core.renderer.context(channel, cases[CASE_NAMES[0]], CASE_ID)
    as_text = json.loads(core.renderer._layout.get_template(name).render(ctx))
    as_data = core.renderer._data(name, ctx)
    assert as_data == as_text and as_data["text" if channel == "slack" else "body"]
    assert core.renderer._data(name, ctx) is not as_data  # a fresh structure every time (callers edit it)


# -- risky steps: the warning is read before the step ---------------------------------------

WARNING_MARK = "Before you do the next step"


def shown_texts(value):
    """The "text" strings of Block Kit blocks or Adaptive Card elements, in reading order."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "text" and isinstance(item, str):
                yield item
            else:
                yield from shown_texts(item)
    elif isinstance(value, list):
        for item in value:
            yield from shown_texts(item)


def ordered_text(channel: str, rendered) -> str:
    """What a reader sees, in reading order."""
    return rendered if channel == "text" else "\n".join(shown_texts(rendered))


def every_step(intent):
    yield from intent.steps
    yield from (s for v in intent.variants for s in v.steps)


@pytest.mark.parametrize("channel", sorted(CHANNEL_FILES))
def test_every_risky_step_is_rendered_after_its_warning(core, catalog, channel):
    checked = 0
    for intent in catalog.problems:
        answer = core.engine.answer_for(intent.id, "")  # no evidence: every variant is shown
        out = ordered_text(channel, render(core, channel, answer))
        for step in (s for s in every_step(intent) if s.risky):
            warning = core.renderer.kb_text(channel, step.risky, {})
            text = core.renderer.kb_text(channel, step.text, {})
            at_warning = out.index(warning)
            at_step = out.index(text, at_warning)
            # the mark sits right before the warning, and only the step's number after it
            mark = out.rfind(WARNING_MARK, 0, at_warning)
            assert mark != -1 and at_warning - mark < 40, (intent.id, out[mark: at_warning])
            assert re.fullmatch(r"[\s*]*\d{1,2}\. ", out[at_warning + len(warning): at_step]), (
                intent.id, out[at_warning: at_step + 20])
            checked += 1
    assert checked >= 9  # every risky step the knowledge base marks, not a lucky few


@pytest.mark.parametrize("channel", sorted(CHANNEL_FILES))
def test_safe_steps_carry_no_warning(core, channel):
    out = ordered_text(channel, render(core, channel, core.engine.answer_for("product_version_error", "")))
    assert WARNING_MARK not in out


def test_teams_shows_a_warning_as_its_own_attention_block(core):
    card = core.renderer.teams(core.engine.answer_for("duplicate_cogs", ""))
    blocks = [i for c in card["body"] for i in c.get("items", [])]
    at = next(n for n, b in enumerate(blocks) if WARNING_MARK in b["text"])
    assert blocks[at]["color"] == "Attention"
    assert blocks[at + 1]["text"].startswith("6. ") and "Replace Products" in blocks[at + 1]["text"]
    assert blocks[at - 1]["text"].startswith("1. ")  # the steps before it keep their numbers


# -- every slot renders sensibly, with and without its entity --------------------------------

_AWKWARD = [
    (re.compile(r"\{\{|\{%|\bNone\b|Undefined"), "template left-overs"),
    (re.compile(r"\S {2,}\S"), "a doubled space"),
    (re.compile(r"[^\S\n][,.;:](?!\d)|[,;]{2}|\.\."), "stray punctuation"),
    (re.compile(r"\b(?:such as|for example|e\.g\.),? the ", re.IGNORECASE), "an example with no example"),
    (re.compile(r"\b(?:a|an|the) (\w+), (?:a|an|the) \1\b", re.IGNORECASE), "a fallback said twice"),
]


def assert_reads_well(text: str, where: str) -> None:
    for line in text.splitlines():
        for pattern, problem in _AWKWARD:
            assert not pattern.search(line), f"{where}: {problem} in {line!r}"


def slots_used(intent) -> set[str]:
    from jinja2 import Environment, meta

    env = Environment()
    env.filters.update(em=lambda value, fallback="": value, b=lambda value: value)  # the renderer's filters
    texts = [intent.means, intent.escalate, *intent.causes, *(t for s in every_step(intent) for t in (s.text, s.risky))]
    texts += [t for v in intent.variants for t in (v.escalate, *v.causes)]
    return {n for t in texts if t for n in meta.find_undeclared_variables(env.parse(t))} & set(SLOT_NAMES)


@pytest.mark.parametrize("intent_id", sorted(SAMPLES))
def test_every_slot_reads_well_with_and_without_its_entity(core, catalog, intent_id):
    intent = catalog[intent_id]
    bare = core.renderer.text(core.engine.answer_for(intent_id, ""))
    assert_reads_well(bare, f"{intent_id} without specifics")
    for slot in sorted(slots_used(intent)):
        value = f"VAL-{slot.upper()}"
        finding = Finding(intent_id, 1.0, {slot: value}, source="user")
        shown = core.renderer.text(Answer(AnswerKind.DIAGNOSIS, intent_id, 1.0, (), {slot: value}, (finding,)))
        assert value in shown, f"{intent_id}: the {slot} slot is never filled"
        assert_reads_well(shown, f"{intent_id} with {slot}")


def test_the_slot_slips_the_issue_names_are_gone(core):
    def text(intent, message=""):
        return core.renderer.text(core.engine.answer_for(intent, message))

    assert "for a sale, the sale" not in text("sale_cogs_pending")
    assert "for a sale, the sale" not in text("sale_cogs_pending", "COGS for SO-00412 is stuck on Pending")
    assert "such as the product" not in text("duplicate_product_names")
    assert "for example GRN-MUG-12" in text("duplicate_product_names", "product GRN-MUG-12 exists twice")
    assert "search for SO-00412" in text("completed_with_processing_errors", "SO-00412 shows Completed with processing errors")


# -- the support contact comes from the SUPPORT_CONTACT setting -------------------------------

def test_escalations_show_the_default_support_contact(core, settings):
    text = core.renderer.text(core.engine.answer_for("sale_cogs_pending", ""))
    assert f"Cin7 Core support ({settings.support_contact})" in text
    assert "dearsystems" not in text


def test_escalations_show_the_configured_support_contact_escaped(core):
    contact = "<!here> help & support <help@partner.example>"
    renderer = Renderer(core.catalog, PROJECT_ROOT / "responses", channel_formats(), contact)
    answer = core.engine.answer_for("sale_cogs_pending", "")
    assert contact in renderer.text(answer)
    slack = renderer.slack(answer)
    assert_slack_safe(slack)
    assert any("&lt;!here&gt; help &amp; support &lt;help@partner.example&gt;" in s for s in strings(slack))
    assert any("<!here> help & support <help@partner.example>" in s for s in strings(renderer.teams(answer)))


@pytest.mark.parametrize("channel", ["slack", "teams", "text"])
def test_a_check_in_reads_the_same_whatever_the_titles_grammar(core, channel):
    """Titles are sentences ("A supplier bill has not reached QuickBooks yet"): the check-in puts
    the title on a line of its own instead of inside a question it would not fit."""
    for intent in core.catalog.problems:
        rendered = core.renderer.checkin(channel, "case-1", intent.id)
        if channel == "slack":
            text = rendered["blocks"][0]["text"]["text"]
            expected = f"Checking in on this sync problem:\n*{intent.title}*\nIs it fixed now?"
        elif channel == "teams":
            text = "\n".join(b["text"] for b in rendered["body"])
            expected = f"Checking in on this sync problem:\n**{intent.title}**\nIs it fixed now?"
        else:
            text, expected = rendered, f"Checking in on this sync problem:\n{intent.title}\nIs it fixed now?"
        assert text.startswith(expected)
        assert "did the fix for" not in json.dumps(rendered)
