"""Masking message samples: e-mail addresses, amounts, names, document numbers, tokens and user
ids never reach a report; the words of the error itself stay, error codes included."""

from __future__ import annotations

import pytest

from bot.core.insights.gaps import masker_for
from bot.core.insights.mask import Masker


@pytest.fixture(scope="module")
def masker(core) -> Masker:
    return masker_for(core.engine)


@pytest.mark.parametrize("text, hidden, kept", [
    ('Error: Product "GRN-MUG-12" in "SO-00412" has not been exported to QuickBooks.',
     ["GRN-MUG-12", "SO-00412"], ["Error: Product", "has not been exported to QuickBooks"]),
    ("email me at jane.doe@acme-trading.co.uk about it", ["jane.doe", "acme-trading"], ["[email]", "email me at"]),
    ("invoice total $1,234.56 and 1234.50 and USD 99 and €12,00", ["1,234.56", "1234.50", "99", "12,00"],
     ["[amount]"]),
    ("payment PAY-22 for order 88123 on 2026-04-03 at 12:30", ["PAY-22", "88123", "2026-04-03", "12:30"],
     ["payment", "[ref]", "[n]"]),
    ("customer Maria Lopez says the supplier Kiwi Kitchenware Ltd is inactive",
     ["Maria", "Lopez", "Kiwi", "Kitchenware"], ["[name]", "is inactive"]),
    ("token xoxb-1234-5678-abcdefghijkl and Bearer eyJhbGciOiJIUzI1NiJ9abcdefghij",
     ["xoxb", "eyJhbG"], ["[secret]"]),
    ("<@U024BE7LH> asked, and so did W012A3CDE in 7d1b3c4e-0000-4a5b-9c8d-1234567890ab",
     ["U024BE7LH", "W012A3CDE", "7d1b3c4e"], ["[id]"]),
    ("see https://qbo.intuit.com/app/invoice?txnId=991 please", ["intuit.com", "991"], ["[link]"]),
])
def test_specifics_are_masked(masker: Masker, text: str, hidden: list[str], kept: list[str]):
    shown = masker.shape(text)
    for value in hidden:
        assert value not in shown, shown
    for value in kept:
        assert value in shown, shown


def test_error_codes_http_statuses_and_error_words_stay(masker: Masker):
    assert masker.shape("ERROR CODE:5010 Stale Object Error") == "ERROR CODE:5010 Stale Object Error"
    assert masker.shape("error 6240 again, then 401 Unauthorized") == "error 6240 again, then 401 Unauthorized"
    # A quoted error text is not a name; a short quoted value is.
    assert masker.shape("it says 'subscription period has ended'") == "it says 'subscription period has ended'"
    assert masker.shape("for 'Acme Ltd'") == "for '[name]'"
    assert masker.shape("I don't know what's wrong") == "I don't know what's wrong"


def test_slack_markup_is_undone_first(masker: Masker):
    """The text is normalised the way the signature scan sees it (bot/core/nlu/text.py)."""
    assert masker.shape("&lt;b&gt; Cin7 Core &amp; <https://x.example/y|QBO> error") == "<b> Cin7 Core & QBO error"


def test_a_sample_is_one_bounded_line(masker: Masker):
    sample = masker.sample("line one\nline two " + "word " * 200)
    assert "\n" not in sample and len(sample) <= 200


def _unbounded(nodes) -> bool:
    from bot.core.nlu import regex_tree as rt

    for node in nodes:
        if isinstance(node, rt.Repeat) and (node.high is None or _unbounded(node.body)):
            return True
        if isinstance(node, rt.Alternatives) and any(_unbounded(option) for option in node.options):
            return True
        if isinstance(node, (rt.Group, rt.Lookaround)) and _unbounded(node.body):
            return True
    return False


def test_every_mask_pattern_is_bounded():
    """No *, + or {n,} anywhere (bot/core/nlu/regex_tree.py reads the pattern's structure), so a
    hostile paste costs time linear in its length, as for entities.py's patterns."""
    import re

    import bot.core.insights.mask as mask
    from bot.core.nlu import regex_tree as rt

    patterns = {name: value for name, value in vars(mask).items() if isinstance(value, re.Pattern)}
    assert len(patterns) >= 10
    for name, pattern in patterns.items():
        assert not _unbounded(rt.parse(pattern.pattern, pattern.flags)), name
