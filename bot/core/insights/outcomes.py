"""What the bot did in a period: messages answered, what came of each case, imported sync errors.

Every figure is defined here once (the README's "Insights" section says the same in words):
- messages: every answered message (answered_messages), by the kind of answer;
- a case's intent is the one it was first answered with (for a "which one is it?" answer, the
  one the person picked); its outcomes are the clicks recorded before the period's end:
  fixed (Fixed it), still failing (at least one Still failing), escalated (Ask a person, or
  ESCALATE_AFTER Still failing clicks), not this (a diagnosis the person corrected, with what
  it was corrected to), no answer (no click at all and not resolved by then);
- self-service: cases marked Fixed it without having gone to a person, over all cases opened;
- time to Fixed it: from the answer to the first Fixed it, the median;
- sync errors: opened (first seen) and resolved in the period, the median age at resolution,
  and those still open at the period's end by age.
Week by week, each figure is taken over the cases and messages of that week.
"""

from __future__ import annotations

import bisect
import math
import statistics
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Iterable

import numpy as np
from sqlalchemy import Float, cast, extract, func, literal_column, or_, select

from ..storage.store import Store
from ..storage.tables import AnsweredRow, CaseRow, FeedbackRow, SyncErrorRow
from .period import Period

AGE_BANDS = (("under_1_day", timedelta(days=1)), ("1_to_7_days", timedelta(days=7)),
             ("7_to_30_days", timedelta(days=30)), ("over_30_days", None))
MESSAGE_KINDS = ("diagnosis", "choice", "out_of_scope")


@dataclass
class CaseFacts:
    """The period's cases, one entry per case in each array (times in seconds since the epoch):
    the figures are sums over masks of these, so 100,000 cases cost milliseconds."""

    intents: list[str]              # the intent each number in `intent` stands for
    intent: np.ndarray              # int: the case's intent (as first answered)
    created: np.ndarray             # float
    fixed_at: np.ndarray            # float, NaN: never marked Fixed it
    failing: np.ndarray             # int: Still failing clicks
    escalated: np.ndarray           # bool: Ask a person, or ESCALATE_AFTER Still failing clicks
    corrected_to: np.ndarray        # int into `intents`, -1: not corrected
    silent: np.ndarray              # bool: no click and not resolved by the period's end

    def __len__(self) -> int:
        return len(self.created)


@dataclass
class CaseFigures:
    cases: int = 0
    fixed: int = 0
    still_failing: int = 0
    escalated: int = 0
    not_this: int = 0
    no_answer: int = 0
    self_service: int = 0
    corrected_to: dict[str, int] = field(default_factory=dict)
    median_to_fixed_s: float | None = None

    @property
    def self_service_rate(self) -> float | None:
        return self.self_service / self.cases if self.cases else None

    def to_json(self) -> dict[str, Any]:
        return {"cases": self.cases, "fixed": self.fixed, "still_failing": self.still_failing,
                "escalated": self.escalated, "not_this": self.not_this, "corrected_to": dict(self.corrected_to),
                "no_answer": self.no_answer, "self_service": self.self_service,
                "self_service_rate": _rounded(self.self_service_rate),
                "median_to_fixed_seconds": _rounded(self.median_to_fixed_s, 1)}


@dataclass
class MessageFigures:
    seen: int = 0
    diagnosed: int = 0
    choice: int = 0
    refused: int = 0

    @property
    def other(self) -> int:
        """Greetings, thanks, requests for help, empty messages."""
        return self.seen - self.diagnosed - self.choice - self.refused

    def to_json(self) -> dict[str, int]:
        return {"seen": self.seen, "diagnosed": self.diagnosed, "choice": self.choice, "refused": self.refused,
                "other": self.other}


@dataclass
class SyncFigures:
    opened: int = 0
    resolved: int = 0
    median_age_at_resolution_s: float | None = None
    open_by_age: dict[str, int] = field(default_factory=lambda: {band: 0 for band, _ in AGE_BANDS})

    @property
    def still_open(self) -> int:
        return sum(self.open_by_age.values())

    def to_json(self) -> dict[str, Any]:
        return {"opened": self.opened, "resolved": self.resolved,
                "median_age_at_resolution_seconds": _rounded(self.median_age_at_resolution_s, 1),
                "still_open": self.still_open, "open_by_age": dict(self.open_by_age)}


@dataclass
class Week:
    period: Period
    messages: MessageFigures
    cases: CaseFigures
    sync: SyncFigures

    def to_json(self) -> dict[str, Any]:
        return {"since": self.period.since.isoformat(), "until": self.period.until.isoformat(),
                "first_day": self.period.first_day.isoformat(), "messages": self.messages.to_json(),
                "cases": self.cases.to_json(), "sync_errors": self.sync.to_json()}


@dataclass
class Outcomes:
    period: Period
    messages: MessageFigures
    cases: CaseFigures
    by_intent: dict[str, CaseFigures]
    sync: SyncFigures
    weeks: list[Week]

    def to_json(self) -> dict[str, Any]:
        return {"messages": self.messages.to_json(), "cases": self.cases.to_json(),
                "by_intent": {intent: f.to_json() for intent, f in self.by_intent.items()},
                "sync_errors": self.sync.to_json(), "weeks": [w.to_json() for w in self.weeks]}


