"""Slack's Web API, as much of it as the bot uses, answered from the sandbox's workspace.

The bot's own AsyncWebClient calls this over HTTP (its base URL is /sandbox/slack-api/ on the
same server), so the request building, retries and error handling that run against Slack run
here too. Like Slack, it insists on the bot token and refuses blocks Slack would refuse
(sizes and counts from Slack's Block Kit reference), so a reply that would fail in a real
workspace fails in the sandbox as well, with the same error code.

It is a product feature, answering from the sandbox's workspace (what the page shows), so it
stays apart from the tests' stand-in (tests/standins/slack.py), which records calls and can be
told to fail; that one reuses web_api_arguments, message_problem and blocks_problem from here,
so both refuse the same messages.
"""

from __future__ import annotations

import hmac
import json
import logging
from typing import Any, Callable

from aiohttp import web

from ..slack.format import SLACK_BLOCK_TEXT_LIMIT, block_text_chars
from . import workspace as ws

log = logging.getLogger(__name__)

MAX_TEXT = 40_000
MAX_BLOCKS = 50
_TEXT_LIMITS = {"header": 150, "section": 3000}


class SlackApi:
    def __init__(self, workspace: ws.Workspace, token: str) -> None:
        self.workspace = workspace
        self.token = token
        self.methods: dict[str, Callable[[dict[str, Any], web.Request], dict[str, Any]]] = {
            "auth.test": self.auth_test, "chat.postMessage": self.post_message, "chat.update": self.update,
            "chat.delete": self.delete, "chat.getPermalink": self.permalink,
            "conversations.open": self.open_dm, "users.info": self.user_info, "views.publish": self.publish_view,
            "conversations.replies": self.replies, "conversations.history": self.history,
            "files.info": lambda body, request: {"ok": False, "error": "file_not_found"},
        }

    async def handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        body = await web_api_arguments(request)
        presented = (request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
                     or str(body.get("token", "")))
        if not hmac.compare_digest(presented.encode(), self.token.encode()):
            return web.json_response({"ok": False, "error": "invalid_auth"})
        answer = self.methods.get(method)
        if answer is None:
            log.warning("the sandbox does not implement Slack's %s", method)
            return web.json_response({"ok": False, "error": "unknown_method"})
        data = answer(body, request)
        if not data.get("ok"):
            log.warning("sandbox Slack API: %s answered %s", method, data.get("error"))
        return web.json_response(data)

    # -- methods -----------------------------------------------------------------------------

    def auth_test(self, body: dict[str, Any], request: web.Request) -> dict[str, Any]:
        return {"ok": True, "url": f"http://{request.host}/", "team": ws.TEAM_NAME, "user": "syncmedic",
                "team_id": ws.TEAM, "user_id": ws.BOT_USER, "bot_id": ws.BOT_ID, "is_enterprise_install": False}

    def post_message(self, body: dict[str, Any], request: web.Request) -> dict[str, Any]:
        channel = str(body.get("channel", ""))
        if channel not in ws.CHANNEL_IDS:
            return {"ok": False, "error": "channel_not_found"}
        problem = message_problem(body)
        if problem:
            return problem
        message = self.workspace.post(channel, ws.BOT_USER, str(body.get("text") or ""),
                                      blocks=body.get("blocks") or [], thread_ts=str(body.get("thread_ts") or ""),
                                      metadata=body.get("metadata") or None, bot=True)
        return {"ok": True, "channel": channel, "ts": message.ts, "message": message.as_slack()}

    def update(self, body: dict[str, Any], request: web.Request) -> dict[str, Any]:
        problem = message_problem(body, update=True)
        if problem:
            return problem
        channel, ts = str(body.get("channel", "")), str(body.get("ts", ""))
        found = self.workspace.messages.get(ts)
        if found is not None and found.user != ws.BOT_USER:
            return {"ok": False, "error": "cant_update_message"}
        message = self.workspace.update(channel, ts, text=body.get("text"),
                                        blocks=body["blocks"] if "blocks" in body else None)
        if message is None:
            return {"ok": False, "error": "message_not_found"}
        return {"ok": True, "channel": channel, "ts": ts, "text": message.text, "message": message.as_slack()}

    def delete(self, body: dict[str, Any], request: web.Request) -> dict[str, Any]:
        channel, ts = str(body.get("channel", "")), str(body.get("ts", ""))
        if not self.workspace.delete(channel, ts):
            return {"ok": False, "error": "message_not_found"}
        return {"ok": True, "channel": channel, "ts": ts}

    def permalink(self, body: dict[str, Any], request: web.Request) -> dict[str, Any]:
        channel, ts = str(body.get("channel", "")), str(body.get("message_ts", ""))
        if ts not in self.workspace.messages:
            return {"ok": False, "error": "message_not_found"}
        return {"ok": True, "channel": channel, "permalink": f"http://{request.host}/#{channel}/{ts}"}

    def open_dm(self, body: dict[str, Any], request: web.Request) -> dict[str, Any]:
        users = [u.strip() for u in str(body.get("users", "")).split(",") if u.strip()]
        if users != [ws.YOU]:
            return {"ok": False, "error": "user_not_found"}
        return {"ok": True, "channel": {"id": ws.DM}}

    def replies(self, body: dict[str, Any], request: web.Request) -> dict[str, Any]:
        """A thread, oldest first (the bot reads it before posting a reply a second time)."""
        channel, thread = str(body.get("channel", "")), str(body.get("ts", ""))
        return self._listed([m for m in self.workspace.messages.values()
                             if m.channel == channel and thread in (m.ts, m.thread_ts)], body, newest_first=False)

    def history(self, body: dict[str, Any], request: web.Request) -> dict[str, Any]:
        """A channel's top-level messages, newest first."""
        channel = str(body.get("channel", ""))
        return self._listed([m for m in self.workspace.messages.values()
                             if m.channel == channel and m.thread_ts in ("", m.ts)], body, newest_first=True)

    def _listed(self, found: list[ws.Message], body: dict[str, Any], newest_first: bool) -> dict[str, Any]:
        if str(body.get("channel", "")) not in ws.CHANNEL_IDS:
            return {"ok": False, "error": "channel_not_found"}
        oldest = float(body.get("oldest") or 0)
        with_metadata = str(body.get("include_all_metadata", "")).lower() in ("1", "true")
        shown = sorted((m for m in found if float(m.ts) >= oldest), key=lambda m: float(m.ts), reverse=newest_first)
        messages = [message.as_slack() for message in shown]
        if not with_metadata:
            for message in messages:
                message.pop("metadata", None)
        return {"ok": True, "messages": messages, "has_more": False, "response_metadata": {"next_cursor": ""}}

    def user_info(self, body: dict[str, Any], request: web.Request) -> dict[str, Any]:
        user = ws.USERS.get(str(body.get("user", "")))
        if user is None:
            return {"ok": False, "error": "user_not_found"}
        return {"ok": True, "user": {**user, "team_id": ws.TEAM, "tz": self.workspace.tz_name}}

    def publish_view(self, body: dict[str, Any], request: web.Request) -> dict[str, Any]:
        view = body.get("view")
        if not isinstance(view, dict) or view.get("type") != "home":
            return {"ok": False, "error": "invalid_arguments"}
        if len(view.get("blocks") or []) > 100:
            return {"ok": False, "error": "invalid_blocks"}
        self.workspace.publish_home(view)
        return {"ok": True, "view": {"id": "V0SANDBOX", "team_id": ws.TEAM, "type": "home",
                                     "blocks": view.get("blocks") or []}}


