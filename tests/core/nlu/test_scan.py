"""Finding exact error texts in a paste, and picking the lines of a long log worth classifying."""

from __future__ import annotations

import random
import re

import pytest

from bot.core.nlu.scan import MAX_SEGMENTS, WHOLE_MESSAGE_CHARS, candidate_segments, find_signatures
from bot.core.nlu.text import normalise

ORDER_FORM = "Product GRN-MUG-12 in SO-00412 has not been exported to QuickBooks"
PRODUCT_FORM = "Product GRN-MUG-12 has not been exported to QuickBooks"
BILL = 'Bill "BILL-7731" has not been exported to QuickBooks'
NEGATIVE = "Amount is not valid. Min:0 Max:999,999,999 supported. Supplied value:-45.00"
JOURNAL = ("Failed to export a journal entry for JNL-0087 from DEAR to QuickBooks: "
           "Reference number is not unique, please specify a unique value.")
UNEXPECTED = "Unexpected user error. ( -12476 )"
PERIOD = "The account period has closed and the account books cannot be updated through the QBO Services API."


def hits(catalog, text):
    return [(h.intent, h.slots) for h in find_signatures(catalog, normalise(text))]


# -- overlapping signatures --------------------------------------------------------------

def test_order_form_beats_plain_product_form(catalog):
    # The plain product pattern also matches this text (product "GRN-MUG-12 in SO-00412");
    # the order form captures more and must win.
    assert hits(catalog, ORDER_FORM) == [("order_product_not_exported", {"product": "GRN-MUG-12", "order": "SO-00412"})]


def test_plain_product_form_alone(catalog):
    assert hits(catalog, PRODUCT_FORM) == [("product_not_exported", {"product": "GRN-MUG-12"})]


def test_longer_journal_form_beats_the_bare_reference_error(catalog):
    # Three reference_number_not_unique patterns overlap here; one hit, with the transaction.
    assert hits(catalog, JOURNAL) == [("reference_number_not_unique", {"transaction": "JNL-0087"})]


def test_unexpected_error_code_form_beats_the_bare_form(catalog):
    assert hits(catalog, UNEXPECTED) == [("unexpected_user_error", {"error_code": "-12476"})]


def test_both_product_forms_in_one_paste_are_kept_apart(catalog):
    found = hits(catalog, f"{ORDER_FORM}\n{PRODUCT_FORM}")
    assert found == [
        ("order_product_not_exported", {"product": "GRN-MUG-12", "order": "SO-00412"}),
        ("product_not_exported", {"product": "GRN-MUG-12"}),
    ]


def test_hits_come_back_in_message_order(catalog):
    found = hits(catalog, f"{UNEXPECTED}\n{BILL}\n{PERIOD}")
    assert [intent for intent, _ in found] == ["unexpected_user_error", "bill_not_exported", "period_closed"]


def test_evidence_is_the_line_the_error_sits_on(catalog):
    text = normalise(f"first line\n2024-03-14 | Bill | {BILL}\nlast line")
    (hit,) = find_signatures(catalog, text)
    assert hit.evidence(text) == f"2024-03-14 | Bill | {BILL}"


def test_no_signature_in_plain_language(catalog):
    assert hits(catalog, "our COGS in quickbooks doubled since last month") == []


def test_same_error_many_times_is_capped(catalog):
    found = find_signatures(catalog, normalise("\n".join([BILL] * 1000)))
    assert 1 <= len(found) <= 20
    assert {h.intent for h in found} == {"bill_not_exported"}


# -- candidate segments --------------------------------------------------------------------

def test_short_message_is_classified_whole():
    text = "line one\nline two about a sync error"
    assert candidate_segments(text) == [text]


def test_long_message_keeps_its_opening_and_the_error_like_lines():
    noise = "\n".join(f"09:00:{n % 60:02d} INFO heartbeat ok id={n}" for n in range(200))
    text = noise + "\nERROR quickbooks sync failed: duplicate cogs posted\n" + noise
    assert len(text) > WHOLE_MESSAGE_CHARS
    segments = candidate_segments(text)
    assert segments[0] == text[:600]
    assert "ERROR quickbooks sync failed: duplicate cogs posted" in segments
    assert len(segments) <= MAX_SEGMENTS + 1


