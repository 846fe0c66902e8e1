"""End-to-end harness for the Slack bot: a stand-in for Slack's Web API and a client that
talks to the real aiohttp + bolt app the way Slack does (signed requests, real payload shapes).

Everything goes over real HTTP on 127.0.0.1:
- `SlackStub` serves /api/{method} (what the bot calls), /files/{id} (url_private_download,
  which insists on the bot token) and /response/{id} (slash-command response_url). It records
  every attempt, parsed body included, and can be told to fail a method N times.
- `BotClient` posts signed Events API / slash command / interactivity requests to the app.
"""

from __future__ import annotations

import asyncio
import copy
import itertools
import json
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from aiohttp import ClientResponse, ClientSession, web
from slack_sdk.signature import SignatureVerifier
from sqlalchemy import text as sql_text

from bot.app import SERVICES_KEY, Services
from bot.sandbox.slack_api import web_api_arguments
from bot.core.storage.store import Store
from tests.support import LoopbackServer, PostedMessages, strings

BOT_TOKEN = "xoxb-test-token"
SIGNING_SECRET = "test-signing-secret"
TEAM = "T0TEAM1"
BOT_USER = "UBOT0001"
BOT_ID = "B0BOT001"
APP_ID = "A0APP001"

_ts_counter = itertools.count(1)

def fresh_ts() -> str:
    """A Slack-style message ts, unique within the test session."""
    n = next(_ts_counter)
    return f"{1715000000 + n}.{n:06d}"

def all_text(body: dict[str, Any]) -> str:
    """Everything a posted message would show: its text and every string in its blocks."""
    return "\n".join(strings({"text": body.get("text"), "blocks": body.get("blocks"), "view": body.get("view")}))

