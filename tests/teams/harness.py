"""End-to-end harness for the Teams bot: a stand-in for the Bot Framework connector and a
client that posts activities to the real aiohttp app the way the Bot Framework Service does.

Everything goes over real HTTP on 127.0.0.1:
- `ConnectorStub` serves /v3/conversations/{id}/activities (POST: new message),
  .../activities/{activity id} (POST: reply, PUT: update) and /keys (a JWKS, for the
  credentialed tests). It records every attempt with its body and Authorization header,
  keeps the messages it accepted (so a test can click a card the bot posted), and can be told
  to answer 403/404 or throttle (429 + Retry-After) the next N requests.
- `TeamsClient` posts Teams-shaped message and invoke activities to /api/messages.
"""

from __future__ import annotations

import copy
import itertools
import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from aiohttp import ClientSession, web
from sqlalchemy import text as sql_text

from bot.app import SERVICES_KEY, Services
from bot.core.storage.store import Store
from bot.teams.format import TEAMS_CARD_LIMIT_BYTES
from tests.support import LoopbackServer

TENANT = "7d1b3c4e-0000-4a5b-9c8d-1234567890ab"
BOT_ID = "28:5a6b7c8d-1111-4e2f-8a9b-0123456789ab"
BOT_NAME = "SyncMedic"
ALICE = {"id": "29:1AliceTeamsUserIdThatIsRatherLongBecauseTeamsIdsAre-xyz", "name": "Alice Ng",
         "aadObjectId": "aad-alice-0000-0000-000000000001"}
BOB = {"id": "29:1BobTeamsUserId-abc", "name": "Bob <Ops>", "aadObjectId": "aad-bob-0000-0000-000000000002"}
TEAM_ID = "19:team0123456789abcdef@thread.tacv2"
CHANNEL = "19:channel0123456789abcdef0123456789@thread.tacv2"
BILL_ERROR = 'Error: Bill "BILL-7731" has not been exported to QuickBooks'
CARD = "application/vnd.microsoft.card.adaptive"

_ids = itertools.count(1)


def fresh_id() -> str:
    """A Teams-style activity id (milliseconds since the epoch), unique within the session."""
    return str(1715000000000 + next(_ids))


def personal_conversation() -> str:
    """Personal chat ids are long: longer than the 64-character columns the cases table has."""
    return "a:1" + uuid.uuid4().hex + "Xq9-" + uuid.uuid4().hex + "_" + uuid.uuid4().hex[:20]


@dataclass
class Call:
    kind: str                 # "send" (POST .../activities), "reply" (POST .../{id}), "update" (PUT .../{id})
    conversation: str
    activity_id: str          # the activity replied to or updated ("" for send)
    body: dict[str, Any]
    status: int
    authorization: str
    at: float
    response: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def card(self) -> dict[str, Any] | None:
        for attachment in self.body.get("attachments") or []:
            if attachment.get("contentType") == CARD:
                return attachment["content"]
        return None


