"""Helpers for the scheduling tests: an injected clock, cases, a recording Notifier, and a
local stand-in for Slack's Web API (in the test's event loop or in a background thread)."""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlencode

from aiohttp import web
from slack_sdk.signature import SignatureVerifier

from bot.core.cases.digest import Digest
from bot.core.storage.store import Store
from bot.core.storage.tables import Case
from bot.sandbox.slack_api import web_api_arguments
from tests.support import LoopbackServer, PostedMessages

BOT_TOKEN = "xoxb-sched-test"
SIGNING_SECRET = "sched-signing-secret"
TEAM = "T0SCHED01"
BOT_USER = "UBOTSCHED"
BOT_ID = "BBOTSCHED"
USER = "U0ALICE01"
CHANNEL = "C0GENERAL"
DIGEST_CHANNEL = "C0DIGEST1"
BILL_TEXT = 'Error: Bill "BILL-7731" has not been exported to QuickBooks'

# A Monday, 09:00 in New York (EST, UTC-5).
MONDAY_9_NY = datetime(2026, 3, 2, 14, 0, tzinfo=timezone.utc)


class Clock:
    """The injected clock: tests move `now`, nobody sleeps."""

    def __init__(self, now: datetime = MONDAY_9_NY) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> datetime:
        self.now = self.now + delta
        return self.now

    def set(self, moment: datetime) -> datetime:
        self.now = moment
        return moment


_thread_ts = itertools.count(1)


def open_case(store: Store, **overrides: Any) -> Case:
    n = next(_thread_ts)
    args = dict(platform="slack", workspace=TEAM, channel=CHANNEL, thread=f"1770000000.{n:06d}",
                message=f"1770000000.{n:06d}", user=USER, intent="bill_not_exported", confidence=0.9,
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
        self.digests: list[tuple[str, Digest]] = []   # (target, digest) per successful send
        self.digest_attempts = 0
        self.tz_calls: list[str] = []
        self.checkin_errors: list[BaseException] = []
        self.digest_errors: list[BaseException] = []

    async def user_timezone(self, case: Case) -> str | None:
        self.tz_calls.append(case.id)
        return self.tz

    async def send_checkin(self, case: Case) -> str:
        self.checkin_attempts.append(case.id)
        if self.checkin_errors:
            raise self.checkin_errors.pop(0)
        self.checkins.append(case.id)
        return f"1770000001.{len(self.checkins):06d}"

    def digest_targets(self) -> list[str]:
        return list(self.targets)

    async def send_digest(self, target: str, digest: Digest) -> str:
        self.digest_attempts += 1
        if self.digest_errors:
            raise self.digest_errors.pop(0)
        self.digests.append((target, digest))
        return f"1770000002.{len(self.digests):06d}"


# -- a stand-in for Slack's Web API ---------------------------------------------------------------

@dataclass
class Call:
    method: str
    body: dict[str, Any]
    http_method: str
    at: float
    ok: bool = True
    token: str = ""


class SlackStandIn(LoopbackServer):
    """Serves /api/{method} like Slack: GET (query) and POST (JSON or form) bodies, records every
    call, remembers posted messages (so a test can click their buttons), answers users.info with
    `tz`. `delay` slows chat.postMessage down, to keep several senders busy at the same time."""

    def __init__(self, tz: str | None = "America/New_York", delay: float = 0.0,
                 tokens: tuple[str, ...] = (BOT_TOKEN,)) -> None:
        self.tz = tz
        self.delay = delay
        self.tokens = tokens
        self.calls: list[Call] = []
        self.messages = PostedMessages()
        self.failures: dict[str, list[str]] = {}
        self.base = ""
        self._runner: web.AppRunner | None = None
        self._ts = itertools.count(1)
        self._lock = threading.Lock()

    # control and queries
    def fail(self, method: str, error: str, times: int = 1) -> None:
        self.failures.setdefault(method, []).extend([error] * times)

    @property
    def api_url(self) -> str:
        return f"{self.base}/api/"

    def bodies(self, method: str) -> list[dict[str, Any]]:
        """Bodies of the calls to `method` that were answered ok (what Slack would have done)."""
        with self._lock:
            return [c.body for c in self.calls if c.method == method and c.ok]

    def attempts(self, method: str) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.method == method]

    def posts(self) -> list[dict[str, Any]]:
        return self.bodies("chat.postMessage")

    def _with_event(self, event_type: str) -> list[dict[str, Any]]:
        return [b for b in self.posts() if (b.get("metadata") or {}).get("event_type") == event_type]

    def diagnoses(self) -> list[dict[str, Any]]:
        return self._with_event("sync_diagnosis")

    def checkins(self) -> list[dict[str, Any]]:
        return self._with_event("sync_checkin")

    def checkin_calls(self) -> list[Call]:
        return [c for c in self.attempts("chat.postMessage")
                if c.ok and (c.body.get("metadata") or {}).get("event_type") == "sync_checkin"]

    def posts_to(self, channel: str) -> list[dict[str, Any]]:
        return [b for b in self.posts() if b.get("channel") == channel]

    # server
    def _app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._api)
        return app

    async def start(self) -> None:
        await self.serve(self._app())


    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        body = await web_api_arguments(request)
        if method == "chat.postMessage" and self.delay:
            await asyncio.sleep(self.delay)
        with self._lock:
            queued = self.failures.get(method)
            token = request.headers.get("Authorization", "").removeprefix("Bearer ")
            if queued:
                data = {"ok": False, "error": queued.pop(0)}
            elif token not in self.tokens:
                data = {"ok": False, "error": "invalid_auth"}
            else:
                data = self._answer(method, body)
            self.calls.append(Call(method, body, request.method, time.time(), bool(data.get("ok")), token))
            return web.json_response(data)

    def _answer(self, method: str, body: dict[str, Any]) -> dict[str, Any]:
        if method == "auth.test":
            return {"ok": True, "url": "https://acme.slack.com/", "team": "Acme", "user": "syncmedic",
                    "team_id": TEAM, "user_id": BOT_USER, "bot_id": BOT_ID, "is_enterprise_install": False}
        if method == "users.info":
            return {"ok": True, "user": {"id": body.get("user"), "tz": self.tz}}
        if method == "chat.postMessage":
            n = next(self._ts)
            ts = f"1780000000.{n:06d}"
            message = self.messages.post(body, ts, user=BOT_USER, bot_id=BOT_ID, team=TEAM)
            return {"ok": True, "channel": body.get("channel"), "ts": ts, "message": message}
        if method == "chat.update":
            self.messages.update(body)
            return {"ok": True, "channel": body.get("channel"), "ts": body.get("ts"), "text": body.get("text", "")}
        if method == "chat.getPermalink":
            return {"ok": True, "permalink": "https://acme.slack.com/archives/x/p1"}
        return {"ok": True}


