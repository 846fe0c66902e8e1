"""Stored Teams conversation references: where check-ins, digests and escalations can go later.

Every activity the bot receives refreshes its conversation's row (the service URL can move,
and a conversation that was marked gone is evidently back). A send that Teams answers with
403/404 marks the row gone, and nothing is sent there again until the bot hears from it.
Synchronous, like the Store; the edge calls it through `asyncio.to_thread`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Column, Integer, MetaData, String, Table, Text, insert, select, update
from sqlalchemy.exc import IntegrityError

from ..core.storage.store import Store
from ..core.storage.tables import _UTC
from .translate import Conversation

metadata = MetaData()
conversations_table = Table(
    "teams_conversations", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("key", String(64), nullable=False, unique=True),
    Column("conversation_id", Text, nullable=False),
    Column("service_url", Text, nullable=False),
    Column("tenant", String(64), nullable=False, default=""),
    Column("channel_id", String(32), nullable=False, default="msteams"),
    Column("kind", String(16), nullable=False, default="personal"),
    Column("bot", JSON, nullable=True),
    Column("channel_data", JSON, nullable=True),
    Column("is_digest_target", Boolean, nullable=False, default=False),
    Column("is_escalation_target", Boolean, nullable=False, default=False),
    Column("gone_at", _UTC(), nullable=True),
    Column("updated_at", _UTC(), nullable=False),
)
T = conversations_table.c


@dataclass(frozen=True)
class Stored:
    conversation: Conversation
    is_digest_target: bool
    is_escalation_target: bool
    gone_at: datetime | None


def _stored(row: Any) -> Stored:
    conv = Conversation(key=row.key, id=row.conversation_id, kind=row.kind, tenant=row.tenant,
                        service_url=row.service_url, channel_id=row.channel_id, bot=row.bot or None,
                        channel_data=row.channel_data or None)
    return Stored(conv, bool(row.is_digest_target), bool(row.is_escalation_target), row.gone_at)


class Conversations:
    def __init__(self, store: Store) -> None:
        self.store = store

    def remember(self, conv: Conversation) -> None:
        """Insert or refresh the reference; clears `gone_at` (the conversation is talking to us)."""
        values = dict(conversation_id=conv.id, service_url=conv.service_url, tenant=conv.tenant,
                      channel_id=conv.channel_id, kind=conv.kind, bot=conv.bot, channel_data=conv.channel_data,
                      gone_at=None, updated_at=self.store.clock())
        with self.store.engine.begin() as conn:
            if conn.execute(update(conversations_table).where(T.key == conv.key).values(**values)).rowcount:
                return
        try:
            with self.store.engine.begin() as conn:
                conn.execute(insert(conversations_table).values(key=conv.key, is_digest_target=False,
                                                                is_escalation_target=False, **values))
        except IntegrityError:  # another process inserted it first: refresh theirs
            with self.store.engine.begin() as conn:
                conn.execute(update(conversations_table).where(T.key == conv.key).values(**values))

    def get(self, key: str) -> Stored | None:
        with self.store.engine.connect() as conn:
            row = conn.execute(select(conversations_table).where(T.key == key)).first()
        return _stored(row) if row else None

    def mark_gone(self, key: str) -> None:
        with self.store.engine.begin() as conn:
            conn.execute(update(conversations_table).where(T.key == key, T.gone_at.is_(None))
                         .values(gone_at=self.store.clock(), updated_at=self.store.clock()))

    def set_target(self, key: str, what: str, on: bool) -> bool:
        """Make a conversation a digest or escalation target (or stop); False if it is unknown."""
        column = {"digest": "is_digest_target", "escalation": "is_escalation_target"}[what]
        with self.store.engine.begin() as conn:
            return bool(conn.execute(update(conversations_table).where(T.key == key)
                                     .values({column: on, "updated_at": self.store.clock()})).rowcount)

    def targets(self, what: str) -> list[Stored]:
        """Digest or escalation targets that are not gone, oldest first."""
        column = T.is_digest_target if what == "digest" else T.is_escalation_target
        with self.store.engine.connect() as conn:
            rows = conn.execute(select(conversations_table).where(column.is_(True), T.gone_at.is_(None))
                                .order_by(T.id)).all()
        return [_stored(r) for r in rows]
