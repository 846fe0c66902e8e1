"""Cases, received events and feedback in a SQL database (SQLite by default, PostgreSQL in
production), through SQLAlchemy. Schema changes go through Alembic (bot/core/storage/migrations).

The store is synchronous: the Slack edge calls it on its one database thread (SlackEdge.db);
Teams, the scheduler and the ingest endpoint call it in worker threads. Guarantees that must hold across processes
are database constraints, not in-memory checks:
- an incoming message is recorded once per (platform, workspace, channel, ts): a retry or
  the same message delivered as two event types hits the unique constraint;
- feedback is recorded once per (case, action, source message): a double click on the same
  button changes nothing the second time.
"""

from __future__ import annotations

import uuid
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any, Iterator, Sequence

from sqlalchemy import bindparam, create_engine, delete, insert, null, select, update
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from .sqlite import database_file, sqlite_engine

from .tables import (ESCALATED, NAME_CHARS, OPEN, QUESTION_CHARS, RESOLVED, USER_TZ_CHARS, AnsweredRow, Asked, Case,
                     CaseRow, Change, CorrectionRow, EventRow, Feedback, FeedbackRow, FollowupRow, utcnow)


CONNECT_TIMEOUT_S = 10


MAX_EVENT_ATTEMPTS = 5   # tries at answering a message (the first and recoveries) before it is given up


