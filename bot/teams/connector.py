"""Sending to Teams through the SDK's connector client: retries for throttling, and "gone".

Teams answers 429 (and now and then 412, 502 or 504) when it wants the bot to slow down:
those are retried with exponential backoff, honouring Retry-After, a bounded number of
times; then the caller gives up for now (the scheduler postpones a check-in). 403 and 404
mean the conversation is no longer there for the bot (removed from the team, chat deleted):
never retried.
"""

from __future__ import annotations

import asyncio
import logging
import random
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any, Awaitable, Callable, TypeVar

from aiohttp import ClientResponseError

log = logging.getLogger(__name__)
T = TypeVar("T")
THROTTLED = frozenset({412, 429, 502, 504})
GONE = frozenset({403, 404})


class ConversationGone(Exception):
    """Teams said 403/404 for this conversation."""

    def __init__(self, status: int) -> None:
        super().__init__(f"Teams answered {status}")
        self.status = status


class TooLarge(Exception):
    """Teams answered 413: the message is over its size limit (never retried as it is)."""


@dataclass
class Backoff:
    attempts: int = 4              # tries in all, the first included
    base: float = 1.0              # first wait without Retry-After; doubles each time
    cap: float = 16.0              # longest wait we choose ourselves
    max_retry_after: float = 60.0  # a longer Retry-After is not worth holding a request for
    attempt_timeout: float = 30.0
    sleep: Callable[[float], Awaitable[Any]] = field(default=asyncio.sleep)

    def delay(self, attempt: int, headers: Any) -> float:
        told = retry_after(headers)
        if told is not None:
            return min(told, self.max_retry_after)
        return random.uniform(0.5, 1.0) * min(self.cap, self.base * 2 ** (attempt - 1))


def retry_after(headers: Any) -> float | None:
    """Retry-After in seconds (delta-seconds or an HTTP date), or None."""
    value = (headers or {}).get("Retry-After") if headers is not None else None
    if not value:
        return None
    value = str(value).strip()
    if value.replace(".", "", 1).isdigit():
        return max(0.0, float(value))
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())


async def with_retries(call: Callable[[], Awaitable[T]], backoff: Backoff, what: str = "send") -> T:
    """Run `call` (one connector request); retry throttling, turn 403/404 into ConversationGone."""
    attempt = 0
    while True:
        attempt += 1
        try:
            return await asyncio.wait_for(call(), backoff.attempt_timeout)
        except ClientResponseError as exc:
            if exc.status in GONE:
                raise ConversationGone(exc.status) from None
            if exc.status == 413:
                raise TooLarge(f"Teams refused a {what} as too large") from None
            if exc.status not in THROTTLED or attempt >= backoff.attempts:
                raise
            wait = backoff.delay(attempt, exc.headers)
            log.warning("Teams throttled a %s (%s); retry %d of %d in %.1f s", what, exc.status, attempt,
                        backoff.attempts - 1, wait)
            await backoff.sleep(wait)
