"""Teams' text format (the Markdown subset Adaptive Cards render) and card limits."""

from __future__ import annotations

import re
from typing import Any

from ..core.replies.formats import ChannelFormat, cut

# Teams refuses activities over about 28 KB; stay well inside it.
TEAMS_TEXT_CHARS = 4000

_TEAMS_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+!|<>~])")
_TEAMS_LINE_START = re.compile(r"(?m)^(\s{0,3})([-=]|\d{1,9}[.)])")


def teams_escape(text: str) -> str:
    """Backslash-escape the CommonMark subset Adaptive Cards render, so user text stays literal."""
    text = _TEAMS_SPECIAL.sub(r"\\\1", text)
    return _TEAMS_LINE_START.sub(lambda m: m.group(1) + "\\" + m.group(2), text)


def fit_teams(card: dict[str, Any]) -> dict[str, Any]:
    """Long text blocks cut to TEAMS_TEXT_CHARS."""
    def walk(items: list[dict[str, Any]]) -> None:
        for item in items:
            if item.get("type") == "TextBlock":
                item["text"] = cut(item["text"], TEAMS_TEXT_CHARS)
            walk(item.get("items", []))

    walk(card.get("body", []))
    return card


TEAMS = ChannelFormat("teams", teams_escape, lambda s: f"**{s}**" if s else s, fit_teams)
