"""The database tables (SQLAlchemy declarative rows) and the plain records the store hands out.

Schema changes go through Alembic (bot/core/storage/migrations); the store (bot/core/storage/store.py) reads and
writes these rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import (JSON, Boolean, DateTime, Float, ForeignKey, Index, Integer, LargeBinary, String, Text, TypeDecorator,
                        UniqueConstraint)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

OPEN, RESOLVED, ESCALATED = "open", "resolved", "escalated"
QUESTION_CHARS = 4000
USER_TZ_CHARS = 64
NAME_CHARS = 200


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class _UTC(TypeDecorator):
    """Timezone-aware UTC datetimes on every backend (SQLite has no time zones: stored as UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        value = value.astimezone(timezone.utc) if value.tzinfo else value.replace(tzinfo=timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value


class Base(DeclarativeBase):
    pass


class CaseRow(Base):
    __tablename__ = "cases"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    workspace: Mapped[str] = mapped_column(String(64), default="")
    channel: Mapped[str] = mapped_column(String(64), default="")
    thread: Mapped[str] = mapped_column(String(64), default="")       # thread the bot replies in ("" = none)
    message: Mapped[str] = mapped_column(String(64), default="")      # the user's message id/ts
    user: Mapped[str] = mapped_column(String(64), default="")
    intent: Mapped[str] = mapped_column(String(64))
    confidence: Mapped[float] = mapped_column(Float, default=0.0)
    entities: Mapped[dict] = mapped_column(JSON, default=dict)
    question: Mapped[str | None] = mapped_column(Text, nullable=True)  # kept for corrections; purged by retention
    status: Mapped[str] = mapped_column(String(16), default=OPEN, index=True)
    failing_count: Mapped[int] = mapped_column(Integer, default=0)
    reply_ref: Mapped[str] = mapped_column(String(64), default="")    # the bot's reply message id/ts
    created_at: Mapped[datetime] = mapped_column(_UTC(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(_UTC(), default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(_UTC(), nullable=True)
    user_tz: Mapped[str | None] = mapped_column(String(USER_TZ_CHARS), nullable=True)


class EventRow(Base):
    __tablename__ = "events"
    __table_args__ = (UniqueConstraint("platform", "workspace", "channel", "message", name="uq_event_message"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    platform: Mapped[str] = mapped_column(String(16))
    workspace: Mapped[str] = mapped_column(String(64), default="")
    channel: Mapped[str] = mapped_column(String(64), default="")
    message: Mapped[str] = mapped_column(String(64), default="")
    event_id: Mapped[str] = mapped_column(String(64), default="")
    kind: Mapped[str] = mapped_column(String(32), default="")
    payload: Mapped[dict | None] = mapped_column(JSON(none_as_null=True), nullable=True)  # what is needed to redo the work; cleared when done
    status: Mapped[str] = mapped_column(String(16), default="received", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    received_at: Mapped[datetime] = mapped_column(_UTC(), default=utcnow)
    done_at: Mapped[datetime | None] = mapped_column(_UTC(), nullable=True)


class FeedbackRow(Base):
    __tablename__ = "feedback"
    __table_args__ = (UniqueConstraint("case_id", "action", "source", name="uq_feedback_once"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[str] = mapped_column(String(36), ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    action: Mapped[str] = mapped_column(String(80))
    source: Mapped[str] = mapped_column(String(64), default="")  # the message the button was on
    user: Mapped[str] = mapped_column(String(64), default="")
    intent_before: Mapped[str] = mapped_column(String(64), default="")
    intent_after: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(_UTC(), default=utcnow)
    user_name: Mapped[str | None] = mapped_column(String(NAME_CHARS), nullable=True)  # as the platform showed it


class EscalationRow(Base):
    """A request for a person: who asked and where (to tell them who picked it up), and who
    claimed it. `case_id` is None for a message the bot had no case for."""

    __tablename__ = "escalations"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    workspace: Mapped[str] = mapped_column(String(64), default="")
    case_id: Mapped[str | None] = mapped_column(String(36), ForeignKey("cases.id", ondelete="SET NULL"),
                                                nullable=True, index=True)
    asker: Mapped[str] = mapped_column(String(64), default="")
    asker_name: Mapped[str] = mapped_column(String(NAME_CHARS), default="")
    channel: Mapped[str] = mapped_column(String(64), default="")   # where the asker is told who is on it
    thread: Mapped[str] = mapped_column(String(64), default="")
    source: Mapped[str] = mapped_column(String(64), default="")    # the message "Ask a person" was on
    private: Mapped[bool] = mapped_column(Boolean, default=False)  # a one-to-one chat with the bot
    created_at: Mapped[datetime] = mapped_column(_UTC(), default=utcnow)
    claimed_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    claimed_by_name: Mapped[str | None] = mapped_column(String(NAME_CHARS), nullable=True)
    claimed_at: Mapped[datetime | None] = mapped_column(_UTC(), nullable=True)


class ClockOffsetRow(Base):
    """How far a clock was moved forward (the browser sandbox's), kept across restarts."""

    __tablename__ = "clock_offsets"
    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    offset_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    updated_at: Mapped[datetime] = mapped_column(_UTC(), default=utcnow)


class CorrectionRow(Base):
    """A user's "Not this" choice: a labelled example for the next `python -m bot train`."""

    __tablename__ = "corrections"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[str] = mapped_column(String(36), default="")
    text: Mapped[str] = mapped_column(Text)
    intent: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(_UTC(), default=utcnow)


class SyncErrorRow(Base):
    """One failing entry of DEAR's sync history, tracked by (type, reference) until it syncs."""

    __tablename__ = "sync_errors"
    __table_args__ = (UniqueConstraint("kind", "reference", name="uq_sync_error_key"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(64))
    reference: Mapped[str] = mapped_column(String(128))
    intent: Mapped[str] = mapped_column(String(64))
    confidence: Mapped[float] = mapped_column(Float, default=0.0)
    message: Mapped[str] = mapped_column(Text, default="")
    entities: Mapped[dict | None] = mapped_column(JSON(none_as_null=True), nullable=True)
    status: Mapped[str] = mapped_column(String(16), default=OPEN)
    occurrences: Mapped[int] = mapped_column(Integer, default=1)
    first_seen: Mapped[datetime] = mapped_column(_UTC())
    last_seen: Mapped[datetime] = mapped_column(_UTC())
    resolved_at: Mapped[datetime | None] = mapped_column(_UTC(), nullable=True)
    source: Mapped[str] = mapped_column(String(16), default="")


class FollowupRow(Base):
    __tablename__ = "followups"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[str] = mapped_column(String(36), ForeignKey("cases.id", ondelete="CASCADE"))
    due_at: Mapped[datetime] = mapped_column(_UTC())
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending, sending, sent, cancelled
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claimed_at: Mapped[datetime | None] = mapped_column(_UTC(), nullable=True)
    sent_at: Mapped[datetime | None] = mapped_column(_UTC(), nullable=True)
    ref: Mapped[str] = mapped_column(String(64), default="")


class DigestRunRow(Base):
    __tablename__ = "digest_runs"
    __table_args__ = (UniqueConstraint("day", "target", name="uq_digest_once_a_day"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    day: Mapped[str] = mapped_column(String(10))
    target: Mapped[str] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(16), default="claimed")  # claimed, posted, retry (a post failed)
    claimed_at: Mapped[datetime] = mapped_column(_UTC())
    posted_at: Mapped[datetime | None] = mapped_column(_UTC(), nullable=True)


class ModelRow(Base):
    """A published model (bot/core/model/inuse.py): its pickled bytes and what built it."""

    __tablename__ = "models"
    __table_args__ = (UniqueConstraint("fingerprint", name="uq_model_fingerprint"),
                      Index("ix_models_compat", "compat", "id"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    fingerprint: Mapped[str] = mapped_column(String(64))   # sha256 of `data`
    compat: Mapped[str] = mapped_column(String(64))        # which processes can serve it
    built_at: Mapped[str] = mapped_column(String(32), default="")
    published_at: Mapped[datetime] = mapped_column(_UTC())
    meta: Mapped[dict] = mapped_column(JSON)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class DigestSnoozeRow(Base):
    """A digest group someone snoozed: left out of every digest until `until`."""

    __tablename__ = "digest_snoozes"
    intent: Mapped[str] = mapped_column(String(64), primary_key=True)
    until: Mapped[datetime] = mapped_column(_UTC())
    user: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(_UTC(), default=utcnow)


class AnsweredRow(Base):
    """One message the bot answered, whatever the answer (the admin's report counts them):
    refused messages leave no case, so this is where they are seen. `text` is kept for refused
    messages only (the knowledge gaps), until RETENTION."""

    __tablename__ = "answered_messages"
    __table_args__ = (UniqueConstraint("platform", "workspace", "channel", "message", name="uq_answered_message"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    platform: Mapped[str] = mapped_column(String(16))
    workspace: Mapped[str] = mapped_column(String(64), default="")
    channel: Mapped[str] = mapped_column(String(64), default="")
    message: Mapped[str] = mapped_column(String(64), default="")
    user: Mapped[str] = mapped_column(String(64), default="")
    kind: Mapped[str] = mapped_column(String(16))                     # AnswerKind
    intent: Mapped[str] = mapped_column(String(64), default="")
    confidence: Mapped[float] = mapped_column(Float, default=0.0)
    code: Mapped[str] = mapped_column(String(16), default="")         # QuickBooks error code, if any
    case_id: Mapped[str] = mapped_column(String(36), default="")
    text: Mapped[str | None] = mapped_column(Text, nullable=True)     # refused messages only; purged by retention
    asked_at: Mapped[datetime] = mapped_column(_UTC())  # indexes: migration 0008


@dataclass(frozen=True)
class Asked:
    """A message's record, planned with its case (Desk.plan_cases) and written with it
    (Store.answered)."""

    platform: str
    workspace: str
    channel: str
    message: str
    user: str
    kind: str
    intent: str
    confidence: float
    code: str
    case_id: str
    text: str | None
    asked_at: datetime

    def row(self) -> dict[str, Any]:
        return dict(vars(self))


@dataclass(frozen=True)
class Case:
    id: str
    platform: str
    workspace: str
    channel: str
    thread: str
    message: str
    user: str
    intent: str
    confidence: float
    entities: dict[str, str]
    status: str
    failing_count: int
    reply_ref: str
    created_at: datetime
    updated_at: datetime
    resolved_at: datetime | None
    question: str | None = None
    user_tz: str | None = None

    def row(self) -> dict[str, Any]:
        """The column values, for an INSERT (dataclasses.asdict would deep-copy every datetime)."""
        return dict(vars(self))

    @classmethod
    def of(cls, row: CaseRow) -> "Case":
        return cls(row.id, row.platform, row.workspace, row.channel, row.thread, row.message, row.user,
                   row.intent, row.confidence, dict(row.entities or {}), row.status, row.failing_count,
                   row.reply_ref, row.created_at, row.updated_at, row.resolved_at, row.question, row.user_tz)


@dataclass(frozen=True)
class Change:
    """What a feedback action did: `changed` is False for a repeat click."""

    case: Case | None
    changed: bool


@dataclass(frozen=True)
class Feedback:
    """One recorded click on a case: what, on which message, by whom, when."""

    action: str
    source: str
    user: str
    user_name: str
    created_at: datetime
    intent_before: str
    intent_after: str

    @classmethod
    def of(cls, row: FeedbackRow) -> "Feedback":
        return cls(row.action, row.source, row.user, row.user_name or "", row.created_at, row.intent_before,
                   row.intent_after)
