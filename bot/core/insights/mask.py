"""Masking what a person wrote before it is grouped or shown in a report.

Cluster samples are shown to admins, who need to see *what kind* of error people paste, not
whose order, which customer or how much money. So every sample, and the text the clusters are
built from, is first normalised the way the signature scan sees it (bot/core/nlu/text.py:
Slack markup undone, quotes and spaces folded), then masked:
  e-mail addresses [email], links [link], tokens and long hex or base64 strings [secret], user
  ids and GUIDs [id], amounts [amount], quoted values and document numbers (SO-00412,
  GRN-MUG-12, INV123) [ref] or [name], a name after customer/supplier/vendor/... [name],
  capitalised words the knowledge base never uses (people's and companies' names) [name], and
  every other number [n]. QuickBooks error codes ("error code 6240", "ERROR CODE:5010") and HTTP
  statuses before their reason ("401 Unauthorized") are kept: they say which error it is.
Lower-case names cannot be told from words and are not masked: samples go to admins only.
Every pattern is bounded (no unbounded or nested repetition), so a hostile paste costs time
linear in its length.
"""

from __future__ import annotations

import re
from typing import Any, Iterable

from ..nlu.text import normalise, one_line

SAMPLE_CHARS = 200
SHAPE_CHARS = 1_000  # what clustering reads of a message: its error, not a whole log
QUOTED_NAME_WORDS = 4  # a quoted value this short is a name or a reference: masked whole

_SECRET = re.compile(r"\bxox[abposre]-[A-Za-z0-9-]{8,200}|\b(?i:bearer)\s{1,3}[A-Za-z0-9._~+/=-]{12,2000}"
                     r"|\b(?=[A-Za-z0-9+/]{0,199}\d)(?=[A-Za-z0-9+/]{0,199}[A-Za-z])[A-Za-z0-9+/]{32,200}={0,2}")
