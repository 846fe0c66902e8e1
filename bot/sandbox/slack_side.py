"""Slack's servers, as the bot sees them: what the person does on the page, delivered to the
bot's /slack/events as the signed Events API and interactivity requests Slack would send.

The requests go over loopback HTTP to the same server, through bolt's aiohttp adapter and its
signature check (signed with slack_sdk's SignatureVerifier and the secret made at start-up),
so the sandbox exercises exactly the path a real workspace does. Signatures use real time:
bolt refuses requests more than five minutes away from its own clock, whatever the sandbox's.
"""

from __future__ import annotations

import itertools
import json
import re
import time
import uuid
from typing import Any
from urllib.parse import urlencode

import aiohttp
from slack_sdk.signature import SignatureVerifier

from . import workspace as ws

_MENTION = re.compile(r"(?<![\w@])@syncmedic\b", re.I)


class Undelivered(Exception):
    """The bot did not accept the request (it answered with an HTTP error)."""


def slack_text(typed: str) -> str:
    """What a Slack client sends for what the person typed: &, <, > escaped, "@SyncMedic"
    turned into a real mention of the bot."""
    escaped = typed.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MENTION.sub(f"<@{ws.BOT_USER}>", escaped)


def find_element(blocks: list[dict[str, Any]], block_id: str, action_id: str) -> dict[str, Any] | None:
    """The button or menu `action_id` in block `block_id`, as the message shows it now."""
    for block in blocks:
        if block.get("block_id") != block_id:
            continue
        candidates = list(block.get("elements") or [])
        if isinstance(block.get("accessory"), dict):
            candidates.append(block["accessory"])
        for element in candidates:
            if isinstance(element, dict) and element.get("action_id") == action_id:
                return element
    return None


class SlackSide:
    def __init__(self, workspace: ws.Workspace, signing_secret: str) -> None:
        self.workspace = workspace
        self.verifier = SignatureVerifier(signing_secret)
        self.origin = ""                       # http://host:port of this server (set by the server)
        self.session: aiohttp.ClientSession | None = None
        self._ids = itertools.count(1)

    async def close(self) -> None:
        if self.session is not None:
            await self.session.close()

    # -- what the person does ------------------------------------------------------------------

    async def say(self, channel: str, typed: str, thread_ts: str = "") -> ws.Message:
        """The person sends a message: it appears in the channel, then the bot hears of it."""
        text = slack_text(typed)
        message = self.workspace.post(channel, ws.YOU, text, thread_ts=thread_ts)
        event = {"type": "message", "user": ws.YOU, "text": text, "ts": message.ts, "team": ws.TEAM,
                 "channel": channel, "event_ts": message.ts, "client_msg_id": str(uuid.uuid4()),
                 "channel_type": "im" if channel.startswith("D") else "channel",
                 "blocks": [{"type": "rich_text", "block_id": "typed", "elements": [
                     {"type": "rich_text_section", "elements": [{"type": "text", "text": typed}]}]}]}
        if thread_ts:
            event.update(thread_ts=thread_ts, parent_user_id=self._author(thread_ts))
        # Slack sends a mention in a channel twice, as message.channels and as app_mention;
        # the bot must answer once (it dedupes on the message's ts).
        await self._event(event)
        if not channel.startswith("D") and f"<@{ws.BOT_USER}>" in text:
            mention = {k: v for k, v in event.items() if k != "channel_type"}
            await self._event({**mention, "type": "app_mention"})
        return message

    async def click(self, ts: str, block_id: str, action_id: str, option: str | None = None) -> bool:
        """The person clicks a button, or picks `option` in a menu, on message `ts`; False when
        the message no longer shows that control (it was settled meanwhile)."""
        message = self.workspace.messages.get(ts)
        element = find_element(message.blocks, block_id, action_id) if message else None
        if message is None or element is None:
            return False
        action: dict[str, Any] = {"action_id": action_id, "block_id": block_id, "type": element.get("type"),
                                  "action_ts": f"{time.time():.6f}"}
        if element.get("type") == "button":
            action.update(text=element.get("text"), value=element.get("value", ""))
            if element.get("style"):
                action["style"] = element["style"]
        elif element.get("type") in ("static_select", "overflow"):
            chosen = next((o for o in element.get("options") or [] if o.get("value") == option), None)
            if chosen is None:
                return False
            action["selected_option"] = chosen
            if element["type"] == "static_select":
                action["placeholder"] = element.get("placeholder")
        else:
            return False
        channel = next((c for c in ws.CHANNELS if c["id"] == message.channel), {"name": message.channel})
        payload = {
            "type": "block_actions", "token": "sandbox", "api_app_id": ws.APP_ID, "is_enterprise_install": False,
            "enterprise": None, "team": {"id": ws.TEAM, "domain": "sandbox"},
            "user": {"id": ws.YOU, "username": "you", "name": "you", "team_id": ws.TEAM},
            "trigger_id": f"{next(self._ids)}.{uuid.uuid4().hex}",
            "container": {"type": "message", "message_ts": ts, "channel_id": message.channel, "is_ephemeral": False},
            "channel": {"id": message.channel, "name": channel["name"]}, "message": message.as_slack(),
            "state": {"values": {}}, "actions": [action],
            "response_url": f"{self.origin}/sandbox/response-url/{message.channel}",
        }
        await self._post(urlencode({"payload": json.dumps(payload)}), "application/x-www-form-urlencoded")
        return True

    async def open_home(self) -> None:
        """The person opens the bot's Home tab."""
        await self._event({"type": "app_home_opened", "user": ws.YOU, "channel": ws.DM, "tab": "home",
                           "event_ts": f"{time.time():.6f}"})

    # -- delivery ------------------------------------------------------------------------------

    def _author(self, ts: str) -> str:
        parent = self.workspace.messages.get(ts)
        return parent.user if parent else ws.YOU

    async def _event(self, event: dict[str, Any]) -> None:
        envelope = {"token": "sandbox", "team_id": ws.TEAM, "context_team_id": ws.TEAM, "api_app_id": ws.APP_ID,
                    "event": event, "type": "event_callback", "event_id": f"Ev0SBX{uuid.uuid4().hex[:12].upper()}",
                    "event_time": int(time.time()), "is_ext_shared_channel": False,
                    "authorizations": [{"enterprise_id": None, "team_id": ws.TEAM, "user_id": ws.BOT_USER,
                                        "is_bot": True, "is_enterprise_install": False}]}
        await self._post(json.dumps(envelope), "application/json")

    async def _post(self, body: str, content_type: str) -> None:
        if self.session is None or self.session.closed:
            self.session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
        stamp = str(int(time.time()))
        headers = {"Content-Type": content_type, "X-Slack-Request-Timestamp": stamp,
                   "X-Slack-Signature": self.verifier.generate_signature(timestamp=stamp, body=body),
                   "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)"}
        async with self.session.post(f"{self.origin}/slack/events", data=body.encode("utf-8"),
                                     headers=headers) as resp:
            if resp.status != 200:
                raise Undelivered(f"the bot answered HTTP {resp.status}")