def test_repeated_lines_are_one_segment():
    line = "ERROR sync failed for SO-00412"
    segments = candidate_segments("\n".join([line] * 500))
    assert segments.count(line) == 1


def test_very_long_lines_are_cut_into_chunks():
    text = "error " * 2000  # one 12,000-character line
    segments = candidate_segments(text)
    assert all(len(s) <= 600 for s in segments)


# -- whole engine on pastes --------------------------------------------------------------

def log_noise(chars: int, seed: int = 3) -> list[str]:
    rnd = random.Random(seed)
    words = ["worker", "heartbeat", "ok", "queue", "depth", "cache", "hit", "request", "GET", "/api/v2/stock",
             "200", "latency_ms", "user", "session", "refreshed", "warehouse", "bin", "A-12", "picked", "packed",
             "shipment", "label", "printed"]
    lines, size = [], 0
    while size < chars:
        line = (f"2024-03-14 09:{len(lines) // 60 % 60:02d}:{len(lines) % 60:02d}.{rnd.randrange(1000):03d} INFO "
                + " ".join(rnd.choice(words) for _ in range(8)) + f" id={rnd.randrange(10 ** 6)}")
        lines.append(line)
        size += len(line) + 1
    return lines


@pytest.mark.parametrize("error,intent", [
    (BILL, "bill_not_exported"),
    (UNEXPECTED, "unexpected_user_error"),
    # no exact error text: the model has to find the one line that matters
    ("ERROR quickbooks: every DEAR sale now has two cost of goods sold lines in QBO, COGS doubled", "duplicate_cogs"),
])
def test_error_buried_in_a_40k_log_wins(core, error, intent):
    lines = log_noise(42_000)
    lines.insert(len(lines) // 2, f"2024-03-14 10:00:00.000 ERROR {error}")
    text = "\n".join(lines)
    assert len(text) > 40_000
    answer = core.engine.diagnose(text)
    assert answer.kind == "diagnosis"
    assert answer.intent == intent
    assert [f.intent for f in answer.findings] == [intent]


def test_a_log_of_pure_noise_is_not_diagnosed(core):
    answer = core.engine.diagnose("\n".join(log_noise(42_000)))
    assert answer.kind == "out_of_scope"
    assert not answer.findings


def test_the_same_error_repeated_is_one_finding(core):
    answer = core.engine.diagnose("\n".join([f"2024-03-14 | {BILL}"] * 1000))
    assert [f.intent for f in answer.findings] == ["bill_not_exported"]
    assert answer.entities == {"bill": "BILL-7731"}


def test_several_errors_in_one_paste_are_all_reported(core):
    paste = "\n".join([
        f"2024-03-14 09:12:03 | Sale | SO-00412 | Error | {ORDER_FORM}. Please check the export status in sync history",
        f"2024-03-14 09:12:04 | Bill | BILL-7731 | Error | {BILL}",
        f"2024-03-14 09:12:05 | Payment | PAY-0091 | Error | {NEGATIVE}",
        f"2024-03-14 09:12:06 | Journal | JNL-0087 | Error | {JOURNAL}",
    ])
    answer = core.engine.diagnose(paste)
    assert answer.kind == "diagnosis"
    by_intent = {f.intent: f for f in answer.findings}
    assert list(by_intent) == ["order_product_not_exported", "bill_not_exported", "negative_amount",
                               "reference_number_not_unique"]
    assert all(f.source == "signature" for f in answer.findings)
    # each finding carries the specifics of its own line, not the first line's
    assert by_intent["order_product_not_exported"].entities["product"] == "GRN-MUG-12"
    assert by_intent["bill_not_exported"].entities["bill"] == "BILL-7731"
    assert "product" not in by_intent["bill_not_exported"].entities
    assert by_intent["negative_amount"].entities["amount"] == "-45.00"
    assert by_intent["reference_number_not_unique"].entities["transaction"] == "JNL-0087"
    assert by_intent["reference_number_not_unique"].variants == ("journal_entries",)
    assert "BILL-7731" in by_intent["bill_not_exported"].evidence
    # the primary answer is the first finding, the others are offered as alternatives too
    assert answer.intent == "order_product_not_exported"
    assert [a.intent for a in answer.alternatives[:3]] == ["bill_not_exported", "negative_amount",
                                                           "reference_number_not_unique"]


def test_an_exact_error_and_a_described_problem_in_one_long_paste(core):
    lines = log_noise(3_000)
    lines.insert(5, f"2024-03-14 10:00:00.000 ERROR {BILL}")
    lines.insert(20, "also quickbooks got disconnected from dear again overnight even though nothing changed")
    answer = core.engine.diagnose("\n".join(lines))
    intents = [f.intent for f in answer.findings]
    assert intents[0] == "bill_not_exported"
    assert "qbo_disconnected" in intents


def test_every_signature_match_contains_its_required_text(catalog, settings):
    """find_signatures skips a signature whose required text an ASCII message lacks: that is
    exact only if every match contains it, whatever the case."""
    from bot.core.model.examples import load_heldout_examples, load_training_examples

    texts = [e.text for e in load_training_examples(settings.training_dir, catalog)]
    texts += [e.text for e in load_heldout_examples(settings.training_dir, catalog)]
    texts += [ORDER_FORM, PRODUCT_FORM, BILL, NEGATIVE, JOURNAL, UNEXPECTED, PERIOD]
    texts += [t.upper() for t in texts] + [t.title() for t in texts]
    matched = 0
    for text in map(normalise, texts):
        for sig in catalog.signatures:
            if sig.pattern.search(text):
                matched += 1
                assert sig.needle in text.lower(), (sig.pattern.pattern, text)
    assert matched > 300
    assert sum(bool(s.needle) for s in catalog.signatures) >= 0.9 * len(catalog.signatures)


@pytest.mark.parametrize("pattern, needle", [
    (r"Bill \"?(?P<bill>[^\"\n]{1,80}?)\"? has not been exported", " has not been exported"),
    (r"Unauthori[sz]ed ?-? ?401", "unauthori"),
    (r"(?:QBO|QuickBooks) sync", " sync"),
    (r"error|failure", ""),
    (r"Max ?: ?999", "max"),
    (r"\b(INV-?\d{2,10})\b", "inv"),            # inside a plain group: still required
    (r"\b(?i:account)\s{1,3}(x)?", "account"),
    (r"(?:supplier)?customer", "customer"),        # an optional group is not
    (r"(?=invoice)inv", "inv"),                     # nor is a look-ahead
])
def test_required_text_is_the_longest_plain_run_every_match_has(pattern, needle):
    from bot.core.nlu.patterns import required_text

    assert required_text(re.compile(pattern, re.IGNORECASE)) == needle


def test_every_entity_match_contains_its_required_text(catalog, settings):
    from bot.core.nlu.entities import _NEEDLES, _PATTERNS
    from bot.core.model.examples import load_heldout_examples, load_training_examples

    texts = [e.text for e in load_training_examples(settings.training_dir, catalog)]
    texts += [e.text for e in load_heldout_examples(settings.training_dir, catalog)]
    texts += [t.upper() for t in texts] + [t.title() for t in texts]
    matched = 0
    for text in map(normalise, texts):
        for (_slot, pattern), needle in zip(_PATTERNS, _NEEDLES):
            if pattern.search(text):
                matched += 1
                assert needle in text.lower(), (pattern.pattern, text)
    assert matched > 500


def test_a_message_beyond_ascii_is_searched_with_every_signature(catalog):
    # "ſ" (long s) matches "s" case-insensitively, though "ſ".lower() is not "s".
    assert find_signatures(catalog, "Reference number iſ not unique")[0].intent == find_signatures(
        catalog, "Reference number is not unique")[0].intent
