"""What the buttons (Action.Execute) on the bot's Teams cards do: each click is read into a
Click, decided by the Desk (bot/core/desk.py), and its Outcome rendered back as a card. No
rule lives here: this module only translates, and posts where the Outcome says.

Teams sends a click as an `adaptiveCard/action` invoke and shows whatever card the invoke
response carries in place of the clicked one; the same card is also written back to the
message (updateActivity) so everyone in a conversation sees it. So every answer to a click is
the clicked card itself, redrawn: settled with a note, with what to try next or the "Not this"
picker added under it, or replaced by the answer picked. A click that changes nothing says
why on the card (who did it before, and when). Cards are redrawn from the case (Teams does not
send the card back with the click); one that cannot be (an answer to a question nobody
recognised) gets the note as the invoke's message instead.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from typing import Any, Awaitable, Callable

from microsoft_agents.activity import Activity
from microsoft_agents.hosting.core import TurnContext

from ..core.cases import escalations
from ..core.desk import Desk
from ..core.outcomes import Outcome, Result, Why
from ..core.replies import notes
from ..core.replies.render import Renderer, Safe
from ..core.storage.tables import Case
from . import translate as tr
from .connector import ConversationGone, with_retries
from .conversations import Conversations
from .format import teams_escape
from .hosting import Hosting

log = logging.getLogger(__name__)
Handler = Callable[[TurnContext, tr.Action], Awaitable[dict[str, Any]]]
Reply = Callable[[TurnContext, dict[str, Any]], Awaitable[str]]   # posts in the clicked card's conversation
Say = Callable[..., str]
# Why-notes after which the card's buttons can do nothing more: they are removed.
SETTLING = (Why.ALREADY_FIXED, Why.EXPIRED, Why.NO_CHECKINS_LEFT)


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
            "choose": self.choose, "escalate": self.escalate, "decline": self.decline, "claim": self.claim,
            "snooze_hour": self.snooze_hour, "snooze_tomorrow": self.snooze_tomorrow,
            "digest_steps": self.digest_steps, "digest_resolve": self.digest_resolve,
            "digest_snooze": self.digest_snooze,
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

    def who(self, user: str, name: str) -> str:
        """How a card names someone: their display name (escaped), as Teams sent it."""
        return teams_escape(name) if name else self.say("teams_someone")

    def _who(self, a: tr.Action) -> Safe:
        return Safe(self.who(a.incoming.user, a.incoming.user_name))

    async def _card_of(self, case: Case | None, a: tr.Action) -> dict[str, Any] | None:
        """The clicked card as the bot drew it: the case's answer, its check-in, or an answer
        without a case that its intent rebuilds (a digest's fix, "talk to a person?"); None
        for one nothing rebuilds (an answer to a question not recognised)."""
        if case is not None:
            if a.incoming.reply_to and a.incoming.reply_to == case.reply_ref:
                answer = await _run(self.desk.answer_for, case.intent, case.question or "")
                return self.renderer.teams(answer, case.id)
            return self.renderer.checkin("teams", case.id, case.intent)
        if a.intent in self.desk.catalog:
            return self.renderer.teams(await _run(self.desk.answer_for, a.intent), None)
        return None

    async def _update(self, context: TurnContext, a: tr.Action, activity: dict[str, Any]) -> None:
        """Write the redrawn card back to its message, for everyone else in the conversation."""
        if not a.incoming.reply_to:
            return
        update = Activity.model_validate({**activity, "id": a.incoming.reply_to})
        try:
            await with_retries(lambda: context.update_activity(update), self.hosting.reply_backoff, "card update")
        except Exception:  # noqa: BLE001 - the clicker already sees the new card
            log.warning("updating a Teams card for everyone failed", exc_info=True)

    async def _show(self, context: TurnContext, a: tr.Action, card: dict[str, Any] | None, note: str = "",
                    settle: bool = False, activity: dict[str, Any] | None = None) -> dict[str, Any]:
        """The clicked card redrawn with `note` (and without its buttons if `settle`): the invoke
        response, and the message updated. No card to redraw: the note as the invoke's message."""
        if card is None:
            return tr.invoke_message(note)
        if note:
            card = tr.settled(card, note) if settle else tr.noted(card, note)
        await self._update(context, a, activity or tr.card_activity(card))
        return tr.invoke_card(card)

    async def _explain(self, context: TurnContext, a: tr.Action, outcome: Outcome,
                       card: dict[str, Any] | None = None) -> dict[str, Any]:
        """A click that changed nothing: why, on the card (who did it before, and when)."""
        if outcome.why is None:
            outcome = replace(outcome, why=Why.ALREADY_DONE)
        note = notes.why(self.renderer, "teams", outcome, self.who, self.desk.clock())
        if card is None and outcome.why not in (Why.EXPIRED, Why.INVALID):
            card = await self._card_of(outcome.case, a)
        return await self._show(context, a, card, note, settle=outcome.why in SETTLING)

    # -- the answer's buttons ----------------------------------------------------------------------

    async def fixed(self, context: TurnContext, a: tr.Action) -> dict[str, Any]:
        outcome = await _run(self.desk.fixed, a.click())
        if not outcome.done:
            return await self._explain(context, a, outcome)
        note = self.say("teams_fixed_note" if outcome.case is not None else "note_fixed_untracked", user=self._who(a))
        return await self._show(context, a, await self._card_of(outcome.case, a), note, settle=True)

    async def still_failing(self, context: TurnContext, a: tr.Action) -> dict[str, Any]:
        outcome = await _run(self.desk.still_failing, a.click())
        if not outcome.done:
            return await self._explain(context, a, outcome)
        card = await self._card_of(outcome.case, a)
        if outcome.escalate and outcome.escalation is not None:
            told = await self._escalate(outcome.escalation, a, "escalated_after_failing", outcome.count)
            return await self._show(context, a, card, told)
        panel = notes.still_failing(self.renderer, "teams", outcome, a.intent)
        note = self.say("teams_still_failing_note", user=self._who(a))
        if card is None:
            return await self._show(context, a, panel, note)
        return await self._show(context, a, tr.extended(card, panel), note)

    async def not_this(self, context: TurnContext, a: tr.Action) -> dict[str, Any]:
        outcome = await _run(self.desk.not_this, a.click())
        if not outcome.done:
            return await self._explain(context, a, outcome)
        card = await self._card_of(outcome.case, a)
        picker = notes.not_this(self.renderer, "teams", outcome)
        note = self.say("teams_not_this_note", user=self._who(a))
        return await self._show(context, a, tr.extended(card, picker) if card is not None else picker, note)

    async def choose(self, context: TurnContext, a: tr.Action) -> dict[str, Any]:
        """A topic, or the "Not this" / "It can also be" picker: the card becomes the answer
        for the problem picked (with the case, so its buttons work), saying who chose it."""
        click = a.click()
        outcome = await _run(self.desk.choose, click)
        if outcome.result is Result.INVALID and not a.intent:  # the picker was sent without a choice
            return tr.invoke_message(self.say("teams_pick_a_problem"))
        if not outcome.done or outcome.answer is None:
            return await self._explain(context, a, outcome)
        case_id = outcome.case.id if outcome.case else None
        card = self.renderer.teams(outcome.answer, case_id)
        note = self.say("teams_chosen_note", user=self._who(a), title=self.desk.catalog.title(outcome.answer.intent))
        card = tr.noted(card, note, first=True)
        await _run(self.desk.open_chosen, outcome, click)
        if case_id and a.incoming.reply_to:
            await _run(self.desk.reply_posted, case_id, a.incoming.reply_to)
        await self._update(context, a, tr.answer_activity(card, case_id, outcome.answer))
        return tr.invoke_card(card)

    async def escalate(self, context: TurnContext, a: tr.Action) -> dict[str, Any]:
        outcome = await _run(self.desk.escalate, a.click())
        if not outcome.done or outcome.escalation is None:
            return await self._explain(context, a, outcome)
        told = await self._escalate(outcome.escalation, a, "escalated_to")
        card = await self._card_of(outcome.case if a.case_id else None, a)
        return await self._show(context, a, card, told, settle=a.intent == "escalate")

    async def decline(self, context: TurnContext, a: tr.Action) -> dict[str, Any]:
        """"No, thanks" to "talk to a person?"."""
        await _run(self.desk.decline, a.click())  # said the same way the second time
        return await self._show(context, a, await self._card_of(None, a), self.say("note_declined"), settle=True)

    async def _escalate(self, e: escalations.Escalation, a: tr.Action, opening: str, count: int = 0) -> str:
        """Post the request for a person to the conversations that said "escalations here";
        what to tell the asker (where it went, and where the person will answer)."""
        targets = await _run(self.conversations.targets, "escalation")
        if not targets:
            return self.say("teams_escalation_not_configured")
        post = tr.card_activity(await self._escalation_card(e))
        reached = 0
        for target in targets:
            try:
                await self.hosting.send(target.conversation, post)
                reached += 1
            except ConversationGone:
                await _run(self.conversations.mark_gone, target.conversation.key)
            except Exception:  # noqa: BLE001 - try the others; the user is told below
                log.warning("posting an escalation to Teams failed", exc_info=True)
        if not reached:
            return self.say("teams_escalation_failed")
        where = Safe(self.say("teams_escalation_where"))
        return " ".join([self.say(opening, where=where, count=count),
                         self.say("escalated_reply_private" if e.private else "escalated_reply_here")])

    async def _escalation_card(self, e: escalations.Escalation) -> dict[str, Any]:
        """The escalation card, from the escalation and the asker's stored conversation (where
        they asked, and a link to a channel thread; a chat has none others could open)."""
        stored = await _run(self.conversations.get, e.channel)
        conv = stored.conversation if stored is not None else None
        kind = "channel" if conv is not None and conv.kind == "channel" else "group"
        return notes.escalation(self.renderer, "teams", e, who=self.who, where=self.say(f"teams_where_{kind}"),
                                link=tr.message_link(conv, e.thread) if conv is not None else "",
                                now=self.desk.clock(), tz=self.desk.team_zone)

    async def claim(self, context: TurnContext, a: tr.Action) -> dict[str, Any]:
        """"Claim" on an escalation card: the card says who has it; the asker is told, where they asked."""
        outcome = await _run(self.desk.claim, a.click())
        e = outcome.escalation
        if e is None:
            return await self._explain(context, a, outcome)
        card = await self._escalation_card(e)
        if not outcome.done:
            return await self._explain(context, a, outcome, card)
        await self._tell_asker(e, self.say("claimed_for_asker", user=self._who(a), private=e.private))
        return await self._show(context, a, card)

    async def _tell_asker(self, e: escalations.Escalation, text: str) -> None:
        stored = await _run(self.conversations.get, e.channel)
        if stored is None or stored.gone_at is not None:
            log.info("the asker's Teams conversation is gone; the claim stands")
            return
        try:
            await self.hosting.send(stored.conversation, tr.text_activity(text), e.thread)
        except Exception:  # noqa: BLE001 - the claim stands; the card says who has it
            log.warning("could not tell the asker who claimed their escalation", exc_info=True)

    # -- check-in buttons -----------------------------------------------------------------------------

    async def snooze_hour(self, context: TurnContext, a: tr.Action) -> dict[str, Any]:
        return await self._snooze(context, a, "hour")

    async def snooze_tomorrow(self, context: TurnContext, a: tr.Action) -> dict[str, Any]:
        return await self._snooze(context, a, "tomorrow")

    async def _snooze(self, context: TurnContext, a: tr.Action, until: str) -> dict[str, Any]:
        outcome = await _run(self.desk.snooze, a.click(), until, a.incoming.timezone)
        if not outcome.done or outcome.case is None or outcome.until is None or outcome.zone is None:
            return await self._explain(context, a, outcome)
        note = notes.snoozed(self.renderer, "teams", outcome, self._who(a), self.desk.clock())
        card = self.renderer.checkin("teams", outcome.case.id, outcome.case.intent)
        return await self._show(context, a, card, note, settle=True)

    # -- the digest's menus ------------------------------------------------------------------------------
    # Each group's "..." menu (secondary Action.Execute: Show the fix, Mark resolved, Snooze a day).

    def _unchanged(self, outcome: Outcome) -> dict[str, Any] | None:
        """The invoke response for a click that changed nothing, or None when it did something."""
        if outcome.done:
            return None
        why = outcome.why or (Why.EXPIRED if outcome.result in (Result.EXPIRED, Result.INVALID) else Why.ALREADY_DONE)
        return tr.invoke_message(notes.why(self.renderer, "teams", replace(outcome, why=why), self.who,
                                           self.desk.clock()))

    async def digest_steps(self, context: TurnContext, a: tr.Action) -> dict[str, Any]:
        outcome = await _run(self.desk.show_fix, a.click())
        if (unchanged := self._unchanged(outcome)) is not None or outcome.answer is None:
            return unchanged or tr.invoke_message(self.say("why_expired"))
        await self.reply(context, tr.answer_activity(self.renderer.teams(outcome.answer), None, outcome.answer))
        return tr.invoke_message(self.say("teams_fix_posted"))

    async def digest_resolve(self, context: TurnContext, a: tr.Action) -> dict[str, Any]:
        outcome = await _run(self.desk.resolve_group, a.click(), a.since)
        if outcome.result is Result.INVALID:
            return tr.invoke_message(self.say("why_expired"))
        note = (self.say("digest_resolved_note", user=self._who(a), count=outcome.count) if outcome.done
                else self.say("digest_nothing_open"))
        return await self._digest_settle(context, a, note, outcome)

    async def digest_snooze(self, context: TurnContext, a: tr.Action) -> dict[str, Any]:
        outcome = await _run(self.desk.snooze_group, a.click(), a.since)
        if outcome.result is Result.INVALID:
            return tr.invoke_message(self.say("why_expired"))
        if outcome.until is None:
            note = self.say("digest_not_open_to_snooze")
        else:
            when = Safe(notes.when(self.renderer, "teams", outcome.until, self.desk.clock(), outcome.zone))
            note = (self.say("digest_snoozed_note", user=self._who(a), when=when) if outcome.done
                    else self.say("digest_already_snoozed", when=when))
        return await self._digest_settle(context, a, note, outcome)

    async def _digest_settle(self, context: TurnContext, a: tr.Action, note: str, outcome: Outcome) -> dict[str, Any]:
        """The clicked digest redrawn as it stands now (its header recounted), with what was
        done to the group, by whom, right under the header."""
        card = self.renderer.digest_post("teams", outcome.digest).main
        title = self.desk.catalog.title(a.intent) if a.intent in self.desk.catalog else self.say("digest_unknown_title")
        card["body"].insert(tr.digest_header_size(card), tr.digest_note(title, note))
        return await self._show(context, a, card)