def elements(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every interactive element (buttons, menus) in a list of blocks."""
    found = []
    for block in blocks or []:
        found += [e for e in block.get("elements", []) if isinstance(e, dict) and "action_id" in e]
        if isinstance(block.get("accessory"), dict) and "action_id" in block["accessory"]:
            found.append(block["accessory"])
    return found

@dataclass
class Call:
    method: str
    body: dict[str, Any]
    status: int          # the HTTP status the stub answered with
    ok: bool             # the "ok" field of the answer
    error: str = ""
    authorization: str = ""
    response: dict[str, Any] = field(default_factory=dict)

class SlackStub(LoopbackServer):
    """A local Slack Web API. Tell it to fail with `fail()` / `rate_limit()`."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.file_requests: list[tuple[str, str]] = []       # (file id, Authorization header)
        self.webhook_posts: list[dict[str, Any]] = []        # bodies sent to a response_url
        self.webhook_paths: list[str] = []                   # ...and which response_url each went to
        self.outside: set[str] = set()                       # channels the bot is not a member of
        self.files: dict[str, tuple[dict[str, Any], bytes]] = {}
        self._overrides: dict[str, list[tuple[int, dict[str, Any], dict[str, str]]]] = {}
        self.messages = PostedMessages()                      # ts -> the message as Slack stores it
        self.base = ""
        self._runner: web.AppRunner | None = None

    # -- control ---------------------------------------------------------------------------

    def fail(self, method: str, error: str, times: int = 1) -> None:
        """Answer `method` with {"ok": false, "error": error} the next `times` calls."""
        self._overrides.setdefault(method, []).extend([(200, {"ok": False, "error": error}, {})] * times)

    def rate_limit(self, method: str, times: int = 1, retry_after: int = 1) -> None:
        self._overrides.setdefault(method, []).extend(
            [(429, {"ok": False, "error": "ratelimited"}, {"Retry-After": str(retry_after)})] * times)

    def add_file(self, file_id: str, content: bytes, **info: Any) -> None:
        base = {"id": file_id, "name": f"{file_id}.txt", "title": f"{file_id}.txt", "mimetype": "text/plain",
                "filetype": "text", "pretty_type": "Plain Text", "mode": "snippet", "size": len(content),
                "url_private": f"{self.base}/files/{file_id}", "url_private_download": f"{self.base}/files/{file_id}",
                "user": "U0ALICE01", "is_public": True}
        base.update(info)
        self.files[file_id] = (base, content)

    # -- queries ---------------------------------------------------------------------------

    def accepted(self, method: str) -> list[dict[str, Any]]:
        """Bodies of the calls to `method` the stub answered with ok: true."""
        return [c.body for c in self.calls if c.method == method and c.ok]

    def attempts(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    def posts(self) -> list[dict[str, Any]]:
        return self.accepted("chat.postMessage")

    def writes(self) -> list[Call]:
        """Every call that would change something a person sees."""
        return [c for c in self.calls if c.method in ("chat.postMessage", "chat.update", "chat.postEphemeral",
                                                       "views.publish", "chat.delete")]

    # -- server ----------------------------------------------------------------------------

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_get("/files/{file_id}", self._file)
        app.router.add_post("/response/{hook}", self._webhook)
        await self.serve(app)

    @property
    def api_url(self) -> str:
        return f"{self.base}/api/"

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        body = await web_api_arguments(request)
        auth = request.headers.get("Authorization", "")
        queued = self._overrides.get(method)
        if queued:
            status, data, headers = queued.pop(0)
        elif method in ("chat.postMessage", "chat.update", "chat.postEphemeral") and body.get("channel") in self.outside:
            status, data, headers = 200, {"ok": False, "error": "not_in_channel"}, {}
        elif auth != f"Bearer {BOT_TOKEN}":
            status, data, headers = 200, {"ok": False, "error": "invalid_auth"}, {}
        else:
            status, data, headers = 200, self._answer(method, body), {}
        self.calls.append(Call(method, body, status, bool(data.get("ok")), data.get("error", ""), auth, data))
        return web.json_response(data, status=status, headers=headers)

    def _answer(self, method: str, body: dict[str, Any]) -> dict[str, Any]:
        if method == "auth.test":
            return {"ok": True, "url": "https://acme.slack.com/", "team": "Acme", "user": "syncmedic",
                    "team_id": TEAM, "user_id": BOT_USER, "bot_id": BOT_ID, "is_enterprise_install": False}
        if method == "chat.postMessage":
            ts = fresh_ts()
            message = self.messages.post(body, ts, subtype="bot_message", user=BOT_USER, bot_id=BOT_ID,
                                         app_id=APP_ID, team=TEAM)
            return {"ok": True, "channel": body.get("channel"), "ts": ts, "message": message}
        if method == "chat.update":
            self.messages.update(body)
            return {"ok": True, "channel": body.get("channel"), "ts": body.get("ts"), "text": body.get("text", ""),
                    "message": {"text": body.get("text", ""), "user": BOT_USER, "bot_id": BOT_ID}}
        if method == "chat.getPermalink":
            channel, ts = body.get("channel", ""), body.get("message_ts", "")
            return {"ok": True, "channel": channel,
                    "permalink": f"https://acme.slack.com/archives/{channel}/p{ts.replace('.', '')}"}
        if method == "conversations.open":
            user = str(body.get("users", "")).split(",")[0]
            return {"ok": True, "channel": {"id": "D" + user[1:]}}
        if method == "views.publish":
            return {"ok": True, "view": {"id": "V0VIEW001", "team_id": TEAM, "type": "home",
                                         "blocks": (body.get("view") or {}).get("blocks", [])}}
        if method == "files.info":
            found = self.files.get(body.get("file", ""))
            if found is None:
                return {"ok": False, "error": "file_not_found"}
            return {"ok": True, "file": found[0], "comments": [], "response_metadata": {"next_cursor": ""}}
        return {"ok": True}

    async def _file(self, request: web.Request) -> web.Response:
        file_id = request.match_info["file_id"]
        auth = request.headers.get("Authorization", "")
        self.file_requests.append((file_id, auth))
        if auth != f"Bearer {BOT_TOKEN}":
            # What Slack does without a token: a 200 login page would be worse; be strict.
            return web.Response(status=403, text="forbidden")
        found = self.files.get(file_id)
        if found is None:
            return web.Response(status=404)
        return web.Response(body=found[1], content_type=found[0].get("mimetype") or "application/octet-stream")

    async def _webhook(self, request: web.Request) -> web.Response:
        self.webhook_posts.append(await request.json())
        self.webhook_paths.append(request.path)
        return web.Response(text="ok")

class BotClient:
    """Sends Slack-shaped, signed requests to the running app."""

    def __init__(self, base: str, services: Services, stub: SlackStub, session: ClientSession) -> None:
        self.base = base
        self.services = services
        self.stub = stub
        self.session = session
        self.verifier = SignatureVerifier(SIGNING_SECRET)
        self._event_ids = itertools.count(1)

    @property
    def store(self) -> Store:
        return self.services.store

    async def drain(self, timeout: float = 30) -> None:
        """Wait for the bot's background work; a bot that never finishes fails the test, not the suite."""
        await asyncio.wait_for(self.services.slack.drain(), timeout)

    # -- raw requests -------------------------------------------------------------------

    async def post(self, path: str, body: str, content_type: str, *, timestamp: int | None = None,
                   signature: str | None = None, headers: dict[str, str] | None = None) -> tuple[int, str]:
        ts = str(int(time.time()) if timestamp is None else timestamp)
        sig = signature if signature is not None else self.verifier.generate_signature(timestamp=ts, body=body)
        all_headers = {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": sig, "Content-Type": content_type,
                       "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)"}
        all_headers.update(headers or {})
        async with self.session.post(self.base + path, data=body.encode("utf-8"), headers=all_headers) as resp:
            return resp.status, await resp.text()

    async def get(self, path: str) -> ClientResponse:
        return await self.session.get(self.base + path)

    # -- Events API -----------------------------------------------------------------------

    def envelope(self, event: dict[str, Any], event_id: str | None = None, team: str = TEAM) -> dict[str, Any]:
        return {
            "token": "legacy-verification-token", "team_id": team, "context_team_id": team, "api_app_id": APP_ID,
            "event": event, "type": "event_callback",
            "event_id": event_id or f"Ev{next(self._event_ids):08d}{int(time.time() * 1000) % 10**6:06d}",
            "event_time": int(time.time()),
            "authorizations": [{"enterprise_id": None, "team_id": team, "user_id": BOT_USER, "is_bot": True,
                                "is_enterprise_install": False}],
            "is_ext_shared_channel": False, "event_context": "4-eyJldCI6Im1lc3NhZ2UifQ",
        }

    async def event(self, event: dict[str, Any], *, event_id: str | None = None, retry: int | None = None,
                    timestamp: int | None = None, signature: str | None = None, team: str = TEAM) -> tuple[int, str]:
        headers = {}
        if retry is not None:
            headers = {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"}
        body = json.dumps(self.envelope(event, event_id, team))
        return await self.post("/slack/events", body, "application/json", timestamp=timestamp,
                               signature=signature, headers=headers)

    # -- slash commands and interactivity ----------------------------------------------------

    async def command(self, text: str, *, channel: str = "C0GENERAL", user: str = "U0ALICE01",
                      trigger_id: str | None = None, response_url: str | None = None) -> tuple[int, str]:
        fields = {
            "token": "legacy-verification-token", "team_id": TEAM, "team_domain": "acme",
            "channel_id": channel, "channel_name": "general", "user_id": user, "user_name": "alice",
            "command": "/syncmedic", "text": text, "api_app_id": APP_ID, "is_enterprise_install": "false",
            "response_url": response_url or f"{self.stub.base}/response/{fresh_ts().replace('.', '')}",
            "trigger_id": trigger_id or f"{fresh_ts()}.{next(self._event_ids)}.0a1b2c3d4e5f60718293a4b5c6d7e8f9",
        }
        return await self.post("/slack/events", urlencode(fields), "application/x-www-form-urlencoded")

    async def interact(self, payload: dict[str, Any]) -> tuple[int, str]:
        return await self.post("/slack/events", urlencode({"payload": json.dumps(payload)}),
                               "application/x-www-form-urlencoded")

    def _base_payload(self, user: str) -> dict[str, Any]:
        return {"token": "legacy-verification-token", "api_app_id": APP_ID, "is_enterprise_install": False,
                "enterprise": None, "team": {"id": TEAM, "domain": "acme"},
                "user": {"id": user, "username": "alice", "name": "alice", "team_id": TEAM},
                "trigger_id": f"{fresh_ts()}.0f1e2d3c4b5a69788796a5b4c3d2e1f0"}

    async def shortcut(self, message: dict[str, Any], channel: str, user: str = "U0ALICE01") -> tuple[int, str]:
        payload = {**self._base_payload(user), "type": "message_action", "callback_id": "diagnose_message",
                   "action_ts": fresh_ts(), "message_ts": message["ts"], "message": message,
                   "channel": {"id": channel, "name": "general"},
                   "response_url": f"{self.stub.base}/response/shortcut"}
        return await self.interact(payload)

    def seen(self, ts: str) -> dict[str, Any]:
        """The bot's message `ts` as a Slack client shows it now (a copy: keep it to click it later,
        the way a client that has not refreshed yet still shows old buttons)."""
        return copy.deepcopy(self.stub.messages[ts])

    def _message_payload(self, message: dict[str, Any], user: str, action: dict[str, Any]) -> dict[str, Any]:
        """A block_actions payload for a click on a message the bot posted."""
        ts = message["ts"]
        channel = message["channel"]
        slack_message = {k: v for k, v in message.items() if k != "channel"}
        return {**self._base_payload(user), "type": "block_actions",
                "container": {"type": "message", "message_ts": ts, "channel_id": channel, "is_ephemeral": False},
                "channel": {"id": channel, "name": "general"}, "message": slack_message,
                "state": {"values": {}}, "response_url": f"{self.stub.base}/response/click",
                "actions": [{**action, "action_ts": fresh_ts()}]}

    async def click(self, ts: str, action_id: str, user: str = "U0ALICE01", *,
                    message: dict[str, Any] | None = None) -> tuple[int, str]:
        """Click the button `action_id` on the bot's message `ts` (or on an earlier `seen` copy
        of it), with the value the button carries."""
        message = message or self.seen(ts)
        button = next(e for e in elements(message["blocks"]) if e["action_id"] == action_id)
        block_id = next(b.get("block_id", "") for b in message["blocks"] if button in elements([b]))
        action = {"action_id": action_id, "block_id": block_id, "text": button["text"],
                  "value": button.get("value", ""), "type": "button"}
        if button.get("style"):
            action["style"] = button["style"]
        return await self.interact(self._message_payload(message, user, action))

    async def pick(self, ts: str, intent: str, user: str = "U0ALICE01", *,
                   message: dict[str, Any] | None = None) -> tuple[int, str]:
        """Choose `intent` in the static_select menu on the bot's message `ts`."""
        message = message or self.seen(ts)
        block = next(b for b in message["blocks"] if b.get("accessory", {}).get("type") == "static_select")
        option = next(o for o in block["accessory"]["options"] if o["value"] == intent)
        action = {"type": "static_select", "action_id": block["accessory"]["action_id"], "block_id": block["block_id"],
                  "selected_option": option, "placeholder": block["accessory"].get("placeholder")}
        return await self.interact(self._message_payload(message, user, action))

    # -- database --------------------------------------------------------------------------

    def sql(self, query: str, **params: Any) -> list[tuple]:
        with self.store.engine.connect() as conn:
            return [tuple(r) for r in conn.execute(sql_text(query), params)]

    def events(self) -> list[dict[str, Any]]:
        rows = self.sql("SELECT channel, message, kind, status, attempts, payload FROM events ORDER BY id")
        return [{"channel": c, "message": m, "kind": k, "status": s, "attempts": a,
                 "payload": json.loads(p) if isinstance(p, str) else p} for c, m, k, s, a, p in rows]

def services_of(app: web.Application) -> Services:
    return app[SERVICES_KEY]

# -- Slack event shapes ------------------------------------------------------------------------

ALICE = "U0ALICE01"
BOB = "U0BOB0001"
CHANNEL = "C0GENERAL"
DM = "D0ALICE01"

def _rich_text(text: str) -> list[dict[str, Any]]:
    return [{"type": "rich_text", "block_id": "b1", "elements": [
        {"type": "rich_text_section", "elements": [{"type": "text", "text": text}]}]}]

def mention_event(text: str, *, channel: str = CHANNEL, ts: str | None = None, thread_ts: str | None = None,
                  user: str = ALICE) -> dict[str, Any]:
    """An app_mention as Slack sends it (no channel_type on app_mention events)."""
    ts = ts or fresh_ts()
    event = {"type": "app_mention", "user": user, "text": f"<@{BOT_USER}> {text}", "ts": ts, "team": TEAM,
             "channel": channel, "event_ts": ts, "client_msg_id": f"cm-{ts}", "blocks": _rich_text(text)}
    if thread_ts:
        event["thread_ts"] = thread_ts
        event["parent_user_id"] = ALICE
    return event

def message_event(text: str, *, channel: str = CHANNEL, channel_type: str = "channel", ts: str | None = None,
                  thread_ts: str | None = None, user: str | None = ALICE, **extra: Any) -> dict[str, Any]:
    ts = ts or fresh_ts()
    event: dict[str, Any] = {"type": "message", "text": text, "ts": ts, "team": TEAM, "channel": channel,
                             "event_ts": ts, "channel_type": channel_type}
    if user is not None:
        event["user"] = user
        event["client_msg_id"] = f"cm-{ts}"
        event["blocks"] = _rich_text(text)
    if thread_ts:
        event["thread_ts"] = thread_ts
        event["parent_user_id"] = ALICE
    event.update(extra)
    return event

def dm_event(text: str, **kw: Any) -> dict[str, Any]:
    return message_event(text, channel=DM, channel_type="im", **kw)
