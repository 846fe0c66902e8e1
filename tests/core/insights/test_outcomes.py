"""Every outcome figure on the hand-built history of tests/core/insights/history.py, on SQLite
and PostgreSQL. The expected numbers were worked out by hand from that history:

cases opened 03-02..03-15 (Z before, the one at 03-16 00:00 after):
  A bill     Fixed it after 2 h                                   fixed, self-service
  B bill     Still failing twice (escalated), Fixed it after 24 h  fixed, still failing, escalated
  C period   no click                                              no answer
  D choice   the person picked product_not_exported, Fixed it 4 h 10 min after the answer
  E bill     Not this -> period_closed                             not this
  F period   Ask a person; Fixed it on 03-16 01:00 (after the end) escalated, not fixed
  G cogs     resolved from the digest ("Mark all resolved")       neither fixed nor silent
messages: A B C E F G diagnosed, D a choice, two refused, one greeting: 10.
"""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from bot.core.insights.outcomes import outcomes
from bot.core.insights.period import Period, PeriodError, between, month_before
from tests.core.insights.history import SINCE, UNTIL, hand_built

HOUR = 3600.0


@pytest.fixture
def figures(store):
    hand_built(store)
    return outcomes(store, Period(SINCE, UNTIL, "UTC"), escalate_after=2)


def test_messages_seen_diagnosed_asked_refused(figures):
    assert figures.messages.to_json() == {"seen": 10, "diagnosed": 6, "choice": 1, "refused": 2, "other": 1}


def test_case_outcomes_and_self_service(figures):
    c = figures.cases
    assert (c.cases, c.fixed, c.still_failing, c.escalated, c.not_this, c.no_answer) == (7, 3, 1, 2, 1, 1)
    assert c.corrected_to == {"period_closed": 1}
    assert c.self_service == 2 and c.self_service_rate == pytest.approx(2 / 7)
    # Fixed it after 2 h (A), 24 h (B), 4 h 10 min (D): the median is D's.
    assert c.median_to_fixed_s == pytest.approx(4 * HOUR + 10 * 60)


def test_per_intent_as_first_answered(figures):
    by = figures.by_intent
    assert list(by) == ["bill_not_exported", "period_closed", "duplicate_cogs", "product_not_exported"]
    bill = by["bill_not_exported"]
    assert (bill.cases, bill.fixed, bill.still_failing, bill.escalated, bill.not_this, bill.no_answer,
            bill.self_service) == (3, 2, 1, 1, 1, 0, 1)
    assert bill.corrected_to == {"period_closed": 1}
    assert bill.median_to_fixed_s == pytest.approx((2 * HOUR + 24 * HOUR) / 2)
    closed = by["period_closed"]
    assert (closed.cases, closed.fixed, closed.escalated, closed.no_answer, closed.median_to_fixed_s) == \
        (2, 0, 1, 1, None)
    cogs = by["duplicate_cogs"]  # resolved from the digest: no click, but not unanswered either
    assert (cogs.cases, cogs.fixed, cogs.no_answer, cogs.self_service) == (1, 0, 0, 0)
    picked = by["product_not_exported"]  # a "which one is it?" answer counts as what the person picked
    assert (picked.cases, picked.fixed, picked.self_service, picked.not_this) == (1, 1, 1, 0)
    assert picked.self_service_rate == 1.0


def test_imported_sync_errors(figures):
    s = figures.sync
    assert (s.opened, s.resolved) == (4, 2)                        # S2 S3 S4 S6 opened; S1 S2 resolved
    assert s.median_age_at_resolution_s == pytest.approx((11.5 * 24 * HOUR + 24 * HOUR) / 2)
    assert s.open_by_age == {"under_1_day": 1, "1_to_7_days": 1, "7_to_30_days": 1, "over_30_days": 1}
    assert s.still_open == 4


def test_week_by_week(figures):
    first, second = figures.weeks
    assert (first.period.since, first.period.until, second.period.until) == (SINCE, datetime(2026, 3, 9, tzinfo=timezone.utc), UNTIL)
    assert first.messages.to_json() == {"seen": 4, "diagnosed": 3, "choice": 1, "refused": 0, "other": 0}
    assert second.messages.to_json() == {"seen": 6, "diagnosed": 3, "choice": 0, "refused": 2, "other": 1}
    assert (first.cases.cases, first.cases.fixed, first.cases.escalated, first.cases.no_answer) == (4, 3, 1, 1)
    assert first.cases.self_service_rate == 0.5
    assert first.cases.median_to_fixed_s == pytest.approx(4 * HOUR + 10 * 60)
    assert (second.cases.cases, second.cases.fixed, second.cases.escalated, second.cases.not_this) == (3, 0, 1, 1)
    assert second.cases.self_service_rate == 0.0
    assert (first.sync.opened, first.sync.resolved, first.sync.still_open) == (2, 2, 2)   # S3, S5 open on 03-09
    assert (second.sync.opened, second.sync.resolved, second.sync.still_open) == (2, 0, 4)


def test_an_empty_period_has_no_rates(store):
    found = outcomes(store, Period(SINCE, UNTIL, "UTC"))
    assert found.cases.cases == 0 and found.cases.self_service_rate is None
    assert found.cases.median_to_fixed_s is None and found.messages.seen == 0
    assert [w.cases.cases for w in found.weeks] == [0, 0]


def test_periods_from_dates_in_the_teams_zone():
    now = datetime(2026, 4, 20, 12, tzinfo=timezone.utc)
    p = between("2026-04-01", "2026-04-14", now, "America/New_York")
    assert p.since == datetime(2026, 4, 1, 4, tzinfo=timezone.utc)          # midnight in New York
    assert p.until == datetime(2026, 4, 15, 4, tzinfo=timezone.utc)         # --until is included
    assert (p.first_day.isoformat(), p.last_day.isoformat()) == ("2026-04-01", "2026-04-14")
    weeks = p.weeks()                                                        # Wed 1st: cut at Mondays
    assert [w.first_day.isoformat() for w in weeks] == ["2026-04-01", "2026-04-06", "2026-04-13"]
    assert weeks[0].since == p.since and weeks[-1].until == p.until
    assert between(None, None, now).until == now and between(None, None, now).since.day == 21
    with pytest.raises(PeriodError, match="--until is before --since"):
        between("2026-04-10", "2026-04-01", now)
    with pytest.raises(PeriodError, match="use a date"):
        between("yesterday", None, now)
    month, span = month_before(datetime(2026, 5, 4).date(), "UTC")
    assert month == "2026-04" and (span.since.day, span.until.month) == (1, 5)
