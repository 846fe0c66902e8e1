"""Two figures about trust, beside the accuracy report of bot.core.model.evaluation:

- how often a message that should be refused gets an answer anyway, at a confidence that
  would make a reader believe it (>= 0.8): the mistake that costs most, a confident wrong fix;
- how many multi-error pastes have every failing line accounted for (one finding per distinct
  error, a "not recognised" finding for each line that is no known problem).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Sequence

from ..nlu.answers import Answer
from ..nlu.catalog import OUT_OF_SCOPE
from .examples import Example

CONFIDENT = 0.8


@dataclass(frozen=True)
class Trust:
    oos_total: int
    oos_confident: int          # out-of-scope messages answered anyway at >= CONFIDENT
    pastes_total: int
    pastes_accounted: int       # multi-error pastes whose findings are exactly the expected ones

    @property
    def oos_confident_share(self) -> float:
        return self.oos_confident / self.oos_total if self.oos_total else 0.0

    @property
    def pastes_share(self) -> float:
        return self.pastes_accounted / self.pastes_total if self.pastes_total else 1.0

    def to_json(self) -> dict:
        return {"out_of_scope_answered_confidently": {"count": self.oos_confident, "of": self.oos_total,
                                                       "share": round(self.oos_confident_share, 4),
                                                       "confidence_at_least": CONFIDENT},
                "pastes_accounted_for": {"count": self.pastes_accounted, "of": self.pastes_total}}


def reported(answer: Answer) -> Counter:
    """What an answer reports, as the held-out files write it: an intent per known problem,
    out_of_scope per failing line that is not one."""
    return Counter(f.intent if f.is_known else OUT_OF_SCOPE for f in answer.findings)


def answered(answer: Answer) -> bool:
    """The user got a problem's fix (or a meta answer), not a refusal."""
    return answer.intent != OUT_OF_SCOPE


def trust(examples: Sequence[Example], answers: Sequence[Answer]) -> Trust:
    oos = [a for e, a in zip(examples, answers) if e.intent == OUT_OF_SCOPE]
    pastes = [(e, a) for e, a in zip(examples, answers) if e.findings]
    return Trust(
        oos_total=len(oos),
        oos_confident=sum(1 for a in oos if answered(a) and a.confidence >= CONFIDENT),
        pastes_total=len(pastes),
        pastes_accounted=sum(1 for e, a in pastes if reported(a) == Counter(e.findings)),
    )
