"""What the scheduler does on each tick: send due check-ins and the daily digest.

Platform-free: each platform supplies a Notifier. Every decision reads the database and an
explicit `now`, so a tick can run in any process (web or clock), any number of times, and
tests drive it by moving the clock.

What a tick sends it first claims in the database, as a short lease (EVENT_RETRY_AFTER) that
it renews while it works (holding.py): a clock that dies leaves its claims to another within
seconds. Each post carries its identity (Post), and one that may have been posted by an
earlier claim is looked for first and adopted (the Notifier's job). Check-ins go out a
conversation at a time, conversations side by side; a tick waits for its posts at most
`tick_wait` seconds and leaves slower ones running, so a slow, hung or throttled conversation
delays only itself, not the next tick's other conversations.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from functools import partial
from typing import Any, Awaitable, Callable, Protocol

from ..nlu.catalog import Catalog
from ..cases.digest import Digest, build_digest
from ..cases.digest_state import claim_digest, digest_posted, release_digest
from ..cases.followups import DueCheckin, Followups
from ..storage.store import Store
from ..storage.tables import Case, utcnow
from .holding import Holding
from .timerules import BusinessHours, digest_day, zone

log = logging.getLogger(__name__)
RETRY_SEND_AFTER = timedelta(minutes=2)


class Gone(Exception):
    """The conversation no longer exists (or we were removed): do not try again."""


@dataclass(frozen=True)
class Post:
    """What a scheduled post is: `key` names it (it travels with the post: Slack message
    metadata, Teams channelData), and `look` says an earlier claim may have posted it already:
    the Notifier then looks in the conversation (from `since`) and adopts what it finds."""

    key: str
    look: bool = False
    since: datetime | None = None


class Notifier(Protocol):
    platform: str

    async def user_timezone(self, case: Case) -> str | None: ...

    async def send_checkin(self, case: Case, post: Post) -> str: ...

    def digest_targets(self) -> list[str]: ...

    async def send_digest(self, target: str, digest: Digest, post: Post | None = None) -> str: ...


@dataclass
class DigestPlan:
    at: time
    tz: str
    days: frozenset[int]
    all_clear: bool = True


class Clockwork:
    def __init__(self, store: Store, catalog: Catalog, followups: Followups, notifiers: dict[str, Notifier], *,
                 hours: BusinessHours | None = None, digest: DigestPlan | None = None,
                 default_tz: str = "UTC", clock: Callable[[], datetime] = utcnow,
                 sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep, tick_wait: float | None = None,
                 monthly: Any = None) -> None:
        """`sleep`: the pauses it takes (the heartbeat, `tick_wait`), injected by tests;
        `tick_wait`: the longest a tick waits for its posts (None: until they are all done);
        `monthly`: REPORT_MONTHLY's poster (bot/core/schedule/monthly.py), or None."""
        self.store = store
        self.catalog = catalog
        self.followups = followups
        self.notifiers = notifiers
        self.hours = hours
        self.digest = digest
        self.default_tz = default_tz  # when the platform cannot tell us the user's zone
        self.clock = clock
        self.sleep = sleep
        self.tick_wait = tick_wait
        self.monthly = monthly
        self.holding = Holding(store, followups, clock, sleep)
        self._sending: dict[tuple[str, str, str], asyncio.Task[int]] = {}  # each conversation's latest sends
        self._running: set[asyncio.Task[int]] = set()

    async def tick(self) -> dict[str, int]:
        """One round; returns counts (of what went out within the round) for logging and tests."""
        now = self.clock()
        checkins = await self._start_checkins(now)
        digests = await self._start_digests(now)
        await self._finish(checkins + digests)
        done = {"checkins": _done(checkins), "digests": _done(digests)}
        if self.monthly is not None:
            targets = {name: n.digest_targets() for name, n in self.notifiers.items()}
            done["reports"] = await self.monthly.post(now, targets)
        return done

    async def send_checkins(self, now: datetime) -> int:
        checkins = await self._start_checkins(now)
        await self._finish(checkins)
        return _done(checkins)

    async def post_digests(self, now: datetime) -> int:
        digests = await self._start_digests(now)
        await self._finish(digests)
        return _done(digests)

    async def drain(self) -> None:
        """Wait until everything the ticks started has been sent (or failed). Finished tasks are
        dropped by looking at them: done-callbacks may not have run yet (bot/delivery/tasks.py)."""
        while running := [task for task in self._running if not task.done()]:
            await asyncio.wait(running)

    async def close(self) -> None:
        """Stop what is still being sent (its claims run out, and another clock takes them)."""
        for task in list(self._running):
            task.cancel()
        await asyncio.gather(*self._running, return_exceptions=True)
        await self.holding.close()

    def _track(self, task: asyncio.Task[int]) -> asyncio.Task[int]:
        self._running.add(task)
        task.add_done_callback(self._running.discard)
        return task

    async def _finish(self, tasks: list[asyncio.Task[int]]) -> None:
        """Wait for `tasks`, for `tick_wait` at most: slower ones go on in the background."""
        if not tasks:
            return
        everything = asyncio.ensure_future(asyncio.wait(tasks))
        waits = [everything]
        if self.tick_wait is not None:
            waits.append(asyncio.ensure_future(self.sleep(self.tick_wait)))
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        for waiting in waits:
            waiting.cancel()

    # -- check-ins -----------------------------------------------------------------------------

    async def _start_checkins(self, now: datetime) -> list[asyncio.Task[int]]:
        claimed = await asyncio.to_thread(self.followups.claim_due, now)
        conversations: dict[tuple[str, str, str], list[DueCheckin]] = defaultdict(list)
        for due in claimed:
            self.holding.hold_checkin(due.followup_id, due.attempts)
            conversations[(due.case.platform, due.case.workspace, due.case.channel)].append(due)
        tasks = []
        for key, dues in conversations.items():
            task = self._track(asyncio.ensure_future(self._one_conversation(self._sending.get(key), dues, now)))
            self._sending[key] = task
            task.add_done_callback(partial(self._sent_in, key))
            tasks.append(task)
        return tasks

    def _sent_in(self, key: tuple[str, str, str], task: asyncio.Task[int]) -> None:
        if self._sending.get(key) is task:
            del self._sending[key]

    async def _one_conversation(self, before: asyncio.Task[int] | None, dues: list[DueCheckin], now: datetime) -> int:
        """A conversation's check-ins, one at a time, after what an earlier tick still sends there."""
        if before is not None:
            await asyncio.wait([before])
        sent = 0
        for due in dues:
            try:
                if self.holding.holds_checkin(due.followup_id):  # else another clock took it over
                    sent += await self._send_checkin(due, now)
            finally:
                self.holding.release_checkin(due.followup_id)
        return sent

    async def _send_checkin(self, due: DueCheckin, now: datetime) -> int:
        notifier = self.notifiers.get(due.case.platform)
        if notifier is None:
            await asyncio.to_thread(self.followups.postpone, due.followup_id, now + timedelta(hours=1))
            return 0
        try:
            if self.hours is not None:
                tz = due.case.user_tz or await notifier.user_timezone(due.case)
                if tz and tz != due.case.user_tz:
                    await asyncio.to_thread(self.store.set_user_tz, due.case.id, tz)
                opens = self.hours.next_open(now, zone(tz, self.default_tz))
                if opens > now:
                    await asyncio.to_thread(self.followups.postpone, due.followup_id, opens)
                    return 0
            ref = await notifier.send_checkin(due.case, Post(f"checkin:{due.followup_id}", due.again,
                                                             due.case.created_at))
        except Gone:
            log.info("conversation for case %s is gone; no more check-ins", due.case.id)
            await asyncio.to_thread(self.followups.give_up, due.followup_id)
            return 0
        except Exception:  # noqa: BLE001 - try again later; attempts are capped
            log.exception("sending a check-in failed; will retry")
            await asyncio.to_thread(self.followups.postpone, due.followup_id, now + RETRY_SEND_AFTER)
            return 0
        await asyncio.to_thread(self.followups.sent, due.followup_id, ref, self.clock())
        return 1

    # -- the digest ----------------------------------------------------------------------------

    async def _start_digests(self, now: datetime) -> list[asyncio.Task[int]]:
        plan = self.digest
        if plan is None:
            return []
        day = digest_day(now, plan.at, zone(plan.tz), plan.days)
        if day is None:
            return []
        return [self._track(asyncio.ensure_future(self._post_digest(notifier, target, day, now, plan)))
                for notifier in self.notifiers.values() for target in notifier.digest_targets()]

    async def _post_digest(self, notifier: Notifier, target: str, day: str, now: datetime, plan: DigestPlan) -> int:
        claim = await asyncio.to_thread(claim_digest, self.store, day, target, now, self.followups.claim_lease)
        if not claim:
            return 0
        self.holding.hold_digest(day, target)
        posted = 0
        try:
            digest = await asyncio.to_thread(build_digest, self.store, self.catalog, now)
            if digest.total or plan.all_clear:
                await notifier.send_digest(target, digest, Post(f"digest:{day}:{target}", claim.again,
                                                                now - timedelta(days=1)))
                posted = 1
        except Gone:
            log.warning("digest target %s is gone", target)
        except Exception:  # noqa: BLE001
            log.exception("posting the digest to %s failed; will retry", target)
            await asyncio.to_thread(release_digest, self.store, day, target)
            return 0
        finally:
            self.holding.release_digest(day, target)
        await asyncio.to_thread(digest_posted, self.store, day, target, self.clock())
        return posted


