"""Pulling the specifics (product, order, bill, account...) out of a message.

Every pattern here is bounded ({m,n} quantifiers, no nested unbounded repetition), so a
hostile paste costs time linear in its length. Values captured by an exact error
signature win over these general patterns, which only fill the gaps.
"""

from __future__ import annotations

import re

from .patterns import lowered_if_ascii, may_match, required_text

_F = re.IGNORECASE

# (slot, pattern with one group); the first hit for a slot is kept.
_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("order", re.compile(r"\b((?:SO|SA|SAL|SALE|ORD|ORDER)-\d{2,10})\b", _F)),
    ("invoice", re.compile(r"\b(INV-?\d{2,10})\b", _F)),
    ("bill", re.compile(r"\b((?:BILL|PO)-\d{2,10})\b", _F)),
    ("reference", re.compile(r"\b((?:JNL|JE|JRN|CN|CR|RET|PAY|PMT)-\d{2,10})\b", _F)),
    ("invoice", re.compile(r"\b(?i:invoice)\s{1,3}(?i:no\.?|number|#)?\s{0,3}#?((?=[A-Z0-9-]{0,20}\d)[A-Z0-9][A-Z0-9-]{1,20})\b")),
    ("bill", re.compile(r"\b(?i:bill)\s{1,3}(?i:no\.?|number|#)?\s{0,3}#?\"?([A-Z0-9][A-Z0-9-]{1,20}\d)\b")),
    # A product code, not a word: upper case or digits, with a digit or a separator in it.
    ("product", re.compile(r"\b(?i:product|item|sku)\s{1,3}(?i:code\s{1,3})?[\"'`]?"
                           r"((?=[A-Z0-9_./-]{0,40}[\d_./-])[A-Z0-9][A-Z0-9_./-]{1,40}[A-Z0-9])\b")),
    ("product", re.compile(r"\b(?i:product|item)\s{1,3}[\"]([^\"\n]{2,80})[\"]")),
    # "4000-Sales" or "1200-Inventory Asset": the name part is capitalised words only.
    ("account_code", re.compile(r"\b(?i:account)\s{1,3}(?i:code\s{1,3})?(?i:no\.?\s{1,3}|number\s{1,3}|#\s{0,2})?\(?"
                                r"(\d{3,6}(?:-[A-Z][A-Za-z]{0,25}(?: [A-Z][A-Za-z]{0,25}){0,3})?)\)?")),
    ("error_code", re.compile(r"\(\s{0,3}(-\d{3,6})\s{0,3}\)")),
    ("error_code", re.compile(r"\b(?:error|code|status)\s{0,3}:?\s{0,3}(4\d\d|5\d\d|-\d{4,6})\b", _F)),
    ("amount", re.compile(r"supplied value\s{0,3}:?\s{0,3}(-?[\d.,]{0,20}\d)", _F)),
    ("amount", re.compile(r"(?<![\w.])(-?[$€£]\s?\d{1,3}(?:,\d{3}){0,5}(?:\.\d{1,2})?|-?\d{1,3}(?:,\d{3}){0,5}\.\d{2})(?![\d])")),
    # The sale's currency first (what the fix steps switch to), then any currency.
    ("currency", re.compile(r"\b(?i:sale|sales|order|channel|store|shop|invoice|marketplace)\b[^.\n]{0,60}?"
                            r"\b(USD|CAD|AUD|NZD|GBP|EUR|SGD|ZAR|JPY|CHF)\b")),
    ("currency", re.compile(r"\b(USD|CAD|AUD|NZD|GBP|EUR|SGD|ZAR|JPY|CHF)\b")),
    ("customer", re.compile(r"\bcustomer\s{1,3}(?:named\s{1,3}|called\s{1,3})?[\"']([^\"'\n]{2,60})[\"']", _F)),
    ("supplier", re.compile(r"\b(?:supplier|vendor)\s{1,3}(?:named\s{1,3}|called\s{1,3})?[\"']([^\"'\n]{2,60})[\"']", _F)),
    ("customer", re.compile(r"\bcustomer\s{1,3}(?:named\s{1,3}|called\s{1,3})?((?:[A-Z][\w'.-]{0,25}\s){0,4}(?:Co|Ltd|LLC|Inc|Pty|Cafe|Café|Store|Shop|[A-Z][\w'.-]{1,25}))\b")),
    ("supplier", re.compile(r"\b(?:supplier|vendor)\s{1,3}(?:named\s{1,3}|called\s{1,3})?((?:[A-Z][\w'.-]{0,25}\s){0,4}(?:Co|Ltd|LLC|Inc|Pty|[A-Z][\w'.-]{1,25}))\b")),
)

# Past this many characters the general patterns are not run (signatures already were).
_SCAN_LIMIT = 20_000
_MAX_VALUE = 120


def _clean(value: str) -> str:
    value = " ".join(value.split()).strip(" .,:;\"'`")
    return value[:_MAX_VALUE]


# What each pattern cannot match without (bot/core/nlu/patterns.py): most are skipped for most messages.
_NEEDLES = tuple(required_text(pattern) for _, pattern in _PATTERNS)


def extract(text: str, found: dict[str, str] | None = None) -> dict[str, str]:
    """Entities in `text`; `found` (from an exact signature match) takes precedence."""
    entities: dict[str, str] = {k: _clean(v) for k, v in (found or {}).items() if v and _clean(v)}
    sample = text[:_SCAN_LIMIT]
    lowered = lowered_if_ascii(sample)
    for (slot, pattern), needle in zip(_PATTERNS, _NEEDLES):
        if slot in entities or not may_match(needle, lowered):
            continue
        m = pattern.search(sample)
        if m and _clean(m.group(1)):
            entities[slot] = _clean(m.group(1))
    return entities
