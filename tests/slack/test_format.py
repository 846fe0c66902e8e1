"""Slack's format: escaping and Block Kit limits (bot/slack/format.py)."""

from __future__ import annotations

from bot.slack.format import (SLACK_BUTTON_CHARS, SLACK_HEADER_CHARS, SLACK_MAX_BLOCKS, SLACK_OPTION_CHARS,
                              SLACK_OPTIONS, SLACK_SECTION_CHARS, fit_slack, slack_escape)


def test_fit_slack_enforces_limits_and_keeps_the_buttons():
    actions = {"type": "actions", "block_id": "b", "elements": [
        {"type": "button", "text": {"type": "plain_text", "text": "x" * 100}, "action_id": "syncmedic_fixed", "value": "v"}]}
    blocks = [{"type": "header", "text": {"type": "plain_text", "text": "h" * 400}}]
    blocks += [{"type": "section", "text": {"type": "mrkdwn", "text": "s" * 5000}} for _ in range(70)]
    payload = fit_slack({"text": "t" * 5000, "blocks": blocks + [actions]})
    assert len(payload["blocks"]) == SLACK_MAX_BLOCKS
    assert payload["blocks"][-1]["type"] == "actions"
    assert len(payload["blocks"][0]["text"]["text"]) == SLACK_HEADER_CHARS
    assert len(payload["blocks"][1]["text"]["text"]) == SLACK_SECTION_CHARS
    assert payload["blocks"][1]["text"]["text"].endswith("\u2026")
    assert len(payload["blocks"][-1]["elements"][0]["text"]["text"]) == SLACK_BUTTON_CHARS
    assert len(payload["text"]) <= 3000


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