def _done(tasks: list[asyncio.Task[int]]) -> int:
    """What the finished ones sent."""
    return sum(t.result() for t in tasks if t.done() and not t.cancelled() and t.exception() is None)


def start_scheduler(tick: Callable[[], Any], interval_seconds: float) -> Any:
    """APScheduler in the running asyncio loop, ticking every `interval_seconds`.

    Misfire grace and coalescing are set explicitly: APScheduler's defaults drop a run that
    starts a second late. A late tick is still run (once, however many were missed); the
    database decides what is due, so nothing is lost or repeated either way.
    """
    from apscheduler.schedulers.asyncio import AsyncIOScheduler
    from apscheduler.triggers.interval import IntervalTrigger

    async def round_() -> Any:
        try:
            return await tick()
        except asyncio.CancelledError:
            # Shutdown stopped a round mid-way: nothing is lost (its claims run out and are
            # taken over), and APScheduler would log it as a failed job with a traceback.
            log.info("a scheduler round was stopped by shutdown; what it held is taken over")
            return None

    scheduler = AsyncIOScheduler(job_defaults={"coalesce": True, "misfire_grace_time": None, "max_instances": 1})
    scheduler.add_job(round_, IntervalTrigger(seconds=interval_seconds), id="syncmedic_tick",
                      next_run_time=datetime.now().astimezone())
    scheduler.start()
    return scheduler
