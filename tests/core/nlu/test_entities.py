"""Pulling the specifics (product, order, bill, account...) out of what people paste."""

from __future__ import annotations

import pytest

from bot.core.nlu.entities import extract
from bot.core.nlu.text import normalise

CASES = [
    ("why do I see 2x COGS on SO-00412 in quickbooks?", {"order": "SO-00412"}),
    ("invoice INV-2031 shows zero", {"invoice": "INV-2031"}),
    ("Bill PO-1042 has not been exported", {"bill": "PO-1042"}),
    ('Bill "BILL-7731" is stuck', {"bill": "BILL-7731"}),
    ("JNL-0087 failed to sync", {"reference": "JNL-0087"}),
    ("product GRN-MUG-12 stuck on pending", {"product": "GRN-MUG-12"}),
    ('SKU "BLU-CUP-8" is inactive', {"product": "BLU-CUP-8"}),
    ("account code 4000 deprecated", {"account_code": "4000"}),
    ("Credit account (4000-Sales) is not mapped", {"account_code": "4000-Sales"}),
    ("Unexpected user error. ( -12476 )", {"error_code": "-12476"}),
    ("got error 401 again this morning", {"error_code": "401"}),
    ("Supplied value:-45.00", {"amount": "-45.00"}),
    ("payment of $1,234.50 failed", {"amount": "$1,234.50"}),
    ('customer "Blue Sky Cafe" is in USD', {"customer": "Blue Sky Cafe", "currency": "USD"}),
    ("the customer Blue Sky Cafe is set up in CAD", {"customer": "Blue Sky Cafe", "currency": "CAD"}),
    ('supplier "Acme Supplies Ltd" is also a customer', {"supplier": "Acme Supplies Ltd"}),
    ("vendor called Acme Supplies is also a customer", {"supplier": "Acme Supplies"}),
    ("invoice number 10234 clashes with one in QBO", {"invoice": "10234"}),
    ("bill no. 7731 is missing", {"bill": "7731"}),
    ("order so-00412", {"order": "so-00412"}),
    ("nothing specific in here at all", {}),
    ("customer is in usd", {}),  # currency codes are taken in capitals only
]


@pytest.mark.parametrize("text,expected", CASES)
def test_extract(text, expected):
    assert extract(normalise(text)) == expected


def test_several_slots_from_one_line():
    text = 'Product "GRN-MUG-12" on SO-00412 (INV-2031) for customer "Blue Sky Cafe": USD $18.40'
    found = extract(normalise(text))
    assert found["order"] == "SO-00412"
    assert found["invoice"] == "INV-2031"
    assert found["customer"] == "Blue Sky Cafe"
    assert found["currency"] == "USD"
    assert found["amount"] == "$18.40"


def test_first_mention_of_a_slot_wins():
    assert extract("SO-00412 then SO-00999")["order"] == "SO-00412"


def test_signature_values_take_precedence_over_patterns():
    text = "product ABC-1 on SO-00412"
    found = extract(text, {"product": "GRN-MUG-12", "order": "SO-77777"})
    assert found["product"] == "GRN-MUG-12"
    assert found["order"] == "SO-77777"


def test_empty_signature_values_are_ignored_and_patterns_fill_the_gap():
    found = extract("product ABC-12 is stuck", {"product": "  ", "order": ""})
    assert found == {"product": "ABC-12"}


def test_values_are_trimmed_and_bounded():
    found = extract("", {"product": '  "GRN-MUG-12".  ', "name": "x" * 500})
    assert found["product"] == "GRN-MUG-12"
    assert len(found["name"]) == 120


def test_whitespace_inside_values_is_collapsed():
    assert extract("", {"customer": "Blue \n  Sky\tCafe"}) == {"customer": "Blue Sky Cafe"}


def test_general_patterns_only_look_at_the_start_of_a_huge_paste():
    # Bounded work on hostile input: past 20,000 characters only signatures (run elsewhere) count.
    text = "x " * 15_000 + "SO-00412"
    assert "order" not in extract(text)
    assert extract("SO-00412 " + "x " * 15_000)["order"] == "SO-00412"


def test_slack_markup_is_gone_before_extraction():
    text = normalise("<@U024BE7LH> can you look at <https://x.example/so|SO-00412> please")
    assert extract(text) == {"order": "SO-00412"}


GARBAGE = [
    # (message, slot, a wrong value the current patterns take)
    ("Item version already exists in QBO", "product", "version"),
    ("our product was made inactive in quickbooks but still shows in DEAR", "product", "was"),
    ("the product has not been exported yet", "product", "has"),
    ("after the refund the invoice shows 0 in QBO", "invoice", "shows"),
    ("account 1200-Inventory Asset is in CAD", "account_code", "1200-Inventory Asset is in CAD"),
]


@pytest.mark.parametrize("text,slot,wrong", GARBAGE)
def test_ordinary_words_are_not_taken_as_specifics(text, slot, wrong):
    assert extract(normalise(text)).get(slot) != wrong


def test_item_version_error_reply_does_not_invent_a_product(core):
    answer = core.engine.diagnose("Item version already exists in QBO")
    assert answer.intent == "product_version_error"
    assert "version" not in answer.entities.values()
