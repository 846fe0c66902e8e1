"""QuickBooks Online error codes: which one a line carries, and whether the help article fixes it.

QuickBooks answers a rejected request with a code, a message and a detail. People paste all
three, or the code alone with a word or two ("6540 again"), or the message without its code
("Stale Object Error"). The code book (intents/reference/qbo_error_codes.yaml) says which codes
the help article covers (and so which intent fixes them) and, for the others, what QuickBooks
means by them, so that an uncovered code is named and refused instead of being pulled towards
the nearest intent by the words it shares with one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from .catalog import Catalog, CatalogError
from .patterns import lowered_if_ascii, may_match, required_text
from .reference import patterns, read_yaml, reference_file, text

CODES_FILE = "qbo_error_codes.yaml"

# A number introduced as a code: "ERROR CODE:6240", "code 120", "error 6190", "errorCode=003200",
# "Code (6140):", "qbo 6240". The word before "code" is checked in code, not here: "account code
# 6000" is an account, not an error.
_INTRODUCED = re.compile(
    r"\b(?:error\s{0,2}code|errorcode|code|error|err|fault|qbo|quickbooks(?:\s{1,2}online)?)"
    r"[\"']?\s{0,3}[:=#]?\s{0,3}[\"'(]?\s{0,2}(-?\d{3,6})\b", re.IGNORECASE)
# A number standing alone: not part of a reference (SO-6240, #6240), an amount ($6,240.00), a
# date or a version.
_BARE = re.compile(r"(?<![\w$\u20ac\u00a3#./:-])(-?\d{3,6})(?![\w%]|[.,/:-]\d)")
_NOT_A_CODE_BEFORE = re.compile(r"(?:account|tax|item|product|postal|zip|promo|discount|country|currency|sku)"
                                r"(?:\W{1,3}code)?\W{0,3}$", re.IGNORECASE)
# A bare number only counts as a code in a short message ("6540 again"), and never as a year.
BARE_CODE_MAX_WORDS = 25
_YEARS = range(1990, 2040)


@dataclass(frozen=True)
class CodeEntry:
    code: str                       # "" for a message QuickBooks sends without a code we know
    name: str                       # QuickBooks' own message for it
    intent: str = ""                # the intent that fixes it; "" when the article does not cover it
    meaning: str = ""               # one line, our own words, for an uncovered code
    match: tuple[re.Pattern[str], ...] = ()
    needles: tuple[str, ...] = ()
    unless: tuple[tuple[re.Pattern[str], str], ...] = ()
    generic: bool = False
    needs_name: bool = False


@dataclass(frozen=True)
class CodeHit:
    """A QuickBooks error found in a line: what it is and whether we have its fix."""

    code: str          # the code as QuickBooks numbers it ("6240"); "" for a message without one
    name: str
    intent: str        # "" when the help article does not cover it
    meaning: str       # for an uncovered code: what QuickBooks means by it
    how: str           # "code" (the number was there) or "name" (only QuickBooks' message was)

    @property
    def covered(self) -> bool:
        return bool(self.intent)


def _plain(code: str) -> str:
    """"003200" and "3200" are the same code."""
    negative = code.startswith("-")
    digits = code.lstrip("-").lstrip("0") or "0"
    return f"-{digits}" if negative else digits


class CodeBook:
    def __init__(self, entries: list[CodeEntry], spellings: dict[str, CodeEntry] | None = None) -> None:
        self.entries = entries
        self.by_code: dict[str, CodeEntry] = {e.code: e for e in entries if e.code}
        self.by_code.update(spellings or {})
        self._named = [e for e in entries if e.match]

    def __bool__(self) -> bool:
        return bool(self.entries)

    # -- finding ------------------------------------------------------------------------

    def find(self, text: str, code: str = "", whole_message: bool = True) -> CodeHit | None:
        """The QuickBooks error in `text`: from `code` when a parsed fault gave one, else a code
        the text introduces, else QuickBooks' own message, else (short messages only) a bare
        number that is a known code. None when there is no QuickBooks error code in it."""
        if not self.entries:
            return None
        lowered = lowered_if_ascii(text)
        named = self._by_name(text, lowered)
        entry = self.by_code.get(_plain(code)) if code else None
        how = "code"
        if entry is None:
            entry = self._introduced(text, named)
        if entry is None and named is not None:
            entry, how = named, "name"
        if entry is None and whole_message:
            entry = self._bare(text, named)
        if entry is None:
            return None
        if entry.generic and named is not None and not named.generic:
            entry = named  # "Business Validation Error: Invalid account type ..." is the latter
        intent, meaning = entry.intent, entry.meaning
        for detail, other in entry.unless:
            if detail.search(text):
                intent, meaning = "", other
                break
        return CodeHit(entry.code, entry.name, intent, meaning, how)

    def _by_name(self, text: str, lowered: str | None) -> CodeEntry | None:
        """QuickBooks' message for a code, the most specific one when several are there."""
        found = None
        for entry in self._named:
            if not any(may_match(n, lowered) for n in entry.needles):
                continue
            if any(p.search(text) for p in entry.match):
                if not entry.generic:
                    return entry
                found = found or entry
        return found

    def _introduced(self, text: str, named: CodeEntry | None) -> CodeEntry | None:
        for m in _INTRODUCED.finditer(text):
            if _not_a_code(text, m.start()):
                continue
            entry = self.by_code.get(_plain(m.group(1)))
            if entry is not None and (not entry.needs_name or entry is named):
                return entry
        return None

    def _bare(self, text: str, named: CodeEntry | None) -> CodeEntry | None:
        if len(text.split()) > BARE_CODE_MAX_WORDS:
            return None
        for m in _BARE.finditer(text):
            number = m.group(1)
            digits = number.lstrip("-")
            entry = self.by_code.get(_plain(number))
            if entry is None or (entry.needs_name and entry is not named):
                continue
            if len(digits) < 4 and entry is not named:
                continue  # "610" alone is too easily something else
            if (not number.startswith("-") and int(digits) in _YEARS) or _not_a_code(text, m.start()):
                continue
            return entry
        return None


