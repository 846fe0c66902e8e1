"""What Slack sends the bot, for every suite: Events API envelopes (mentions, DMs, thread
replies, files), slash commands, message shortcuts, block_actions clicks and static_select
picks, as the bodies and signed headers Slack would post to /slack/events.

Requests are signed with slack_sdk's SignatureVerifier (the verifier the bot itself runs),
so a test can only get past the bot's signature check the way Slack does. Shapes follow
Slack's reference payloads; ids are those of one made-up workspace, shared with the Web API
stand-in (tests/standins/slack.py).
"""

from __future__ import annotations

import itertools
import json
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from slack_sdk.signature import SignatureVerifier

SIGNING_SECRET = "test-signing-secret"
BOT_TOKEN = "xoxb-test-token"
TEAM = "T0TEAM1"
BOT_USER = "UBOT0001"
BOT_ID = "B0BOT001"
APP_ID = "A0APP001"
ALICE = "U0ALICE01"
BOB = "U0BOB0001"
CHANNEL = "C0GENERAL"
DM = "D0ALICE01"

EVENTS = "application/json"
FORM = "application/x-www-form-urlencoded"

_ts_counter = itertools.count(1)
_ids = itertools.count(1)


def fresh_ts() -> str:
    """A Slack-style message ts, unique within the test session (the stand-in's too)."""
    n = next(_ts_counter)
    return f"{1715000000 + n}.{n:06d}"


@dataclass(frozen=True)
class Signed:
    """A request body and the headers Slack would send with it."""

    body: str
    headers: dict[str, str]


def signed(body: str, content_type: str, *, timestamp: int | None = None, signature: str | None = None,
           secret: str = SIGNING_SECRET, headers: dict[str, str] | None = None) -> Signed:
    """`body` with Slack's signature headers: signed now with `secret` unless a `timestamp`
    (a stale one, say) or a ready-made `signature` (a forged one) is given."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    sig = signature if signature is not None else SignatureVerifier(secret).generate_signature(timestamp=ts, body=body)
    all_headers = {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": sig, "Content-Type": content_type,
                   "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)"}
    all_headers.update(headers or {})
    return Signed(body, all_headers)


# -- the Events API ---------------------------------------------------------------------------

def envelope(event: dict[str, Any], *, event_id: str | None = None, team: str = TEAM) -> dict[str, Any]:
    """The event_callback wrapper Slack puts around every event."""
    return {
        "token": "legacy-verification-token", "team_id": team, "context_team_id": team, "api_app_id": APP_ID,
        "event": event, "type": "event_callback",
        "event_id": event_id or f"Ev{next(_ids):08d}{int(time.time() * 1000) % 10**6:06d}",
        "event_time": int(time.time()),
        "authorizations": [{"enterprise_id": None, "team_id": team, "user_id": BOT_USER, "is_bot": True,
                            "is_enterprise_install": False}],
        "is_ext_shared_channel": False, "event_context": "4-eyJldCI6Im1lc3NhZ2UifQ",
    }


def event_request(event: dict[str, Any], *, event_id: str | None = None, team: str = TEAM, retry: int | None = None,
                  timestamp: int | None = None, signature: str | None = None) -> Signed:
    """A signed Events API delivery of `event`; `retry` numbers a redelivery as Slack does."""
    headers = {} if retry is None else {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"}
    return signed(json.dumps(envelope(event, event_id=event_id, team=team)), EVENTS, timestamp=timestamp,
                  signature=signature, headers=headers)


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
    """A `message` event: in a channel, a DM (see dm_event), a thread (thread_ts), or with a
    subtype and files (`extra`). user=None: a message without a user, as bots' messages come."""
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
    """A message in the user's DM with the bot."""
    return message_event(text, channel=DM, channel_type="im", **kw)


def home_opened_event(user: str = ALICE, tab: str = "home") -> dict[str, Any]:
    """The user opened the bot's App Home (`tab`: home or messages)."""
    return {"type": "app_home_opened", "user": user, "channel": "D" + user[1:], "tab": tab, "event_ts": fresh_ts()}


# -- slash commands and interactivity ---------------------------------------------------------

def command_request(text: str, *, response_url: str, channel: str = CHANNEL, user: str = ALICE,
                    trigger_id: str | None = None) -> Signed:
    """/syncmedic TEXT, a signed form post."""
    fields = {
        "token": "legacy-verification-token", "team_id": TEAM, "team_domain": "acme",
        "channel_id": channel, "channel_name": "general", "user_id": user, "user_name": "alice",
        "command": "/syncmedic", "text": text, "api_app_id": APP_ID, "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": trigger_id or f"{fresh_ts()}.{next(_ids)}.0a1b2c3d4e5f60718293a4b5c6d7e8f9",
    }
    return signed(urlencode(fields), FORM)


def interaction_request(payload: dict[str, Any]) -> Signed:
    """An interactivity payload (click, pick, shortcut) as Slack posts it: a signed form with
    the payload as JSON."""
    return signed(urlencode({"payload": json.dumps(payload)}), FORM)


def _from(user: str) -> dict[str, Any]:
    return {"token": "legacy-verification-token", "api_app_id": APP_ID, "is_enterprise_install": False,
            "enterprise": None, "team": {"id": TEAM, "domain": "acme"},
            "user": {"id": user, "username": "alice", "name": "alice", "team_id": TEAM},
            "trigger_id": f"{fresh_ts()}.0f1e2d3c4b5a69788796a5b4c3d2e1f0"}


