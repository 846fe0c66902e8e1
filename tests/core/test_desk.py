"""The Desk decides every click, once, for every edge: one test (or a few) per verb, on SQLite
and PostgreSQL. The Slack and Teams tests only check how their payloads and messages translate."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from bot.core.cases.followups import PENDING, Followups
from bot.core.desk import Desk
from bot.core.outcomes import Click, Result, Where, Why
from bot.core.schedule.timerules import BusinessHours
from bot.core.storage.store import Store
from bot.core.storage.tables import ESCALATED, OPEN, RESOLVED, CorrectionRow, FeedbackRow, FollowupRow, SyncErrorRow
from tests.scheduling.conftest import clock, store  # noqa: F401 - fixtures: the injected clock, a store on it
from tests.scheduling.helpers import MONDAY_9_NY

NOW = MONDAY_9_NY
BILL = 'Error: Bill "BILL-7731" has not been exported to QuickBooks'


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
          workspace: str = "T1", **more) -> Click:
    return Click(platform, workspace, "C1", user, source, case_id, intent, **more)


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
        outcome = getattr(desk, verb)(stranger)
        assert (outcome.result, outcome.why) == (Result.EXPIRED, Why.EXPIRED)
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


def test_a_fixed_case_says_who_fixed_it_and_when(desk, clock):
    case_id = open_case(desk)
    desk.fixed(click(case_id, user="U0ANA", user_name="Ana Ruiz"))
    clock.now += timedelta(minutes=30)
    for again in (desk.fixed(click(case_id, user="U0BOB", source="3.0")),
                  desk.still_failing(click(case_id, user="U0BOB", source="3.0")),
                  desk.snooze(click(case_id, user="U0BOB", source="4.0"), "hour")):
        assert again.result is Result.ALREADY and again.why is Why.ALREADY_FIXED
        assert (again.by, again.by_name, again.at) == ("U0ANA", "Ana Ruiz", NOW)


def test_a_case_resolved_from_the_digest_says_when(desk, clock):
    case_id = open_case(desk)
    desk.resolve_group(click(intent="bill_not_exported"))
    again = desk.fixed(click(case_id))
    assert (again.why, again.by, again.at) == (Why.ALREADY_FIXED, "", NOW)


def test_fixed_on_an_answer_without_a_case_is_thanked_for_once(desk):
    assert desk.fixed(click(source="7.0")).result is Result.DONE
    again = desk.fixed(click(source="7.0"))
    assert (again.result, again.why) == (Result.ALREADY, Why.ALREADY_DONE)


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
    again = desk.still_failing(click(case_id, source="2.0", user="U2"))
    assert (again.result, again.why, again.by, again.at) == (Result.ALREADY, Why.ALREADY_FAILING, "U1", NOW)
    second = desk.still_failing(click(case_id, source="5.0"))  # from the check-in
    assert second.result is Result.DONE and second.escalate and second.count == 2
    assert second.case.status == ESCALATED
    assert second.escalation.case_id == case_id and second.escalation.intent == "bill_not_exported"
    third = desk.still_failing(click(case_id, source="6.0"))
    assert third.result is Result.DONE and not third.escalate  # handed over once


def test_still_failing_on_an_answer_without_a_case_offers_what_next_once(desk):
    first = desk.still_failing(click(intent="bill_not_exported", source="7.0"))
    assert first.result is Result.DONE and first.related == desk.catalog["bill_not_exported"].related[:3]
    assert desk.still_failing(click(intent="bill_not_exported", source="7.0")).why is Why.ALREADY_DONE


# -- Ask a person -----------------------------------------------------------------------------------

def test_escalate_a_case_once(desk):
    case_id = open_case(desk)
    first = desk.escalate(click(case_id))
    assert first.result is Result.DONE and first.escalate and first.case.status == ESCALATED
    again = desk.escalate(click(case_id, source="9.0", user="U2"))
    assert (again.result, again.why, again.by, again.at) == (Result.ALREADY, Why.ALREADY_ESCALATED, "U1", NOW)


def test_an_escalation_carries_what_a_person_needs(desk, clock):
    pasted = BILL + "\n\n\n\nSync history: Bill BILL-7731, Error   "
    case_id = open_case(desk, pasted)
    desk.not_this(click(case_id, source="2.0", user_name="Ana Ruiz"))
    clock.now += timedelta(minutes=5)
    desk.still_failing(click(case_id, source="3.0", user_name="Ana Ruiz"))
    outcome = desk.escalate(click(case_id, source="4.0", user_name="Ana Ruiz", thread="1.0", private=True))
    e = outcome.escalation
    assert (e.case_id, e.asker, e.asker_name, e.channel, e.thread, e.private) == (
        case_id, "U1", "Ana Ruiz", "C1", "1.0", True)
    assert e.question == BILL + "\n\nSync history: Bill BILL-7731, Error"  # trimmed
    assert e.intent == "bill_not_exported" and e.confidence > 0.9
    assert [(t.action, t.user_name, t.at) for t in e.tried] == [
        ("not_this", "Ana Ruiz", NOW), ("still_failing", "Ana Ruiz", NOW + timedelta(minutes=5))]


def test_an_escalation_of_a_long_paste_is_trimmed(desk):
    from bot.core.cases.escalations import QUESTION_LINES, QUESTION_SHOWN

    lines = "\n".join(f"{BILL} line {n}" for n in range(200))
    e = desk.escalate(click(open_case(desk, lines))).escalation
    assert len(e.question) <= QUESTION_SHOWN + 1 and e.question.count("\n") < QUESTION_LINES
    assert e.question.endswith("\u2026")


def test_an_escalation_of_something_not_recognised_says_so(desk):
    e = desk.escalate(click(intent="out_of_scope", source="7.0")).escalation
    assert (e.case_id, e.intent, e.question, e.tried) == (None, "", "", ())


def test_yes_to_talk_to_a_person_escalates_the_case_being_worked_on(desk, clock):
    case_id = open_case(desk)  # asked in thread 1.0 of C1
    outcome = desk.escalate(click(intent="escalate", source="8.0", thread="1.0"))
    assert outcome.result is Result.DONE and outcome.case.id == case_id and outcome.escalation.case_id == case_id
    # In a one-to-one chat (questions unthreaded): the person's latest open case there.
    clock.now += timedelta(minutes=1)
    other = open_case(desk, "Reference number is not unique", workspace="T1")
    dm = desk.escalate(click(intent="escalate", source="9.0", private=True))
    assert dm.case.id == other
    # Nothing being worked on: it goes as it stands, once.
    lonely = desk.escalate(click(intent="escalate", source="9.5", workspace="T9"))
    assert lonely.result is Result.DONE and lonely.escalation.case_id is None


def test_the_first_to_claim_an_escalation_has_it(desk, clock):
    case_id = open_case(desk)
    escalation = desk.escalate(click(case_id)).escalation
    clock.now += timedelta(minutes=3)
    claimed = desk.claim(click(escalation=escalation.id, user="U0BOB", user_name="Bob", source="50.0"))
    assert claimed.result is Result.DONE and claimed.escalation.claimed_by == "U0BOB"
    assert (claimed.escalation.channel, claimed.escalation.asker) == ("C1", "U1")  # where to tell the asker
    assert feedback(desk.store, case_id)[-1] == "claim"
    late = desk.claim(click(escalation=escalation.id, user="U0CAT", source="50.0"))
    assert (late.result, late.why, late.by, late.by_name, late.at) == (
        Result.ALREADY, Why.ALREADY_CLAIMED, "U0BOB", "Bob", NOW + timedelta(minutes=3))
    # Asking again once it is claimed names who has it.
    again = desk.escalate(click(case_id, source="9.0"))
    assert (again.why, again.by) == (Why.ALREADY_CLAIMED, "U0BOB")


def test_a_claim_from_another_workspace_or_for_nothing_has_expired(desk):
    escalation = desk.escalate(click(open_case(desk))).escalation
    assert desk.claim(click(escalation=escalation.id, workspace="T2")).why is Why.EXPIRED
    assert desk.claim(click(escalation="no-such-escalation")).why is Why.EXPIRED


def test_no_thanks_to_talk_to_a_person_is_said_once(desk):
    assert desk.decline(click(source="8.0")).result is Result.DONE
    assert desk.decline(click(source="8.0")).why is Why.ALREADY_DONE


# -- Not this and choosing --------------------------------------------------------------------------

def test_not_this_offers_the_other_problems_most_likely_first(desk):
    case_id = open_case(desk)
    outcome = desk.not_this(click(case_id))
    assert outcome.result is Result.DONE and outcome.replaces == "bill_not_exported"
    problems = {i.id for i in desk.catalog.problems}
    assert set(outcome.choices) == problems - {"bill_not_exported"} and len(outcome.choices) == len(problems) - 1
    ranking = desk.answer(BILL).alternatives
    expected = [a.intent for a in ranking if a.intent in problems and a.intent != "bill_not_exported"]
    assert expected and list(outcome.choices[:outcome.ranked]) == expected
    rest = [desk.catalog.title(i).casefold() for i in outcome.choices[outcome.ranked:]]
    assert rest == sorted(rest)


def test_not_this_counts_once_per_message_and_says_who_asked(desk):
    case_id = open_case(desk)
    desk.not_this(click(case_id, user_name="Ana Ruiz"))
    again = desk.not_this(click(case_id, user="U2"))
    assert (again.result, again.why, again.by_name, again.at) == (Result.ALREADY, Why.ALREADY_ASKED, "Ana Ruiz", NOW)
    assert feedback(desk.store, case_id) == ["not_this"]


def test_not_this_without_a_case_leaves_out_the_answer_it_is_on(desk):
    outcome = desk.not_this(click(intent="period_closed", source="7.0"))
    assert "period_closed" not in outcome.choices and outcome.ranked == 0 and outcome.replaces == "period_closed"
    titles = [desk.catalog.title(i).casefold() for i in outcome.choices]
    assert titles == sorted(titles)


def test_choose_takes_the_intent_keeps_the_correction_and_answers_with_the_questions_specifics(desk):
    case_id = open_case(desk)
    outcome = desk.choose(click(case_id, "duplicate_name"))
    assert outcome.result is Result.DONE
    assert outcome.answer.intent == "duplicate_name" and outcome.answer.entities.get("bill") == "BILL-7731"
    assert (outcome.case.intent, outcome.case.confidence) == ("duplicate_name", 1.0)
    with desk.store.session() as s:
        assert [(r.text, r.intent) for r in s.execute(select(CorrectionRow)).scalars()] == [(BILL, "duplicate_name")]
    assert desk.choose(click(case_id, "duplicate_name")).result is Result.ALREADY


def test_choose_without_a_case_opens_one_before_its_answer_is_posted(desk, clock):
    pick = click(intent="period_closed", source="4.0", thread="1.0", user_name="Ana Ruiz")
    outcome = desk.choose(pick)
    assert outcome.answer.intent == "period_closed" and outcome.opened
    assert desk.store.get_case(outcome.case.id) is None  # choosing alone writes nothing
    desk.open_chosen(outcome, pick)
    desk.open_chosen(outcome, pick)  # a second try leaves it as it is
    assert desk.store.get_case(outcome.case.id).reply_ref in (None, "")
    desk.reply_posted(outcome.case.id, "4.5")
    case = desk.store.get_case(outcome.case.id)
    assert (case.intent, case.thread, case.reply_ref, case.status) == ("period_closed", "1.0", "4.5", OPEN)
    assert pending_checkins(desk.store, case.id) == [clock.now + timedelta(hours=4)]
    assert feedback(desk.store, case.id) == ["chose:period_closed"]
    assert desk.fixed(click(case.id, source="4.5")).result is Result.DONE  # its buttons work
    assert desk.choose(click(intent="period_closed", source="4.0")).why is Why.ALREADY_DONE
    assert desk.choose(click(intent="duplicate_name", source="4.0")).result is Result.DONE


def test_choosing_the_same_topic_twice_says_who_chose_it(desk):
    case_id = open_case(desk)
    desk.choose(click(case_id, "duplicate_name", user_name="Ana Ruiz"))
    again = desk.choose(click(case_id, "duplicate_name", user="U2"))
    assert (again.why, again.by_name) == (Why.ALREADY_CHOSEN, "Ana Ruiz")


def test_choose_an_unknown_intent_is_invalid(desk):
    case_id = open_case(desk)
    assert desk.choose(click(case_id, "<!channel>")).result is Result.INVALID
    assert desk.store.get_case(case_id).intent == "bill_not_exported"


def test_help_answers_with_the_help_text_once_per_message(desk):
    outcome = desk.help(click())
    assert outcome.result is Result.DONE and outcome.answer.intent == "help"
    assert desk.help(click()).why is Why.ALREADY_DONE


# -- Snooze --------------------------------------------------------------------------------------------

def test_snooze_an_hour_once_per_check_in(desk, clock):
    case_id = open_case(desk)
    outcome = desk.snooze(click(case_id, source="5.0"), "hour", "America/New_York")
    assert outcome.result is Result.DONE and outcome.until == clock.now + timedelta(hours=1)
    assert outcome.zone.key == "America/New_York"
    assert pending_checkins(desk.store, case_id) == [outcome.until]
    assert desk.store.get_case(case_id).user_tz == "America/New_York"  # remembered for later check-ins
    again = desk.snooze(click(case_id, source="5.0"), "tomorrow")
    assert (again.result, again.why, again.by, again.at) == (Result.ALREADY, Why.ALREADY_SNOOZED, "U1", NOW)
    assert again.zone.key == "America/New_York"  # `at` is shown in the person's zone


def test_snooze_with_no_check_ins_left_says_so(desk):
    case_id = open_case(desk)
    with desk.store.session() as s:  # FOLLOWUP_MAX (3) check-ins sent already
        s.add_all([FollowupRow(case_id=case_id, due_at=NOW, status="sent") for _ in range(3)])
    outcome = desk.snooze(click(case_id, source="5.0"), "hour")
    assert (outcome.result, outcome.why) == (Result.UNAVAILABLE, Why.NO_CHECKINS_LEFT)


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
    # The Outcome carries the digest as it stands now, for the clicked digest's header.
    assert (outcome.digest.total, outcome.digest.fixed) == (1, 2)
    assert desk.resolve_group(click(intent="period_closed")).result is Result.ALREADY
    assert [g.intent for g in desk.digest().groups] == ["duplicate_name"]
    assert desk.resolve_group(click(intent="Robert'); DROP TABLE cases")).result is Result.INVALID


def test_resolve_group_of_a_cause_the_catalog_does_not_know(desk):
    add_sync_error(desk.store, "no_such_intent", "SO-9")
    assert desk.resolve_group(click(intent="no_such_intent")).count == 1


def test_resolve_group_keeps_the_clicked_digests_window(desk, clock):
    add_sync_error(desk.store, "period_closed", "SO-1")
    clock.now = NOW + timedelta(hours=30)
    since = NOW - timedelta(hours=2)
    outcome = desk.resolve_group(click(intent="period_closed"), since)
    assert outcome.digest.since == since and outcome.digest.fixed == 1


def test_snooze_group_leaves_it_out_of_digests_for_a_day(desk, clock):
    add_sync_error(desk.store, "period_closed", "SO-1")
    add_sync_error(desk.store, "duplicate_name", "SO-3")
    outcome = desk.snooze_group(click(intent="period_closed"))
    assert outcome.result is Result.DONE and outcome.until == NOW + timedelta(days=1)
    assert [g.intent for g in outcome.digest.groups] == ["duplicate_name"]
    assert [g.intent for g in outcome.digest.snoozed] == ["period_closed"] and outcome.digest.total == 2
    again = desk.snooze_group(click(intent="period_closed", user="U2"))
    assert (again.result, again.until) == (Result.ALREADY, NOW + timedelta(days=1))   # the first snooze stands
    clock.now = NOW + timedelta(days=1)
    assert sorted(g.intent for g in desk.digest().groups) == ["duplicate_name", "period_closed"]
    # Nothing open in that group: nothing to snooze.
    assert desk.snooze_group(click(intent="bill_not_exported")).result is Result.ALREADY
    assert desk.snooze_group(click(intent="")).result is Result.INVALID


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
