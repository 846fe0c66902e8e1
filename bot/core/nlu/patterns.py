"""What a regular expression cannot match without: the plain text every match contains.

The engine runs a few dozen patterns (error signatures, specifics) over every message. Most
of them cannot match most messages, and a substring test on the lower-cased message is far
cheaper than a case-insensitive regex search. `required_text` reads a pattern's parse tree
(bot.core.nlu.regex_tree) for the longest run of plain characters outside any alternative,
option, repetition or lookaround (inside groups too): no match can lack it. For ASCII text,
matching ignoring case means matching the lower case, so `needle in text.lower()` is a safe
test; other text is always searched.
"""

from __future__ import annotations

import re

from . import regex_tree as rt

_PLAIN = frozenset("abcdefghijklmnopqrstuvwxyz0123456789 ,:;'\"/-_")


def required_text(pattern: re.Pattern[str]) -> str:
    """The longest run of plain characters every match of `pattern` contains, lower case ("" if none)."""
    return _longest(rt.parse(pattern.pattern, pattern.flags))


def _longest(nodes: tuple[rt.Node, ...]) -> str:
    best, run = "", ""
    for node in nodes:
        char = node.char.lower() if isinstance(node, rt.Literal) else ""
        if char and char in _PLAIN:
            run += char
            continue
        best, run = max(best, run, key=len), ""
        if isinstance(node, rt.Group):  # neither optional nor repeated: its text is required
            best = max(best, _longest(node.body), key=len)
    return max(best, run, key=len)


def may_match(needle: str, lowered: str | None) -> bool:
    """False only when `lowered` (an ASCII text, lower case; None for other text) lacks `needle`."""
    return lowered is None or not needle or needle in lowered


def lowered_if_ascii(text: str) -> str | None:
    return text.lower() if text.isascii() else None
