"""The Desk decides every click, once, for every edge: one test (or a few) per verb, on SQLite
and PostgreSQL. The Slack and Teams tests only check how their payloads and messages translate."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from bot.core.cases.followups import PENDING, Followups
from bot.core.desk import Desk
from bot.core.outcomes import Click, Result, Where
from bot.core.schedule.timerules import BusinessHours
from bot.core.storage.store import Store
from bot.core.storage.tables import ESCALATED, OPEN, RESOLVED, CorrectionRow, FeedbackRow, FollowupRow, SyncErrorRow

NOW = datetime(2026, 3, 2, 14, 0, tzinfo=timezone.utc)  # a Monday, 09:00 in New York
BILL = 'Error: Bill "BILL-7731" has not been exported to QuickBooks'


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(database_url, clock):
    s = Store.from_url(database_url, clock=clock)
    yield s
    s.engine.dispose()


@pytest.fixture
def retrains() -> list[str]:
    return []


@pytest.fixture
def desk(core, store, clock, retrains) -> Desk:
    def retrain() -> dict:
        retrains.append("yes")
        return {"examples": 12, "cv_accuracy": 0.9}

    return Desk(core.engine, store, followups=Followups(store, timedelta(hours=4), 3), escalate_after=2, clock=clock,
                hours=BusinessHours.parse("09:00-17:00 Mon-Fri"), default_tz="UTC",
                admin_users=frozenset({"U0ADMIN"}), retrain=retrain)


def open_case(desk: Desk, text: str = BILL, platform: str = "slack", workspace: str = "T1") -> str:
    """A case as an edge opens it: answered, planned, written before its reply is posted, then
    told its reply."""
    answer = desk.answer(text)
    [planned] = desk.plan_cases([(text, Where(platform, workspace, "C1", "1.0", "1.0", "U1"))], [answer])
    assert planned.case is not None
    [row] = desk.store.record_events([dict(platform=platform, workspace=workspace, channel="C1", message="1.0",
                                           event_id="", kind="message", payload={"text": text})])
    desk.store.progress(opened=[planned.case], followup_due=desk.followup_due())
    desk.store.progress(answered=[(row, planned.case.id, "2.0")])
    return planned.case.id


def click(case_id: str = "", intent: str = "", source: str = "2.0", user: str = "U1", platform: str = "slack",
          workspace: str = "T1") -> Click:
    return Click(platform, workspace, "C1", user, source, case_id, intent)


def feedback(store: Store, case_id: str) -> list[str]:
    with store.session() as s:
        return list(s.execute(select(FeedbackRow.action).where(FeedbackRow.case_id == case_id)
                              .order_by(FeedbackRow.id)).scalars())


def pending_checkins(store: Store, case_id: str) -> list[datetime]:
    with store.session() as s:
        return list(s.execute(select(FollowupRow.due_at).where(FollowupRow.case_id == case_id,
                                                               FollowupRow.status == PENDING)).scalars())


# -- who may touch a case -------------------------------------------------------------------------

@pytest.mark.parametrize("verb", ["fixed", "still_failing", "escalate", "not_this", "choose"])
def test_a_click_from_another_workspace_or_platform_touches_nothing(desk, verb):
    case_id = open_case(desk)
    for stranger in (click(case_id, "period_closed", workspace="T2"), click(case_id, "period_closed", platform="teams")):
        assert getattr(desk, verb)(stranger).result is Result.EXPIRED
    assert desk.store.get_case(case_id).status == OPEN
    assert feedback(desk.store, case_id) == []


def test_a_click_on_a_case_that_does_not_exist_has_expired(desk):
    assert desk.fixed(click("no-such-case")).result is Result.EXPIRED
    assert desk.snooze(click("no-such-case"), "hour").result is Result.EXPIRED


# -- Fixed it -------------------------------------------------------------------------------------------

def test_fixed_resolves_once_per_message(desk):
    case_id = open_case(desk)
    first = desk.fixed(click(case_id))
    assert first.result is Result.DONE and first.case.status == RESOLVED
    assert desk.fixed(click(case_id)).result is Result.ALREADY
    assert desk.fixed(click(case_id, source="3.0")).result is Result.ALREADY  # resolved already
    assert feedback(desk.store, case_id) == ["fixed"]


# -- Still failing ------------------------------------------------------------------------------------

def test_still_failing_offers_related_topics_and_asks_again_later(desk, clock):
    case_id = open_case(desk)
    outcome = desk.still_failing(click(case_id))
    assert outcome.result is Result.DONE and not outcome.escalate and outcome.count == 1
    assert outcome.related == desk.catalog["bill_not_exported"].related[:3] and outcome.related
    assert pending_checkins(desk.store, case_id) == [clock.now + timedelta(hours=4)]  # one more check-in


def test_still_failing_counts_once_per_message_and_escalates_the_second_time(desk):
    case_id = open_case(desk)
    assert desk.still_failing(click(case_id, source="2.0")).result is Result.DONE
    assert desk.still_failing(click(case_id, source="2.0")).result is Result.ALREADY
    second = desk.still_failing(click(case_id, source="5.0"))  # from the check-in
    assert second.result is Result.DONE and second.escalate and second.count == 2
    assert second.case.status == ESCALATED
    third = desk.still_failing(click(case_id, source="6.0"))
    assert third.result is Result.DONE and not third.escalate  # handed over once


# -- Ask a person -----------------------------------------------------------------------------------

def test_escalate_a_case_once(desk):
    case_id = open_case(desk)
    first = desk.escalate(click(case_id))
    assert first.result is Result.DONE and first.escalate and first.case.status == ESCALATED
    assert desk.escalate(click(case_id, source="9.0")).result is Result.ALREADY


def test_escalate_without_a_case_once_per_message(desk):
    assert desk.escalate(click(source="7.0")).escalate
    assert desk.escalate(click(source="7.0")).result is Result.ALREADY
    assert desk.escalate(click(source="8.0")).result is Result.DONE
    long_teams_id = "1:" + "x" * 120  # Teams activity ids can be longer than the column
    assert desk.escalate(click(source=long_teams_id, platform="teams")).result is Result.DONE
    assert desk.escalate(click(source=long_teams_id, platform="teams")).result is Result.ALREADY


# -- Not this and choosing --------------------------------------------------------------------------

def test_not_this_offers_every_problem(desk):
    case_id = open_case(desk)
    outcome = desk.not_this(click(case_id))
    assert outcome.result is Result.DONE
    assert outcome.choices == tuple(i.id for i in desk.catalog.problems)
    assert desk.not_this(click()).choices == outcome.choices  # "None of these" on an answer without a case


def test_choose_takes_the_intent_keeps_the_correction_and_answers_with_the_questions_specifics(desk):
    case_id = open_case(desk)
    outcome = desk.choose(click(case_id, "duplicate_name"))
    assert outcome.result is Result.DONE
    assert outcome.answer.intent == "duplicate_name" and outcome.answer.entities.get("bill") == "BILL-7731"
    assert (outcome.case.intent, outcome.case.confidence) == ("duplicate_name", 1.0)
    with desk.store.session() as s:
        assert [(r.text, r.intent) for r in s.execute(select(CorrectionRow)).scalars()] == [(BILL, "duplicate_name")]
    assert desk.choose(click(case_id, "duplicate_name")).result is Result.ALREADY


def test_choose_without_a_case_answers_each_topic_once_per_message(desk):
    assert desk.choose(click(intent="period_closed", source="4.0")).answer.intent == "period_closed"
    assert desk.choose(click(intent="period_closed", source="4.0")).result is Result.ALREADY
    assert desk.choose(click(intent="duplicate_name", source="4.0")).result is Result.DONE


def test_choose_an_unknown_intent_is_invalid(desk):
    case_id = open_case(desk)
    assert desk.choose(click(case_id, "<!channel>")).result is Result.INVALID
    assert desk.store.get_case(case_id).intent == "bill_not_exported"


def test_help_answers_with_the_help_text(desk):
    outcome = desk.help(click())
    assert outcome.result is Result.DONE and outcome.answer.intent == "help"


# -- Snooze --------------------------------------------------------------------------------------------

def test_snooze_an_hour_once_per_check_in(desk, clock):
    case_id = open_case(desk)
    outcome = desk.snooze(click(case_id, source="5.0"), "hour", "America/New_York")
    assert outcome.result is Result.DONE and outcome.until == clock.now + timedelta(hours=1)
    assert outcome.zone.key == "America/New_York"
    assert pending_checkins(desk.store, case_id) == [outcome.until]
    assert desk.store.get_case(case_id).user_tz == "America/New_York"  # remembered for later check-ins
    assert desk.snooze(click(case_id, source="5.0"), "tomorrow").result is Result.ALREADY


def test_snooze_until_the_next_working_morning_in_the_users_zone(desk, clock):
    case_id = open_case(desk)
    clock.now = datetime(2026, 3, 6, 22, 0, tzinfo=timezone.utc)  # Friday 17:00 in New York
    outcome = desk.snooze(click(case_id), "tomorrow", "America/New_York")
    assert outcome.until == datetime(2026, 3, 9, 13, 0, tzinfo=timezone.utc)  # Monday 09:00 EDT (DST began)


def test_snooze_falls_back_to_the_cases_zone_then_the_default(desk):
    case_id = open_case(desk)
    assert desk.snooze(click(case_id, source="5.0"), "tomorrow").zone.key == "UTC"
    desk.store.set_user_tz(case_id, "Asia/Tokyo")
    assert desk.snooze(click(case_id, source="6.0"), "tomorrow").zone.key == "Asia/Tokyo"


def test_snooze_on_a_fixed_case_changes_nothing(desk):
    case_id = open_case(desk)
    desk.fixed(click(case_id))
    before = pending_checkins(desk.store, case_id)  # dropped when due (the case is resolved by then)
    assert desk.snooze(click(case_id, source="5.0"), "hour").result is Result.ALREADY
    assert pending_checkins(desk.store, case_id) == before


def test_snooze_rejects_an_unknown_delay(desk):
    case_id = open_case(desk)
    assert desk.snooze(click(case_id), "forever").result is Result.INVALID


# -- the digest's buttons ------------------------------------------------------------------------------

def add_sync_error(store: Store, intent: str, reference: str) -> None:
    with store.session() as s:
        s.add(SyncErrorRow(kind="Sale", reference=reference, intent=intent, message="m", status=OPEN,
                           first_seen=NOW, last_seen=NOW))


def test_show_fix_of_a_digest_group(desk):
    assert desk.show_fix(click(intent="period_closed")).answer.intent == "period_closed"
    assert desk.show_fix(click(intent="not_an_intent")).result is Result.INVALID


def test_resolve_group_closes_every_entry_with_that_cause_once(desk):
    add_sync_error(desk.store, "period_closed", "SO-1")
    add_sync_error(desk.store, "period_closed", "SO-2")
    add_sync_error(desk.store, "duplicate_name", "SO-3")
    outcome = desk.resolve_group(click(intent="period_closed"))
    assert (outcome.result, outcome.count) == (Result.DONE, 2)
    assert desk.resolve_group(click(intent="period_closed")).result is Result.ALREADY
    assert [g.intent for g in desk.digest().groups] == ["duplicate_name"]


# -- people ----------------------------------------------------------------------------------------

def test_only_admins_retrain(desk, retrains):
    assert desk.retrain("U1").result is Result.REFUSED and retrains == []
    outcome = desk.retrain("U0ADMIN")
    assert outcome.result is Result.DONE and outcome.details["examples"] == 12 and retrains == ["yes"]


def test_retraining_that_fails_or_is_not_set_up_says_so(core, store):
    def broken() -> dict:
        raise RuntimeError("disk full")

    assert Desk(core.engine, store, admin_users=frozenset({"A"}), retrain=broken).retrain("A").result is Result.FAILED
    assert Desk(core.engine, store, admin_users=frozenset({"A"})).retrain("A").result is Result.UNAVAILABLE


def test_channel_configuration_is_open_until_admins_are_named(core, store, desk):
    assert Desk(core.engine, store).may_configure("anyone")
    assert desk.may_configure("U0ADMIN") and not desk.may_configure("U1")


def test_a_desk_without_a_database_answers_messages_only(core):
    desk = Desk(core.engine)
    assert desk.answer(BILL).intent == "bill_not_exported"
    with pytest.raises(RuntimeError, match="no database"):
        desk.fixed(click("x"))


def test_the_desk_follows_threads_it_has_answered_in(desk):
    open_case(desk)  # asked in thread 1.0 of C1, answered as 2.0
    assert desk.follows("slack", "T1", "C1", "1.0") and desk.follows("slack", "T1", "C1", "2.0")
    assert not desk.follows("slack", "T1", "C1", "9.0")
    assert not desk.follows("slack", "T2", "C1", "1.0") and not desk.follows("slack", "T1", "C1", "")
