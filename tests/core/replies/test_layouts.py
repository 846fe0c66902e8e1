"""Every Slack layout through slack_sdk's Block Kit models and the budgets Slack enforces; every
Teams card through the card budget and what Teams needs (labels, short primary buttons, no
stray backslashes). Microsoft's own renderer checks the cards in tests/sandbox/test_cards.py."""

from __future__ import annotations

import json
import re

import pytest
from slack_sdk.models.blocks import Block

from bot.sandbox.slack_api import blocks_problem, message_problem
from bot.slack.format import fits_slack
from bot.teams.format import TEAMS_CARD_BUDGET_BYTES, card_bytes
from tests.core.replies.test_render import answer_cases
from tests.layouts import slack_layouts, teams_layouts

PRIMARY_TITLE_CHARS = 15   # "Still failing", "Show its fix": what fits three to a row on a phone


@pytest.fixture(scope="module")
def slack(core):
    return slack_layouts(core, answer_cases(core))


@pytest.fixture(scope="module")
def teams(core):
    return teams_layouts(core, answer_cases(core))


def test_every_slack_layout_round_trips_through_slack_sdks_block_models(slack):
    assert len(slack) > 80
    for name, payload in slack:
        for block in payload["blocks"]:
            parsed = Block.parse(block)
            assert parsed is not None and parsed.type == block["type"], (name, block)
            # to_dict() runs the models' own validation (lengths, counts, required fields).
            assert parsed.to_dict() == block, (name, block)


def test_every_slack_message_is_within_what_slack_accepts(slack):
    for name, payload in slack:
        if name == "home":
            assert blocks_problem(payload["blocks"]) is None and len(payload["blocks"]) <= 100
            continue
        assert fits_slack(payload), name            # 50 blocks, the block-text budget
        assert message_problem(payload) is None, name   # and what the stand-ins refuse, as Slack does


def test_the_huge_digest_is_cut_with_the_rest_in_its_thread(slack):
    by_name = dict(slack)
    main = by_name["digest-huge"]
    more = next(b for b in main["blocks"] if b.get("block_id") == "syncmedic_digest_more")
    assert "listed in this message's thread" in more["elements"][0]["text"]
    assert "python -m bot" not in json.dumps([p for _, p in slack])   # no command channel members cannot run
    threads = [p for n, p in slack if n.startswith("digest-huge:thread")]
    groups = [b["block_id"] for p in [main, *threads] for b in p["blocks"] if b["type"] == "section"]
    assert len(groups) == len(set(groups)) == 29


def teams_items(card):
    def walk(items):
        for item in items:
            yield item
            yield from walk(item.get("items", []))
            for column in item.get("columns", []):
                yield from walk(column.get("items", []))
            yield from walk(item.get("actions", []))
    yield from walk(card.get("body", []))
    yield from walk(card.get("actions", []))


def test_every_teams_card_is_within_the_size_budget_and_labelled(teams):
    for name, card in teams:
        assert card_bytes(card) <= TEAMS_CARD_BUDGET_BYTES, name
        for item in teams_items(card):
            if item.get("type", "").startswith("Input.") and item.get("isRequired"):
                assert item.get("label"), (name, item)       # a required input says what it is
            if item.get("type") == "Action.Execute" and item.get("mode") != "secondary":
                assert len(item["title"]) <= PRIMARY_TITLE_CHARS, (name, item["title"])


def test_no_teams_text_has_a_backslash_teams_does_not_need(teams):
    """"\\1." showed on phones as a stray backslash; escapes are only for real markup."""
    for name, card in teams:
        for item in teams_items(card):
            text = item.get("text", "") if item.get("type") == "TextBlock" else ""
            assert not re.search(r"\\[0-9<>{}()#!+.=-]", text), (name, text)


def test_the_trend_is_a_sparkline_from_the_lowest_to_the_highest():
    from bot.core.replies.digest_view import sparkline

    assert sparkline([3, 4, 4, 6, 9, 12]) == "▁▂▂▃▆█"
    assert sparkline([5] * 4) == "▄▄▄▄" and sparkline([0] * 3) == "▁▁▁" and sparkline([]) == ""
