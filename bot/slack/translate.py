"""Slack payloads -> work for the core, and core replies -> Slack message arguments.

These functions are pure: no network, no database. Everything Slack-specific about
reading an event (mentions, subtypes, threads, DMs) is decided here.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from ..core.nlu.answers import Answer
from ..core.outcomes import Click

METADATA_EVENT = "sync_diagnosis"
_MENTION = re.compile(r"<@([UW][A-Z0-9]{2,20})(?:\|[^>]{0,80})?>")
_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,20}$")
_CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{2,20}$")
_SUBTEAM_ID = re.compile(r"^S[A-Z0-9]{2,20}$")
# Subtypes that still carry a person's new message; everything else (edits, deletions,
# joins, bot posts...) is not a question to answer.
_ANSWERABLE_SUBTYPES = {None, "file_share", "thread_broadcast"}


@dataclass(frozen=True)
class Work:
    """One message to answer; stored (minus text once done) so a crash can be recovered."""

    kind: str              # "message", "command" or "shortcut"
    team: str
    channel: str
    ts: str                # the user's message ts (the dedupe key)
    reply_thread: str      # thread_ts to answer in; "" posts unthreaded (a plain DM)
    user: str
    text: str
    files: list[str] = field(default_factory=list)
    response_url: str = ""

    def to_json(self) -> dict[str, Any]:
        return {**vars(self), "files": list(self.files)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Work":
        names = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in data.items() if k in names})


def message_text(message: dict[str, Any]) -> str:
    """What a message says: its `text`, or, when that is empty (a message posted with blocks
    only, as some clients and workflows send them), the words of its rich_text blocks. A
    `text` that is not a string (a signed but odd payload) counts as empty."""
    text = message.get("text")
    if isinstance(text, str) and text.strip():
        return text
    blocks = message.get("blocks")
    if not isinstance(blocks, list):
        return ""
    return "\n".join(filter(None, (_rich_text(block) for block in blocks if isinstance(block, dict))))


def _rich_text(block: dict[str, Any]) -> str:
    """A rich_text block's words, as Slack would have written them in `text` (mentions as
    <@U...>, so the bot's own mention is recognised and stripped like one typed in text)."""
    if block.get("type") != "rich_text":
        return ""
    parts = []
    for element in _dicts(block.get("elements")):
        kind = element.get("type")
        if kind == "rich_text_list":
            parts.append("\n".join(_inline(item) for item in _dicts(element.get("elements"))))
        elif kind in ("rich_text_section", "rich_text_preformatted", "rich_text_quote"):
            parts.append(_inline(element))
    return "\n".join(p for p in parts if p)


def _inline(section: dict[str, Any]) -> str:
    out = []
    for element in _dicts(section.get("elements")):
        kind = element.get("type")
        if kind == "user":
            out.append(f"<@{_str(element.get('user_id'))}>")
        elif kind == "channel":
            out.append(f"<#{_str(element.get('channel_id'))}>")
        elif kind == "emoji":
            out.append(f":{_str(element.get('name'))}:")
        elif kind == "link":
            out.append(_str(element.get("text")) or _str(element.get("url")))
        else:  # text, and what carries its own words (dates, broadcasts: their fallback)
            out.append(_str(element.get("text")) or _str(element.get("fallback")))
    return "".join(out)


