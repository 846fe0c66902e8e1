"""What the engine concludes about one message: plain dataclasses, no platform types."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class AnswerKind(StrEnum):
    DIAGNOSIS = "diagnosis"        # one (or more) known problems, confident
    CHOICE = "choice"              # two or three close candidates: ask the user to pick
    OUT_OF_SCOPE = "out_of_scope"  # not something we know: say so, offer topics or a person
    META = "meta"                  # greeting, thanks, help, escalate
    EMPTY = "empty"                # nothing to work with


class FindingKind(StrEnum):
    PROBLEM = "problem"                # a known problem (or a meta intent): its intent says which
    UNCOVERED_CODE = "uncovered_code"  # a QuickBooks error code the help article has no fix for
    OTHER_PRODUCT = "other_product"    # the error comes from a product other than DEAR / Cin7 Core
    NOT_RECOGNISED = "not_recognised"  # a failing line of a paste that matches nothing we know


@dataclass(frozen=True)
class Scored:
    intent: str
    confidence: float

    def to_json(self) -> dict:
        return {"intent": self.intent, "confidence": round(self.confidence, 4)}


@dataclass(frozen=True)
class Finding:
    """One thing found in the message: a known problem with its specifics, or a failing line
    (an uncovered code, another product's error, an unrecognised line) we must not leave out."""

    intent: str
    confidence: float
    entities: dict[str, str] = field(default_factory=dict)
    evidence: str = ""          # the user's line that shows it (user text: escape on output)
    source: str = "model"       # "signature" (exact error text), "code" (QBO error code), "model", "user",
                                # "system" (another product named)
    variants: tuple[str, ...] = ()  # chosen variant keys for two-cause intents
    kind: FindingKind = FindingKind.PROBLEM
    code: str = ""              # the QuickBooks error code the line carried, if any
    code_name: str = ""         # QuickBooks' own name for that code ("Stale Object Error")
    meaning: str = ""           # what QuickBooks means by an uncovered code, in our words
    system: str = ""            # other product: its id ("xero")
    system_name: str = ""       # ... and its name ("Xero")

    @property
    def is_known(self) -> bool:
        return self.kind is FindingKind.PROBLEM

    def to_json(self) -> dict:
        out = {"intent": self.intent, "confidence": round(self.confidence, 4),
               "entities": self.entities, "source": self.source, "kind": str(self.kind)}
        if self.variants:
            out["variants"] = list(self.variants)
        if self.code:
            out["code"] = self.code
            if self.code_name:
                out["code_name"] = self.code_name
        if self.meaning:
            out["meaning"] = self.meaning
        if self.system:
            out["source_system"] = self.system
        if self.kind is FindingKind.NOT_RECOGNISED:
            out["text"] = self.evidence
        return out


@dataclass(frozen=True)
class Answer:
    kind: AnswerKind
    intent: str
    confidence: float
    alternatives: tuple[Scored, ...] = ()
    entities: dict[str, str] = field(default_factory=dict)
    findings: tuple[Finding, ...] = ()
    language: str = ""          # the message's language when not English ("fr"); the reply stays English
    language_name: str = ""     # ... and its name ("French")
    unlisted: int = 0           # failing lines of a long paste counted but not listed in findings

    @property
    def primary(self) -> Finding | None:
        return self.findings[0] if self.findings else None

    @property
    def problems(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.is_known)

    def to_json(self) -> dict:
        """The `classify` line shape from the operator interface (plus `kind`, `findings` and,
        for a message not in English, `language`)."""
        out = {
            "intent": self.intent,
            "confidence": round(self.confidence, 4),
            "alternatives": [a.to_json() for a in self.alternatives],
            "entities": self.entities,
            "kind": str(self.kind),
            "findings": [f.to_json() for f in self.findings],
        }
        if self.language:
            out["language"] = self.language
        if self.unlisted:
            out["unlisted"] = self.unlisted
        return out
