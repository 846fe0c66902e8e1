"""Follow-up check-ins: "Did the fix work?" some hours after each diagnosis.

Due check-ins live in the database, not in a scheduler's memory, so a restart loses
nothing and several processes never send one twice: a check-in is claimed (row state
pending -> sending, under FOR UPDATE SKIP LOCKED on PostgreSQL, BEGIN IMMEDIATE on SQLite)
before it is sent, and marked sent after. The claim is a short lease (EVENT_RETRY_AFTER):
the clock sending it renews it while it lives (renew); a claim whose clock died is handed out
again once the lease runs out, seconds later rather than minutes. A check-in handed out again
may have been posted already: its sender looks first (DueCheckin.again).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update

from ..storage.store import Store

from ..storage.tables import RESOLVED, Case, CaseRow, FollowupRow

DEFAULT_CLAIM_LEASE = timedelta(seconds=60)  # EVENT_RETRY_AFTER's default
MAX_SEND_ATTEMPTS = 5
PENDING, SENDING, SENT, CANCELLED = "pending", "sending", "sent", "cancelled"


@dataclass(frozen=True)
class DueCheckin:
    followup_id: int
    case: Case
    attempts: int = 1   # claims so far, this one included

    @property
    def again(self) -> bool:
        """Claimed before (its clock died, or the send failed): it may be posted already."""
        return self.attempts > 1


class Followups:
    def __init__(self, store: Store, after: timedelta, max_checkins: int = 3,
                 claim_lease: timedelta = DEFAULT_CLAIM_LEASE) -> None:
        self.store = store
        self.after = after
        self.max_checkins = max_checkins  # per case, "Still failing" ones included
        self.claim_lease = claim_lease    # a claim not renewed for this long is handed out again

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
        stale = now - self.claim_lease
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
                claimed.append(DueCheckin(row.id, Case.of(case), row.attempts))
        return claimed

    def renew(self, held: dict[int, int], now: datetime) -> set[int]:
        """Keep the claims this process is sending (followup id -> attempts it claimed at) from
        being handed out again; returns those still its own (another clock took the rest)."""
        if not held:
            return set()
        with self.store.session() as s:
            rows = s.execute(select(FollowupRow.id, FollowupRow.attempts).where(
                FollowupRow.id.in_(list(held)), FollowupRow.status == SENDING)).all()
            mine = [fid for fid, attempts in rows if held.get(fid) == attempts]
            if mine:
                s.execute(update(FollowupRow).where(FollowupRow.id.in_(mine)).values(claimed_at=now))
        return set(mine)

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
