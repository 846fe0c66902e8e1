"""Why a click changed nothing, and who did it before, when: the Outcome the Desk hands back
for a repeat, read from the case's feedback rows (and its escalations), so a note can say
"already marked fixed by @ana today at 10:42" instead of staying silent."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from ..outcomes import Outcome, Result, Why
from ..storage.store import Store
from ..storage.tables import Case
from .escalations import latest_escalation


def unchanged(store: Store, why: Why, case: Case | None, zone: ZoneInfo, action: str = "",
              source: str | None = None) -> Outcome:
    """Nothing changed (`why`): the latest `action` on the case (on `source`, if given) says
    who did it and when."""
    if why is Why.ALREADY_FIXED and case is not None:
        return already_fixed(store, case, zone)
    done = store.feedback_of(case.id, action, source) if case is not None and action else []
    last = done[-1] if done else None
    return Outcome(Result.ALREADY, case, why=why, zone=zone, by=last.user if last else "",
                   by_name=last.user_name if last else "", at=last.created_at if last else None)


def already_fixed(store: Store, case: Case, zone: ZoneInfo) -> Outcome:
    """Who marked the case fixed, and when (nobody: a digest group was marked resolved)."""
    fixes = store.feedback_of(case.id, "fixed")
    last = fixes[-1] if fixes else None
    return Outcome(Result.ALREADY, case, why=Why.ALREADY_FIXED, zone=zone, by=last.user if last else "",
                   by_name=last.user_name if last else "", at=last.created_at if last else case.resolved_at)


def already_escalated(store: Store, case: Case, zone: ZoneInfo) -> Outcome:
    """A person was asked already: who has it and since when, else who asked and when."""
    asked = latest_escalation(store, case.id)
    if asked is not None and asked.claimed_by:
        return Outcome(Result.ALREADY, case, why=Why.ALREADY_CLAIMED, zone=zone, by=asked.claimed_by,
                       by_name=asked.claimed_by_name or "", at=asked.claimed_at, escalation=asked)
    if asked is not None:
        return Outcome(Result.ALREADY, case, why=Why.ALREADY_ESCALATED, zone=zone, by=asked.asker,
                       by_name=asked.asker_name, at=asked.created_at, escalation=asked)
    return unchanged(store, Why.ALREADY_ESCALATED, case, zone, "still_failing")
