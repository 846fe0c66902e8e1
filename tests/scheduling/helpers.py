"""Helpers for the scheduling tests: cases, and a recording Notifier. The clock is
tests.support.Clock; Slack is tests/standins/slack.py."""

from __future__ import annotations

import itertools
from datetime import datetime, timezone
from typing import Any

from bot.core.cases.digest import Digest
from bot.core.schedule.clockwork import Post
from bot.core.storage.store import Store
from bot.core.storage.tables import Case
from tests.standins.slack_payloads import ALICE, CHANNEL, TEAM

DIGEST_CHANNEL = "C0DIGEST1"
BILL_TEXT = 'Error: Bill "BILL-7731" has not been exported to QuickBooks'

# A Monday, 09:00 in New York (EST, UTC-5).
MONDAY_9_NY = datetime(2026, 3, 2, 14, 0, tzinfo=timezone.utc)


_thread_ts = itertools.count(1)


def open_case(store: Store, **overrides: Any) -> Case:
    n = next(_thread_ts)
    args = dict(platform="slack", workspace=TEAM, channel=CHANNEL, thread=f"1770000000.{n:06d}",
                message=f"1770000000.{n:06d}", user=ALICE, intent="bill_not_exported", confidence=0.9,
                entities={"bill": f"BILL-{7000 + n}"}, question=BILL_TEXT)
    args.update(overrides)
    return store.open_case(**args)


# -- a Notifier that records what it is asked to do -------------------------------------------

class FakeNotifier:
    """The Notifier protocol in memory. Queue exceptions in `checkin_errors` / `digest_errors`
    to make the next sends fail (Gone, or anything else)."""

    platform = "slack"

    def __init__(self, tz: str | None = None, targets: tuple[str, ...] = ("slack::C0DIGEST1",)) -> None:
        self.tz = tz
        self.targets = targets
        self.checkins: list[str] = []                 # case ids, one per successful send
        self.checkin_attempts: list[str] = []         # case ids, every call
        self.posts: list[Post | None] = []            # what each call was told (its identity, look or not)
        self.digests: list[tuple[str, Digest]] = []   # (target, digest) per successful send
        self.digest_attempts = 0
        self.tz_calls: list[str] = []
        self.checkin_errors: list[BaseException] = []
        self.digest_errors: list[BaseException] = []

    async def user_timezone(self, case: Case) -> str | None:
        self.tz_calls.append(case.id)
        return self.tz

    async def send_checkin(self, case: Case, post: Post | None = None) -> str:
        self.checkin_attempts.append(case.id)
        self.posts.append(post)
        if self.checkin_errors:
            raise self.checkin_errors.pop(0)
        self.checkins.append(case.id)
        return f"1770000001.{len(self.checkins):06d}"

    def digest_targets(self) -> list[str]:
        return list(self.targets)

    async def send_digest(self, target: str, digest: Digest, post: Post | None = None) -> str:
        self.digest_attempts += 1
        self.posts.append(post)
        if self.digest_errors:
            raise self.digest_errors.pop(0)
        self.digests.append((target, digest))
        return f"1770000002.{len(self.digests):06d}"