_EMAIL = re.compile(r"[\w.+-]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63}){1,8}")
_LINK = re.compile(r"\b(?:https?://|www\.)[^\s<>\"']{1,2000}", re.IGNORECASE)
_GUID = re.compile(r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b")
_USER_ID = re.compile(r"\b[UWB][A-Z0-9]{8,14}\b|\b29:[\w-]{8,200}|\baad-[\w-]{8,100}")
_AMOUNT = re.compile(
    r"(?<![\w.])-?(?:[$€£¥]|\b(?:USD|CAD|AUD|NZD|GBP|EUR|SGD|ZAR|JPY|CHF)\s{0,2})\s{0,2}\d{1,12}(?:[,\s]\d{3}){0,5}"
    r"(?:\.\d{1,4})?(?![\d])|(?<![\w.,])-?\d{1,3}(?:,\d{3}){0,5}\.\d{2}(?![\d.])"
    r"|\b(?i:supplied value|amount|total|balance|price)\s{0,3}(?:of|:|=|is)?\s{0,3}-?\d{1,12}(?:[.,]\d{1,4}){0,3}")
_QUOTED = re.compile(r"(?<!\w)\"([^\"\n]{1,80})\"(?!\w)|(?<!\w)'([^'\n]{1,60})'(?!\w)")
_NAMED = re.compile(r"\b((?i:customer|supplier|vendor|contact|client|named|called|employee|salesperson|sales rep)"
                    r"\s{1,3}(?i:is\s{1,3}|name\s{1,3}|:\s{0,2})?)"
                    r"([A-Z][\w'&.-]{0,30}(?:\s{1,2}[A-Z][\w'&.-]{0,30}){0,4})")
_REFERENCE = re.compile(r"(?<![\w\[])(?=[A-Za-z0-9./_#-]{0,40}\d)(?=[A-Za-z0-9./_#-]{0,40}[A-Za-z])"
                        r"[A-Za-z0-9#][A-Za-z0-9./_#-]{0,40}[A-Za-z0-9](?![\w\]])")
_CAPITALISED = re.compile(r"(?<![\w\[])[A-Z][A-Za-z'’]{1,30}(?![\w\]])")
_NUMBER = re.compile(r"(?i)(\b(?:error\s{0,2}code|errorcode|error|code|fault|err)[\s:=#\"'(]{0,4})?"
                     r"(?<![\w\[])-?\d{1,40}(?:[.,:/-]\d{1,40}){0,6}(?![\w\]])(\s{1,2}[A-Z][a-z]{2,20})?")
_HTTP_STATUS = range(400, 600)
_SPACES = re.compile(r"[ \t]{2,100000}")
_PLAIN_NUMBER = re.compile(r"[\d.,:/-]{1,60}")
_DIGIT = re.compile(r"\d")
_LONG_RUN = re.compile(r"[A-Za-z0-9+/]{32}")
_NAMED_CUE = re.compile(r"customer|supplier|vendor|contact|client|named|called|employee|salesperson|sales rep")


_WORD = re.compile(r"[A-Za-z][A-Za-z0-9']{0,40}")


def _number(match: re.Match[str]) -> str:
    introduced, reason = match.group(1), match.group(2)
    digits = match.group(0)[len(introduced or ""):len(match.group(0)) - len(reason or "")]
    if introduced:  # an error code says which error it is
        return match.group(0)
    if reason and digits.isdigit() and int(digits) in _HTTP_STATUS:  # "401 Unauthorized"
        return match.group(0)
    return "[n]" + (reason or "")


class Masker:
    """`known`: lower-case words the knowledge base uses (the model's vocabulary, QuickBooks'
    error names); a capitalised word outside it is taken for a name."""

    def __init__(self, known: Iterable[str] = ()) -> None:
        self.known = frozenset(w.lower() for w in known)

    def _quoted(self, match: re.Match[str]) -> str:
        """A short quoted value is a name or a reference, masked whole; a quoted error text
        (every word one we know, or a sentence) is masked like the rest."""
        value = next(g for g in match.groups() if g is not None)
        words = _WORD.findall(value)
        if len(value.split()) > QUOTED_NAME_WORDS or (words and not any(c.isdigit() for c in value)
                                                       and all(w.lower() in self.known for w in words)):
            return match.group(0)
        quote = match.group(0)[0]
        return f"{quote}{'[ref]' if any(c.isdigit() for c in value) else '[name]'}{quote}"

    def _capitalised(self, match: re.Match[str]) -> str:
        word = match.group(0)
        return word if word.lower().strip("'’") in self.known else "[name]"

    def shape(self, text: str) -> str:
        """The masked, normalised text (its first SHAPE_CHARS): what clusters are built from."""
        text = normalise(text)[:SHAPE_CHARS * 2]
        lowered = text.lower()
        digits = _DIGIT.search(text) is not None
        # Each pattern runs only where it could match: a cheap test first (most messages have
        # no e-mail address, link or token, and the patterns cost more than the tests).
        if "xox" in text or "bearer" in lowered or _LONG_RUN.search(text):
            text = _SECRET.sub("[secret]", text)
        if "@" in text:
            text = _EMAIL.sub("[email]", text)
        if "http" in lowered or "www." in lowered:
            text = _LINK.sub("[link]", text)
        if digits and text.count("-") >= 4:
            text = _GUID.sub("[id]", text)
        if digits or "29:" in text or "aad-" in lowered:
            text = _USER_ID.sub("[id]", text)
        if digits:
            text = _AMOUNT.sub("[amount]", text)
        if "'" in text or '"' in text:
            text = _QUOTED.sub(self._quoted, text)
        if _NAMED_CUE.search(lowered):
            text = _NAMED.sub(lambda m: m.group(1) + "[name]", text)
        if digits:
            text = _REFERENCE.sub(self._reference, text)
            text = _NUMBER.sub(_number, text)
        text = _CAPITALISED.sub(self._capitalised, text)
        return _SPACES.sub(" ", text).strip()[:SHAPE_CHARS]

    def _reference(self, match: re.Match[str]) -> str:
        token = match.group(0)
        if _PLAIN_NUMBER.fullmatch(token):
            return token  # a plain number: [n] below, unless it is an error code
        return token if token.lower() in self.known else "[ref]"  # "Cin7", "O365" are words

    def sample(self, text: str) -> str:
        """One line for a report (admins only)."""
        return one_line(self.shape(text), SAMPLE_CHARS)


def known_words(scorer: Any, texts: Iterable[str] = (), min_documents: int = 5) -> frozenset[str]:
    """The words that are not names: those of `texts` (the knowledge base, QuickBooks' error
    names) and the model's words used by at least `min_documents` training texts (a made-up
    customer in one example is not a word). The model keeps idf, not document counts; with
    smooth idf, idf = ln((1 + n) / (1 + df)) + 1, and the rarest word (df = 1) gives n."""
    import numpy as np

    found = {w.lower() for text in texts for w in _WORD.findall(text)}
    block = getattr(scorer, "words", None)
    if block is not None and len(block.idf):
        idf = np.asarray(block.idf, dtype=np.float64)
        n = 2.0 * np.exp(idf.max() - 1.0) - 1.0
        df = (1.0 + n) / np.exp(idf - 1.0) - 1.0
        found |= {g for g, j in block.vocabulary.items() if " " not in g and df[j] >= min_documents - 0.5}
    return frozenset(found)
