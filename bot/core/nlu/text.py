"""Cleaning what people paste before anything else looks at it.

Chat text arrives with Slack markup (`<@U123>`, `<https://x|label>`, `&amp;`), curly quotes,
stray control characters, lone surrogates from broken clients, and sometimes megabytes of
log. Everything downstream works on the cleaned form, so it has to be total: any str in,
a str out, in time linear in the input.
"""

from __future__ import annotations

import re
import unicodedata

# Past this, a paste is cut: the classifier and the signature scan never see more.
MAX_ANALYSED_CHARS = 400_000

_SLACK_LINK = re.compile(r"<(https?://[^|<>\s]{1,2000})\|([^<>]{1,500})>")
_SLACK_BARE_LINK = re.compile(r"<(https?://[^|<>\s]{1,2000})>")
_SLACK_SPECIAL = re.compile(r"<[@#!][^<>\s]{1,100}>")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200a\u3000]{1,100000}")
_BLANK_LINES = re.compile(r"\n{3,100000}")
_QUOTES = str.maketrans({
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"',
    "\u00ab": '"', "\u00bb": '"', "\u2212": "-", "\u2013": "-", "\u2014": "-",
})


def scrub(text: str) -> str:
    """Make any string safe to process: valid UTF-8, no control characters, bounded length."""
    if not isinstance(text, str):
        text = str(text)
    if len(text) > MAX_ANALYSED_CHARS:
        text = text[:MAX_ANALYSED_CHARS]
    # Lone surrogates cannot be encoded; replace them rather than fail later.
    text = text.encode("utf-8", "replace").decode("utf-8")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROL.sub("", text)


def normalise(text: str) -> str:
    """The form classification and signature matching work on."""
    text = scrub(text)
    text = _SLACK_LINK.sub(r"\2", text)
    text = _SLACK_BARE_LINK.sub(r"\1", text)
    text = _SLACK_SPECIAL.sub(" ", text)
    # Slack escapes these three in message text; undo it so error texts match.
    text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    text = unicodedata.normalize("NFKC", text).translate(_QUOTES)
    text = _SPACES.sub(" ", text)
    text = _BLANK_LINES.sub("\n\n", text)
    return text.strip()


def one_line(text: str, limit: int = 200) -> str:
    """A short single-line excerpt for quoting back to the user."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "\u2026"