def _not_a_code(text: str, at: int) -> bool:
    """"account code 6000", "tax code 2500": a number that names something else."""
    return _NOT_A_CODE_BEFORE.search(text, max(0, at - 24), at) is not None


# -- loading ---------------------------------------------------------------------------------

def _entry(doc: object, where: str, catalog: Catalog, with_code: bool) -> tuple[CodeEntry, list[str]]:
    if not isinstance(doc, dict):
        raise CatalogError(f"{where}: expected a mapping")
    code = _plain(text(doc, "code", where)) if with_code else ""
    where = f"{where} ({code})" if code else where
    intent = text(doc, "intent", where, required=False)
    meaning = text(doc, "meaning", where, required=False)
    if bool(intent) == bool(meaning):
        raise CatalogError(f"{where}: give either 'intent' (covered) or 'meaning' (not covered)")
    if intent and intent not in catalog:
        raise CatalogError(f"{where}: intent {intent!r} is not in the catalog")
    match = patterns(doc["match"], where) if "match" in doc else ()
    if not with_code and not match:
        raise CatalogError(f"{where}: a message without a code needs 'match'")
    unless = []
    for n, rule in enumerate(doc.get("unless") or [], start=1):
        rw = f"{where} unless {n}"
        if not isinstance(rule, dict):
            raise CatalogError(f"{rw}: expected a mapping")
        unless.append((patterns([rule.get("detail")], rw)[0], text(rule, "meaning", rw)))
    also = doc.get("also") or []
    if not isinstance(also, list):
        raise CatalogError(f"{where}: 'also' must be a list of spellings")
    entry = CodeEntry(
        code=code, name=text(doc, "name", where), intent=intent, meaning=meaning, match=match,
        needles=tuple(required_text(p) for p in match), unless=tuple(unless),
        generic=bool(doc.get("generic")), needs_name=bool(doc.get("needs_name")),
    )
    return entry, [_plain(str(a)) for a in also]


def load_codebook(intents_dir: Path, catalog: Catalog) -> CodeBook:
    path = reference_file(intents_dir, CODES_FILE)
    doc = read_yaml(path)
    entries: list[CodeEntry] = []
    spellings: dict[str, CodeEntry] = {}
    for n, item in enumerate(doc.get("codes") or [], start=1):
        entry, also = _entry(item, f"{path.name} code {n}", catalog, with_code=True)
        if entry.code in {e.code for e in entries}:
            raise CatalogError(f"{path.name}: code {entry.code} is listed twice")
        entries.append(entry)
        spellings.update({a: entry for a in also})
    for n, item in enumerate(doc.get("messages") or [], start=1):
        entries.append(_entry(item, f"{path.name} message {n}", catalog, with_code=False)[0])
    return CodeBook(entries, spellings)
