"""The daily digest: what is still broken, grouped by cause, oldest first.

Sources: sync errors imported from DEAR's sync history that have not synced since, and chat
cases nobody has marked fixed. One group per intent, with a count, the oldest age and the
first few references. This is data; the words for what the catalog cannot name (a cause it does
not know, a chat question with no reference) are the renderer's, from responses/phrases.yaml.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from ..nlu.catalog import Catalog
from ..storage.store import Store
from ..storage.tables import OPEN, RESOLVED, CaseRow, DigestRunRow, SyncErrorRow

SHOWN_REFERENCES = 5
DEFAULT_CLAIM_LEASE = timedelta(seconds=60)  # EVENT_RETRY_AFTER's default
_CASE_REFERENCE_SLOTS = ("order", "invoice", "bill", "reference", "transaction", "product", "account_code")


@dataclass
class Group:
    intent: str
    title: str | None    # None: the catalog has no such intent
    summary: str | None
    count: int = 0
    oldest: datetime | None = None
    # Every reference, oldest first; None for a chat question that named no order, bill, ...
    references: list[str | None] = field(default_factory=list)

    @property
    def shown(self) -> list[str | None]:
        return self.references[:SHOWN_REFERENCES]

    @property
    def more(self) -> int:
        return max(0, len(self.references) - SHOWN_REFERENCES)


@dataclass
class Digest:
    generated_at: datetime
    groups: list[Group]

    @property
    def total(self) -> int:
        return sum(g.count for g in self.groups)


def _case_reference(entities: dict | None) -> str | None:
    for slot in _CASE_REFERENCE_SLOTS:
        if entities and entities.get(slot):
            return str(entities[slot])
    return None


def build_digest(store: Store, catalog: Catalog, now: datetime) -> Digest:
    groups: dict[str, Group] = {}

    def add(intent: str, reference: str | None, seen: datetime) -> None:
        group = groups.get(intent)
        if group is None:
            known = intent in catalog
            group = groups[intent] = Group(intent, catalog.title(intent) if known else None,
                                           catalog[intent].summary if known else None)
        group.count += 1
        group.references.append(reference)
        if group.oldest is None or seen < group.oldest:
            group.oldest = seen

    entries: list[tuple[datetime, str, str | None]] = []
    with store.session() as s:
        for kind, reference, intent, first_seen in s.execute(
                select(SyncErrorRow.kind, SyncErrorRow.reference, SyncErrorRow.intent, SyncErrorRow.first_seen)
                .where(SyncErrorRow.status == OPEN)):
            entries.append((first_seen, intent, f"{kind} {reference}" if kind else reference))
        for intent, entities, created in s.execute(
                select(CaseRow.intent, CaseRow.entities, CaseRow.created_at).where(CaseRow.status != RESOLVED)):
            entries.append((created, intent, _case_reference(entities)))
    entries.sort(key=lambda e: e[0])  # oldest first, whichever source it came from
    for seen, intent, reference in entries:
        add(intent, reference, seen)
    ordered = sorted(groups.values(), key=lambda g: (-g.count, g.oldest or now))
    return Digest(now, ordered)


def resolve_group(store: Store, intent: str, now: datetime) -> int:
    """"Mark resolved" on a digest group: every open sync error and case with that cause."""
    with store.session() as s:
        n = s.execute(update(SyncErrorRow).where(SyncErrorRow.intent == intent, SyncErrorRow.status == OPEN)
                      .values(status=RESOLVED, resolved_at=now)).rowcount or 0
        n += s.execute(update(CaseRow).where(CaseRow.intent == intent, CaseRow.status != RESOLVED)
                       .values(status=RESOLVED, resolved_at=now, updated_at=now)).rowcount or 0
    return n


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
