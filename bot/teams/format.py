"""Teams' text format (the Markdown subset Adaptive Cards render) and card limits.

Teams renders bold, italic, links and bulleted or numbered lists in a TextBlock, and nothing
else (no code, headings, quotes or HTML). Its mobile clients show a backslash escape as a
backslash, so user text is escaped only where Teams would otherwise read markup, and a line
that would start a list is kept literal without one: the space after "1." or "-" becomes a
no-break space, which no Markdown reads as a list marker and every client shows as a space.
"""

from __future__ import annotations

import json
import re
from typing import Any

from ..core.replies.formats import ChannelFormat, cut

TEAMS_TEXT_CHARS = 4000
# Microsoft's limit for a message to Teams is about 100 KB (activity included); 80 KB is the
# size it advises cards to stay under. Cards are fitted to the advice, less room for the
# activity around them.
TEAMS_CARD_LIMIT_BYTES = 100_000
TEAMS_CARD_BUDGET_BYTES = 78_000
NBSP = "\u00a0"

_LIST_MARKER = re.compile(r"(?m)^([ \t]{0,3})([-+*]|\d{1,9}[.)])[ \t]")
_IS_LIST_ITEM = re.compile(r"^[ \t]{0,3}([-+*]|\d{1,9}[.)])[ \t]")
_BACKSLASH = re.compile(r"\\(?=[!-/:-@\[-`{-~])")          # a backslash Markdown would swallow
_FREE_UNDERSCORE = re.compile(r"(?<![0-9A-Za-z])_|_(?![0-9A-Za-z])")  # not inside a word
_LINK = re.compile(r"\]\s*\(")


def teams_escape(text: str) -> str:
    """User text made literal in a Teams TextBlock, with as few backslashes as that takes."""
    text = _BACKSLASH.sub(r"\\\\", text)
    if text.count("*") >= 2:                       # a lone asterisk emphasises nothing
        text = text.replace("*", "\\*")
    if _FREE_UNDERSCORE.search(text):  # snake_case_names stay; one free "_" can close a layout's _italic_
        text = _FREE_UNDERSCORE.sub(lambda m: "\\_", text)
    if _LINK.search(text):                         # only "[label](url)" makes a link
        text = text.replace("[", "\\[").replace("]", "\\]")
    return _LIST_MARKER.sub(lambda m: m.group(1) + m.group(2) + NBSP, text)


def keep_line_breaks(text: str) -> str:
    """Teams joins lines a single line break separates, except in a list: every other single
    break becomes a paragraph break, so lines stay lines."""
    if "\n" not in text:
        return text
    lines = text.split("\n")
    out = [lines[0]]
    for before, line in zip(lines, lines[1:]):
        both_items = bool(_IS_LIST_ITEM.match(before)) and bool(_IS_LIST_ITEM.match(line))
        out.append(("\n" if both_items or not before.strip() or not line.strip() else "\n\n") + line)
    return "".join(out)


def card_bytes(card: dict[str, Any]) -> int:
    return len(json.dumps(card, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))


def fits_teams(card: dict[str, Any]) -> bool:
    return card_bytes(card) <= TEAMS_CARD_BUDGET_BYTES


def fit_teams(card: dict[str, Any]) -> dict[str, Any]:
    """Text blocks cut to TEAMS_TEXT_CHARS with their line breaks kept; a card still over the
    budget has its longest text blocks shortened (a digest is fitted by groups before this)."""
    blocks: list[dict[str, Any]] = []

    def walk(items: list[dict[str, Any]]) -> None:
        for item in items:
            if item.get("type") == "TextBlock":
                item["text"] = keep_line_breaks(cut(item["text"], TEAMS_TEXT_CHARS))
                blocks.append(item)
            walk(item.get("items", []))
            for column in item.get("columns", []):
                walk(column.get("items", []))

    walk(card.get("body", []))
    for block in sorted(blocks, key=lambda b: -len(b["text"])):
        excess = card_bytes(card) - TEAMS_CARD_BUDGET_BYTES
        if excess <= 0:
            break
        block["text"] = cut(block["text"], max(200, len(block["text"]) - excess - 8))
    return card


TEAMS = ChannelFormat("teams", teams_escape, lambda s: f"**{s}**" if s else s, fit_teams, fits_teams)
