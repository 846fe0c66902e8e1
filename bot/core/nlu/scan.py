"""Finding exact error signatures, and the lines of a long paste worth classifying.

A 40,000-character log is mostly noise. Signatures are searched over the whole (bounded)
text; for the statistical model a long paste is cut into lines and only the lines that look
like errors are classified, so the error line wins over the noise around it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .catalog import Catalog
from .patterns import lowered_if_ascii, may_match

# Up to this length a message is classified whole.
WHOLE_MESSAGE_CHARS = 1_500
MAX_SEGMENTS = 8
_CHUNK = 600
_CUES = re.compile(
    r"error|fail|failed|not exported|pending|cannot|can't|unable|duplicate|mismatch|unauthori"
    r"|inactive|deprecated|closed|deposited|matched|currency|tax|cogs|refund|credit note"
    r"|not unique|disconnect|sync|quickbooks|qbo|version|prepayment|revenue",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class SignatureHit:
    intent: str
    start: int
    end: int
    slots: dict[str, str]
    variant: str = ""  # the variant of a merged intent this error text proves ("" if shared)

    def evidence(self, text: str) -> str:
        """The line the error text sits on."""
        line_start = text.rfind("\n", 0, self.start) + 1
        line_end = text.find("\n", self.end)
        return text[line_start: line_end if line_end != -1 else len(text)]


def find_signatures(catalog: Catalog, text: str) -> list[SignatureHit]:
    """Exact error texts in `text`, overlapping matches resolved to the most specific one."""
    hits = []
    lowered = lowered_if_ascii(text)
    for sig in catalog.signatures:
        if not may_match(sig.needle, lowered):  # see bot/core/nlu/patterns.py
            continue
        for n, m in enumerate(sig.pattern.finditer(text)):
            if n >= 20:  # the same error 1,000 times in a log says nothing new
                break
            slots = {k: v for k, v in m.groupdict().items() if v}
            hits.append(SignatureHit(sig.intent, m.start(), m.end(), slots, sig.variant))
    # Most specific first: more captured slots, then the longer match.
    hits.sort(key=lambda h: (-len(h.slots), -(h.end - h.start), h.start))
    kept: list[SignatureHit] = []
    for h in hits:
        if all(h.end <= k.start or h.start >= k.end for k in kept):
            kept.append(h)
    kept.sort(key=lambda h: h.start)
    return kept


def candidate_segments(text: str) -> list[str]:
    """The message itself when short; otherwise its most error-like lines (and its opening)."""
    if len(text) <= WHOLE_MESSAGE_CHARS:
        return [text]
    pieces: list[str] = []
    for line in text.split("\n"):
        line = line.strip()
        if not line:
            continue
        for i in range(0, len(line), _CHUNK):
            pieces.append(line[i: i + _CHUNK])
    scored = []
    seen: set[str] = set()
    for pos, piece in enumerate(pieces):
        if piece in seen:  # a log repeats itself; one copy of a line is enough
            continue
        seen.add(piece)
        cues = len(_CUES.findall(piece))
        if cues:
            scored.append((-cues, pos, piece))
    scored.sort()
    best = [p for _, _, p in scored[:MAX_SEGMENTS]]
    opening = text[:_CHUNK]
    if opening not in best:
        best.insert(0, opening)
    return best