class ConnectorStub(LoopbackServer):
    """A local Bot Framework connector."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.messages: dict[str, dict[str, Any]] = {}       # activity id -> {"conversation", "body"}
        self.jwks: dict[str, Any] | None = None
        self._failures: list[tuple[int, dict[str, str], frozenset[str]]] = []
        self.base = ""
        self._runner: web.AppRunner | None = None

    # -- control ---------------------------------------------------------------------------

    def fail(self, status: int, times: int = 1, *, retry_after: float | None = None,
             kinds: tuple[str, ...] = ("send", "reply", "update")) -> None:
        """Answer the next `times` requests of these kinds with `status`."""
        headers = {"Retry-After": f"{retry_after:g}"} if retry_after is not None else {}
        self._failures.extend([(status, headers, frozenset(kinds))] * times)

    # -- queries ---------------------------------------------------------------------------

    def accepted(self, *kinds: str) -> list[Call]:
        return [c for c in self.calls if c.ok and (not kinds or c.kind in kinds)]

    def posts(self) -> list[Call]:
        """Messages the bot posted (replies and new messages) that the connector accepted."""
        return self.accepted("send", "reply")

    def seen(self, activity_id: str) -> dict[str, Any]:
        """The bot's message as Teams shows it now (a copy)."""
        return copy.deepcopy(self.messages[activity_id])

    # -- server ----------------------------------------------------------------------------

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/amer/v3/conversations/{conversation}/activities", self._activity)
        app.router.add_post("/amer/v3/conversations/{conversation}/activities/{activity}", self._activity)
        app.router.add_put("/amer/v3/conversations/{conversation}/activities/{activity}", self._activity)
        app.router.add_get("/keys", self._keys)
        await self.serve(app)

    @property
    def service_url(self) -> str:
        return self.base + "/amer/"  # like Teams' own: a path, ending with a slash

    async def _keys(self, request: web.Request) -> web.Response:
        if self.jwks is None:
            return web.Response(status=404)
        return web.json_response(self.jwks)

    async def _activity(self, request: web.Request) -> web.Response:
        conversation = request.match_info["conversation"]
        activity_id = request.match_info.get("activity", "")
        kind = "update" if request.method == "PUT" else ("reply" if activity_id else "send")
        body = await request.json()
        auth = request.headers.get("Authorization", "")
        failure = next((f for f in self._failures if kind in f[2]), None)
        if failure is None and len(json.dumps(body).encode("utf-8")) > TEAMS_CARD_LIMIT_BYTES:
            failure = (413, {}, frozenset())  # Teams refuses a message over its size limit
            self._failures.append(failure)
        if failure is not None:
            self._failures.remove(failure)
            status, headers = failure[0], failure[1]
            code = {429: "Throttled", 413: "MessageSizeTooBig"}.get(status, "Forbidden")
            data: dict[str, Any] = {"error": {"code": code, "message": "stand-in refusal"}}
        else:
            status, headers = 200 if kind == "update" else 201, {}
            new_id = activity_id if kind == "update" else fresh_id()
            data = {"id": new_id}
            if kind == "update":
                self.messages.setdefault(new_id, {"conversation": conversation})["body"] = body
            else:
                self.messages[new_id] = {"conversation": conversation, "body": body, "reply_to": activity_id}
        self.calls.append(Call(kind, conversation, activity_id, body, status, auth, time.monotonic(), data))
        return web.json_response(data, status=status, headers=headers)


def actions_of(card: dict[str, Any]) -> list[dict[str, Any]]:
    """Every Action.Execute on a card (top-level actions and ActionSets in the body)."""
    found = [a for a in card.get("actions", []) if a.get("type") == "Action.Execute"]

    def walk(items: list[dict[str, Any]]) -> None:
        for item in items:
            if item.get("type") == "ActionSet":
                found.extend(a for a in item.get("actions", []) if a.get("type") == "Action.Execute")
            walk(item.get("items", []))
            for column in item.get("columns", []):
                walk(column.get("items", []))

    walk(card.get("body", []))
    return found


def card_text(card: dict[str, Any] | None) -> str:
    """Every TextBlock's text on a card, one per line."""
    lines: list[str] = []

    def walk(items: list[dict[str, Any]]) -> None:
        for item in items:
            if item.get("type") == "TextBlock":
                lines.append(item["text"])
            walk(item.get("items", []))
            for column in item.get("columns", []):
                walk(column.get("items", []))

    walk((card or {}).get("body", []))
    return "\n".join(lines)


