"""Slack's format: escaping and Block Kit limits (bot/slack/format.py)."""

from __future__ import annotations

from bot.sandbox.slack_api import message_problem
from bot.slack.format import (SLACK_BLOCK_TEXT_BUDGET, SLACK_BLOCK_TEXT_LIMIT, SLACK_BUTTON_CHARS, SLACK_HEADER_CHARS,
                              SLACK_MAX_BLOCKS, SLACK_OPTION_CHARS, SLACK_OPTIONS, SLACK_SECTION_CHARS,
                              block_text_chars, fit_slack, fits_slack, slack_escape, slack_mention)


def test_fit_slack_enforces_limits_and_keeps_the_buttons():
    actions = {"type": "actions", "block_id": "b", "elements": [
        {"type": "button", "text": {"type": "plain_text", "text": "x" * 100}, "action_id": "syncmedic_fixed", "value": "v"}]}
    blocks = [{"type": "header", "text": {"type": "plain_text", "text": "h" * 400}}]
    blocks += [{"type": "section", "text": {"type": "mrkdwn", "text": "s" * 5000}} for _ in range(70)]
    payload = fit_slack({"text": "t" * 5000, "blocks": blocks + [actions]})
    assert len(payload["blocks"]) <= SLACK_MAX_BLOCKS
    assert payload["blocks"][-1]["type"] == "actions"
    assert len(payload["blocks"][0]["text"]["text"]) == SLACK_HEADER_CHARS
    assert all(len(b["text"]["text"]) <= SLACK_SECTION_CHARS for b in payload["blocks"][1:-1])
    assert payload["blocks"][1]["text"]["text"].endswith("\u2026")
    assert len(payload["blocks"][-1]["elements"][0]["text"]["text"]) == SLACK_BUTTON_CHARS
    assert len(payload["text"]) <= 3000
    # All the blocks' text together within the budget, the header and buttons whole.
    assert block_text_chars(payload["blocks"]) <= SLACK_BLOCK_TEXT_BUDGET and fits_slack(payload)


def test_block_text_counts_every_text_in_the_blocks():
    blocks = [{"type": "header", "text": {"type": "plain_text", "text": "abc"}},
              {"type": "section", "text": {"type": "mrkdwn", "text": "de"}, "fields": [{"type": "mrkdwn", "text": "f"}],
               "accessory": {"type": "overflow", "action_id": "m", "options": [
                   {"text": {"type": "plain_text", "text": "gh"}, "value": "not counted"}]}},
              {"type": "context", "elements": [{"type": "mrkdwn", "text": "ij"}]}]
    assert block_text_chars(blocks) == 3 + 2 + 1 + 2 + 2


def test_slack_and_the_sandbox_refuse_what_passes_the_block_text_limit():
    """msg_blocks_too_long: Slack's answer (not in its docs) to blocks with too much text together."""
    section = {"type": "section", "text": {"type": "mrkdwn", "text": "s" * 2900}}
    ok = {"text": "t", "blocks": [section] * (SLACK_BLOCK_TEXT_LIMIT // 2900)}
    too_long = {"text": "t", "blocks": [section] * (SLACK_BLOCK_TEXT_LIMIT // 2900 + 1)}
    assert message_problem(ok) is None
    assert message_problem(too_long) == {"ok": False, "error": "msg_blocks_too_long"}
    assert message_problem(fit_slack(too_long)) is None


def test_mentions_only_for_slack_people():
    assert slack_mention("slack", "U0ANA0001") == "<@U0ANA0001>"
    assert slack_mention("slack", "U0ANA>|<!channel") is None
    assert slack_mention("teams", "29:abc") is None


def test_fit_slack_cuts_menus_to_what_slack_accepts():
    options = [{"text": {"type": "plain_text", "text": f"{n} " + "o" * 100}, "value": str(n)} for n in range(130)]
    menu = {"type": "section", "text": {"type": "mrkdwn", "text": "pick"},
            "accessory": {"type": "static_select", "action_id": "a", "options": options}}
    [block] = fit_slack({"text": "pick", "blocks": [menu]})["blocks"]
    kept = block["accessory"]["options"]
    assert len(kept) == SLACK_OPTIONS and kept[0]["value"] == "0"
    assert all(len(o["text"]["text"]) == SLACK_OPTION_CHARS for o in kept)


def test_slack_escape_makes_mentions_and_links_literal():
    assert slack_escape("<!channel> & <https://x|y>") == "&lt;!channel&gt; &amp; &lt;https://x|y&gt;"
