"""Helpers for the import tests: reading sync_errors back, writing CSV files."""

from __future__ import annotations

import sqlalchemy as sa

from bot.core.storage.store import Store

from bot.core.storage.tables import SyncErrorRow

COLUMNS = ("kind", "reference", "intent", "confidence", "message", "entities", "status", "occurrences",
           "first_seen", "last_seen", "resolved_at", "source")


def table(store: Store) -> list[tuple]:
    """Every sync_errors row (without ids), sorted by key: for before/after comparisons."""
    t = SyncErrorRow.__table__
    with store.engine.connect() as conn:
        rows = conn.execute(sa.select(*(t.c[c] for c in COLUMNS)).order_by(t.c.kind, t.c.reference)).all()
    return [tuple(r) for r in rows]


def by_key(store: Store) -> dict[tuple[str, str], dict]:
    return {(r[0], r[1]): dict(zip(COLUMNS, r)) for r in table(store)}
