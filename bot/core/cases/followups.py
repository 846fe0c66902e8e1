"""Follow-up check-ins: "Did the fix work?" some hours after each diagnosis.

Due check-ins live in the database, not in a scheduler's memory, so a restart loses
nothing and several processes never send one twice: a check-in is claimed (row state
pending -> sending, under FOR UPDATE SKIP LOCKED on PostgreSQL, BEGIN IMMEDIATE on SQLite)
before it is sent, and marked sent after. A claim whose process died mid-send is handed out
again after CLAIM_TIMEOUT.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update

from ..storage.store import Store

from ..storage.tables import RESOLVED, Case, CaseRow, FollowupRow

CLAIM_TIMEOUT = timedelta(minutes=5)
MAX_SEND_ATTEMPTS = 5
PENDING, SENDING, SENT, CANCELLED = "pending", "sending", "sent", "cancelled"


@dataclass(frozen=True)
class DueCheckin:
    followup_id: int
    case: Case


class Followups:
    def __init__(self, store: Store, after: timedelta, max_checkins: int = 3) -> None:
        self.store = store
        self.after = after
        self.max_checkins = max_checkins  # per case, "Still failing" ones included

    def schedule(self, case_id: str, now: datetime, delay: timedelta | None = None) -> int | None:
        """Plan a check-in `delay` (default FOLLOWUP_AFTER) from now; replaces a pending one."""
        with self.store.session() as s:
            sent = s.execute(select(FollowupRow.id).where(FollowupRow.case_id == case_id,
                                                          FollowupRow.status == SENT)).all()
            if len(sent) >= self.max_checkins:
                return None
            s.execute(update(FollowupRow).where(FollowupRow.case_id == case_id, FollowupRow.status == PENDING)
                      .values(status=CANCELLED))
            row = FollowupRow(case_id=case_id, due_at=now + (self.after if delay is None else delay), status=PENDING)
            s.add(row)
            s.flush()
            return row.id

    def snooze_until(self, case_id: str, until: datetime) -> int | None:
        return self.schedule(case_id, until, timedelta(0))

    def cancel(self, case_id: str) -> None:
        with self.store.session() as s:
            s.execute(update(FollowupRow).where(FollowupRow.case_id == case_id,
                                                FollowupRow.status.in_([PENDING]))
                      .values(status=CANCELLED))

    def claim_due(self, now: datetime, limit: int = 50) -> list[DueCheckin]:
        """Take the check-ins that are due (or whose sender died) for this process to send."""
        stale = now - CLAIM_TIMEOUT
        claimed = []
        with self.store.session() as s:
            rows = s.execute(
                select(FollowupRow).where(
                    ((FollowupRow.status == PENDING) & (FollowupRow.due_at <= now))
                    | ((FollowupRow.status == SENDING) & (FollowupRow.claimed_at <= stale)))
                .order_by(FollowupRow.due_at).limit(limit).with_for_update(skip_locked=True)).scalars().all()
            for row in rows:
                case = s.get(CaseRow, row.case_id)
                if case is None or case.status == RESOLVED or row.attempts >= MAX_SEND_ATTEMPTS:
                    row.status = CANCELLED  # fixed already (no check-in), or undeliverable
                    continue
                row.status, row.claimed_at, row.attempts = SENDING, now, row.attempts + 1
                claimed.append(DueCheckin(row.id, Case.of(case)))
        return claimed

    def sent(self, followup_id: int, ref: str, now: datetime) -> None:
        with self.store.session() as s:
            s.execute(update(FollowupRow).where(FollowupRow.id == followup_id)
                      .values(status=SENT, sent_at=now, ref=ref[:64]))

    def postpone(self, followup_id: int, until: datetime) -> None:
        """Not now (outside business hours, or the send failed): back to pending for later."""
        with self.store.session() as s:
            s.execute(update(FollowupRow).where(FollowupRow.id == followup_id)
                      .values(status=PENDING, due_at=until, claimed_at=None))

    def give_up(self, followup_id: int) -> None:
        with self.store.session() as s:
            s.execute(update(FollowupRow).where(FollowupRow.id == followup_id).values(status=CANCELLED))

    def pending_for(self, case_id: str) -> list[datetime]:
        with self.store.session() as s:
            return list(s.execute(select(FollowupRow.due_at).where(FollowupRow.case_id == case_id,
                                                                   FollowupRow.status == PENDING)).scalars())
