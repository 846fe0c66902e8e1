"""What the digest's controls and the scheduler change: a group resolved or snoozed, and which
day's digest has been claimed and posted where. Plain functions on the Store; the rules about
who may do what are the Desk's (bot/core/desk.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from ..storage.store import Store
from ..storage.tables import OPEN, RESOLVED, CaseRow, DigestRunRow, DigestSnoozeRow, SyncErrorRow
from .followups import DEFAULT_CLAIM_LEASE

SNOOZE_FOR = timedelta(days=1)


def resolve_group(store: Store, intent: str, now: datetime) -> int:
    """"Mark resolved" on a digest group: every open sync error and case with that cause."""
    with store.session() as s:
        n = s.execute(update(SyncErrorRow).where(SyncErrorRow.intent == intent, SyncErrorRow.status == OPEN)
                      .values(status=RESOLVED, resolved_at=now)).rowcount or 0
        n += s.execute(update(CaseRow).where(CaseRow.intent == intent, CaseRow.status != RESOLVED)
                       .values(status=RESOLVED, resolved_at=now, updated_at=now)).rowcount or 0
    return n


def snoozed_until(store: Store, intent: str, now: datetime) -> datetime | None:
    """When `intent`'s snooze ends, if it is snoozed now."""
    with store.session() as s:
        until = s.execute(select(DigestSnoozeRow.until).where(DigestSnoozeRow.intent == intent)).scalar()
    return until if until is not None and until > now else None


def snooze_group(store: Store, intent: str, user: str, now: datetime) -> datetime | None:
    """"Snooze a day": the group is left out of digests for SNOOZE_FOR. Returns when it comes
    back, or None when it was already snoozed (the first snooze stands)."""
    until = now + SNOOZE_FOR
    with store.session() as s:
        row = s.get(DigestSnoozeRow, intent)
        if row is not None and row.until > now:
            return None
        if row is None:
            s.add(DigestSnoozeRow(intent=intent, until=until, user=user[:64], created_at=now))
        else:
            row.until, row.user, row.created_at = until, user[:64], now
    return until


def snoozes(store: Store, now: datetime) -> dict[str, datetime]:
    """Every cause snoozed now, with when it comes back."""
    with store.session() as s:
        return dict(s.execute(select(DigestSnoozeRow.intent, DigestSnoozeRow.until)
                              .where(DigestSnoozeRow.until > now)).all())


def last_digest(store: Store, now: datetime) -> datetime | None:
    """When the last digest before `now` went out (anywhere), for "new since the last digest"."""
    with store.session() as s:
        return s.execute(select(func.max(DigestRunRow.posted_at)).where(
            DigestRunRow.status == "posted", DigestRunRow.posted_at < now)).scalar()


def was_digest_posted(store: Store, moment: datetime) -> bool:
    """Whether a digest went out at `moment` (to the second: digests carry it as a Unix time)."""
    start = moment.replace(microsecond=0)
    with store.session() as s:
        return s.execute(select(func.count()).select_from(DigestRunRow).where(
            DigestRunRow.status == "posted", DigestRunRow.posted_at >= start,
            DigestRunRow.posted_at < start + timedelta(seconds=1))).scalar() > 0


@dataclass(frozen=True)
class DigestClaim:
    """The outcome of claim_digest: true when this caller is to post; `again` when an earlier
    claim may have posted it already (its poster died mid-post, or the post failed), so the
    poster must look first."""

    taken: bool
    again: bool = False

    def __bool__(self) -> bool:
        return self.taken


def claim_digest(store: Store, day: str, target: str, now: datetime,
                 lease: timedelta = DEFAULT_CLAIM_LEASE) -> DigestClaim:
    """Taken by exactly one caller per (day, target). The claim is a lease its poster renews
    (renew_digest); one not renewed for `lease` (its poster died), or released after a failed
    post, is taken again."""
    try:
        with store.session() as s:
            s.add(DigestRunRow(day=day, target=target, status="claimed", claimed_at=now))
        return DigestClaim(True)
    except IntegrityError:
        pass
    with store.session() as s:
        taken = s.execute(update(DigestRunRow).where(
            DigestRunRow.day == day, DigestRunRow.target == target,
            ((DigestRunRow.status == "claimed") & (DigestRunRow.claimed_at <= now - lease))
            | (DigestRunRow.status == "retry")).values(status="claimed", claimed_at=now)).rowcount
    return DigestClaim(bool(taken), again=bool(taken))


def renew_digest(store: Store, day: str, target: str, now: datetime) -> None:
    """The poster is alive: keep its claim."""
    with store.session() as s:
        s.execute(update(DigestRunRow).where(DigestRunRow.day == day, DigestRunRow.target == target,
                                             DigestRunRow.status == "claimed").values(claimed_at=now))


def digest_posted(store: Store, day: str, target: str, now: datetime) -> None:
    with store.session() as s:
        s.execute(update(DigestRunRow).where(DigestRunRow.day == day, DigestRunRow.target == target)
                  .values(status="posted", posted_at=now))


def release_digest(store: Store, day: str, target: str) -> None:
    """Posting failed: let the next tick try again (looking first: the failure may have been
    a post that reached the channel without an answer)."""
    with store.session() as s:
        s.execute(update(DigestRunRow).where(DigestRunRow.day == day, DigestRunRow.target == target,
                                             DigestRunRow.status == "claimed").values(status="retry"))
