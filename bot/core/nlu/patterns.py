"""What a regular expression cannot match without: the plain text every match contains.

The engine runs a few dozen patterns (error signatures, specifics) over every message. Most
of them cannot match most messages, and a substring test on the lower-cased message is far
cheaper than a case-insensitive regex search. `required_text` reads a pattern's parse tree for
the longest run of plain characters outside any alternative, option or repetition (inside
plain groups too): no match can lack it. For ASCII text, matching ignoring case means matching
the lower case, so `needle in text.lower()` is a safe test; other text is always searched.
"""

from __future__ import annotations

import re
from re import _constants, _parser

_PLAIN = frozenset("abcdefghijklmnopqrstuvwxyz0123456789 ,:;'\"/-_")


def required_text(pattern: re.Pattern[str]) -> str:
    """The longest run of plain characters every match of `pattern` contains, lower case ("" if none)."""
    return _longest(_parser.parse(pattern.pattern, pattern.flags))


def _longest(nodes) -> str:
    best, run = "", ""
    for op, arg in nodes:
        char = chr(arg).lower() if op is _constants.LITERAL else ""
        if char and char in _PLAIN:
            run += char
            continue
        best, run = max(best, run, key=len), ""
        if op is _constants.SUBPATTERN:  # a group, neither optional nor repeated: its text is required
            best = max(best, _longest(arg[3]), key=len)
    return max(best, run, key=len)


def may_match(needle: str, lowered: str | None) -> bool:
    """False only when `lowered` (an ASCII text, lower case; None for other text) lacks `needle`."""
    return lowered is None or not needle or needle in lowered


def lowered_if_ascii(text: str) -> str | None:
    return text.lower() if text.isascii() else None
