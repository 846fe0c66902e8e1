"""The help desk: answers wrapped in cases, and what users' button clicks do to them.

Platform-free. Slack, Teams and the sandbox translate their payloads into these calls and
the results back into their own messages.
"""

from __future__ import annotations

from dataclasses import dataclass

from datetime import datetime
from typing import Callable

from .nlu.answers import Answer, AnswerKind
from .assistant import Assistant, Message
from .cases.followups import Followups
from .storage.store import Store
from .storage.tables import ESCALATED, Case, Change, utcnow

# Answers worth tracking until someone says the sync works again.
TRACKED = (AnswerKind.DIAGNOSIS, AnswerKind.CHOICE)


@dataclass(frozen=True)
class Where:
    """Where a message came from and where the answer goes."""

    platform: str
    workspace: str
    channel: str
    thread: str      # the thread to answer in ("" = not threaded)
    message: str     # the user's message id / ts
    user: str


@dataclass(frozen=True)
class Diagnosed:
    answer: Answer
    case: Case | None


@dataclass(frozen=True)
class Failing:
    change: Change
    escalate_now: bool


class Desk:
    def __init__(self, assistant: Assistant, store: Store, escalate_after: int = 2,
                 followups: Followups | None = None, clock: Callable[[], datetime] = utcnow) -> None:
        self.assistant = assistant
        self.store = store
        self.escalate_after = escalate_after
        self.followups = followups
        self.clock = clock

    @property
    def catalog(self):
        return self.assistant.engine.catalog

    def answer_many(self, texts: list[str]) -> list[Answer]:
        """What each message is: the model's work, no database."""
        return [reply.answer for reply in self.assistant.handle_many([Message(t) for t in texts])]

    def plan_cases(self, items: list[tuple[str, Where]], answers: list[Answer]) -> list[Diagnosed]:
        """The case each answer worth tracking opens, planned but not written: the caller
        writes it once its answer is posted (Store.answered, with followup_due())."""
        tracked, specs = self._case_specs(items, answers)
        cases = dict(zip(tracked, self.store.new_cases(specs)))
        return [Diagnosed(answer, cases.get(i)) for i, answer in enumerate(answers)]

    def followup_due(self) -> datetime | None:
        """When a new case's first check-in is due (None: no check-ins)."""
        return self.clock() + self.followups.after if self.followups is not None else None

    @staticmethod
    def _case_specs(items: list[tuple[str, Where]], answers: list[Answer]) -> tuple[list[int], list[dict]]:
        tracked = [i for i, answer in enumerate(answers) if answer.kind in TRACKED]
        specs = [dict(platform=w.platform, workspace=w.workspace, channel=w.channel, thread=w.thread,
                      message=w.message, user=w.user, intent=answers[i].intent, confidence=answers[i].confidence,
                      entities=answers[i].entities, question=items[i][0])
                 for i in tracked for w in [items[i][1]]]
        return tracked, specs

    def fixed(self, case_id: str, user: str, source: str) -> Change:
        return self.store.resolve(case_id, user, source)

    def still_failing(self, case_id: str, user: str, source: str) -> Failing:
        change = self.store.still_failing(case_id, user, source, self.escalate_after)
        escalate_now = bool(change.changed and change.case and change.case.status == ESCALATED
                            and change.case.failing_count == self.escalate_after)
        if change.changed and not escalate_now and self.followups is not None:
            self.followups.schedule(case_id, self.clock())  # ask once more later
        return Failing(change, escalate_now)

    def snooze(self, case_id: str, until: datetime) -> bool:
        case = self.store.get_case(case_id)
        if case is None or case.status == "resolved" or self.followups is None:
            return False
        return self.followups.snooze_until(case_id, until) is not None

    def escalate(self, case_id: str, user: str, source: str) -> Change:
        return self.store.escalate(case_id, user, source)

    def choose(self, case_id: str | None, intent: str, user: str, source: str, text: str = "") -> tuple[Change | None, Answer]:
        """The user picked the intent; re-answer with it and remember the correction."""
        if intent not in self.catalog:
            raise KeyError(intent)
        change = self.store.reclassify(case_id, intent, user, source) if case_id else None
        question = text or (change.case.question if change and change.case and change.case.question else "")
        return change, self.assistant.engine.answer_for(intent, question)