async def web_api_arguments(request: web.Request) -> dict[str, Any]:
    """The call's arguments: slack_sdk sends JSON for some methods, forms (nested values as
    JSON strings) or query parameters for others."""
    body: dict[str, Any] = dict(request.query)
    if request.method == "POST" and request.can_read_body:
        if request.content_type == "application/json":
            data = await request.json()
            if isinstance(data, dict):
                body.update(data)
        else:
            for key, value in (await request.post()).items():
                if isinstance(value, str) and value[:1] in "[{":
                    try:
                        value = json.loads(value)
                    except ValueError:
                        pass
                body[key] = value
    return body


def message_problem(body: dict[str, Any], update: bool = False) -> dict[str, Any] | None:
    """Slack's answer to a message it would refuse, or None."""
    blocks = body.get("blocks")
    if not update and not body.get("text") and not blocks:
        return {"ok": False, "error": "no_text"}
    if len(str(body.get("text") or "")) > MAX_TEXT:
        return {"ok": False, "error": "msg_too_long"}
    if blocks is None:
        return None
    if isinstance(blocks, list) and block_text_chars(blocks) > SLACK_BLOCK_TEXT_LIMIT:
        # What Slack answers (undocumented) when the blocks' text together is too long.
        return {"ok": False, "error": "msg_blocks_too_long"}
    problem = blocks_problem(blocks)
    if problem:
        log.warning("sandbox Slack API: invalid blocks: %s", problem)
        return {"ok": False, "error": "invalid_blocks", "errors": [problem]}
    return None


