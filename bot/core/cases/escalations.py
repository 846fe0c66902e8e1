"""Requests for a person: what the escalation post carries, and who claimed it.

An escalation is written when the Desk decides a case (or a message without one) goes to a
person. It keeps where the asker is, so whoever claims it can be named to them there, and
the post is assembled from the database: the pasted text (trimmed), the diagnosis and its
confidence (or none: not recognised), and what was already tried, from the case's feedback
rows. A claim is one conditional UPDATE: the first person wins in any process, and everyone
after them is told who has it.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update

from ..storage.store import Store
from ..storage.tables import NAME_CHARS, Case, EscalationRow, Feedback

QUESTION_SHOWN = 1500   # characters of the pasted text in the post (Slack's section holds 3,000)
QUESTION_LINES = 25
NOT_TRIED = ("escalate", "claim")  # asking for a person is the escalation itself, not an attempt
_BLANK_RUNS = re.compile(r"\n{3,}")


@dataclass(frozen=True)
class Tried:
    """One click on the case before it reached a person."""

    action: str          # fixed, still_failing, not_this, snooze, chose
    intent: str          # for "chose": the problem picked
    user: str
    user_name: str
    at: datetime


@dataclass(frozen=True)
class Escalation:
    id: str
    platform: str
    workspace: str
    case_id: str | None
    asker: str
    asker_name: str
    channel: str          # where the asker is (told there who claimed it)
    thread: str
    source: str           # the message "Ask a person" (or "Still failing") was clicked on
    private: bool         # a one-to-one chat with the bot: nobody else can answer there
    created_at: datetime
    question: str         # the pasted text, trimmed ("" when there is none to show)
    intent: str           # the diagnosis ("" when not recognised)
    confidence: float
    tried: tuple[Tried, ...]
    claimed_by: str | None = None
    claimed_by_name: str | None = None
    claimed_at: datetime | None = None


def trimmed(text: str | None) -> str:
    """The pasted text as the post shows it: trailing spaces, long blank runs and whatever is
    past QUESTION_LINES lines or QUESTION_SHOWN characters dropped (marked with an ellipsis)."""
    lines = [line.rstrip() for line in (text or "").strip().splitlines()]
    kept = _BLANK_RUNS.sub("\n\n", "\n".join(lines[:QUESTION_LINES]))
    cut = len(lines) > QUESTION_LINES or len(kept) > QUESTION_SHOWN
    kept = kept[:QUESTION_SHOWN].rstrip()
    return kept + "\u2026" if cut else kept


def tried_of(feedback: list[Feedback]) -> tuple[Tried, ...]:
    return tuple(Tried(f.action.partition(":")[0], f.action.partition(":")[2], f.user, f.user_name, f.created_at)
                 for f in feedback if f.action.partition(":")[0] not in NOT_TRIED)


def _fit(value: str, limit: int = 64) -> str:
    """An id for a 64-character column: as it is when it fits, hashed when not (as the edges do)."""
    return value if len(value) <= limit else "h_" + hashlib.sha256(value.encode("utf-8")).hexdigest()[:40]


def open_escalation(store: Store, *, platform: str, workspace: str, case: Case | None, asker: str,
                    asker_name: str, channel: str, thread: str, source: str, private: bool,
                    now: datetime) -> Escalation:
    row = EscalationRow(id=str(uuid.uuid4()), platform=platform, workspace=workspace,
                        case_id=case.id if case else None, asker=_fit(asker), asker_name=asker_name[:NAME_CHARS],
                        channel=_fit(channel), thread=_fit(thread), source=_fit(source), private=private,
                        created_at=now)
    with store.session() as s:
        s.add(row)
    return _assemble(store, row, case)


def get_escalation(store: Store, escalation_id: str) -> Escalation | None:
    with store.session() as s:
        row = s.get(EscalationRow, escalation_id)
        if row is None:
            return None
        s.expunge(row)
    return _assemble(store, row, store.get_case(row.case_id) if row.case_id else None)


def latest_escalation(store: Store, case_id: str) -> Escalation | None:
    """The case's newest request for a person (who asked, and whether someone has it)."""
    with store.session() as s:
        row = s.execute(select(EscalationRow).where(EscalationRow.case_id == case_id)
                        .order_by(EscalationRow.created_at.desc()).limit(1)).scalars().first()
        if row is None:
            return None
        s.expunge(row)
    return _assemble(store, row, store.get_case(case_id))


def claim(store: Store, escalation_id: str, user: str, user_name: str, now: datetime) -> bool:
    """True for the first person to claim the escalation, False for everyone after them."""
    with store.session() as s:
        taken = s.execute(update(EscalationRow).where(EscalationRow.id == escalation_id,
                                                      EscalationRow.claimed_by.is_(None))
                          .values(claimed_by=user, claimed_by_name=user_name[:NAME_CHARS], claimed_at=now)).rowcount
    return bool(taken)


def _assemble(store: Store, row: EscalationRow, case: Case | None) -> Escalation:
    tried = tried_of(store.feedback_of(case.id)) if case is not None else ()
    known = case is not None and case.intent not in ("", "out_of_scope")
    return Escalation(
        id=row.id, platform=row.platform, workspace=row.workspace, case_id=row.case_id, asker=row.asker,
        asker_name=row.asker_name or "", channel=row.channel, thread=row.thread, source=row.source,
        private=bool(row.private), created_at=row.created_at, question=trimmed(case.question if case else ""),
        intent=case.intent if known and case is not None else "",
        confidence=case.confidence if known and case is not None else 0.0, tried=tried,
        claimed_by=row.claimed_by, claimed_by_name=row.claimed_by_name, claimed_at=row.claimed_at)
