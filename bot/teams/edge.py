"""The Teams edge: the agent the SDK's CloudAdapter runs for every activity posted to
/api/messages. Messages are answered through the platform-free Desk; card clicks go to
CardActions (bot/teams/actions.py), which the edge hands its collaborators.

Delivery guarantees: a message is recorded in the database (unique per tenant, conversation
and activity id) before it is answered, so a redelivered activity is answered once. The case
(and its first check-in) is written before the answer is sent, so the card's buttons always
point at a case that exists, and the answer carries its identity in channelData
(`sync_diagnosis.delivery`). The answer is posted during the request, so when posting fails
the record and the case are dropped and the request fails: a redelivery can then answer it.
When the process dies mid-request, the record stays: recover() answers it later, proactively,
in the stored conversation, reusing the case already written (held while being answered,
like Slack's: bot/delivery/leases.py). The Bot Framework gives a bot no way to read a
conversation back, so unlike Slack's, that recovery cannot look for an answer cut off in flight.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from dataclasses import replace
from datetime import timedelta
from functools import partial
from typing import Any, Awaitable, Callable

from aiohttp import web
from microsoft_agents.activity import Activity
from microsoft_agents.hosting.core import TurnContext

from ..core.desk import Desk
from ..delivery.leases import Leases
from ..core.replies.render import Phrases, Renderer
from ..core.storage.store import Store
from ..core.storage.tables import USER_TZ_CHARS
from . import translate as tr
from .actions import CardActions
from .connector import ConversationGone, TooLarge, with_retries
from .conversations import Conversations
from .hosting import Hosting
from .reports import report_reply

log = logging.getLogger(__name__)
TARGETS_TTL = 30.0  # seconds a process trusts its cached list of digest targets


class TeamsEdge:
    def __init__(self, desk: Desk, renderer: Renderer, phrases: Phrases, store: Store, hosting: Hosting, *,
                 retry_after_seconds: float = 60.0) -> None:
        self.desk = desk
        self.renderer = renderer
        self.phrases = phrases
        self.store = store
        self.hosting = hosting
        self.conversations = Conversations(store)
        self.actions = CardActions(desk, renderer, self.say, self.reply, hosting, self.conversations)
        self.retry_after_seconds = retry_after_seconds
        self.leases = Leases(partial(self.db, self.store.renew_events), retry_after_seconds)
        self._digest_targets: list[str] | None = None
        self._digest_loaded = 0.0

    def say(self, key: str, **values: Any) -> str:
        return self.phrases(key, "teams", **values)

    async def db(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        return await asyncio.to_thread(partial(fn, *args, **kwargs))

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """POST /api/messages."""
        return await self.hosting.handle(request, self)

    # -- the SDK's Agent protocol ------------------------------------------------------------

    async def on_turn(self, context: TurnContext) -> None:
        activity = context.activity.model_dump(by_alias=True, mode="json", exclude_none=True)
        kind = activity.get("type")
        if kind == "message":
            await self.on_message(context, activity)
        elif kind == "invoke":
            await self.actions.on_invoke(context, activity)
        elif kind in ("conversationUpdate", "installationUpdate"):
            await self.on_membership(activity)

    async def reply(self, context: TurnContext, activity: dict[str, Any]) -> str:
        """Post into the conversation (and channel thread) of the activity being handled."""
        sent = await with_retries(lambda: context.send_activity(Activity.model_validate(activity)),
                                  self.hosting.reply_backoff, "reply")
        return str(sent.id or "")

    # -- messages ----------------------------------------------------------------------------

    async def on_message(self, context: TurnContext, activity: dict[str, Any]) -> None:
        incoming = tr.read_activity(activity)
        conv = incoming.conversation
        if not incoming.activity_id or not conv.service_url:
            return
        await self.db(self.conversations.remember, conv)
        if not incoming.personal and not incoming.mentioned:
            # Teams only sends channel messages that @mention the bot; with more permissions it
            # would send every one. Answer those only in threads the bot is helping in.
            if not await self.db(self.desk.follows, "teams", conv.tenant, conv.key, incoming.thread):
                return
        # The id of the case its answer opens is decided now: every try opens the same one.
        case_id = str(uuid.uuid4())
        row = await self.db(self.store.record_event, "teams", conv.tenant, conv.key,
                            tr.short_id(incoming.activity_id), kind="message",
                            payload={**tr.redo_payload(incoming), "case_id": case_id})
        if row is None:
            log.info("duplicate delivery of a Teams message ignored")
            return
        self.leases.hold(row, 0)
        opened: list[str] = []   # the case written for this answer, if any
        try:
            await self._answer(partial(self.reply, context), incoming, row, case_id=case_id, opened=opened)
        except ConversationGone:
            await self._gone(conv.key, row, opened)
        except Exception:
            if self.leases.holds(row, 0):  # else a recovery took it: it is the recovery's to answer
                # A redelivery may answer it; the case nobody saw goes.
                await self.db(self.store.release_event, row, opened[0] if opened else None)
            raise
        finally:
            self.leases.release(row, 0)

    async def _gone(self, key: str, row: int, opened: list[str]) -> None:
        log.warning("Teams refused the answer: the conversation is gone")
        await self.db(self.conversations.mark_gone, key)
        await self.db(partial(self.store.progress, failed=[(row, opened[0] if opened else None)]))

    async def recover(self) -> int:
        """Answer messages a process recorded but never answered (it died mid-request), in
        their stored conversations; returns how many were claimed."""
        claimed = await self.db(self.store.claim_unfinished_events, timedelta(seconds=self.retry_after_seconds),
                                platform="teams")
        for row, _payload, attempts in claimed:  # held from now on: answering them may take a while
            self.leases.hold(row, attempts)
        try:
            for row, payload, attempts in claimed:
                if self.leases.holds(row, attempts):  # else another recovery took it meanwhile
                    await self._recover_one(row, payload)
        finally:
            for row, _payload, attempts in claimed:
                self.leases.release(row, attempts)
        return len(claimed)

    async def _recover_one(self, row: int, payload: dict[str, Any]) -> None:
        stored = await self.db(self.conversations.get, str(payload.get("conversation", "")))
        if stored is None or stored.gone_at is not None or not payload.get("activity_id"):
            await self.db(self.store.finish_event, row, "failed")
            return
        incoming = tr.incoming_again(stored.conversation, payload)
        case_id = str(payload.get("case_id") or "") or None
        log.info("recovering an unanswered Teams message in %s", stored.conversation.key)
        try:
            await self._answer(partial(self.hosting.send, stored.conversation, thread=incoming.thread), incoming, row,
                               case_id=case_id)
        except ConversationGone:
            await self._gone(stored.conversation.key, row, [case_id] if case_id else [])
        except Exception:  # noqa: BLE001 - left "received": tried again later (attempts are capped)
            log.exception("recovering a Teams message failed; it will be retried")

    async def _answer(self, send: Callable[[dict[str, Any]], Awaitable[str]], incoming: tr.Incoming,
                      row: int, *, case_id: str | None = None, opened: list[str] | None = None) -> None:
        """Answer `incoming` through `send` (a reply in the request, or a proactive message).
        `case_id`: the id decided for its case when it was recorded; `opened` gets the case
        written here."""
        command = tr.command_of(incoming.text)
        if command is not None:
            reply = (await report_reply(self, incoming) if command == "report"
                     else tr.text_activity(await self._command(command, incoming)))
            await send(reply)
            await self.db(self.store.finish_event, row)
            return
        [answer] = await asyncio.to_thread(self.desk.answer_many, [incoming.text])
        [planned] = self.desk.plan_cases([(incoming.text, incoming.where)], [answer])
        diagnosed = planned.with_case_id(case_id)
        case = diagnosed.case
        if case is not None:
            if incoming.timezone:
                case = replace(case, user_tz=incoming.timezone[:USER_TZ_CHARS])
            # Written before the answer is sent (once, whichever try gets here first): its
            # buttons always point at a case that exists.
            await self.db(partial(self.store.progress, opened=[case], followup_due=self.desk.followup_due()))
            if opened is not None:
                opened.append(case.id)
        case_id = case.id if case is not None else None
        activity = tr.answer_activity(self.renderer.teams(answer, case_id), case_id, answer)
        activity["channelData"][tr.DIAGNOSIS_KEY]["delivery"] = tr.short_id(incoming.activity_id)
        try:
            ref = await send(activity)
        except TooLarge:  # over Teams' limit however it was fitted: the answer as text, once
            log.warning("Teams refused an answer as too large; sending it as text")
            ref = await send(tr.plain_answer_activity(
                self.say("teams_plain_fallback"), self.renderer.text(answer, case_id), activity))
        asked = [diagnosed.asked] if diagnosed.asked is not None else []
        await self.db(partial(self.store.progress, answered=[(row, case_id, ref)], asked=asked))

    async def _command(self, command: str, incoming: tr.Incoming) -> str:
        if not self.desk.may_configure(incoming.user):
            return self.say("teams_admin_only")
        what = "digest" if command.startswith("digest") else "escalation"
        await self.db(self.conversations.set_target, incoming.conversation.key, what, command.endswith("_here"))
        self._digest_targets = None
        log.info("Teams conversation %s: %s", incoming.conversation.key, command)
        return self.say(f"teams_{command}")

    async def on_membership(self, activity: dict[str, Any]) -> None:
        """Installed or added: remember where we are. Removed or uninstalled: stop writing there."""
        incoming = tr.read_activity(activity)
        conv = incoming.conversation
        if not conv.service_url or not conv.id:
            return
        bot_id = (conv.bot or {}).get("id")
        removed = activity.get("action") in ("remove", "remove-upgrade") or any(
            (m or {}).get("id") == bot_id for m in activity.get("membersRemoved") or [])
        if removed:
            await self.db(self.conversations.mark_gone, conv.key)
        else:
            await self.db(self.conversations.remember, conv)

    # -- digest targets ------------------------------------------------------------------------

    def digest_targets(self) -> list[str]:
        """Cached briefly: the scheduler asks on every tick after the digest time."""
        if self._digest_targets is None or time.monotonic() - self._digest_loaded > TARGETS_TTL:
            self._digest_targets = [f"teams:{t.conversation.key}" for t in self.conversations.targets("digest")]
            self._digest_loaded = time.monotonic()
        return list(self._digest_targets)
