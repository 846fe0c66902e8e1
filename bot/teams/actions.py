"""What the buttons (Action.Execute) on the bot's Teams cards do: each click is read into a
Click, decided by the Desk (bot/core/desk.py), and its Outcome rendered back as a card. No
rule lives here: this module only translates, and posts where the Outcome says.

Teams sends a click as an `adaptiveCard/action` invoke and shows whatever card the invoke
response carries in place of the clicked one; the same card is also written back to the
message (updateActivity) so everyone in a channel sees it settled.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Awaitable, Callable

from microsoft_agents.activity import Activity
from microsoft_agents.hosting.core import TurnContext

from ..core.desk import Desk
from ..core.outcomes import Outcome, Result
from ..core.replies.render import Renderer, Safe
from ..core.storage.tables import Case
from . import translate as tr
from .connector import ConversationGone, with_retries
from .conversations import Conversations
from .hosting import Hosting

log = logging.getLogger(__name__)
Handler = Callable[[TurnContext, tr.Action], Awaitable[dict[str, Any]]]
Reply = Callable[[TurnContext, dict[str, Any]], Awaitable[str]]   # posts in the clicked card's conversation
Say = Callable[..., str]


async def _run(fn: Callable[..., Any], *args: Any) -> Any:
    """A (blocking) Desk call off the event loop."""
    return await asyncio.to_thread(fn, *args)


class CardActions:
    def __init__(self, desk: Desk, renderer: Renderer, say: Say, reply: Reply, hosting: Hosting,
                 conversations: Conversations) -> None:
        self.desk = desk
        self.renderer = renderer
        self.say = say
        self.reply = reply
        self.hosting = hosting
        self.conversations = conversations
        self.handlers: dict[str, Handler] = {
            "fixed": self.fixed, "still_failing": self.still_failing, "not_this": self.not_this,
            "choose": self.choose, "escalate": self.escalate, "snooze_hour": self.snooze_hour,
            "snooze_tomorrow": self.snooze_tomorrow, "digest_steps": self.digest_steps,
            "digest_resolve": self.digest_resolve, "digest_snooze": self.digest_snooze,
        }

    async def on_invoke(self, context: TurnContext, activity: dict[str, Any]) -> None:
        if activity.get("name") != tr.ACTION_INVOKE:
            return  # no invoke response: the adapter answers 501
        action = tr.read_action(activity)
        handler = self.handlers.get(action.verb) if action else None
        if action is None or handler is None:
            body = tr.invoke_error(400, "unknown action")
        else:
            await _run(self.conversations.remember, action.incoming.conversation)
            body = await handler(context, action)
        await context.send_activity(Activity(type="invokeResponse", value={"status": 200, "body": body}))

    # -- helpers -------------------------------------------------------------------------------

    def _who(self, a: tr.Action) -> str:
        return a.incoming.user_name or self.say("teams_someone")

    def _unchanged(self, outcome: Outcome) -> dict[str, Any] | None:
        """The invoke response for a click that changed nothing, or None when it did something."""
        if outcome.result in (Result.EXPIRED, Result.INVALID):
            return tr.invoke_message(self.say("teams_card_expired"))
        if not outcome.done:
            return tr.invoke_message(self.say("teams_already_done"))
        return None

    async def _card_of(self, case: Case, a: tr.Action) -> dict[str, Any]:
        """The clicked card as the bot drew it: the answer (the case's reply) or a check-in."""
        if a.incoming.reply_to and a.incoming.reply_to == case.reply_ref:
            answer = await _run(self.desk.answer_for, case.intent, case.question or "")
            return self.renderer.teams(answer, case.id)
        return self.renderer.checkin("teams", case.id, case.intent)

    async def _update(self, context: TurnContext, a: tr.Action, card: dict[str, Any]) -> None:
        """Write the settled card back to its message, for everyone else in the conversation."""
        if not a.incoming.reply_to:
            return
        activity = Activity.model_validate({**tr.card_activity(card), "id": a.incoming.reply_to})
        try:
            await with_retries(lambda: context.update_activity(activity), self.hosting.reply_backoff, "card update")
        except Exception:  # noqa: BLE001 - the clicker already sees the new card
            log.warning("updating a Teams card for everyone failed", exc_info=True)

    async def _settle(self, context: TurnContext, a: tr.Action, card: dict[str, Any]) -> dict[str, Any]:
        await self._update(context, a, card)
        return tr.invoke_card(card)

    # -- the answer's buttons ----------------------------------------------------------------------

    async def fixed(self, context: TurnContext, a: tr.Action) -> dict[str, Any]:
        outcome = await _run(self.desk.fixed, a.click())
        if (unchanged := self._unchanged(outcome)) is not None or outcome.case is None:
            return unchanged or tr.invoke_message(self.say("teams_card_expired"))
        note = self.say("teams_fixed_note", user=self._who(a))
        return await self._settle(context, a, tr.settled(await self._card_of(outcome.case, a), note))

    async def still_failing(self, context: TurnContext, a: tr.Action) -> dict[str, Any]:
        outcome = await _run(self.desk.still_failing, a.click())
        if (unchanged := self._unchanged(outcome)) is not None or outcome.case is None:
            return unchanged or tr.invoke_message(self.say("teams_card_expired"))
        case = outcome.case
        if outcome.escalate:
            text = self.say("teams_still_failing_escalated", count=outcome.count,
                            outcome=Safe(await self._escalate(case, a)))
            await self.reply(context, tr.text_activity(text))
            return tr.invoke_message(text)
        card = self.renderer.layout("teams", "still_failing", {
            "related": [self.desk.catalog.title(r) for r in outcome.related], "case_id": case.id,
            "intent": case.intent})
        await self.reply(context, tr.card_activity(card))
        return tr.invoke_message(self.say("teams_noted"))

    async def not_this(self, context: TurnContext, a: tr.Action) -> dict[str, Any]:
        outcome = await _run(self.desk.not_this, a.click())
        if (unchanged := self._unchanged(outcome)) is not None:
            return unchanged
        card = self.renderer.layout("teams", "not_this", {
            "case_id": a.case_id,
            "choices": [{"id": i, "title": self.desk.catalog.title(i)} for i in outcome.choices]})
        await self.reply(context, tr.card_activity(card))
        return tr.invoke_message(self.say("teams_not_this_posted"))

    async def choose(self, context: TurnContext, a: tr.Action) -> dict[str, Any]:
        """A topic on a "which one?" card, or the "Not this" picker: answer with that intent."""
        outcome = await _run(self.desk.choose, a.click())
        if outcome.result is Result.INVALID:  # the picker was sent without a choice
            return tr.invoke_message(self.say("teams_pick_a_problem"))
        if (unchanged := self._unchanged(outcome)) is not None or outcome.answer is None:
            return unchanged or tr.invoke_message(self.say("teams_card_expired"))
        case_id = outcome.case.id if outcome.case else None
        card = self.renderer.teams(outcome.answer, case_id)
        posted = await self.reply(context, tr.answer_activity(card, case_id, outcome.answer))
        if case_id and posted:
            await _run(self.desk.reply_posted, case_id, posted)
        note = self.say("teams_chosen_note", user=self._who(a), title=self.desk.catalog.title(outcome.answer.intent))
        return await self._settle(context, a, tr.note_card(note))

    async def escalate(self, context: TurnContext, a: tr.Action) -> dict[str, Any]:
        outcome = await _run(self.desk.escalate, a.click())
        if (unchanged := self._unchanged(outcome)) is not None:
            return unchanged
        text = await self._escalate(outcome.case, a)
        await self.reply(context, tr.text_activity(text))
        return tr.invoke_message(text)

    async def _escalate(self, case: Case | None, a: tr.Action) -> str:
        """Post to the conversations that said "escalations here"; what to tell the user."""
        targets = await _run(self.conversations.targets, "escalation")
        if not targets:
            return self.say("teams_escalation_not_configured")
        title = self.desk.catalog.title(case.intent) if case and case.intent in self.desk.catalog \
            else self.say("slack_unknown_problem")
        post = tr.text_activity(self.say("teams_escalation_post", title=title, user=self._who(a)))
        reached = 0
        for target in targets:
            try:
                await self.hosting.send(target.conversation, post)
                reached += 1
            except ConversationGone:
                await _run(self.conversations.mark_gone, target.conversation.key)
            except Exception:  # noqa: BLE001 - try the others; the user is told below
                log.warning("posting an escalation to Teams failed", exc_info=True)
        return self.say("teams_escalated") if reached else self.say("teams_escalation_failed")

    # -- check-in buttons -----------------------------------------------------------------------------

    async def snooze_hour(self, context: TurnContext, a: tr.Action) -> dict[str, Any]:
        return await self._snooze(context, a, "hour")

    async def snooze_tomorrow(self, context: TurnContext, a: tr.Action) -> dict[str, Any]:
        return await self._snooze(context, a, "tomorrow")

    async def _snooze(self, context: TurnContext, a: tr.Action, until: str) -> dict[str, Any]:
        outcome = await _run(self.desk.snooze, a.click(), until, a.incoming.timezone)
        if (unchanged := self._unchanged(outcome)) is not None:
            return unchanged
        assert outcome.case is not None and outcome.until is not None and outcome.zone is not None
        local = outcome.until.astimezone(outcome.zone)
        note = self.say("teams_snoozed", user=self._who(a), when=f"{local:%a %d %b %H:%M} ({outcome.zone.key})")
        card = self.renderer.checkin("teams", outcome.case.id, outcome.case.intent)
        return await self._settle(context, a, tr.settled(card, note))

    # -- the digest's menus ------------------------------------------------------------------------------
    # Each group's "..." menu (secondary Action.Execute: Show the fix, Mark resolved, Snooze a day).

    async def digest_steps(self, context: TurnContext, a: tr.Action) -> dict[str, Any]:
        outcome = await _run(self.desk.show_fix, a.click())
        if (unchanged := self._unchanged(outcome)) is not None or outcome.answer is None:
            return unchanged or tr.invoke_message(self.say("teams_card_expired"))
        await self.reply(context, tr.answer_activity(self.renderer.teams(outcome.answer), None, outcome.answer))
        return tr.invoke_message(self.say("teams_fix_posted"))

    async def digest_resolve(self, context: TurnContext, a: tr.Action) -> dict[str, Any]:
        outcome = await _run(self.desk.resolve_group, a.click(), a.since)
        if outcome.result is Result.INVALID:
            return tr.invoke_message(self.say("teams_card_expired"))
        note = (self.say("digest_resolved_note", user=self._who(a), count=outcome.count) if outcome.done
                else self.say("digest_nothing_open"))
        return await self._digest_settle(context, a, note, outcome)

    async def digest_snooze(self, context: TurnContext, a: tr.Action) -> dict[str, Any]:
        outcome = await _run(self.desk.snooze_group, a.click(), a.since)
        if outcome.result is Result.INVALID:
            return tr.invoke_message(self.say("teams_card_expired"))
        if outcome.until is None:
            note = self.say("digest_not_open_to_snooze")
        else:
            local = outcome.until.astimezone(outcome.zone) if outcome.zone else outcome.until
            when = f"{local:%a %d %b %H:%M} ({local.tzname()})"
            note = (self.say("digest_snoozed_note", user=self._who(a), when=when) if outcome.done
                    else self.say("digest_already_snoozed", when=when))
        return await self._digest_settle(context, a, note, outcome)

    async def _digest_settle(self, context: TurnContext, a: tr.Action, note: str, outcome: Outcome) -> dict[str, Any]:
        """The clicked digest redrawn as it stands now (its header recounted), with what was
        done to the group, by whom, right under the header."""
        card = self.renderer.digest_post("teams", outcome.digest).main
        title = self.desk.catalog.title(a.intent) if a.intent in self.desk.catalog else self.say("digest_unknown_title")
        card["body"].insert(tr.digest_header_size(card), tr.digest_note(title, note))
        return await self._settle(context, a, card)
