"""Check-ins and digests delivered to Teams (the Notifier for the Clockwork), proactively,
through the conversation references stored when people talked to the bot.

A conversation Teams says is gone (403/404) is marked and skipped from then on: the Clockwork
stops that check-in instead of retrying it. Throttling is retried with backoff inside one
send; if Teams is still throttling, the send fails and the Clockwork tries again later.

Each post carries its identity in channelData (`delivery`, the Clockwork's Post.key), as in
Slack. Unlike Slack, the Bot Framework gives a bot no way to read a conversation back, so a
post claimed again cannot be looked for there: what Teams confirmed is known by its stored
activity id (a check-in's `ref`, set when it is marked sent), and a send cut off before Teams
answered is sent again.
"""

from __future__ import annotations

import asyncio
import logging

from ..core.schedule.clockwork import Gone, Post
from ..core.cases.digest import Digest
from ..core.storage.tables import Case
from . import translate as tr
from .connector import ConversationGone, TooLarge
from .conversations import Stored
from .edge import TeamsEdge

log = logging.getLogger(__name__)
TARGET_PREFIX = "teams:"
DIGEST_KEY = "sync_digest"


class TeamsNotifier:
    platform = "teams"

    def __init__(self, edge: TeamsEdge) -> None:
        self.edge = edge

    async def user_timezone(self, case: Case) -> str | None:
        # Teams sends the user's zone with each message; it was stored on the case then.
        return case.user_tz

    async def send_checkin(self, case: Case, post: Post | None = None) -> str:
        stored = await self._conversation(case.channel)
        card = self.edge.renderer.checkin("teams", case.id, case.intent)
        activity = tr.checkin_activity(card, case.id, case.intent)
        if post is not None:
            activity["channelData"][tr.CHECKIN_KEY]["delivery"] = post.key
        return await self._send(stored, activity, case.thread)

    def digest_targets(self) -> list[str]:
        return self.edge.digest_targets()

    async def send_digest(self, target: str, digest: Digest, post: Post | None = None) -> str:
        """The digest card, fitted to Teams' size advice, with the groups that did not fit as
        replies in its thread; refused as too large (413) anyway, its header alone with every
        group in the thread. The card carries the delivery's identity in channelData."""
        stored = await self._conversation(target.removeprefix(TARGET_PREFIX))
        data = {DIGEST_KEY: {"delivery": post.key, "total": digest.total}} if post is not None else None
        rendered = self.edge.renderer.digest_post("teams", digest)
        try:
            sent = await self._send(stored, tr.card_activity(rendered.main, data))
        except TooLarge:
            log.warning("Teams refused the digest as too large; posting it as a summary with the groups in its thread")
            rendered = self.edge.renderer.digest_post("teams", digest, compact=True)
            sent = await self._send(stored, tr.card_activity(rendered.main, data))
        for reply in rendered.rest:
            try:  # the digest itself is out: a lost reply is logged, never a reason to post it all again
                await self._send(stored, tr.card_activity(reply), sent)
            except Exception:  # noqa: BLE001
                log.warning("a reply in the digest's thread failed", exc_info=True)
        return sent

    async def _conversation(self, key: str) -> Stored:
        stored = await asyncio.to_thread(self.edge.conversations.get, key)
        if stored is None:
            raise Gone("no conversation reference is stored")
        if stored.gone_at is not None:
            raise Gone("the conversation was marked gone")
        return stored

    async def _send(self, stored: Stored, activity: dict, thread: str = "") -> str:
        try:
            return await self.edge.hosting.send(stored.conversation, activity, thread)
        except ConversationGone as exc:
            # A 404 for one channel thread (its first post deleted) says nothing about the channel.
            if exc.status == 403 or not thread:
                await asyncio.to_thread(self.edge.conversations.mark_gone, stored.conversation.key)
            raise Gone(str(exc)) from None