def _dicts(value: Any) -> list[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def strip_mentions(text: str, bot_user_id: str | None) -> str:
    """Drop the mention of the bot itself; other mentions are the user's text and stay."""
    if not bot_user_id:
        return text
    return _MENTION.sub(lambda m: "" if m.group(1) == bot_user_id else m.group(0), text).strip()


def is_from_a_person(event: dict[str, Any], bot_user_id: str | None) -> bool:
    if event.get("bot_id") or event.get("bot_profile"):
        return False
    subtype = event.get("subtype")
    if subtype is not None and (not isinstance(subtype, str) or subtype not in _ANSWERABLE_SUBTYPES):
        return False
    user = _str(event.get("user"))
    return bool(user) and user != bot_user_id


def mentions(event: dict[str, Any], bot_user_id: str | None) -> bool:
    return bool(bot_user_id) and f"<@{bot_user_id}" in message_text(event)


def work_from_event(body: dict[str, Any], event: dict[str, Any], bot_user_id: str | None) -> Work:
    channel_type = _str(event.get("channel_type"))
    ts = _str(event.get("ts"))
    thread = _str(event.get("thread_ts"))
    # Channels: always answer in the thread. DMs: in the DM, threaded only if the question was.
    reply_thread = thread if channel_type == "im" else (thread or ts)
    files = [f["id"] for f in event.get("files") or [] if isinstance(f, dict) and f.get("id")]
    return Work(
        kind="message",
        team=_str(body.get("team_id")) or _str(event.get("team")),
        channel=_str(event.get("channel")),
        ts=ts,
        reply_thread=reply_thread,
        user=_str(event.get("user")),
        text=strip_mentions(message_text(event), bot_user_id),
        files=files[:5],
    )


@dataclass(frozen=True)
class Clicked:
    """The parts of a block_actions payload the buttons need."""

    team: str
    user: str
    channel: str
    message_ts: str
    thread: str                 # where answers to the click go: the message's thread, or under it
    blocks: list[dict[str, Any]]
    value: dict[str, str]       # the case and intent the button carries
    raw_value: str = ""         # the button's value as sent (digest buttons carry a bare intent)
    option: str = ""            # the value of the option picked in a menu (static_select, overflow)
    text: str = ""              # the clicked message's notification text
    ephemeral: bool = False     # a private answer (slash command outside the bot's channels)
    response_url: str = ""
    user_name: str = ""
    ours: bool = True           # the value is one our buttons carry (not forged, not garbled)

    @classmethod
    def of(cls, body: dict[str, Any]) -> "Clicked":
        action = (body.get("actions") or [{}])[0]
        message = body.get("message") or {}
        container = body.get("container") or {}
        channel = (body.get("channel") or {}).get("id") or container.get("channel_id", "")
        message_ts = container.get("message_ts") or message.get("ts", "")
        # In a channel and in a DM alike, the answer to a click goes in the thread of the clicked
        # message (its own thread, or one under it): next to it, not at the bottom of the DM.
        thread = message.get("thread_ts") or message_ts
        raw = action.get("value") if isinstance(action.get("value"), str) else ""
        value = action_value(raw)
        ours = "case_id" in value or "escalation" in value
        picked = action.get("selected_option") if isinstance(action.get("selected_option"), dict) else {}
        option = str(picked.get("value", ""))
        if action.get("type") == "static_select":
            value = {"intent": option, "case_id": str(action.get("block_id") or "").partition(":")[2]}
            ours = True
        user = body.get("user") or {}
        return cls(team=(body.get("team") or {}).get("id", ""), user=user.get("id", ""),
                   channel=channel, message_ts=message_ts, thread=thread, blocks=message.get("blocks") or [],
                   value=value, raw_value=raw, option=option, text=str(message.get("text") or ""),
                   ephemeral=bool(container.get("is_ephemeral")), response_url=body.get("response_url") or "",
                   user_name=str(user.get("name") or user.get("username") or "")[:200], ours=ours)

    def click(self, intent: str | None = None) -> Click:
        """The click for the Desk (`intent` overrides the button's, for buttons that carry a bare one)."""
        return Click("slack", self.team, self.channel, self.user, self.message_ts, self.value.get("case_id", ""),
                     self.value.get("intent", "") if intent is None else intent, user_name=self.user_name,
                     thread=self.thread, private=self.channel.startswith("D"),
                     escalation=self.value.get("escalation", ""))


def metadata(case_id: str | None, answer: Answer) -> dict[str, Any]:
    """A diagnosis's message metadata. Slack's metadata schema has no null: an answer with no
    case (a greeting, a refusal) leaves `case_id` out."""
    payload: dict[str, Any] = {"intent": answer.intent, "confidence": round(answer.confidence, 4)}
    if case_id:
        payload = {"case_id": case_id, **payload}
    return {"event_type": METADATA_EVENT, "event_payload": payload}


def action_value(raw: str | None) -> dict[str, str]:
    """The JSON our buttons carry ({case_id, intent}, or {escalation, case_id} on a Claim);
    anything else reads as empty."""
    try:
        data = json.loads(raw or "")
    except (TypeError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {k: str(v) for k, v in data.items() if k in ("case_id", "intent", "escalation") and isinstance(v, str)}


def safe_user_mention(user_id: str) -> str:
    return f"<@{user_id}>" if _USER_ID.match(user_id or "") else "someone"


def safe_channel_link(channel_id: str | None) -> str:
    return f"<#{channel_id}>" if channel_id and _CHANNEL_ID.match(channel_id) else ""


def safe_usergroup_mention(group_id: str | None) -> str:
    return f"<!subteam^{group_id}> " if group_id and _SUBTEAM_ID.match(group_id) else ""


DIGEST_HEAD = "syncmedic_digest_head"
DIGEST_STATS = "syncmedic_digest_stats"
DIGEST_GROUP = "syncmedic_digest:"
DIGEST_NOTE = "syncmedic_digest_note:"


def digest_since(blocks: list[dict[str, Any]]) -> datetime | None:
    """When the clicked digest's "new / fixed" window starts (its header's block_id carries it),
    so the recounted header keeps counting from the same moment."""
    for block in blocks or []:
        head, _, stamp = str(block.get("block_id", "")).partition(":")
        if head == DIGEST_HEAD and stamp.isdigit():
            return datetime.fromtimestamp(int(stamp), timezone.utc)
    return None


def is_digest_header(block: dict[str, Any]) -> bool:
    block_id = str(block.get("block_id", ""))
    return block_id == DIGEST_STATS or block_id.partition(":")[0] == DIGEST_HEAD


def settle_digest_group(blocks: list[dict[str, Any]], intent: str, note: str, header: list[dict[str, Any]],
                        keep_menu: bool = False) -> list[dict[str, Any]]:
    """A digest's blocks after a click on group `intent`: the header replaced by `header` (when
    given), the group's note under it (replacing an earlier one), and unless `keep_menu` the
    group cut to its title line with its menu (or, on an older digest, its buttons) gone."""
    out: list[dict[str, Any]] = []
    placed_header = False
    for block in blocks or []:
        block_id = str(block.get("block_id", ""))
        if header and is_digest_header(block):
            if not placed_header:
                out.extend(header)
                placed_header = True
            continue
        if block_id == DIGEST_NOTE + intent:
            continue
        if block_id == DIGEST_GROUP + intent:
            if block.get("type") == "actions":        # an older digest's two buttons
                if keep_menu:
                    out.append(block)
            else:
                if not keep_menu:
                    block = {k: v for k, v in block.items() if k != "accessory"}
                    if isinstance(block.get("text"), dict):
                        block["text"] = {**block["text"], "text": block["text"]["text"].split("\n")[0]}
                out.append(block)
            out.append({"type": "context", "block_id": DIGEST_NOTE + intent,
                        "elements": [{"type": "mrkdwn", "text": note}]})
            continue
        out.append(block)
    return out


def without_actions(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The message's blocks minus its buttons (for updating a message once it is settled)."""
    kept = []
    for block in blocks or []:
        if block.get("type") == "actions":
            continue
        if block.get("type") == "section" and "action_id" in block.get("accessory", {}):
            block = {k: v for k, v in block.items() if k != "accessory"}  # buttons, menus: settled
        kept.append(block)
    return kept