def shortcut(message: dict[str, Any], channel: str, *, response_url: str, user: str = ALICE) -> dict[str, Any]:
    """The "Diagnose this message" message shortcut used on `message`."""
    return {**_from(user), "type": "message_action", "callback_id": "diagnose_message", "action_ts": fresh_ts(),
            "message_ts": message["ts"], "message": message, "channel": {"id": channel, "name": "general"},
            "response_url": response_url}


def elements(blocks: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    """Every interactive element (buttons, menus) in a list of blocks."""
    found = []
    for block in blocks or []:
        found += [e for e in block.get("elements", []) if isinstance(e, dict) and "action_id" in e]
        if isinstance(block.get("accessory"), dict) and "action_id" in block["accessory"]:
            found.append(block["accessory"])
    return found


def _element(blocks: list[dict[str, Any]], match: Any, what: str) -> tuple[dict[str, Any], str]:
    """(element, block_id) of the first element `match` accepts."""
    for block in blocks or []:
        for element in elements([block]):
            if match(element):
                return element, block.get("block_id", "")
    raise AssertionError(f"no {what} in {json.dumps(blocks)[:400]}")


def _on_message(message: dict[str, Any], action: dict[str, Any], user: str, response_url: str) -> dict[str, Any]:
    """A block_actions payload for an action on `message` (as the stand-in stores it: with its
    channel), the way Slack sends it: the message without its channel, the channel beside it."""
    channel = message["channel"]
    return {**_from(user), "type": "block_actions",
            "container": {"type": "message", "message_ts": message["ts"], "channel_id": channel,
                          "is_ephemeral": False},
            "channel": {"id": channel, "name": "general"},
            "message": {k: v for k, v in message.items() if k != "channel"},
            "state": {"values": {}}, "response_url": response_url, "actions": [{**action, "action_ts": fresh_ts()}]}


def _button_action(button: dict[str, Any], block_id: str) -> dict[str, Any]:
    action = {"action_id": button["action_id"], "block_id": block_id, "text": button["text"],
              "value": button.get("value", ""), "type": "button"}
    if button.get("style"):
        action["style"] = button["style"]
    return action


def click(message: dict[str, Any], action_id: str, *, value: str | None = None, user: str = ALICE,
          response_url: str) -> dict[str, Any]:
    """A click on the button `action_id` of `message` (the one carrying `value`, when several
    share an id), with the value the button carries."""
    button, block_id = _element(message.get("blocks") or [],
                                lambda e: e["action_id"] == action_id and value in (None, e.get("value")),
                                f"{action_id} button ({value})")
    return _on_message(message, _button_action(button, block_id), user, response_url)


def pick(message: dict[str, Any], option_value: str, *, user: str = ALICE, response_url: str) -> dict[str, Any]:
    """Choosing `option_value` in the static_select menu on `message`."""
    menu, block_id = _element(message.get("blocks") or [], lambda e: e.get("type") == "static_select",
                              "static_select menu")
    option = next(o for o in menu["options"] if o["value"] == option_value)
    action = {"type": "static_select", "action_id": menu["action_id"], "block_id": block_id,
              "selected_option": option, "placeholder": menu.get("placeholder")}
    return _on_message(message, action, user, response_url)


def overflow(message: dict[str, Any], option_value: str, *, user: str = ALICE, response_url: str) -> dict[str, Any]:
    """Choosing `option_value` in the overflow ("⋯") menu that offers it on `message`."""
    menu, block_id = _element(message.get("blocks") or [],
                              lambda e: e.get("type") == "overflow"
                              and any(o["value"] == option_value for o in e.get("options", [])),
                              f"overflow menu offering {option_value}")
    option = next(o for o in menu["options"] if o["value"] == option_value)
    action = {"type": "overflow", "action_id": menu["action_id"], "block_id": block_id, "selected_option": option}
    return _on_message(message, action, user, response_url)


def ephemeral_click(blocks: list[dict[str, Any]], action_id: str, *, channel: str, response_url: str,
                    user: str = ALICE) -> dict[str, Any]:
    """A click on an ephemeral message (an answer sent through a response_url): Slack sends no
    `message`, only a container marked is_ephemeral."""
    button, block_id = _element(blocks, lambda e: e["action_id"] == action_id, f"{action_id} button")
    return {**_from(user), "type": "block_actions",
            "container": {"type": "message", "message_ts": fresh_ts(), "channel_id": channel, "is_ephemeral": True},
            "channel": {"id": channel, "name": "finance"}, "response_url": response_url, "state": {"values": {}},
            "actions": [{**_button_action(button, block_id), "action_ts": fresh_ts()}]}


def view_click(blocks: list[dict[str, Any]], action_id: str, *, user: str = ALICE,
               view_id: str = "V0VIEW001") -> dict[str, Any]:
    """A click on a button in the App Home whose blocks are `blocks` (a view container: no
    channel, no message)."""
    button, block_id = _element(blocks, lambda e: e["action_id"] == action_id, f"{action_id} button")
    return {**_from(user), "type": "block_actions", "container": {"type": "view", "view_id": view_id},
            "view": {"id": view_id, "type": "home", "team_id": TEAM, "blocks": blocks, "state": {"values": {}}},
            "actions": [{**_button_action(button, block_id), "action_ts": fresh_ts()}]}
