"""The help desk: the one entry point of the core, for messages and for clicks.

A message comes in as text (and where it came from) and goes out as an Answer, with the case
it opens. A click comes in as a Click and goes out as an Outcome (bot/core/outcomes.py). Every
rule about what a click may do lives here, once, for Slack, Teams, the sandbox and the CLI:
- a case is touched only by clicks from its own platform and workspace;
- each button counts once per message it is on (a database constraint: a double click, or
  the same click delivered twice, changes nothing the second time), and a click that changes
  nothing comes back with why (Outcome.why) and who did it before, when (from the feedback
  rows): no button is ever a silent no-op;
- a topic picked from an answer without a case opens one, so the new answer's buttons work;
- a request for a person carries what a person needs (bot/core/cases/escalations.py), and the
  first to claim it has it;
- "Still failing" a second time (ESCALATE_AFTER) hands the case to a person; before that it
  schedules one more check-in and offers related topics;
- a snooze comes back in the user's own zone, an hour later or the next working morning;
- only ADMIN_USERS retrain the model; when ADMIN_USERS is set only they configure channels;
- only ADMIN_USERS see the report (bot/core/insights/), and its message samples only where
  nobody else can read them (a DM, the App Home, a personal chat), never in a channel.

The Desk is synchronous (it reads and writes the database); edges call it off their event
loop. It never talks to Slack or Teams: the edges post what the Outcome says.
"""

from __future__ import annotations

import hashlib
import logging
import re
import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Callable
from zoneinfo import ZoneInfo

from .cases import earlier
from .cases.digest import Digest, build_digest
from .cases.digest_state import resolve_group, snooze_group, snoozed_until
from .cases.escalations import Escalation, get_escalation, open_escalation
from .cases.escalations import claim as claim_escalation
from .cases.followups import Followups
from .insights.period import Period, last_days
from .nlu.answers import Answer, AnswerKind
from .nlu.catalog import Catalog
from .nlu.engine import Engine
from .outcomes import Click, Outcome, Result, Where, Why
from .schedule.timerules import BusinessHours, tomorrow_morning, zone
from .storage.store import Store
from .storage.tables import ESCALATED, QUESTION_CHARS, RESOLVED, Asked, Case, utcnow

if TYPE_CHECKING:
    from .insights.report import Report

log = logging.getLogger(__name__)

# Answers worth tracking until someone says the sync works again.
TRACKED = (AnswerKind.DIAGNOSIS, AnswerKind.CHOICE)
RELATED_SHOWN = 3
SNOOZES = ("hour", "tomorrow")
MARKER_CHARS = 64  # events.message, where the once-only markers of caseless clicks are kept
_CAUSE = re.compile(r"[a-z0-9_]{1,64}")  # an intent id as digest controls carry it (known to the catalog or not)
REPORT_REUSE = timedelta(minutes=2)


@dataclass(frozen=True)
class Diagnosed:
    answer: Answer
    case: Case | None
    asked: Asked | None = None  # the message's record for the admin's report, written with the case

    def with_case_id(self, case_id: str | None) -> "Diagnosed":
        """The same plan with the case id decided when its message was recorded (every try of a
        message opens the same case), on the case and on the message's record alike."""
        if self.case is None or not case_id:
            return self
        asked = replace(self.asked, case_id=case_id) if self.asked is not None else None
        return Diagnosed(self.answer, replace(self.case, id=case_id), asked)


def _code(answer: Answer) -> str:
    """The QuickBooks error code the message carried, if any (what the report groups by)."""
    for finding in answer.findings:
        if finding.code:
            return finding.code[:16]
    return str(answer.entities.get("error_code", ""))[:16]


