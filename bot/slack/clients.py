"""Slack Web API clients: a deadline on every call, retries that never double-post, and one
client per workspace."""

from __future__ import annotations

import asyncio
import logging
import random
from typing import Any, Protocol

from aiohttp import ClientConnectorError, ClientSession, ClientTimeout
from slack_sdk.http_retry.builtin_async_handlers import (AsyncConnectionErrorRetryHandler,
                                                         AsyncRateLimitErrorRetryHandler)
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.web.async_client import AsyncWebClient

from ..delivery.timers import Sleep

# The longest Retry-After honoured as given: Slack asks for seconds; a minute-long pause would
# hold the conversation's later messages for that long (and a bad header, for ever).
RETRY_AFTER_CAP_S = 30.0
DEFAULT_DEADLINE_S = 10.0   # OUTBOUND_DEADLINE's default (bot/settings.py)


class RateLimitRetry(AsyncRateLimitErrorRetryHandler):
    """slack_sdk's 429 handler, waiting through an injected `sleep` (slack_sdk's own calls
    asyncio.sleep, so a test of throttling would wait out every Retry-After in real time).
    Like slack_sdk's: Retry-After seconds plus up to one second of jitter, but capped at
    RETRY_AFTER_CAP_S. The wait happens inside the call, so it holds only the task making it:
    for replies, that conversation's lane (bot/delivery/lanes.py), never the others."""

    def __init__(self, max_retry_count: int, sleep: Sleep = asyncio.sleep) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self.sleep = sleep

    async def prepare_for_next_attempt_async(self, *, state: RetryState, request: HttpRequest,
                                             response: HttpResponse | None = None,
                                             error: Exception | None = None) -> None:
        if response is None:
            raise error  # type: ignore[misc]  # as slack_sdk's handler does
        state.next_attempt_requested = True
        told = next((values for name, values in response.headers.items() if name.lower() == "retry-after"), None)
        try:
            wait = float(told[0]) if told else 1.0
        except ValueError:
            wait = 1.0
        await self.sleep(min(max(wait, 0.0), RETRY_AFTER_CAP_S) + random.random())
        state.increment_current_attempt()


def retry_handlers(sleep: Sleep = asyncio.sleep) -> list:
    """429s are retried after Retry-After (Slack did not act on the call). Connection errors are
    retried only when the connection was never made: a request that may have reached Slack is
    not sent again, so a message is never posted twice."""
    return [
        # A busy channel's posts queue in its lane (bot/delivery/lanes.py), each refused a few
        # times over: waiting there holds nobody else.
        RateLimitRetry(max_retry_count=10, sleep=sleep),
        AsyncConnectionErrorRetryHandler(max_retry_count=2, error_types=[ClientConnectorError]),
    ]


# slack_sdk checks its logger's own level, not the effective one, before formatting a DEBUG
# line with the whole request (payload included) on every call; a logger left at NOTSET counts
# as DEBUG there, so each reply paid for formatting a line nobody logs.
SDK_LOGGERS = ("slack_sdk.web.async_base_client", "slack_sdk.webhook.async_client")


def set_sdk_log_level(level: int) -> None:
    """Give slack_sdk's loggers the app's level, set on the logger itself (see above)."""
    for name in SDK_LOGGERS:
        logging.getLogger(name).setLevel(max(level, logging.DEBUG))


def make_client(token: str | None, base_url: str, session: Any = None, sleep: Sleep = asyncio.sleep,
                deadline: float = DEFAULT_DEADLINE_S) -> AsyncWebClient:
    """A Web API client with our retry handlers; `sleep` is their pause between tries. slack_sdk
    applies `timeout` only to the session it makes itself when given none: a shared `session`
    must carry the deadline (web_session)."""
    return AsyncWebClient(token=token, base_url=base_url, retry_handlers=retry_handlers(sleep), timeout=int(deadline),
                          session=session)


def web_session(deadline: float) -> ClientSession:
    """The connection pool every Web API call shares, with OUTBOUND_DEADLINE as each request's
    total time (aiohttp's own default is five minutes, which slack_sdk does not override for a
    session it is given: one hung call then held its caller for 300 s)."""
    return ClientSession(timeout=ClientTimeout(total=deadline))


class ClientProvider(Protocol):
    async def for_team(self, team: str) -> tuple[AsyncWebClient, str]: ...


class SingleWorkspace:
    def __init__(self, client: AsyncWebClient) -> None:
        self.client = client

    async def for_team(self, team: str) -> tuple[AsyncWebClient, str]:
        return self.client, self.client.token or ""


class Installations:
    """Multi-workspace: the bot token of each installed workspace, from the installation store."""

    def __init__(self, store: AsyncInstallationStore, base_url: str, deadline: float = DEFAULT_DEADLINE_S) -> None:
        self.store = store
        self.base_url = base_url
        self.deadline = deadline
        self.session = None  # a shared aiohttp session, set when the server starts
        self._clients: dict[str, AsyncWebClient] = {}
        self._lock = asyncio.Lock()

    async def for_team(self, team: str) -> tuple[AsyncWebClient, str]:
        bot = await self.store.async_find_bot(enterprise_id=None, team_id=team)
        if bot is None or not bot.bot_token:
            raise LookupError(f"workspace {team} has no installation")
        async with self._lock:
            client = self._clients.get(team)
            if client is None or client.token != bot.bot_token:
                client = self._clients[team] = make_client(bot.bot_token, self.base_url, self.session,
                                                           deadline=self.deadline)
        return client, bot.bot_token
