"""The sandbox's case list: every chat case and tracked sync error, read from the database."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Callable

from sqlalchemy import func, select

from ..core.nlu.catalog import Catalog
from ..core.storage.store import Store
from ..core.storage.tables import CaseRow, FollowupRow, SyncErrorRow
from . import workspace as ws

SHOWN = 200


def case_list(store: Store, catalog: Catalog, label: Callable[[datetime], str]) -> dict[str, Any]:
    """{"cases": [...newest first], "sync_errors": [...oldest first]} for the Cases panel."""
    names = {c["id"]: ("#" if c["kind"] == "channel" else "DM with ") + c["name"] for c in ws.CHANNELS}

    def title(intent: str) -> str:
        return catalog.title(intent) if intent in catalog else intent

    with store.session() as s:
        rows = s.execute(select(CaseRow).order_by(CaseRow.created_at.desc()).limit(SHOWN)).scalars().all()
        due = dict(s.execute(select(FollowupRow.case_id, func.min(FollowupRow.due_at))
                             .where(FollowupRow.status == "pending").group_by(FollowupRow.case_id)).all())
        errors = s.execute(select(SyncErrorRow).order_by(SyncErrorRow.first_seen).limit(SHOWN)).scalars().all()
        cases = [{"id": r.id, "intent": r.intent, "title": title(r.intent), "status": r.status,
                  "where": names.get(r.channel, r.channel), "channel": r.channel,
                  "thread": r.thread, "created": label(r.created_at), "failing_count": r.failing_count,
                  "next_checkin": label(due[r.id]) if r.id in due and r.status != "resolved" else None}
                 for r in rows]
        synced = [{"kind": e.kind, "reference": e.reference, "intent": e.intent, "title": title(e.intent),
                   "status": e.status, "occurrences": e.occurrences, "first_seen": label(e.first_seen),
                   "last_seen": label(e.last_seen)} for e in errors]
    return {"cases": cases, "sync_errors": synced}