def _rounded(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(value, digits)


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


# -- reading the database -------------------------------------------------------------------------
#
# Times are read as seconds since the epoch, computed by the database: turning 200,000 stored
# timestamps into aware datetimes costs more than the queries themselves.

def _epoch(column: Any, dialect: str) -> Any:
    if dialect == "sqlite":  # stored as UTC text; julianday reads it (to the millisecond)
        return (func.julianday(column) - 2440587.5) * 86400.0
    return cast(extract("epoch", column), Float)  # a float, not PostgreSQL's numeric


FULL_SCAN_SHARE = 0.25


def _in_period(conn: Any, column: Any, period: Period) -> Any:
    """The condition "`column` is in the period". When a quarter or more of the table is (the
    usual report: the last 30 days of a young database), SQLite reads the whole table faster
    than it follows the index row by row (measured: 0.24 s against 0.52 s for 120,000 rows),
    but its planner always takes the index for a range; a unary + on the column is SQLite's
    documented way to tell it not to. Counting first costs a few milliseconds (index only)."""
    condition = (column >= period.since) & (column < period.until)
    if conn.dialect.name != "sqlite":
        return condition
    total = conn.execute(select(func.count()).select_from(column.table)).scalar_one()
    inside = conn.execute(select(func.count()).select_from(column.table).where(condition)).scalar_one()
    if not total or inside < FULL_SCAN_SHARE * total:
        return condition
    scanned = literal_column(f"+{column.table.name}.{column.name}", type_=column.type)
    return (scanned >= period.since) & (scanned < period.until)


def answered_rows(store: Store, period: Period) -> list[tuple[str, str, str, float]]:
    """Every message answered in `period`: (kind, case id, intent, when)."""
    epoch = _epoch(AnsweredRow.asked_at, store.engine.dialect.name)
    with store.engine.connect() as conn:
        return conn.execute(select(AnsweredRow.kind, AnsweredRow.case_id, AnsweredRow.intent, epoch)
                            .where(_in_period(conn, AnsweredRow.asked_at, period))).all()


def case_facts(store: Store, period: Period, escalate_after: int,
               answered: list[tuple[str, str, str, float]]) -> CaseFacts:
    """The cases opened in `period`, each with what came of it before the period's end.
    `answered` (answered_rows) says how each case's message was answered."""
    until = period.until.timestamp()
    dialect = store.engine.dialect.name
    first = {case_id: (kind, intent) for kind, case_id, intent, _ in answered if case_id}
    intents: dict[str, int] = {}
    with store.engine.connect() as conn:
        rows = conn.execute(select(CaseRow.id, CaseRow.intent, _epoch(CaseRow.created_at, dialect),
                                   _epoch(CaseRow.resolved_at, dialect))
                            .where(_in_period(conn, CaseRow.created_at, period))).all()
        # Column by column (zip and dict in C): a Python loop per case cost more than the query.
        ids, case_intents, created_s, resolved_s = zip(*rows) if rows else ((), (), (), ())
        number = dict(zip(ids, range(len(ids))))
        answered_as = [first.get(case_id) for case_id in ids]
        kinds = [a[0] if a else "diagnosis" for a in answered_as]
        intent = [intents.setdefault((a[1] if a else "") or own, len(intents))
                  for a, own in zip(answered_as, case_intents)]
        created = np.array(created_s, dtype=np.float64)
        resolved_at = np.array(resolved_s, dtype=np.float64)  # None: NaN
        resolved = ~np.isnan(resolved_at) & (np.nan_to_num(resolved_at, nan=np.inf) < until)
        n = len(ids)
        fixed_at = [math.nan] * n
        failing = [0] * n
        asked = [False] * n
        corrected = [-1] * n
        clicked = [False] * n
        chosen_at = [math.inf] * n  # the first choice says what the answer was about
        chosen: list[tuple[str, str] | None] = [None] * n
        # A click comes after its case, so the clicks on the period's cases are in the period.
        # Unordered (a sort of every click costs more than keeping the earliest of each kind).
        for case_id, action, before, after, at in conn.execute(
                select(FeedbackRow.case_id, FeedbackRow.action, FeedbackRow.intent_before, FeedbackRow.intent_after,
                       _epoch(FeedbackRow.created_at, dialect))
                .where(_in_period(conn, FeedbackRow.created_at, period))).all():
            i = number.get(case_id)
            if i is None:
                continue
            clicked[i] = True
            if action == "fixed":
                if not at >= fixed_at[i]:  # also when fixed_at is NaN (not yet)
                    fixed_at[i] = at
            elif action == "still_failing":
                failing[i] += 1
            elif action == "escalate":
                asked[i] = True
            elif action.startswith("chose:") and at < chosen_at[i]:
                chosen_at[i], chosen[i] = at, (before, after)
    for i, choice in enumerate(chosen):
        if choice is None:
            continue
        before, after = choice
        if kinds[i] == "choice":
            intent[i] = intents.setdefault(after, len(intents))
        elif after != before:
            corrected[i] = intents.setdefault(after, len(intents))
    failing_a = np.array(failing, dtype=np.int64)
    return CaseFacts(
        intents=list(intents), intent=np.array(intent, dtype=np.int64), created=created,
        fixed_at=np.array(fixed_at, dtype=np.float64), failing=failing_a,
        escalated=np.array(asked, dtype=bool) | (failing_a >= escalate_after),
        corrected_to=np.array(corrected, dtype=np.int64),
        silent=~np.array(clicked, dtype=bool) & ~resolved)


def case_figures(facts: CaseFacts, mask: np.ndarray | None = None) -> CaseFigures:
    """The figures of the cases `mask` selects (all of them without one)."""
    if mask is None:
        mask = np.ones(len(facts), dtype=bool)
    fixed = mask & ~np.isnan(facts.fixed_at)
    corrected = mask & (facts.corrected_to >= 0)
    counts = np.bincount(facts.corrected_to[corrected], minlength=len(facts.intents))
    to_fixed = facts.fixed_at[fixed] - facts.created[fixed]
    order = sorted((int(j) for j in np.nonzero(counts)[0]), key=lambda j: (-counts[j], facts.intents[j]))
    return CaseFigures(
        cases=int(mask.sum()), fixed=int(fixed.sum()), still_failing=int((mask & (facts.failing > 0)).sum()),
        escalated=int((mask & facts.escalated).sum()), not_this=int(corrected.sum()),
        no_answer=int((mask & facts.silent).sum()), self_service=int((fixed & ~facts.escalated).sum()),
        corrected_to={facts.intents[j]: int(counts[j]) for j in order},
        median_to_fixed_s=float(np.median(to_fixed)) if len(to_fixed) else None)


def message_figures(rows: Iterable[tuple[str, str, str, float]]) -> MessageFigures:
    counts = Counter(row[0] for row in rows)
    return MessageFigures(sum(counts.values()), counts["diagnosis"], counts["choice"], counts["out_of_scope"])


def sync_rows(store: Store, period: Period) -> list[tuple[float, float | None]]:
    """Imported sync errors that were open at some moment of `period`: (first seen, resolved)."""
    dialect = store.engine.dialect.name
    with store.engine.connect() as conn:
        return conn.execute(  # type: ignore[return-value]
            select(_epoch(SyncErrorRow.first_seen, dialect), _epoch(SyncErrorRow.resolved_at, dialect))
            .where(SyncErrorRow.first_seen < period.until,
                   or_(SyncErrorRow.resolved_at.is_(None), SyncErrorRow.resolved_at >= period.since))).all()


def _band(age_s: float) -> str:
    for band, limit in AGE_BANDS:
        if limit is None or age_s < limit.total_seconds():
            return band
    raise AssertionError("the last band has no limit")


def sync_figures(rows: Iterable[tuple[float, float | None]], period: Period) -> SyncFigures:
    out = SyncFigures()
    ages: list[float] = []
    since, until = period.since.timestamp(), period.until.timestamp()
    for first_seen, resolved_at in rows:
        if since <= first_seen < until:
            out.opened += 1
        if resolved_at is not None and since <= resolved_at < until:
            out.resolved += 1
            ages.append(resolved_at - first_seen)
        if first_seen < until and (resolved_at is None or resolved_at >= until):
            out.open_by_age[_band(until - first_seen)] += 1
    out.median_age_at_resolution_s = _median(ages)
    return out


# -- putting it together -----------------------------------------------------------------------------

def outcomes(store: Store, period: Period, escalate_after: int = 2) -> Outcomes:
    messages = answered_rows(store, period)
    facts = case_facts(store, period, escalate_after, messages)
    synced = sync_rows(store, period)
    sizes = np.bincount(facts.intent, minlength=len(facts.intents))
    ranked = sorted((j for j in range(len(facts.intents)) if sizes[j]),
                    key=lambda j: (-sizes[j], facts.intents[j]))
    by_intent = {facts.intents[j]: case_figures(facts, facts.intent == j) for j in ranked}
    weeks = []
    spans = period.weeks()
    starts = np.array([span.since.timestamp() for span in spans])
    case_week = np.searchsorted(starts, facts.created, side="right") - 1
    messages_by_week = _by_week(spans, messages, lambda m: m[3])
    for n, (span, week_messages) in enumerate(zip(spans, messages_by_week)):
        weeks.append(Week(span, message_figures(week_messages), case_figures(facts, case_week == n),
                          sync_figures(synced, span)))
    return Outcomes(period, message_figures(messages), case_figures(facts), by_intent, sync_figures(synced, period),
                    weeks)


def _by_week(spans: list[Period], items: list[Any], when: Any) -> list[list[Any]]:
    """`items` put into the weeks `spans` (in order, contiguous) by their time."""
    buckets: list[list[Any]] = [[] for _ in spans]
    starts = [span.since.timestamp() for span in spans]
    ends = [span.until.timestamp() for span in spans]
    for item in items:
        at = when(item)
        n = bisect.bisect_right(starts, at) - 1
        if 0 <= n < len(spans) and at < ends[n]:
            buckets[n].append(item)
    return buckets