class TeamsClient:
    """Posts Bot Framework activities to the running app, the way Teams does."""

    def __init__(self, base: str, services: Services, stub: ConnectorStub, session: ClientSession) -> None:
        self.base = base
        self.services = services
        self.stub = stub
        self.session = session
        self.personal = personal_conversation()
        self.token: str | None = None          # a Bearer token to send (credentialed tests)

    @property
    def store(self) -> Store:
        return self.services.store

    async def post(self, activity: dict[str, Any] | str, headers: dict[str, str] | None = None) -> tuple[int, Any]:
        body = activity if isinstance(activity, str) else json.dumps(activity)
        all_headers = {"Content-Type": "application/json"}
        if self.token:
            all_headers["Authorization"] = f"Bearer {self.token}"
        all_headers.update(headers or {})
        async with self.session.post(self.base + "/api/messages", data=body.encode("utf-8"),
                                     headers=all_headers) as resp:
            text = await resp.text()
            try:
                return resp.status, json.loads(text) if text else None
            except ValueError:
                return resp.status, text

    # -- activity shapes ---------------------------------------------------------------------

    def _base(self, conversation: dict[str, Any], user: dict[str, str], channel_data: dict[str, Any]) -> dict[str, Any]:
        return {
            "channelId": "msteams", "serviceUrl": self.stub.service_url, "timestamp": "2026-03-02T10:00:00.000Z",
            "localTimestamp": "2026-03-02T10:00:00.000+00:00", "locale": "en-GB",
            "from": dict(user), "recipient": {"id": BOT_ID, "name": BOT_NAME},
            "conversation": conversation, "channelData": channel_data,
            "entities": [{"type": "clientInfo", "locale": "en-GB", "country": "GB", "platform": "Web",
                          "timezone": "Europe/London"}],
        }

    def personal_message(self, text: str, *, user: dict[str, str] = ALICE, activity_id: str | None = None,
                         conversation: str | None = None) -> dict[str, Any]:
        conv = {"conversationType": "personal", "tenantId": TENANT, "id": conversation or self.personal}
        return {**self._base(conv, user, {"tenant": {"id": TENANT}}), "type": "message",
                "id": activity_id or fresh_id(), "text": text, "textFormat": "plain"}

    def channel_mention(self, text: str, *, user: dict[str, str] = ALICE, activity_id: str | None = None,
                        root: str | None = None, mention: bool = True) -> dict[str, Any]:
        """`<at>SyncMedic</at> text` posted in the channel (a new post, or a reply under `root`)."""
        activity_id = activity_id or fresh_id()
        conv = {"isGroup": True, "conversationType": "channel", "tenantId": TENANT,
                "id": f"{CHANNEL};messageid={root or activity_id}"}
        data = {"teamsChannelId": CHANNEL, "teamsTeamId": TEAM_ID, "channel": {"id": CHANNEL},
                "team": {"id": TEAM_ID}, "tenant": {"id": TENANT}}
        activity = {**self._base(conv, user, data), "type": "message", "id": activity_id,
                    "text": (f"<at>{BOT_NAME}</at> " if mention else "") + text, "textFormat": "plain"}
        if mention:
            activity["entities"] = activity["entities"] + [
                {"type": "mention", "mentioned": {"id": BOT_ID, "name": BOT_NAME}, "text": f"<at>{BOT_NAME}</at>"}]
        if root:
            activity["replyToId"] = root
        return activity

    def click(self, card_message_id: str, verb: str, *, user: dict[str, str] = ALICE,
              data: dict[str, Any] | None = None, message: dict[str, Any] | None = None,
              intent: str | None = None) -> dict[str, Any]:
        """The invoke Teams sends when `user` clicks the Action.Execute `verb` on the bot's message
        (or on an earlier `seen` copy of it); `data` adds input values (a picked choice); `intent`
        picks among several with that verb (a digest's groups)."""
        message = message or self.stub.seen(card_message_id)
        card = next(a["content"] for a in message["body"]["attachments"] if a["contentType"] == CARD)
        action = next(a for a in actions_of(card)
                      if a["verb"] == verb and intent in (None, a.get("data", {}).get("intent")))
        conversation_id = message["conversation"]
        if conversation_id.startswith("19:"):
            if ";messageid=" not in conversation_id:  # a top-level post is the root of its own thread
                conversation_id = f"{conversation_id};messageid={card_message_id}"
            conv = {"isGroup": True, "conversationType": "channel", "tenantId": TENANT, "id": conversation_id}
            channel_data = {"channel": {"id": CHANNEL}, "team": {"id": TEAM_ID}, "tenant": {"id": TENANT}}
        else:
            conv = {"conversationType": "personal", "tenantId": TENANT, "id": conversation_id}
            channel_data = {"tenant": {"id": TENANT}}
        value = {"action": {"type": "Action.Execute", "title": action["title"], "verb": verb,
                            "data": {**action.get("data", {}), **(data or {})}}, "trigger": "manual"}
        return {**self._base(conv, user, channel_data), "type": "invoke", "name": "adaptiveCard/action",
                "id": "f:" + uuid.uuid4().hex, "replyToId": card_message_id, "value": value}

    # -- database --------------------------------------------------------------------------

    def sql(self, query: str, **params: Any) -> list[tuple]:
        with self.store.engine.connect() as conn:
            return [tuple(r) for r in conn.execute(sql_text(query), params)]


def services_of(app: web.Application) -> Services:
    return app[SERVICES_KEY]
