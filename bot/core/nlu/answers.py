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


@dataclass(frozen=True)
class Scored:
    intent: str
    confidence: float

    def to_json(self) -> dict:
        return {"intent": self.intent, "confidence": round(self.confidence, 4)}


@dataclass(frozen=True)
class Finding:
    """One problem recognised in the message, with its specifics."""

    intent: str
    confidence: float
    entities: dict[str, str] = field(default_factory=dict)
    evidence: str = ""          # the user's line that shows it (user text: escape on output)
    source: str = "model"       # "signature" (exact error text) or "model"
    variants: tuple[str, ...] = ()  # chosen variant keys for two-cause intents

    def to_json(self) -> dict:
        out = {"intent": self.intent, "confidence": round(self.confidence, 4),
               "entities": self.entities, "source": self.source}
        if self.variants:
            out["variants"] = list(self.variants)
        return out


@dataclass(frozen=True)
class Answer:
    kind: AnswerKind
    intent: str
    confidence: float
    alternatives: tuple[Scored, ...] = ()
    entities: dict[str, str] = field(default_factory=dict)
    findings: tuple[Finding, ...] = ()

    @property
    def primary(self) -> Finding | None:
        return self.findings[0] if self.findings else None

    def to_json(self) -> dict:
        """The `classify` line shape from the operator interface (plus `kind` and `findings`)."""
        return {
            "intent": self.intent,
            "confidence": round(self.confidence, 4),
            "alternatives": [a.to_json() for a in self.alternatives],
            "entities": self.entities,
            "kind": str(self.kind),
            "findings": [f.to_json() for f in self.findings],
        }