def blocks_problem(blocks: Any) -> str | None:
    """What Slack would reject in these blocks (the first problem found), or None."""
    if not isinstance(blocks, list):
        return "blocks must be a list"
    if len(blocks) > MAX_BLOCKS:
        return f"more than {MAX_BLOCKS} blocks"
    for i, block in enumerate(blocks):
        if not isinstance(block, dict) or "type" not in block:
            return f"block {i} has no type"
        kind = block["type"]
        if len(str(block.get("block_id", ""))) > 255:
            return f"block {i}: block_id longer than 255"
        text = block.get("text")
        if kind in _TEXT_LIMITS:
            if not isinstance(text, dict) and not (kind == "section" and block.get("fields")):
                return f"block {i} ({kind}) has no text"
            if isinstance(text, dict) and len(str(text.get("text", ""))) > _TEXT_LIMITS[kind]:
                return f"block {i} ({kind}): text longer than {_TEXT_LIMITS[kind]}"
        if kind == "header" and isinstance(text, dict) and text.get("type") != "plain_text":
            return f"block {i} (header): text must be plain_text"
        if kind == "context" and not 0 < len(block.get("elements") or []) <= 10:
            return f"block {i} (context): 1 to 10 elements"
        if kind == "actions" and not 0 < len(block.get("elements") or []) <= 25:
            return f"block {i} (actions): 1 to 25 elements"
        elements = list(block.get("elements") or []) if kind == "actions" else []
        if isinstance(block.get("accessory"), dict):
            elements.append(block["accessory"])
        seen: set[str] = set()
        for element in elements:
            problem = _element_problem(element)
            if problem:
                return f"block {i}: {problem}"
            action_id = element.get("action_id")
            if action_id in seen:
                return f"block {i}: action_id {action_id!r} used twice"
            if action_id:
                seen.add(action_id)
    return None


def _element_problem(element: Any) -> str | None:
    if not isinstance(element, dict):
        return "an element is not an object"
    if len(str(element.get("action_id", ""))) > 255:
        return "action_id longer than 255"
    if element.get("type") == "button":
        if len(str((element.get("text") or {}).get("text", ""))) > 75:
            return "button text longer than 75"
        if len(str(element.get("value", ""))) > 2000:
            return "button value longer than 2000"
        if element.get("style") not in (None, "primary", "danger"):
            return f"unknown button style {element.get('style')!r}"
    if element.get("type") == "overflow":
        options = element.get("options") or []
        if not 2 <= len(options) <= 5:
            return "overflow needs 2 to 5 options"
        for option in options:
            if len(str((option.get("text") or {}).get("text", ""))) > 75 or len(str(option.get("value", ""))) > 150:
                return "an overflow option is too long"
    if element.get("type") == "static_select":
        options = element.get("options") or []
        if not 0 < len(options) <= 100:
            return "static_select needs 1 to 100 options"
        for option in options:
            if len(str((option.get("text") or {}).get("text", ""))) > 75 or len(str(option.get("value", ""))) > 150:
                return "a static_select option is too long"
    return None