class ThreadedStandIn:
    """The stand-in on its own event loop in a background thread, for subprocess tests."""

    def __init__(self, **options: Any) -> None:
        self.standin = SlackStandIn(**options)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    def __enter__(self) -> SlackStandIn:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self.standin.start(), self._loop).result(timeout=10)
        return self.standin

    def __exit__(self, *exc: Any) -> None:
        asyncio.run_coroutine_threadsafe(self.standin.stop(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()


# -- signed requests to the app, the way Slack sends them ----------------------------------------

_event_ids = itertools.count(1)


def signed_headers(body: str, content_type: str) -> dict[str, str]:
    ts = str(int(time.time()))
    sig = SignatureVerifier(SIGNING_SECRET).generate_signature(timestamp=ts, body=body)
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": sig, "Content-Type": content_type}


def mention_body(text: str, ts: str, channel: str = CHANNEL, user: str = USER) -> str:
    event = {"type": "app_mention", "user": user, "text": f"<@{BOT_USER}> {text}", "ts": ts, "team": TEAM,
             "channel": channel, "event_ts": ts}
    return json.dumps({"token": "x", "team_id": TEAM, "api_app_id": "A0APP", "type": "event_callback",
                       "event_id": f"Ev{next(_event_ids):010d}", "event_time": int(time.time()), "event": event,
                       "authorizations": [{"team_id": TEAM, "user_id": BOT_USER, "is_bot": True}]})


def elements(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    found = []
    for block in blocks or []:
        found += [e for e in block.get("elements", []) if isinstance(e, dict) and "action_id" in e]
    return found


def button(message: dict[str, Any], action_id: str, value: str | None = None) -> tuple[dict[str, Any], str]:
    """(button, block_id) of the button `action_id` (with `value`, when several share an id)."""
    for block in message.get("blocks") or []:
        for e in block.get("elements", []) or []:
            if isinstance(e, dict) and e.get("action_id") == action_id and (value is None or e.get("value") == value):
                return e, block.get("block_id", "")
    raise AssertionError(f"no {action_id} button ({value}) in {json.dumps(message.get('blocks'))[:400]}")


def click_body(message: dict[str, Any], action_id: str, value: str | None = None, user: str = USER) -> str:
    """A signed-ready block_actions body for a click on `action_id` in the stand-in's `message`."""
    found, block_id = button(message, action_id, value)
    slack_message = {k: v for k, v in message.items() if k != "channel"}
    payload = {"type": "block_actions", "api_app_id": "A0APP", "token": "x",
               "team": {"id": TEAM, "domain": "acme"}, "user": {"id": user, "name": "alice", "team_id": TEAM},
               "container": {"type": "message", "message_ts": message["ts"], "channel_id": message["channel"],
                             "is_ephemeral": False},
               "channel": {"id": message["channel"], "name": "general"}, "message": slack_message,
               "trigger_id": "1.2.abc", "response_url": "http://127.0.0.1:9/response",
               "actions": [{"action_id": action_id, "block_id": block_id, "type": "button", "text": found["text"],
                            "value": found.get("value", ""), "action_ts": f"{time.time():.6f}"}]}
    return urlencode({"payload": json.dumps(payload)})