def make_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return sqlite_engine(url)
    # Heroku-style postgres:// and a plain postgresql:// both mean psycopg 3 here (SQLAlchemy's
    # default PostgreSQL driver is psycopg2, which the project does not install).
    if parsed.drivername in ("postgres", "postgresql"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    # A server that does not answer fails a connection after CONNECT_TIMEOUT_S, not after the
    # operating system's TCP timeout of minutes. prepare_threshold=None: psycopg would prepare a
    # statement the fifth time a connection runs it, and PostgreSQL then keeps one generic plan
    # made while the table was small; an import's key lookups ran as full scans compared with
    # every key (a 100,000-row re-import took 34 s, now 7 s). Also what a PgBouncer in
    # transaction mode needs.
    return create_engine(parsed, pool_pre_ping=True, pool_size=10, max_overflow=10,
                         connect_args={"connect_timeout": CONNECT_TIMEOUT_S, "prepare_threshold": None})


class _BurstStatements:
    """The statements a burst of Slack events runs, built once. SQLAlchemy caches compiled SQL,
    but building a statement object and its cache key on every call cost far more than SQLite's
    own work (about 0.5 ms against 0.01 ms per transaction)."""

    def __init__(self, dialect: str) -> None:
        if dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as dialect_insert
        else:
            from sqlalchemy.dialects.sqlite import insert as dialect_insert
        self.record_event = (dialect_insert(EventRow)
                             .on_conflict_do_nothing(index_elements=["platform", "workspace", "channel", "message"])
                             .returning(EventRow.id, EventRow.platform, EventRow.workspace, EventRow.channel,
                                        EventRow.message))
        self.insert_case = insert(CaseRow)
        # A message answered again (a recovery after a reply that timed out) keeps one record.
        self.record_answered = dialect_insert(AnsweredRow).on_conflict_do_nothing(
            index_elements=["platform", "workspace", "channel", "message"])
        self.insert_followup = insert(FollowupRow)
        # A case whose id was decided when its message was recorded: written once, however many
        # tries it takes to answer the message.
        self.open_case = (dialect_insert(CaseRow).on_conflict_do_nothing(index_elements=["id"])
                          .returning(CaseRow.id))
        self.reply_ref = update(CaseRow).where(CaseRow.id == bindparam("cid")).values(reply_ref=bindparam("ref"))
        self.event_failed = (update(EventRow).where(EventRow.id == bindparam("eid"))
                             .values(status="failed", done_at=bindparam("now")))
        self.drop_case = delete(CaseRow).where(CaseRow.id == bindparam("cid"))
        self.renew_events = (update(EventRow)
                             .where(EventRow.id.in_(bindparam("rows", expanding=True)), EventRow.status == "received",
                                    EventRow.attempts == bindparam("tries"))
                             .values(received_at=bindparam("now")).returning(EventRow.id))
        self.event_done = (update(EventRow).where(EventRow.id == bindparam("eid"))
                           .values(status="done", done_at=bindparam("now"), payload=null()))


class Store:
    def __init__(self, engine: Engine, clock=utcnow) -> None:
        self.engine = engine
        self.clock = clock
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        self._burst = _BurstStatements(engine.dialect.name)

    @classmethod
    def from_url(cls, url: str, clock=utcnow, migrate: bool = True) -> "Store":
        database = database_file(url)
        if database is not None:  # SQLite creates the file but not its folder (the default is in var/)
            database.parent.mkdir(parents=True, exist_ok=True)
        store = cls(make_engine(url), clock)
        if migrate:
            from .migrations import upgrade

            upgrade(store.engine)
        return store

    def ping(self) -> None:
        with self.engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")

    @contextmanager
    def session(self) -> Iterator[Session]:
        with self._sessions() as s, s.begin():
            yield s

    # -- events ------------------------------------------------------------------------

    def record_event(self, platform: str, workspace: str, channel: str, message: str, *,
                     event_id: str = "", kind: str = "", payload: dict | None = None) -> int | None:
        """Record an incoming message; None if the same message was already recorded.

        On the acknowledgement's critical path, so it is one Core INSERT, not an ORM session.
        """
        try:
            with self.engine.begin() as conn:
                result = conn.execute(insert(EventRow).values(
                    platform=platform, workspace=workspace, channel=channel, message=message, event_id=event_id,
                    kind=kind, payload=payload, status="received", attempts=0, received_at=self.clock()))
                return int(result.inserted_primary_key[0])
        except IntegrityError:
            return None

    def record_events(self, items: list[dict[str, Any]]) -> list[int | None]:
        """record_event for several messages in one transaction (group commit for a burst of
        deliveries). Each item: platform, workspace, channel, message, event_id, kind, payload.
        A duplicate, within the batch or against the table, gets None."""
        if not items:
            return []
        with self.engine.begin() as conn:
            return self._record_events(conn, items)

    def _record_events(self, conn: Any, items: Sequence[dict[str, Any]]) -> list[int | None]:
        received = {"status": "received", "attempts": 0, "received_at": self.clock()}

        def key(item: dict[str, Any]) -> tuple[str, str, str, str]:
            return item["platform"], item["workspace"], item["channel"], item["message"]

        # One multi-row INSERT, in key order (two PostgreSQL writers taking overlapping keys in
        # the same order cannot deadlock). A duplicate inserts and returns nothing, so rows are
        # matched back to items by their unique key: the first item with a key gets its row.
        inserted = {tuple(r[1:]): int(r[0]) for r in
                    conn.execute(self._burst.record_event, sorted(({**item, **received} for item in items), key=key))}
        return [inserted.pop(key(item), None) for item in items]

    def progress(self, *, records: Sequence[dict[str, Any]] = (), opened: Sequence[Case] = (),
                 answered: Sequence[tuple[int | None, str | None, str]] = (),
                 failed: Sequence[tuple[int, str | None]] = (), asked: Sequence[Asked] = (),
                 followup_due: datetime | None = None) -> list[int | None]:
        """How the answers to recorded messages are getting on, in one transaction (several
        messages' steps share it: group commit). Returns the rows of `records`.
        - `records`: messages received (record_events; None for a duplicate);
        - `opened`: before their replies are posted, the cases their buttons will point at, each
          with its first check-in (due at `followup_due`); a case already written (a recovery
          answering the message again, with the id decided when it was recorded) is left as it is;
        - `answered` (event row or None, case id or None, reply ref): the reply is out: the
          event is done and the case knows its reply;
        - `failed` (event row, case id or None): nobody will see an answer: the event is
          finished as failed and the case it had opened is dropped with its check-ins;
        - `asked`: the records of messages answered (planned by Desk.plan_cases), for the
          admin's report; a message answered again keeps its first record."""
        if not (records or opened or answered or failed or asked):
            return []
        now = self.clock()
        with self.engine.begin() as conn:
            rows = self._record_events(conn, records) if records else []
            if opened:
                new = {case_id for (case_id,) in conn.execute(self._burst.open_case, [c.row() for c in opened])}
                if new and followup_due is not None:
                    conn.execute(self._burst.insert_followup, [{"case_id": c.id, "due_at": followup_due,
                                                                "status": "pending", "attempts": 0, "ref": ""}
                                                               for c in opened if c.id in new])
            done = [{"eid": row, "now": now} for row, _, _ in answered if row is not None]
            if done:
                conn.execute(self._burst.event_done, done)
            refs = [{"cid": case_id, "ref": ref} for _, case_id, ref in answered if case_id and ref]
            if refs:
                conn.execute(self._burst.reply_ref, refs)
            if failed:
                conn.execute(self._burst.event_failed, [{"eid": row, "now": now} for row, _ in failed])
                dropped = [{"cid": case_id} for _, case_id in failed if case_id]
                if dropped:
                    conn.execute(self._burst.drop_case, dropped)
            if asked:
                conn.execute(self._burst.record_answered, [a.row() for a in asked])
        return rows

    def mark_once(self, platform: str, workspace: str, channel: str, key: str, kind: str) -> bool:
        """True the first time `key` is marked in this channel: a finished event, unique like
        every delivery, so a click with no case to hold its state counts once in any process."""
        now = self.clock()
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(EventRow).values(
                    platform=platform, workspace=workspace, channel=channel, message=key, event_id="", kind=kind,
                    payload=None, status="done", attempts=0, received_at=now, done_at=now))
            return True
        except IntegrityError:
            return False

    def finish_event(self, event_id: int, status: str = "done") -> None:
        with self.session() as s:
            s.execute(update(EventRow).where(EventRow.id == event_id)
                      .values(status=status, done_at=self.clock(), payload=null() if status == "done" else EventRow.payload))

    def release_event(self, event_id: int, case_id: str | None = None) -> None:
        """Forget a recorded message that could not be answered, so a redelivery of it is
        answered (for edges that answer during the request, such as Teams), and the case its
        answer would have opened (`case_id`), which nobody saw."""
        with self.engine.begin() as conn:
            conn.execute(delete(EventRow).where(EventRow.id == event_id))
            if case_id:
                conn.execute(delete(CaseRow).where(CaseRow.id == case_id))

    def renew_events(self, leases: dict[int, int]) -> set[int]:
        """Keep recovery (claim_unfinished_events) away from events this process still holds
        to answer: each row, if still unanswered and still at the `attempts` it was taken with,
        gets a fresh time. Returns the rows renewed; a row missing from them was claimed by a
        recovery meanwhile (or finished), and is no longer this process's to answer."""
        if not leases:
            return set()
        by_attempts: dict[int, list[int]] = {}
        for row, attempts in leases.items():
            by_attempts.setdefault(attempts, []).append(row)
        now = self.clock()
        with self.engine.begin() as conn:
            return {row for attempts, rows in by_attempts.items()
                    for (row,) in conn.execute(self._burst.renew_events,
                                               {"rows": rows, "tries": attempts, "now": now})}

    def give_up_events(self, older_than: timedelta, max_attempts: int = MAX_EVENT_ATTEMPTS,
                       platform: str = "slack") -> list[tuple[int, dict, int]]:
        """Events tried `max_attempts` times and still not answered (the last try's process died
        too, or failed without saying so), left alone for `older_than`: finished as failed, so
        none stays "received" for ever. Returns them (row, payload, attempts), for the log."""
        cutoff = self.clock() - older_than
        with self.session() as s:
            rows = s.execute(
                select(EventRow).where(EventRow.platform == platform, EventRow.status == "received",
                                       EventRow.received_at <= cutoff, EventRow.attempts >= max_attempts)
                .order_by(EventRow.id).with_for_update(skip_locked=True)).scalars().all()
            for row in rows:
                row.status, row.done_at = "failed", self.clock()
            return [(row.id, dict(row.payload or {}), row.attempts) for row in rows]

    def claim_unfinished_events(self, older_than: timedelta, max_attempts: int = MAX_EVENT_ATTEMPTS,
                                limit: int = 50, platform: str = "slack") -> list[tuple[int, dict, int]]:
        """Events recorded but never finished (the process died after acknowledging them), as
        (row, payload, attempts). No process renewed them (renew_events) for `older_than`.

        Each call bumps `attempts`, so an event that crashes the handler every time is given
        up after `max_attempts` (give_up_events) instead of being retried for ever.
        """
        cutoff = self.clock() - older_than
        with self.session() as s:
            rows = s.execute(
                select(EventRow).where(EventRow.platform == platform, EventRow.status == "received",
                                       EventRow.received_at <= cutoff, EventRow.attempts < max_attempts)
                .order_by(EventRow.id).limit(limit).with_for_update(skip_locked=True)).scalars().all()
            for row in rows:
                row.attempts += 1
                row.received_at = self.clock()  # not again until `older_than` has passed
            return [(row.id, dict(row.payload or {}), row.attempts) for row in rows]

    # -- cases -------------------------------------------------------------------------

    def open_case(self, *, platform: str, workspace: str, channel: str, thread: str, message: str, user: str,
                  intent: str, confidence: float, entities: dict[str, str], question: str,
                  followup_due: datetime | None = None) -> Case:
        return self.open_cases([dict(platform=platform, workspace=workspace, channel=channel, thread=thread,
                                     message=message, user=user, intent=intent, confidence=confidence,
                                     entities=entities, question=question)], followup_due)[0]

    def new_cases(self, specs: list[dict[str, Any]]) -> list[Case]:
        """Open cases for `specs` as they will be stored, not yet written (see progress)."""
        now = self.clock()
        return [Case(str(uuid.uuid4()), spec["platform"], spec["workspace"], spec["channel"], spec["thread"],
                     spec["message"], spec["user"], spec["intent"], spec["confidence"], dict(spec["entities"] or {}),
                     OPEN, 0, "", now, now, None, spec["question"][:QUESTION_CHARS], None) for spec in specs]

    def open_cases(self, specs: list[dict[str, Any]], followup_due: datetime | None = None) -> list[Case]:
        """Open several cases (and their first check-ins) in one transaction."""
        cases = self.new_cases(specs)
        if cases:
            with self.engine.begin() as conn:
                self._insert_cases(conn, [c.row() for c in cases], followup_due)
        return cases

    def _insert_cases(self, conn: Any, rows: list[dict[str, Any]], followup_due: datetime | None) -> None:
        conn.execute(self._burst.insert_case, rows)
        if followup_due is not None:
            conn.execute(self._burst.insert_followup, [{"case_id": row["id"], "due_at": followup_due,
                                                        "status": "pending", "attempts": 0, "ref": ""}
                                                       for row in rows])

    def get_case(self, case_id: str) -> Case | None:
        with self.session() as s:
            row = s.get(CaseRow, case_id)
            return Case.of(row) if row else None

    def set_reply_ref(self, case_id: str, reply_ref: str) -> None:
        with self.session() as s:
            s.execute(update(CaseRow).where(CaseRow.id == case_id).values(reply_ref=reply_ref))

    def set_user_tz(self, case_id: str, tz: str) -> None:
        with self.session() as s:
            s.execute(update(CaseRow).where(CaseRow.id == case_id).values(user_tz=tz[:USER_TZ_CHARS]))

    def case_in_thread(self, platform: str, workspace: str, channel: str, thread: str) -> Case | None:
        """The newest case the bot is helping with in this thread (its question's thread, or the
        thread under the bot's own reply, as for a slash command's answer)."""
        if not thread:
            return None
        with self.session() as s:
            row = s.execute(select(CaseRow).where(CaseRow.platform == platform, CaseRow.workspace == workspace,
                                                  CaseRow.channel == channel,
                                                  (CaseRow.thread == thread) | (CaseRow.reply_ref == thread))
                            .order_by(CaseRow.created_at.desc()).limit(1)).scalars().first()
            return Case.of(row) if row else None

    def bot_in_thread(self, platform: str, workspace: str, channel: str, thread: str) -> bool:
        """Has the bot answered in this thread (a case, or any answered question rooted there)?"""
        if not thread:
            return False
        if self.case_in_thread(platform, workspace, channel, thread) is not None:
            return True
        with self.session() as s:
            return s.execute(select(EventRow.id).where(
                EventRow.platform == platform, EventRow.workspace == workspace, EventRow.channel == channel,
                EventRow.message == thread).limit(1)).first() is not None

    def open_cases_for(self, platform: str, workspace: str, user: str, limit: int = 20) -> list[Case]:
        with self.session() as s:
            rows = s.execute(select(CaseRow).where(CaseRow.platform == platform, CaseRow.workspace == workspace,
                                                   CaseRow.user == user, CaseRow.status != RESOLVED)
                             .order_by(CaseRow.created_at.desc()).limit(limit)).scalars().all()
            return [Case.of(r) for r in rows]

    def latest_case_in(self, platform: str, workspace: str, channel: str, user: str) -> Case | None:
        """The newest unresolved case `user` opened in `channel` (a DM with the bot, where
        questions are not threaded: what "talk to a person" there is about)."""
        with self.session() as s:
            row = s.execute(select(CaseRow).where(CaseRow.platform == platform, CaseRow.workspace == workspace,
                                                  CaseRow.channel == channel, CaseRow.user == user,
                                                  CaseRow.status != RESOLVED)
                            .order_by(CaseRow.created_at.desc()).limit(1)).scalars().first()
            return Case.of(row) if row else None

    def feedback_of(self, case_id: str, action: str | None = None, source: str | None = None) -> list[Feedback]:
        """The clicks recorded on a case, oldest first (only `action`'s, or on `source`, if given)."""
        query = select(FeedbackRow).where(FeedbackRow.case_id == case_id)
        if action is not None:
            query = query.where(FeedbackRow.action == action)
        if source is not None:
            query = query.where(FeedbackRow.source == source)
        with self.session() as s:
            return [Feedback.of(r) for r in s.execute(query.order_by(FeedbackRow.id)).scalars()]

    def _feedback(self, case_id: str, action: str, source: str, user: str, apply, user_name: str = "") -> Change:
        """Record feedback once per (case, action, source) and apply its state change once."""
        try:
            with self.session() as s:
                row = s.get(CaseRow, case_id, with_for_update=True)
                if row is None:
                    return Change(None, False)
                before = row.intent
                changed = apply(row)
                if not changed:
                    return Change(Case.of(row), False)
                row.updated_at = self.clock()
                s.add(FeedbackRow(case_id=case_id, action=action, source=source, user=user,
                                  user_name=user_name[:NAME_CHARS] or None, intent_before=before,
                                  intent_after=row.intent, created_at=self.clock()))
                s.flush()
                return Change(Case.of(row), True)
        except IntegrityError:
            return Change(self.get_case(case_id), False)

    def resolve(self, case_id: str, user: str, source: str, user_name: str = "") -> Change:
        def apply(row: CaseRow) -> bool:
            if row.status == RESOLVED:
                return False
            row.status, row.resolved_at = RESOLVED, self.clock()
            return True

        return self._feedback(case_id, "fixed", source, user, apply, user_name)

    def still_failing(self, case_id: str, user: str, source: str, escalate_after: int, user_name: str = "") -> Change:
        def apply(row: CaseRow) -> bool:
            if row.status == RESOLVED:
                return False
            row.failing_count += 1
            if row.failing_count >= escalate_after:
                row.status = ESCALATED
            return True

        return self._feedback(case_id, "still_failing", source, user, apply, user_name)

    def escalate(self, case_id: str, user: str, source: str, user_name: str = "") -> Change:
        def apply(row: CaseRow) -> bool:
            if row.status in (ESCALATED, RESOLVED):
                return False
            row.status = ESCALATED
            return True

        return self._feedback(case_id, "escalate", source, user, apply, user_name)

    def snoozed(self, case_id: str, user: str, source: str, user_name: str = "") -> Change:
        """A snooze from the check-in `source`, once per message (the check-in itself moves in
        Followups)."""
        def apply(row: CaseRow) -> bool:
            return row.status != RESOLVED

        return self._feedback(case_id, "snooze", source, user, apply, user_name)

    def not_this(self, case_id: str, user: str, source: str, user_name: str = "") -> Change:
        """"Not this" on the message `source`: kept (once per message) as what was tried."""
        return self._feedback(case_id, "not_this", source, user, lambda row: True, user_name)

    def claimed(self, case_id: str, user: str, source: str, user_name: str = "") -> Change:
        """Someone picked the case up from an escalation post (`source`)."""
        return self._feedback(case_id, "claim", source, user, lambda row: True, user_name)

    def reclassify(self, case_id: str, intent: str, user: str, source: str, user_name: str = "") -> Change:
        """The user said which problem it really is; keep the correction for training."""
        def apply(row: CaseRow) -> bool:
            if row.intent == intent:  # "This one" on our own first guess: a confirmation, no correction
                row.confidence = 1.0
                return True
            if row.question:
                s = Session.object_session(row)
                assert s is not None
                s.add(CorrectionRow(case_id=row.id, text=row.question, intent=intent, created_at=self.clock()))
            row.intent, row.confidence = intent, 1.0
            return True

        return self._feedback(case_id, f"chose:{intent}", source, user, apply, user_name)

    # -- training and retention ------------------------------------------------------------

    def corrections(self) -> list[tuple[str, str]]:
        with self.session() as s:
            return [(r.text, r.intent) for r in s.execute(select(CorrectionRow).order_by(CorrectionRow.id)).scalars()]

    def purge(self, keep: timedelta) -> int:
        """Retention: forget question text, refused messages' text and finished event payloads
        older than `keep`."""
        cutoff = self.clock() - keep
        with self.session() as s:
            n = s.execute(update(CaseRow).where(CaseRow.created_at < cutoff, CaseRow.question.is_not(None))
                          .values(question=None)).rowcount or 0
            n += s.execute(update(EventRow).where(EventRow.received_at < cutoff, EventRow.payload.is_not(None),
                                                  EventRow.status != "received")
                           .values(payload=None)).rowcount or 0
            n += s.execute(update(AnsweredRow).where(AnsweredRow.asked_at < cutoff, AnsweredRow.text.is_not(None))
                           .values(text=None)).rowcount or 0
            return n

