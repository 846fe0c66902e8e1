"""The sandbox's Slack workspace: its people, channels and messages, in memory.

What Slack would store when the bot calls chat.postMessage (or a person types), and what a
Slack client would be told about it. Pages listening on the event stream get every change.
Nothing here is persisted: a restart starts an empty conversation (cases stay in the database).
"""

from __future__ import annotations

import asyncio
import itertools
import random
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable

from ..core.replies.moments import stamp
from ..core.schedule.timerules import zone

TEAM = "T0SANDBOX"
TEAM_NAME = "Sandbox"
APP_ID = "A0SANDBOX"
BOT_USER = "U0SYNCMEDIC"
BOT_ID = "B0SYNCMEDIC"
YOU = "U0YOU"
QBO_SYNC = "C0QBOSYNC"
ESCALATIONS = "C0ESCALATE"
DM = "D0SYNCMEDIC"

USERS = {
    YOU: {"id": YOU, "name": "you", "real_name": "You", "is_bot": False},
    BOT_USER: {"id": BOT_USER, "name": "syncmedic", "real_name": "SyncMedic", "is_bot": True},
}
CHANNELS = [
    {"id": QBO_SYNC, "name": "qbo-sync", "kind": "channel",
     "topic": "DEAR to QuickBooks sync problems. Mention @SyncMedic with the error."},
    {"id": ESCALATIONS, "name": "sync-escalations", "kind": "channel",
     "topic": "Where SyncMedic asks a person for help."},
    {"id": DM, "name": "SyncMedic", "kind": "im", "topic": "Paste a sync error; no mention needed."},
]
CHANNEL_IDS = {c["id"] for c in CHANNELS}
QUEUE_LIMIT = 1000  # changes buffered for a page that stops reading; past it, it gets a fresh snapshot


@dataclass
class Message:
    channel: str
    ts: str
    user: str
    text: str
    seq: int
    posted_at: datetime
    blocks: list[dict[str, Any]] = field(default_factory=list)
    thread_ts: str = ""
    metadata: dict[str, Any] | None = None
    bot: bool = False

    def as_slack(self) -> dict[str, Any]:
        """The message as Slack's API and payloads show it (no channel: Slack sends that apart)."""
        message: dict[str, Any] = {"type": "message", "text": self.text, "user": self.user, "ts": self.ts,
                                   "team": TEAM, "blocks": self.blocks}
        if self.bot:
            message.update(subtype="bot_message", bot_id=BOT_ID, app_id=APP_ID)
        if self.thread_ts:
            message["thread_ts"] = self.thread_ts
        if self.metadata:
            message["metadata"] = self.metadata
        return message


class Workspace:
    def __init__(self, clock: Callable[[], datetime], tz_name: str = "UTC") -> None:
        self.clock = clock
        self.tz_name = tz_name
        self.messages: dict[str, Message] = {}
        self.home: dict[str, Any] | None = None
        self._seq = itertools.count(1)
        # ts must never repeat, not even across restarts (the bot dedupes on it): a random
        # start for the fractional part, and the clock's seconds, keep them apart.
        self._tick = itertools.count(random.randrange(0, 900_000))
        self._block_ids = itertools.count(1)
        self._subscribers: set[asyncio.Queue] = set()

    # -- time and ids ----------------------------------------------------------------------

    def new_ts(self) -> str:
        return f"{int(self.clock().timestamp())}.{next(self._tick) % 1_000_000:06d}"

    def label(self, moment: datetime) -> str:
        """How the page shows a time ("Mon 2 Mar 14:05", in the workspace's zone): the one
        timestamp format of every note (bot/core/replies/moments.py)."""
        return stamp(moment, zone(self.tz_name))

    def _with_block_ids(self, blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Slack gives every block without one a block_id; clicks and updates carry them back."""
        return [block if block.get("block_id") else {**block, "block_id": f"sbx{next(self._block_ids)}"}
                for block in blocks if isinstance(block, dict)]

    # -- messages ----------------------------------------------------------------------------

    def post(self, channel: str, user: str, text: str, *, blocks: list[dict[str, Any]] | None = None,
             thread_ts: str = "", metadata: dict[str, Any] | None = None, bot: bool = False) -> Message:
        message = Message(channel=channel, ts=self.new_ts(), user=user, text=text, seq=next(self._seq),
                          posted_at=self.clock(), blocks=self._with_block_ids(blocks or []),
                          thread_ts=thread_ts, metadata=metadata, bot=bot)
        self.messages[message.ts] = message
        self.publish("upsert", self.view(message))
        return message

    def update(self, channel: str, ts: str, *, text: str | None, blocks: list[dict[str, Any]] | None) -> Message | None:
        message = self.messages.get(ts)
        if message is None or message.channel != channel:
            return None
        if text is not None:
            message.text = text
        if blocks is not None:
            message.blocks = self._with_block_ids(blocks)
        self.publish("upsert", self.view(message))
        return message

    def delete(self, channel: str, ts: str) -> bool:
        message = self.messages.get(ts)
        if message is None or message.channel != channel:
            return False
        del self.messages[ts]
        self.publish("remove", {"ts": ts, "channel": channel})
        return True

    def publish_home(self, view: dict[str, Any]) -> None:
        self.home = view
        self.publish("home", {"blocks": view.get("blocks") or []})

    # -- what the page sees --------------------------------------------------------------------

    def view(self, message: Message) -> dict[str, Any]:
        author = USERS.get(message.user, {"real_name": message.user})
        return {"ts": message.ts, "channel": message.channel, "thread_ts": message.thread_ts,
                "user": message.user, "author": author["real_name"], "bot": message.bot,
                "text": message.text, "blocks": message.blocks, "seq": message.seq,
                "time": self.label(message.posted_at), "at": message.posted_at.isoformat(),
                "kind": (message.metadata or {}).get("event_type", "")}

    def snapshot(self, extra: dict[str, Any]) -> dict[str, Any]:
        return {"team": TEAM_NAME, "you": YOU, "bot": BOT_USER, "users": USERS, "channels": CHANNELS,
                "messages": [self.view(m) for m in sorted(self.messages.values(), key=lambda m: m.seq)],
                "home": (self.home or {}).get("blocks"), **extra}

    # -- listeners (the pages' event streams) ------------------------------------------------

    def subscribe(self) -> asyncio.Queue:
        queue: asyncio.Queue = asyncio.Queue(maxsize=QUEUE_LIMIT)
        self._subscribers.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue) -> None:
        self._subscribers.discard(queue)

    def publish(self, kind: str, data: Any) -> None:
        for queue in list(self._subscribers):
            try:
                queue.put_nowait((kind, data))
            except asyncio.QueueFull:
                # A page that stopped reading: forget what it missed and send it everything anew.
                _empty(queue)
                queue.put_nowait(("resync", None))

    def close_streams(self) -> None:
        """Server shutdown: tell every open stream to finish."""
        for queue in list(self._subscribers):
            _empty(queue)
            queue.put_nowait(None)
        self._subscribers.clear()


def _empty(queue: asyncio.Queue) -> None:
    while not queue.empty():
        queue.get_nowait()
