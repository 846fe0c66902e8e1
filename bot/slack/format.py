"""Slack's text format and Block Kit limits (no slack_sdk import: the CLI renders Slack too)."""

from __future__ import annotations

import re
from typing import Any

from ..core.replies.formats import ChannelFormat, cut

# Slack's documented limits for a message posted with chat.postMessage.
SLACK_MAX_BLOCKS = 50
SLACK_SECTION_CHARS = 3000
SLACK_HEADER_CHARS = 150
SLACK_BUTTON_CHARS = 75
SLACK_FALLBACK_CHARS = 3000
SLACK_OPTIONS = 100
SLACK_OPTION_CHARS = 75


def slack_escape(text: str) -> str:
    """Slack's three control characters; this is what stops `<!channel>` from pinging."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


_MARKUP = re.compile(r"[*_~`]")


def slack_literal(text: str) -> str:
    """User text as it was typed, for mrkdwn: slack_escape, and Slack's formatting characters
    (`*`, `_`, `~`, backtick) shown as themselves, so a reference such as `*SO_12*` or a
    product named `Widget *XL*` neither turns bold nor unbalances the bold we put around it.
    mrkdwn has no escape for them, but Slack shows the fallback of a date it cannot format
    as plain text: each becomes `<!date^0^{_}|*>` (jsx-slack's <Escape> does the same), and
    reads, and copies, as the character itself."""
    text = slack_escape(text)
    if _MARKUP.search(text) is None:  # the usual case
        return text
    return _MARKUP.sub(lambda m: f"<!date^00000000^{{_}}|{m.group()}>", text)


def fit_slack(payload: dict[str, Any]) -> dict[str, Any]:
    """Enforce Block Kit limits: block count, section/header/button lengths, fallback text."""
    blocks = payload.get("blocks", [])
    for block in blocks:
        if block["type"] == "section" and "text" in block:
            block["text"]["text"] = cut(block["text"]["text"], SLACK_SECTION_CHARS)
        elif block["type"] == "header":
            block["text"]["text"] = cut(block["text"]["text"], SLACK_HEADER_CHARS)
        elif block["type"] == "context":
            for el in block["elements"]:
                el["text"] = cut(el["text"], SLACK_SECTION_CHARS)
        for el in block.get("elements", []) + ([block["accessory"]] if "accessory" in block else []):
            if el.get("type") == "button":
                el["text"]["text"] = cut(el["text"]["text"], SLACK_BUTTON_CHARS)
            elif el.get("type") == "static_select":
                el["options"] = el.get("options", [])[:SLACK_OPTIONS]
                for option in el["options"]:
                    option["text"]["text"] = cut(option["text"]["text"], SLACK_OPTION_CHARS)
    if len(blocks) > SLACK_MAX_BLOCKS:
        # Keep the buttons: they are how the user tells us whether the fix worked.
        tail = [b for b in blocks[-2:] if b["type"] == "actions"]
        blocks = blocks[: SLACK_MAX_BLOCKS - len(tail)] + tail
    payload["blocks"] = blocks
    if "text" in payload:  # a message's notification text (a view has none)
        payload["text"] = cut(payload["text"], SLACK_FALLBACK_CHARS)
    return payload


SLACK = ChannelFormat("slack", slack_literal, lambda s: f"*{s}*" if s else s, fit_slack)
