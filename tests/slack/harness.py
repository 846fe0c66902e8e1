"""The Slack bot under test: the real aiohttp + bolt app on 127.0.0.1, talking to the Web API
stand-in (tests/standins/slack.py), and a client that sends it what Slack sends, signed
(tests/standins/slack_payloads.py). tests/slack and tests/scheduling both start the bot here.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from aiohttp import ClientResponse, ClientSession, web
from sqlalchemy import text as sql_text

from bot.app import SERVICES_KEY, Services, create_app
from bot.core.storage.store import Store
from bot.settings import Settings
from bot.slack.clients import make_client
from tests.standins import slack_payloads as slack
from tests.standins.slack import SlackWebApi
# The workspace and event shapes, here for the Slack tests' imports.
from tests.standins.slack_payloads import (ALICE, BOB, BOT_ID, BOT_TOKEN, BOT_USER, CHANNEL, DM,  # noqa: F401
                                           SIGNING_SECRET, TEAM, Signed, dm_event, elements, fresh_ts,
                                           mention_event, message_event)
from tests.support import ServedApps, strings


def all_text(body: dict[str, Any]) -> str:
    """Everything a posted message would show: its text and every string in its blocks."""
    return "\n".join(strings({"text": body.get("text"), "blocks": body.get("blocks"), "view": body.get("view")}))


class BotClient:
    """Sends Slack-shaped, signed requests to the running app; `stub` is its Slack Web API."""

    def __init__(self, base: str, services: Services, stub: SlackWebApi, session: ClientSession) -> None:
        self.base = base
        self.services = services
        self.stub = stub
        self.session = session

    @property
    def store(self) -> Store:
        return self.services.store

    async def drain(self, timeout: float = 30) -> None:
        """Wait for the bot's background work; a bot that never finishes fails the test, not the suite."""
        await asyncio.wait_for(self.services.slack.drain(), timeout)

    # -- requests -------------------------------------------------------------------------------

    async def send(self, request: Signed, path: str = "/slack/events") -> tuple[int, str]:
        async with self.session.post(self.base + path, data=request.body.encode("utf-8"),
                                     headers=request.headers) as resp:
            return resp.status, await resp.text()

    async def post(self, path: str, body: str, content_type: str, **signing: Any) -> tuple[int, str]:
        """A raw body, signed (see slack_payloads.signed for `signing`)."""
        return await self.send(slack.signed(body, content_type, **signing), path)

    async def get(self, path: str) -> ClientResponse:
        return await self.session.get(self.base + path)

    async def event(self, event: dict[str, Any], **delivery: Any) -> tuple[int, str]:
        """Deliver `event` through the Events API (see slack_payloads.event_request)."""
        return await self.send(slack.event_request(event, **delivery))

    async def command(self, text: str, *, response_url: str | None = None, **fields: Any) -> tuple[int, str]:
        url = response_url or f"{self.stub.base}/response/{fresh_ts().replace('.', '')}"
        return await self.send(slack.command_request(text, response_url=url, **fields))

    async def interact(self, payload: dict[str, Any]) -> tuple[int, str]:
        return await self.send(slack.interaction_request(payload))

    async def shortcut(self, message: dict[str, Any], channel: str, user: str = ALICE) -> tuple[int, str]:
        return await self.interact(slack.shortcut(message, channel, user=user,
                                                  response_url=f"{self.stub.base}/response/shortcut"))

    def seen(self, ts: str) -> dict[str, Any]:
        return self.stub.seen(ts)

    async def click(self, ts: str, action_id: str, user: str = ALICE, *, value: str | None = None,
                    message: dict[str, Any] | None = None) -> tuple[int, str]:
        """Click the button `action_id` on the bot's message `ts` (or on an earlier `seen` copy
        of it), with the value the button carries."""
        return await self.interact(slack.click(message or self.seen(ts), action_id, value=value, user=user,
                                               response_url=f"{self.stub.base}/response/click"))

    async def pick(self, ts: str, intent: str, user: str = ALICE, *,
                   message: dict[str, Any] | None = None) -> tuple[int, str]:
        """Choose `intent` in the static_select menu on the bot's message `ts`."""
        return await self.interact(slack.pick(message or self.seen(ts), intent, user=user,
                                              response_url=f"{self.stub.base}/response/click"))

    async def menu(self, ts: str, option_value: str, user: str = ALICE, *,
                   message: dict[str, Any] | None = None) -> tuple[int, str]:
        """Pick the option `option_value` in an overflow ("⋯") menu on the bot's message `ts`."""
        return await self.interact(slack.overflow(message or self.seen(ts), option_value, user=user,
                                                  response_url=f"{self.stub.base}/response/click"))

    # -- database ------------------------------------------------------------------------------

    def sql(self, query: str, **params: Any) -> list[tuple]:
        with self.store.engine.connect() as conn:
            return [tuple(r) for r in conn.execute(sql_text(query), params)]

    def events(self) -> list[dict[str, Any]]:
        rows = self.sql("SELECT channel, message, kind, status, attempts, payload FROM events ORDER BY id")
        return [{"channel": c, "message": m, "kind": k, "status": s, "attempts": a,
                 "payload": json.loads(p) if isinstance(p, str) else p} for c, m, k, s, a, p in rows]


def services_of(app: web.Application) -> Services:
    return app[SERVICES_KEY]


async def start_slack_bot(served: ServedApps, core: Any, data_dir: Path, database_url: str, *,
                          standin: SlackWebApi | None = None, clock: Any = None, retry_sleep: Any = None,
                          server: dict[str, Any] | None = None, client: type[BotClient] = BotClient,
                          **env: str | None) -> Any:
    """A fresh Web API stand-in (unless one is given) and the app in HTTP mode on `database_url`,
    served until `served` closes; returns `client` for it. `env` adds settings (None removes a
    default); `clock` is injected into the store and the app; `retry_sleep` replaces the pause
    slack_sdk's retry handlers take (bot/slack/clients.py); `server` are AppRunner options."""
    if standin is None:
        standin = SlackWebApi()
        await standin.start()
        served.on_close(standin.stop)
    values = {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET,
              "SLACK_API_BASE_URL": standin.api_url, "SYNCMEDIC_DATA_DIR": str(data_dir),
              "DATABASE_URL": database_url, "MODEL_STALE": "refuse", "LOG_LEVEL": "INFO"}
    values.update(env)
    settings = Settings.from_env({k: v for k, v in values.items() if v is not None})
    timed: dict[str, Any] = {} if clock is None else {"clock": clock}
    store = Store.from_url(settings.database_url, **timed)
    slack_client = None
    if retry_sleep is not None:
        slack_client = make_client(settings.slack_bot_token, settings.slack_api_base_url, sleep=retry_sleep)
    app = create_app(settings, core, store, background=False, slack_client=slack_client, **timed)
    base = await served.serve(app, store, **(server or {}))
    return client(base, services_of(app), standin, served.session)
