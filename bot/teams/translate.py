"""Teams activities -> work for the core, and core replies -> Teams activities.

Pure functions over the Bot Framework wire format (JSON dicts): no network, no database.
Everything Teams-specific about reading an activity (mentions, conversation kinds, channel
threads, ids longer than our columns) is decided here.
"""

from __future__ import annotations

import copy
import hashlib
import html
import re
from urllib.parse import quote, urlencode
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from ..core.nlu.answers import Answer
from ..core.outcomes import Click, Where
from .format import TEAMS_TEXT_CHARS, keep_line_breaks, teams_escape

CARD = "application/vnd.microsoft.card.adaptive"
MESSAGE = "application/vnd.microsoft.activity.message"
ACTION_INVOKE = "adaptiveCard/action"
DIAGNOSIS_KEY = "sync_diagnosis"
CHECKIN_KEY = "sync_checkin"
THREAD_MARK = ";messageid="
ID_CHARS = 64  # what cases/events columns hold

_AT = re.compile(r"<at[^>]{0,200}>(.{0,200}?)</at>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"</?(?:p|div|span|br|b|i|em|strong|u)(?:\s[^>]{0,200})?/?>", re.IGNORECASE)
_SPACES = re.compile(r"[ \t\u00a0]{2,}")
_COMMANDS = {
    "digest here": "digest_here", "digest off": "digest_off",
    "escalations here": "escalations_here", "escalations off": "escalations_off",
    "report": "report",
}


@dataclass(frozen=True)
class Conversation:
    """A conversation the bot can write to later: everything a proactive send needs."""

    key: str              # short stable key: cases.channel, events.channel, digest targets
    id: str               # the conversation id to address (a channel's, not one of its threads')
    kind: str             # personal, groupChat or channel
    tenant: str
    service_url: str
    channel_id: str = "msteams"
    bot: dict[str, str] | None = None           # {"id", "name"} of the bot in this conversation
    channel_data: dict[str, Any] | None = None  # tenant, team and channel ids

    def address(self, thread: str = "") -> str:
        """The id to post to: a channel thread is the channel id plus the thread's root message id."""
        return f"{self.id}{THREAD_MARK}{thread}" if thread and self.kind == "channel" else self.id


@dataclass(frozen=True)
class Incoming:
    """One activity, read."""

    conversation: Conversation
    activity_id: str
    reply_to: str         # replyToId: for a card action, the id of the card's message
    thread: str           # a channel thread's root message id; "" elsewhere
    user: str             # Entra object id (or the Teams user id when there is none)
    user_name: str
    text: str             # without the bot's @mention, entities decoded
    mentioned: bool
    timezone: str | None

    @property
    def personal(self) -> bool:
        return self.conversation.kind == "personal"

    @property
    def where(self) -> Where:
        return Where("teams", self.conversation.tenant, self.conversation.key, self.thread,
                     short_id(self.activity_id), self.user)


def short_id(value: str) -> str:
    """An id that fits our 64-character columns: kept as is when it does, hashed when not."""
    if len(value) <= ID_CHARS:
        return value
    return "h_" + hashlib.sha256(value.encode("utf-8")).hexdigest()[:40]


def conversation_key(conversation_id: str) -> str:
    """Stable and short, so a case can point at a conversation whose id is 130 characters long."""
    return "tc_" + hashlib.sha256(base_conversation(conversation_id).encode("utf-8")).hexdigest()[:40]


def base_conversation(conversation_id: str) -> str:
    """A channel thread's conversation id without the thread part."""
    return conversation_id.split(THREAD_MARK, 1)[0]


def _thread(conversation_id: str, activity: dict[str, Any], kind: str) -> str:
    if kind != "channel":
        return ""
    _, mark, root = conversation_id.partition(THREAD_MARK)
    return short_id(root if mark else (activity.get("replyToId") or activity.get("id") or ""))


def _kind(conversation: dict[str, Any]) -> str:
    kind = conversation.get("conversationType") or ("groupChat" if conversation.get("isGroup") else "personal")
    return kind if kind in ("personal", "groupChat", "channel") else "groupChat"


def _tenant(activity: dict[str, Any]) -> str:
    conversation = activity.get("conversation") or {}
    tenant = conversation.get("tenantId") or ((activity.get("channelData") or {}).get("tenant") or {}).get("id")
    return str(tenant or "")[:ID_CHARS]


def _timezone(activity: dict[str, Any]) -> str | None:
    for entity in activity.get("entities") or []:
        if isinstance(entity, dict) and entity.get("type") == "clientInfo" and entity.get("timezone"):
            return str(entity["timezone"])[:64]
    return activity.get("localTimezone") or None


def _continuation_data(channel_data: dict[str, Any], tenant: str) -> dict[str, Any]:
    """The part of channelData a proactive message needs (Teams wants the tenant; a channel post
    names its channel); nothing about the message itself."""
    kept: dict[str, Any] = {"tenant": {"id": tenant}} if tenant else {}
    for name in ("team", "channel"):
        value = channel_data.get(name)
        if isinstance(value, dict) and value.get("id"):
            kept[name] = {"id": str(value["id"])}
    return kept


def read_activity(activity: dict[str, Any]) -> Incoming:
    """A message or invoke activity (JSON, as Teams sends it) -> what the edge needs."""
    conversation = activity.get("conversation") or {}
    conversation_id = str(conversation.get("id") or "")
    kind = _kind(conversation)
    tenant = _tenant(activity)
    bot = activity.get("recipient") or {}
    sender = activity.get("from") or {}
    conv = Conversation(
        key=conversation_key(conversation_id), id=base_conversation(conversation_id), kind=kind, tenant=tenant,
        service_url=str(activity.get("serviceUrl") or ""), channel_id=str(activity.get("channelId") or "msteams"),
        bot={"id": str(bot.get("id") or ""), "name": str(bot.get("name") or "")},
        channel_data=_continuation_data(activity.get("channelData") or {}, tenant))
    text, mentioned = strip_mentions(activity.get("text") or "", activity.get("entities") or [], conv.bot)
    user = str(sender.get("aadObjectId") or sender.get("id") or "")
    return Incoming(conversation=conv, activity_id=str(activity.get("id") or ""),
                    reply_to=short_id(str(activity.get("replyToId") or "")),
                    thread=_thread(conversation_id, activity, kind), user=short_id(user),
                    user_name=str(sender.get("name") or "")[:200], text=text, mentioned=mentioned,
                    timezone=_timezone(activity))


def redo_payload(incoming: Incoming) -> dict[str, Any]:
    """What recovery needs to answer a recorded message again (dropped once it is answered);
    the conversation itself is stored on its own (Conversations)."""
    return {"conversation": incoming.conversation.key, "activity_id": incoming.activity_id,
            "thread": incoming.thread, "user": incoming.user, "text": incoming.text,
            "timezone": incoming.timezone}


def incoming_again(conversation: Conversation, payload: dict[str, Any]) -> Incoming:
    """The message redo_payload kept, in its stored conversation."""
    return Incoming(conversation=conversation, activity_id=str(payload.get("activity_id") or ""), reply_to="",
                    thread=str(payload.get("thread") or ""), user=str(payload.get("user") or ""), user_name="",
                    text=str(payload.get("text") or ""), mentioned=True, timezone=payload.get("timezone"))


def strip_mentions(text: str, entities: list[Any], bot: dict[str, str] | None) -> tuple[str, bool]:
    """Drop the @mention of the bot; other mentions keep the person's name, without the markup.
    Teams sends the text with HTML entities (a pasted `"` arrives as `&quot;`): decode them."""
    bot_id = (bot or {}).get("id") or ""
    bot_name = (bot or {}).get("name") or ""
    mentioned = False
    for entity in entities:
        if not isinstance(entity, dict) or entity.get("type") != "mention":
            continue
        if bot_id and (entity.get("mentioned") or {}).get("id") == bot_id and entity.get("text"):
            if entity["text"] in text:
                text = text.replace(entity["text"], " ")
                mentioned = True
    if bot_name:
        pattern = re.compile(r"<at[^>]{0,200}>\s*" + re.escape(bot_name) + r"\s*</at>", re.IGNORECASE)
        text, found = pattern.subn(" ", text)
        mentioned = mentioned or bool(found)
    text = _AT.sub(lambda m: m.group(1), text)
    text = _TAG.sub(" ", text)
    return _SPACES.sub(" ", html.unescape(text)).strip(), mentioned


def command_of(text: str) -> str | None:
    """"digest here" and friends: set-up commands, not questions."""
    return _COMMANDS.get(" ".join(text.lower().split()).rstrip(".!"))


# -- card actions -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Action:
    verb: str
    data: dict[str, str]
    incoming: Incoming

    @property
    def case_id(self) -> str:
        return self.data.get("case_id", "")

    @property
    def intent(self) -> str:
        return self.data.get("intent", "")

    @property
    def since(self) -> datetime | None:
        """A digest control's: when the clicked digest's "new / fixed" window starts."""
        stamp = self.data.get("since", "")
        return datetime.fromtimestamp(int(stamp), timezone.utc) if stamp.isdigit() and len(stamp) < 12 else None

    def click(self) -> Click:
        """The click for the Desk: on the card `reply_to`, in this tenant and conversation."""
        conv = self.incoming.conversation
        return Click("teams", conv.tenant, conv.key, self.incoming.user, self.incoming.reply_to, self.case_id,
                     self.intent, user_name=self.incoming.user_name, thread=self.incoming.thread,
                     private=self.incoming.personal, escalation=self.data.get("escalation", ""))


def read_action(activity: dict[str, Any]) -> Action | None:
    """An `adaptiveCard/action` invoke -> (verb, data); None when it is not an Action.Execute."""
    value = activity.get("value") or {}
    action = value.get("action") if isinstance(value, dict) else None
    if not isinstance(action, dict) or action.get("type") != "Action.Execute":
        return None
    raw = action.get("data") if isinstance(action.get("data"), dict) else {}
    data = {k: str(v)[:ID_CHARS] for k, v in raw.items()
            if k in ("case_id", "intent", "escalation", "since") and isinstance(v, str)}
    return Action(str(action.get("verb") or ""), data, read_activity(activity))


# -- outgoing -----------------------------------------------------------------------------------


def card_activity(card: dict[str, Any], channel_data: dict[str, Any] | None = None) -> dict[str, Any]:
    activity: dict[str, Any] = {"type": "message", "attachments": [{"contentType": CARD, "content": card}]}
    if channel_data:
        activity["channelData"] = channel_data
    return activity


def diagnosis_data(case_id: str | None, answer: Answer) -> dict[str, Any]:
    return {DIAGNOSIS_KEY: {"case_id": case_id, "intent": answer.intent, "confidence": round(answer.confidence, 4)}}


def answer_activity(card: dict[str, Any], case_id: str | None, answer: Answer) -> dict[str, Any]:
    """A reply carrying a diagnosis: the card and channelData.sync_diagnosis."""
    return card_activity(card, diagnosis_data(case_id, answer))


def checkin_activity(card: dict[str, Any], case_id: str, intent: str) -> dict[str, Any]:
    return card_activity(card, {CHECKIN_KEY: {"case_id": case_id, "intent": intent}})


def plain_answer_activity(note: str, text: str, refused: dict[str, Any]) -> dict[str, Any]:
    """An answer Teams refused as a card, as text (escaped, its lines kept), with the refused
    activity's channelData (the sync_diagnosis stays on it)."""
    body = keep_line_breaks(f"{note}\n{teams_escape(text)}")[:TEAMS_TEXT_CHARS * 4]
    return {**text_activity(body), **({"channelData": refused["channelData"]} if refused.get("channelData") else {})}


def text_activity(text: str) -> dict[str, Any]:
    return {"type": "message", "text": text, "textFormat": "markdown"}


def invoke_card(card: dict[str, Any]) -> dict[str, Any]:
    """The invoke response that replaces the clicked card."""
    return {"statusCode": 200, "type": CARD, "value": card}


def invoke_message(text: str) -> dict[str, Any]:
    """The invoke response that leaves the card as it is and shows the person a short note."""
    return {"statusCode": 200, "type": MESSAGE, "value": text}


def invoke_error(status: int, text: str) -> dict[str, Any]:
    return {"statusCode": status, "type": "application/vnd.microsoft.error", "value": {"code": "BadRequest",
                                                                                       "message": text}}


def without_actions(card: dict[str, Any]) -> dict[str, Any]:
    """The card minus its buttons (for showing a card once it is settled)."""
    card = copy.deepcopy(card)
    card.pop("actions", None)

    def strip(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        kept = []
        for item in items:
            if item.get("type") == "ActionSet" or item.get("type", "").startswith("Input."):
                continue
            if "items" in item:
                item["items"] = strip(item["items"])
            kept.append(item)
        return kept

    card["body"] = strip(card.get("body", []))
    return card


def settled(card: dict[str, Any], note: str) -> dict[str, Any]:
    """The card without its buttons, and a line saying what happened."""
    card = without_actions(card)
    card["body"].append({"type": "TextBlock", "text": note, "wrap": True, "weight": "Bolder", "separator": True})
    return card


def noted(card: dict[str, Any], note: str, first: bool = False) -> dict[str, Any]:
    """The card with its buttons, and a line saying what the last click did (at the end, or
    `first`: at the top, above an answer that replaced the clicked card)."""
    card = copy.deepcopy(card)
    line = {"type": "TextBlock", "text": note, "wrap": True, "weight": "Bolder", "separator": not first}
    card["body"] = [line, *card.get("body", [])] if first else [*card.get("body", []), line]
    return card


def extended(card: dict[str, Any], panel: dict[str, Any]) -> dict[str, Any]:
    """`card` with another card's body and buttons under it (what to try next, a picker), so
    the answer to a click appears on the card clicked. The panel's buttons sit in its own
    ActionSet; the card's own buttons stay at the bottom."""
    card = copy.deepcopy(card)
    items = list(panel.get("body", []))
    if panel.get("actions"):
        items.append({"type": "ActionSet", "actions": list(panel["actions"])})
    card["body"] = [*card.get("body", []), {"type": "Container", "separator": True, "items": items}]
    return card


def message_link(conv: Conversation, thread: str) -> str:
    """A link to a channel thread that anyone in the team can open; "" for chats (a personal or
    group chat cannot be opened by someone outside it) and for thread ids we had to shorten."""
    if conv.kind != "channel" or not thread or thread.startswith("h_"):
        return ""
    query = urlencode({"tenantId": conv.tenant, "parentMessageId": thread})
    return f"https://teams.microsoft.com/l/message/{quote(conv.id, safe='')}/{quote(thread, safe='')}?{query}"
DIGEST_HEADER_IDS = ("digest_head", "digest_stats", "digest_trend", "digest_snoozed")


def digest_header_size(card: dict[str, Any]) -> int:
    """How many of a digest card's first elements are its header."""
    n = 0
    for item in card.get("body", []):
        if item.get("id") not in DIGEST_HEADER_IDS:
            break
        n += 1
    return n


def digest_note(title: str, note: str) -> dict[str, Any]:
    """What a digest control did to a group, shown where the clicker is looking."""
    return {"type": "Container", "id": "digest_note", "separator": True, "style": "emphasis", "items": [
        {"type": "TextBlock", "text": f"**{teams_escape(title)}**", "wrap": True},
        {"type": "TextBlock", "text": note, "wrap": True, "spacing": "Small"}]}


def note_card(text: str, actions: list[dict[str, Any]] | None = None,
              inputs: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """A small card: a note, optional inputs and buttons. The words come from phrases.yaml."""
    card: dict[str, Any] = {"type": "AdaptiveCard", "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                            "version": "1.5", "body": [{"type": "TextBlock", "text": text, "wrap": True}]}
    card["body"] += inputs or []
    if actions:
        card["actions"] = actions
    return card


def execute(title: str, verb: str, data: dict[str, str], style: str | None = None) -> dict[str, Any]:
    action = {"type": "Action.Execute", "title": title[:40], "verb": verb, "data": data}
    if style:
        action["style"] = style
    return action
