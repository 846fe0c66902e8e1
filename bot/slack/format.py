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
SLACK_OVERFLOW_OPTIONS = 5
# Not in Slack's documentation: chat.postMessage answers `msg_blocks_too_long` once the text in
# a message's blocks passes roughly 12,000 characters (12,000 "with a buffer for block
# containers", Slack's engineers say; people have been refused at 11,341 characters of text
# counted as block_text_chars counts it). The stand-ins refuse above SLACK_BLOCK_TEXT_LIMIT;
# what we send is fitted to SLACK_BLOCK_TEXT_BUDGET, which leaves room for the containers.
SLACK_BLOCK_TEXT_LIMIT = 12_000
SLACK_BLOCK_TEXT_BUDGET = 10_000
SLACK_SECTION_FLOOR = 300   # a section shortened to fit the budget keeps at least this much
_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,20}$")


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
def block_text_chars(blocks: Any) -> int:
    """The text in `blocks` as Slack's block-text budget counts it: every text string anywhere
    in them (sections, fields, headers, context, buttons, menu options)."""
    if isinstance(blocks, list):
        return sum(block_text_chars(b) for b in blocks)
    if isinstance(blocks, dict):
        total = 0
        for key, value in blocks.items():
            if key == "text" and isinstance(value, str):
                total += len(value)
            elif isinstance(value, (dict, list)):
                total += block_text_chars(value)
        return total
    return 0


def fits_slack(payload: dict[str, Any]) -> bool:
    """Within the block count and the measured block-text budget."""
    blocks = payload.get("blocks", [])
    return len(blocks) <= SLACK_MAX_BLOCKS and block_text_chars(blocks) <= SLACK_BLOCK_TEXT_BUDGET


def _within_text_budget(blocks: list[dict[str, Any]]) -> None:
    """Shorten the longest sections until the blocks' text is within the budget (a reply of
    many findings, each at its section limit), then, if that is not enough, leave out sections
    from the end; the header, the first section and the buttons stay."""
    excess = block_text_chars(blocks) - SLACK_BLOCK_TEXT_BUDGET
    while excess > 0:
        sections = [b for b in blocks if b["type"] == "section" and isinstance(b.get("text"), dict)
                    and len(b["text"]["text"]) > SLACK_SECTION_FLOOR]
        if not sections:
            break
        longest = max(sections, key=lambda b: len(b["text"]["text"]))
        text = longest["text"]["text"]
        keep = max(SLACK_SECTION_FLOOR, len(text) - excess, len(text) // 2)
        longest["text"]["text"] = cut(text, keep)
        excess -= len(text) - len(longest["text"]["text"])
    while excess > 0:
        sections = [i for i, b in enumerate(blocks) if b["type"] in ("section", "context")]
        if len(sections) < 2:
            return
        excess -= block_text_chars(blocks.pop(sections[-1]))


def slack_mention(platform: str, user: str) -> str | None:
    """A Slack person as a mention; None for anyone else (the words then say "someone")."""
    return f"<@{user}>" if platform == "slack" and _USER_ID.match(user or "") else None


def fit_slack(payload: dict[str, Any]) -> dict[str, Any]:
    """Enforce Block Kit limits: block count, section/header/button lengths, fallback text,
    and the text of all blocks together (SLACK_BLOCK_TEXT_BUDGET)."""
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
            elif el.get("type") in ("static_select", "overflow"):
                most = SLACK_OPTIONS if el["type"] == "static_select" else SLACK_OVERFLOW_OPTIONS
                el["options"] = el.get("options", [])[:most]
                for option in el["options"]:
                    option["text"]["text"] = cut(option["text"]["text"], SLACK_OPTION_CHARS)
    if len(blocks) > SLACK_MAX_BLOCKS:
        # Keep the buttons: they are how the user tells us whether the fix worked.
        tail = [b for b in blocks[-2:] if b["type"] == "actions"]
        blocks = blocks[: SLACK_MAX_BLOCKS - len(tail)] + tail
    _within_text_budget(blocks)
    payload["blocks"] = blocks
    if "text" in payload:  # a message's notification text (a view has none)
        payload["text"] = cut(payload["text"], SLACK_FALLBACK_CHARS)
    return payload


SLACK = ChannelFormat("slack", slack_literal, lambda s: f"*{s}*" if s else s, fit_slack, fits_slack, slack_mention)
