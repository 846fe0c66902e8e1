"""A small history built by hand, through the store's own writes, whose every figure was
worked out on paper (see test_outcomes.py for the sums).

Period: Monday 2026-03-02 00:00 to Monday 2026-03-16 00:00 UTC, two weeks.
"""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta, timezone

from sqlalchemy import insert

from bot.core.cases.digest_state import resolve_group
from bot.core.storage.store import Store
from bot.core.storage.tables import Asked, SyncErrorRow
from tests.support import Clock

SINCE = datetime(2026, 3, 2, tzinfo=timezone.utc)
UNTIL = datetime(2026, 3, 16, tzinfo=timezone.utc)


def at(day: int, hour: int = 0, minute: int = 0, month: int = 3) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=timezone.utc)


_KEYS = itertools.count(1)  # message keys unique across builders (answered_messages is unique by key)


class Builder:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.clock = Clock(SINCE)
        store.clock = self.clock

    def message(self, when: datetime, kind: str, intent: str, *, user: str = "U1", text: str | None = None,
                case_intent: str | None = None, code: str = "", question: str = "") -> str:
        """One answered message (and its case, for a diagnosis or a choice); the case's id."""
        n = next(_KEYS)
        self.clock.set(when)
        key = f"{n}.0"
        case = None
        if case_intent is not None:
            [case] = self.store.new_cases([dict(platform="slack", workspace="T1", channel="C1", thread=key,
                                                message=key, user=user, intent=case_intent, confidence=0.9,
                                                entities={}, question=question or f"question {n}")])
        asked = Asked("slack", "T1", "C1", key, user, kind, intent, 0.9, code, case.id if case else "",
                      text if kind == "out_of_scope" else None, when)
        self.store.progress(opened=[case] if case else [], answered=[(None, case.id, f"{n}.1")] if case else [],
                            asked=[asked])
        return case.id if case else ""

    def click(self, case_id: str, action: str, when: datetime, intent: str = "") -> None:
        self.clock.set(when)
        source = f"click{when.timestamp()}"
        if action == "fixed":
            self.store.resolve(case_id, "U1", source)
        elif action == "still_failing":
            self.store.still_failing(case_id, "U1", source, escalate_after=2)
        elif action == "escalate":
            self.store.escalate(case_id, "U1", source)
        elif action == "chose":
            self.store.reclassify(case_id, intent, "U1", source)
        else:
            raise ValueError(action)

    def sync_error(self, reference: str, first_seen: datetime, resolved: datetime | None = None) -> None:
        with self.store.engine.begin() as conn:
            conn.execute(insert(SyncErrorRow).values(
                kind="Sale", reference=reference, intent="bill_not_exported", confidence=0.99, message="x",
                entities={}, status="resolved" if resolved else "open", occurrences=1, first_seen=first_seen,
                last_seen=first_seen, resolved_at=resolved, source="test"))


def hand_built(store: Store) -> dict[str, str]:
    """The history of test_outcomes.py; returns the case ids by letter."""
    b = Builder(store)
    cases = {}
    cases["Z"] = b.message(at(1, 23), "diagnosis", "bill_not_exported", case_intent="bill_not_exported")  # before
    b.click(cases["Z"], "fixed", at(2, 1))
    cases["A"] = b.message(at(2, 10), "diagnosis", "bill_not_exported", case_intent="bill_not_exported")
    b.click(cases["A"], "fixed", at(2, 12))
    cases["B"] = b.message(at(3, 10), "diagnosis", "bill_not_exported", case_intent="bill_not_exported")
    b.click(cases["B"], "still_failing", at(3, 14))
    b.click(cases["B"], "still_failing", at(3, 18))
    b.click(cases["B"], "fixed", at(4, 10))
    cases["C"] = b.message(at(4, 12), "diagnosis", "period_closed", case_intent="period_closed")
    cases["D"] = b.message(at(5, 9), "choice", "duplicate_name", case_intent="duplicate_name")
    b.click(cases["D"], "chose", at(5, 9, 5), "product_not_exported")
    b.click(cases["D"], "fixed", at(5, 13, 10))
    cases["E"] = b.message(at(10, 8), "diagnosis", "bill_not_exported", case_intent="bill_not_exported",
                           question='Bill "BILL-7731" will not sync, books are closed')
    b.click(cases["E"], "chose", at(10, 8, 10), "period_closed")
    b.message(at(10, 9), "out_of_scope", "out_of_scope", text="ERROR CODE:5010 Stale Object Error", code="5010")
    b.message(at(11, 9), "out_of_scope", "out_of_scope", text="stale object error again", user="U2")
    b.message(at(11, 10), "meta", "greeting")
    cases["F"] = b.message(at(12, 10), "diagnosis", "period_closed", case_intent="period_closed")
    b.click(cases["F"], "escalate", at(12, 10, 30))
    b.click(cases["F"], "fixed", at(16, 1))                       # after the period
    cases["G"] = b.message(at(13, 9), "diagnosis", "duplicate_cogs", case_intent="duplicate_cogs")
    b.clock.set(at(13, 10))
    resolve_group(store, "duplicate_cogs", at(13, 10))            # the digest's "Mark all resolved": G only
    b.message(at(16), "diagnosis", "bill_not_exported", case_intent="bill_not_exported")  # at the end: not in
    b.sync_error("S1", at(20, month=2), at(3, 12))
    b.sync_error("S2", at(5), at(6))
    b.sync_error("S3", at(8))
    b.sync_error("S4", at(15, 12))
    b.sync_error("S5", at(1, month=1))
    b.sync_error("S6", at(14), at(20))
    b.sync_error("S7", at(16))
    return cases


def later(moment: datetime, **delta: float) -> datetime:
    return moment + timedelta(**delta)