class Desk:
    def __init__(self, engine: Engine, store: Store | None = None, *, followups: Followups | None = None,
                 escalate_after: int = 2, clock: Callable[[], datetime] = utcnow,
                 hours: BusinessHours | None = None, default_tz: str = "UTC",
                 admin_users: frozenset[str] = frozenset(), retrain: Callable[[], dict] | None = None,
                 retention: timedelta = timedelta(days=30)) -> None:
        """`store` may be None for edges that only answer messages (the CLI's `ask`).
        `retention` (RETENTION): messages older than that are counted in reports, never shown."""
        self.engine = engine
        self._store = store
        self.followups = followups
        self.escalate_after = escalate_after
        self.clock = clock
        self.hours = hours
        self.default_tz = default_tz  # when neither the platform nor the case knows the user's zone
        self.admin_users = admin_users
        self._retrain = retrain
        self.retention = retention
        self._last_report: tuple[datetime, Report] | None = None

    @property
    def catalog(self) -> Catalog:
        return self.engine.catalog

    @property
    def store(self) -> Store:
        if self._store is None:
            raise RuntimeError("this Desk has no database: it can answer messages, not clicks")
        return self._store

    # -- messages ---------------------------------------------------------------------------

    def answer(self, text: str) -> Answer:
        return self.engine.diagnose(text)

    def answer_many(self, texts: list[str]) -> list[Answer]:
        """What each message is: one model call for all of them, no database."""
        return self.engine.diagnose_many(texts)

    def answer_for(self, intent: str, text: str = "") -> Answer:
        """The answer for an intent someone chose, with the specifics of `text`."""
        return self.engine.answer_for(intent, text)

    def plan_cases(self, items: list[tuple[str, Where]], answers: list[Answer]) -> list[Diagnosed]:
        """The case each answer worth tracking opens, and every message's record (what the
        admin's report counts), planned but not written: the caller writes them once the answer
        is posted (Store.answered, with followup_due() and the records). Only a refused
        message's record keeps its text (its case, if any, keeps the others'), until RETENTION."""
        tracked = [i for i, answer in enumerate(answers) if answer.kind in TRACKED]
        specs = [dict(platform=w.platform, workspace=w.workspace, channel=w.channel, thread=w.thread,
                      message=w.message, user=w.user, intent=answers[i].intent, confidence=answers[i].confidence,
                      entities=answers[i].entities, question=items[i][0])
                 for i in tracked for w in [items[i][1]]]
        cases = dict(zip(tracked, self.store.new_cases(specs)))
        now = self.clock()
        planned = []
        for i, answer in enumerate(answers):
            (text, w), case = items[i], cases.get(i)
            refused = answer.kind is AnswerKind.OUT_OF_SCOPE
            asked = Asked(w.platform, w.workspace, w.channel, w.message or f"unkeyed:{uuid.uuid4().hex}", w.user,
                          str(answer.kind), answer.intent, answer.confidence, _code(answer),
                          case.id if case is not None else "", text[:QUESTION_CHARS] if refused else None, now)
            planned.append(Diagnosed(answer, case, asked))
        return planned

    def follows(self, platform: str, workspace: str, channel: str, thread: str) -> bool:
        """Whether a message in `thread` is for the bot without a mention: it is helping there."""
        return bool(thread) and self.store.bot_in_thread(platform, workspace, channel, thread)

    def followup_due(self) -> datetime | None:
        """When a new case's first check-in is due (None: no check-ins)."""
        return self.clock() + self.followups.after if self.followups is not None else None

    def reply_posted(self, case_id: str, ref: str) -> None:
        """The case's answer is now the message `ref` (a re-answer after a choice)."""
        if case_id and ref:
            self.store.set_reply_ref(case_id, ref)

    # -- clicks on an answer -------------------------------------------------------------------

    def _case(self, click: Click) -> Case | None:
        """The click's case, if it is one of this platform's and workspace's."""
        case = self.store.get_case(click.case_id) if click.case_id else None
        if case is None or case.platform != click.platform or case.workspace != click.workspace:
            return None
        return case

    def _once(self, click: Click, what: str) -> bool:
        """For clicks with no case to hold their state: True the first time `what` is done on
        this message (kept as a finished event, unique like every delivery)."""
        key = f"{what}:{click.source}"
        if len(key) > MARKER_CHARS:
            key = "h_" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:40]
        return self.store.mark_once(click.platform, click.workspace, click.channel, key, what)

    def _zone(self, case: Case | None) -> ZoneInfo:
        return zone(case.user_tz if case else None, self.default_tz)

    @property
    def team_zone(self) -> ZoneInfo:
        """The zone times are shown in to a team (an escalation post): DIGEST_TZ."""
        return zone(None, self.default_tz)

    def _unchanged(self, why: Why, case: Case | None = None, action: str = "", source: str | None = None) -> Outcome:
        return earlier.unchanged(self.store, why, case, self._zone(case), action, source)

    def _already_fixed(self, case: Case) -> Outcome:
        return earlier.already_fixed(self.store, case, self._zone(case))

    def fixed(self, click: Click) -> Outcome:
        """"Fixed it": the case is resolved (no more check-ins). On an answer without a case (a
        digest's "Show the fix") it is thanked for, once per message."""
        if not click.case_id:
            return Outcome(Result.DONE) if self._once(click, "fixed") else Outcome(Result.ALREADY, why=Why.ALREADY_DONE)
        if self._case(click) is None:
            return _expired()
        change = self.store.resolve(click.case_id, click.user, click.source, click.user_name)
        if change.case is None:
            return _expired()
        if not change.changed:
            return self._already_fixed(change.case)
        return Outcome(Result.DONE, change.case)

    def still_failing(self, click: Click) -> Outcome:
        """"Still failing": counted once per message. The ESCALATE_AFTER-th time the case goes to a
        person (`escalate`, with the escalation to post); before that one more check-in is
        planned and related topics offered."""
        if not click.case_id:
            if not self._once(click, "still_failing"):
                return Outcome(Result.ALREADY, why=Why.ALREADY_DONE)
            return Outcome(Result.DONE, related=self._related(click.intent))
        if self._case(click) is None:
            return _expired()
        change = self.store.still_failing(click.case_id, click.user, click.source, self.escalate_after,
                                          click.user_name)
        case = change.case
        if case is None:
            return _expired()
        if not change.changed:
            if case.status == RESOLVED:
                return self._already_fixed(case)
            return self._unchanged(Why.ALREADY_FAILING, case, "still_failing", click.source)
        escalate = case.status == ESCALATED and case.failing_count == self.escalate_after
        if not escalate and self.followups is not None:
            self.followups.schedule(case.id, self.clock())  # ask once more later
        return Outcome(Result.DONE, case, escalate=escalate, related=self._related(case.intent),
                       count=case.failing_count, escalation=self._escalation(click, case) if escalate else None)

    def escalate(self, click: Click) -> Outcome:
        """"Ask a person": the case goes to a person once, with what it needs to be picked up.
        The "yes" of the "talk to a person" answer, which has no case of its own, takes the case
        the person was working on: the one in this thread, or in a one-to-one chat their latest
        open one. Anything else without a case goes once per message, as it stands."""
        case_id = click.case_id
        if not case_id and click.intent == "escalate":
            context = (self.store.case_in_thread(click.platform, click.workspace, click.channel, click.thread)
                       or (self.store.latest_case_in(click.platform, click.workspace, click.channel, click.user)
                           if click.private else None))
            case_id = context.id if context is not None else ""
            click = replace(click, case_id=case_id)
        if not case_id:
            if not self._once(click, "escalate"):
                return Outcome(Result.ALREADY, why=Why.ALREADY_DONE)
            return Outcome(Result.DONE, escalate=True, escalation=self._escalation(click, None))
        if self._case(click) is None:
            return _expired()
        change = self.store.escalate(click.case_id, click.user, click.source, click.user_name)
        if change.case is None:
            return _expired()
        if not change.changed:
            if change.case.status == RESOLVED:
                return self._already_fixed(change.case)
            return self._already_escalated(change.case)
        return Outcome(Result.DONE, change.case, escalate=True, escalation=self._escalation(click, change.case))

    def _already_escalated(self, case: Case) -> Outcome:
        return earlier.already_escalated(self.store, case, self._zone(case))

    def _escalation(self, click: Click, case: Case | None) -> Escalation:
        return open_escalation(self.store, platform=click.platform, workspace=click.workspace, case=case,
                               asker=click.user, asker_name=click.user_name, channel=click.channel,
                               thread=click.thread, source=click.source, private=click.private, now=self.clock())

    def claim(self, click: Click) -> Outcome:
        """"Claim" on an escalation post: the first person to click has the case (the asker is
        told who), everyone after them is told who has it and since when."""
        asked = get_escalation(self.store, click.escalation) if click.escalation else None
        if asked is None or asked.platform != click.platform or asked.workspace != click.workspace:
            return _expired()
        case = self.store.get_case(asked.case_id) if asked.case_id else None
        if not claim_escalation(self.store, asked.id, click.user, click.user_name, self.clock()):
            taken = get_escalation(self.store, asked.id) or asked
            return Outcome(Result.ALREADY, case, why=Why.ALREADY_CLAIMED, zone=self._zone(case),
                           by=taken.claimed_by or "", by_name=taken.claimed_by_name or "", at=taken.claimed_at,
                           escalation=taken)
        if case is not None:
            self.store.claimed(case.id, click.user, click.source, click.user_name)
        return Outcome(Result.DONE, case, zone=self._zone(case), escalation=get_escalation(self.store, asked.id))

    def decline(self, click: Click) -> Outcome:
        """"No, thanks" on the "talk to a person?" question: nobody is asked (said once per message)."""
        return Outcome(Result.DONE) if self._once(click, "decline") else Outcome(Result.ALREADY, why=Why.ALREADY_DONE)

    def not_this(self, click: Click) -> Outcome:
        """"Not this": the problems to pick from instead, without the diagnosis it replaces: the
        model's ranking for the question first, then the rest alphabetically. Once per message
        (kept with the case as something tried)."""
        case = None
        if click.case_id:
            case = self._case(click)
            if case is None:
                return _expired()
            if not self.store.not_this(case.id, click.user, click.source, click.user_name).changed:
                return self._unchanged(Why.ALREADY_ASKED, case, "not_this", click.source)
        elif not self._once(click, "not_this"):
            return Outcome(Result.ALREADY, why=Why.ALREADY_DONE)
        current = case.intent if case is not None else click.intent
        choices, ranked = self.choices_instead(current, case.question if case is not None else "")
        return Outcome(Result.DONE, case, choices=choices, ranked=ranked,
                       replaces=current if current in self.catalog else "")

    def choices_instead(self, current: str, question: str | None) -> tuple[tuple[str, ...], int]:
        """Every problem but `current`: the model's ranking for `question` first (its diagnosis,
        findings and alternatives), then the rest by title; and how many are ranked."""
        problems = {i.id for i in self.catalog.problems} - {current}
        ranked: list[str] = []
        if question:
            answer = self.engine.diagnose(question)
            for intent in [answer.intent, *(f.intent for f in answer.findings), *(a.intent for a in answer.alternatives)]:
                if intent in problems and intent not in ranked:
                    ranked.append(intent)
        rest = sorted(problems - set(ranked), key=lambda i: self.catalog.title(i).casefold())
        return tuple(ranked + rest), len(ranked)

    def choose(self, click: Click, text: str = "") -> Outcome:
        """A topic picked ("This one", "Show fix", the "Not this" menu): its answer, with the
        specifics of the question. With a case the case takes the intent and the choice is kept
        as a correction for training; each intent counts once per message. Picked from an answer
        without a case (the closest topics of a question not recognised), it opens one, so the
        new answer's buttons work: written before the answer is posted (open_chosen), so they
        always point at a case that exists."""
        if click.intent not in self.catalog:
            return Outcome(Result.INVALID, why=Why.INVALID)
        if click.case_id:
            if self._case(click) is None:
                return _expired()
            change = self.store.reclassify(click.case_id, click.intent, click.user, click.source, click.user_name)
            if change.case is None:
                return _expired()
            if not change.changed:
                return self._unchanged(Why.ALREADY_CHOSEN, change.case, f"chose:{click.intent}", click.source)
            question = text or change.case.question or ""
            return Outcome(Result.DONE, change.case, answer=self.engine.answer_for(click.intent, question))
        if not self._once(click, f"choose:{click.intent}"):
            return Outcome(Result.ALREADY, why=Why.ALREADY_DONE)
        answer = self.engine.answer_for(click.intent, text)
        if answer.kind not in TRACKED:
            return Outcome(Result.DONE, answer=answer)
        where = Where(click.platform, click.workspace, click.channel, click.thread, click.source, click.user)
        [planned] = self.plan_cases([(text, where)], [answer])
        return Outcome(Result.DONE, planned.case, answer=answer, opened=planned.case is not None)

    def open_chosen(self, outcome: Outcome, click: Click) -> None:
        """Before a choice's answer is posted: the case it opened, with its first check-in and
        the choice that opened it (written once: a second try leaves it as it is)."""
        case = outcome.case
        if case is None or not outcome.opened:
            return
        self.store.progress(opened=[case], followup_due=self.followup_due())
        self.store.reclassify(case.id, case.intent, click.user, click.source, click.user_name)

    def help(self, click: Click) -> Outcome:
        """"What can you do?": once per message."""
        if not self._once(click, "help"):
            return Outcome(Result.ALREADY, why=Why.ALREADY_DONE)
        return Outcome(Result.DONE, answer=self.engine.answer_for("help"))

    # -- clicks on a check-in ---------------------------------------------------------------------

    def snooze(self, click: Click, until: str, tz: str | None = None) -> Outcome:
        """"Snooze": the check-in comes back an hour from now (`until="hour"`) or the user's next
        working morning (`"tomorrow"`), in the zone the platform reports (`tz`), else the one
        the case knows, else DIGEST_TZ. Once per check-in message."""
        if until not in SNOOZES:
            return Outcome(Result.INVALID, why=Why.INVALID)
        case = self._case(click)
        if case is None:
            return _expired()
        if case.status == RESOLVED:
            return self._already_fixed(case)
        if self.followups is None:
            return Outcome(Result.UNAVAILABLE, case, why=Why.NO_CHECKINS_LEFT)
        if not self.store.snoozed(case.id, click.user, click.source, click.user_name).changed:
            return self._unchanged(Why.ALREADY_SNOOZED, case, "snooze", click.source)
        if tz and tz != case.user_tz:
            self.store.set_user_tz(case.id, tz)
        where = zone(tz or case.user_tz, self.default_tz)
        now = self.clock()
        when = now + timedelta(hours=1) if until == "hour" else tomorrow_morning(now, where, self.hours)
        if self.followups.snooze_until(case.id, when) is None:
            return Outcome(Result.UNAVAILABLE, case, why=Why.NO_CHECKINS_LEFT, zone=where)
        return Outcome(Result.DONE, case, until=when, zone=where)

    # -- clicks on the digest ------------------------------------------------------------------------

    def show_fix(self, click: Click) -> Outcome:
        """A digest group's "Show the fix": the cause's answer (the edge posts it in the
        digest's thread)."""
        if click.intent not in self.catalog:
            return Outcome(Result.INVALID)
        return Outcome(Result.DONE, answer=self.engine.answer_for(click.intent))

    def resolve_group(self, click: Click, since: datetime | None = None) -> Outcome:
        """A digest group's "Mark resolved": every open sync error and case with that cause
        (a cause the catalog does not know included). ALREADY when nothing in it is open any
        more. The Outcome carries the digest as it stands now, counted from `since` (the
        clicked digest's own window), for its header."""
        if not _CAUSE.fullmatch(click.intent):
            return Outcome(Result.INVALID)
        count = resolve_group(self.store, click.intent, self.clock())
        return Outcome(Result.DONE if count else Result.ALREADY, count=count, digest=self.digest(since))

    def snooze_group(self, click: Click, since: datetime | None = None) -> Outcome:
        """A digest group's "Snooze a day": left out of digests until this time tomorrow.
        ALREADY (with when it comes back) for a group already snoozed, and for one with
        nothing open."""
        if not _CAUSE.fullmatch(click.intent):
            return Outcome(Result.INVALID)
        now, where = self.clock(), zone(None, self.default_tz)
        before = self.digest(since)
        if not any(g.intent == click.intent for g in before.groups + before.snoozed):
            return Outcome(Result.ALREADY, digest=before, zone=where)
        until = snooze_group(self.store, click.intent, click.user, now)
        if until is None:
            return Outcome(Result.ALREADY, until=snoozed_until(self.store, click.intent, now), digest=before,
                           zone=where)
        return Outcome(Result.DONE, until=until, zone=where, digest=self.digest(since))

    def digest(self, since: datetime | None = None) -> Digest:
        """The digest as it stands now; `since` as build_digest takes it."""
        return build_digest(self.store, self.catalog, self.clock(), since)

    # -- people -----------------------------------------------------------------------------------

    def open_cases(self, platform: str, workspace: str, user: str) -> list[Case]:
        return self.store.open_cases_for(platform, workspace, user)

    def is_admin(self, user: str) -> bool:
        return user in self.admin_users

    def may_configure(self, user: str) -> bool:
        """Whether `user` may point digests and escalations at a channel: anyone until
        ADMIN_USERS is set, then only those admins."""
        return not self.admin_users or self.is_admin(user)

    def can_retrain(self, user: str) -> Result:
        """DONE when `user` may retrain now; REFUSED for a non-admin (checked on every click, not
        only when drawing the button); UNAVAILABLE when this process cannot retrain."""
        if not self.is_admin(user):
            log.warning("non-admin %s tried to retrain", user)
            return Result.REFUSED
        return Result.UNAVAILABLE if self._retrain is None else Result.DONE

    def retrain(self, user: str) -> Outcome:
        """The admin's "Retrain the model": corrections exported, model rebuilt and swapped in.
        Slow (tens of seconds): call it off the event loop."""
        allowed = self.can_retrain(user)
        if allowed is not Result.DONE:
            return Outcome(allowed)
        assert self._retrain is not None
        try:
            meta = self._retrain()
        except Exception:  # noqa: BLE001 - the previous model stays in use
            log.exception("retraining failed")
            return Outcome(Result.FAILED)
        return Outcome(Result.DONE, details=dict(meta))

    # -- the admin's report ---------------------------------------------------------------------

    def build_report(self, period: Period | None = None) -> Report:
        """The report for `period` (default: the last 30 days, days in DIGEST_TZ). Slow for a
        big history (seconds): call it off the event loop. The default period's report is
        reused for REPORT_REUSE, so an admin opening the App Home twice does not pay twice."""
        from .insights.report import build_report

        now = self.clock()
        if period is None:
            last = self._last_report
            if last is not None and timedelta(0) <= now - last[0] < REPORT_REUSE:
                return last[1]
        report = build_report(self.store, self.engine, period or last_days(now, self.default_tz), now,
                              retention=self.retention, escalate_after=self.escalate_after)
        if period is None:
            self._last_report = (now, report)
        return report

    def report(self, user: str, *, private: bool, period: Period | None = None) -> Outcome:
        """An admin's report: REFUSED for anyone not in ADMIN_USERS (nobody, while it is unset;
        checked on every request, not only when drawing a button). `private`: only `user` will
        see it (a DM, the App Home, a personal chat); elsewhere the report carries no message
        samples. The Outcome's details: {"report": Report, "samples": bool}."""
        if not self.is_admin(user):
            log.warning("non-admin %s asked for the report", user)
            return Outcome(Result.REFUSED)
        return Outcome(Result.DONE, details={"report": self.build_report(period), "samples": private})

    def _related(self, intent: str) -> tuple[str, ...]:
        return self.catalog[intent].related[:RELATED_SHOWN] if intent in self.catalog else ()


def _expired() -> Outcome:
    return Outcome(Result.EXPIRED, why=Why.EXPIRED)

