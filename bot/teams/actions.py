"""What the buttons (Action.Execute) on the bot's Teams cards do.

Teams sends a click as an `adaptiveCard/action` invoke and shows whatever card the invoke
response carries in place of the clicked one; the same card is also written back to the
message (updateActivity) so everyone in a channel sees it settled. Case changes go through
the Desk with the clicked card's id as the source, so a second click on the same card
changes nothing (a database constraint, as for Slack).
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Awaitable, Callable

from microsoft_agents.activity import Activity
from microsoft_agents.hosting.core import TurnContext

from ..core.cases.digest import build_digest, resolve_group
from ..core.replies.render import Safe
from ..core.storage.tables import Case
from ..core.schedule.timerules import tomorrow_morning, zone
from . import translate as tr
from .connector import ConversationGone, with_retries

if TYPE_CHECKING:
    from .edge import TeamsEdge

log = logging.getLogger(__name__)
Handler = Callable[[TurnContext, tr.Action], Awaitable[dict[str, Any]]]


class CardActions:
    def __init__(self, edge: "TeamsEdge") -> None:
        self.edge = edge
        self.desk = edge.desk
        self.say = edge.say
        self.handlers: dict[str, Handler] = {
            "fixed": self.fixed, "still_failing": self.still_failing, "not_this": self.not_this,
            "choose": self.choose, "escalate": self.escalate, "snooze_hour": self.snooze_hour,
            "snooze_tomorrow": self.snooze_tomorrow, "digest_steps": self.digest_steps,
            "digest_resolve": self.digest_resolve,
        }

    async def on_invoke(self, context: TurnContext, activity: dict[str, Any]) -> None:
        if activity.get("name") != tr.ACTION_INVOKE:
            return  # no invoke response: the adapter answers 501
        action = tr.read_action(activity)
        handler = self.handlers.get(action.verb) if action else None
        if action is None or handler is None:
            body = tr.invoke_error(400, "unknown action")
        else:
            await self.edge.db(self.edge.conversations.remember, action.incoming.conversation)
            body = await handler(context, action)
        await context.send_activity(Activity(type="invokeResponse", value={"status": 200, "body": body}))

    # -- helpers -------------------------------------------------------------------------------

    def _who(self, a: tr.Action) -> str:
        return a.incoming.user_name or self.say("teams_someone")

    def _expired(self) -> dict[str, Any]:
        return tr.invoke_message(self.say("teams_card_expired"))

    def _already(self) -> dict[str, Any]:
        return tr.invoke_message(self.say("teams_already_done"))

    async def _case(self, a: tr.Action) -> Case | None:
        """The case the card is about, if it is one of this tenant's Teams cases."""
        case = await self.edge.db(self.edge.store.get_case, a.case_id) if a.case_id else None
        if case is None or case.platform != "teams" or case.workspace != a.incoming.conversation.tenant:
            return None
        return case

    async def _once(self, a: tr.Action, what: str) -> bool:
        """For clicks with no case to hold the state: True the first time for this card."""
        conv = a.incoming.conversation
        row = await self.edge.db(self.edge.store.record_event, "teams", conv.tenant, conv.key,
                                 tr.short_id(f"{what}:{a.incoming.reply_to}"), kind=what)
        if row is None:
            return False
        await self.edge.db(self.edge.store.finish_event, row)  # nothing to recover: handled now
        return True

    async def _card_of(self, case: Case, a: tr.Action) -> dict[str, Any]:
        """The clicked card as the bot drew it: the answer (the case's reply) or a check-in."""
        if a.incoming.reply_to and a.incoming.reply_to == case.reply_ref:
            answer = await self.edge.db(self.desk.assistant.engine.answer_for, case.intent, case.question or "")
            return self.edge.renderer.teams(answer, case.id)
        return self.edge.renderer.checkin("teams", case.id, case.intent)

    async def _update(self, context: TurnContext, a: tr.Action, card: dict[str, Any]) -> None:
        """Write the settled card back to its message, for everyone else in the conversation."""
        if not a.incoming.reply_to:
            return
        activity = Activity.model_validate({**tr.card_activity(card), "id": a.incoming.reply_to})
        try:
            await with_retries(lambda: context.update_activity(activity), self.edge.hosting.reply_backoff,
                               "card update")
        except Exception:  # noqa: BLE001 - the clicker already sees the new card
            log.warning("updating a Teams card for everyone failed", exc_info=True)

    async def _settle(self, context: TurnContext, a: tr.Action, card: dict[str, Any]) -> dict[str, Any]:
        await self._update(context, a, card)
        return tr.invoke_card(card)

    # -- the answer's buttons ----------------------------------------------------------------------

    async def fixed(self, context: TurnContext, a: tr.Action) -> dict[str, Any]:
        if await self._case(a) is None:
            return self._expired()
        change = await self.edge.db(self.desk.fixed, a.case_id, a.incoming.user, a.incoming.reply_to)
        if change.case is None:
            return self._expired()
        if not change.changed:
            return self._already()
        note = self.say("teams_fixed_note", user=self._who(a))
        return await self._settle(context, a, tr.settled(await self._card_of(change.case, a), note))

    async def still_failing(self, context: TurnContext, a: tr.Action) -> dict[str, Any]:
        if await self._case(a) is None:
            return self._expired()
        failing = await self.edge.db(self.desk.still_failing, a.case_id, a.incoming.user, a.incoming.reply_to)
        case = failing.change.case
        if case is None:
            return self._expired()
        if not failing.change.changed:
            return self._already()
        if failing.escalate_now:
            outcome = await self._escalate(case, a)
            text = self.say("teams_still_failing_escalated", count=case.failing_count, outcome=Safe(outcome))
            await self.edge.reply(context, tr.text_activity(text))
            return tr.invoke_message(text)
        catalog = self.desk.catalog
        related = ", ".join(catalog.title(r) for r in catalog[case.intent].related[:3]) \
            if case.intent in catalog else ""
        data = {"case_id": case.id, "intent": case.intent}
        text = self.say("teams_still_failing", related=related)
        card = tr.note_card(text, actions=[tr.execute(self.say("home_escalate"), "escalate", data, "destructive"),
                                           tr.execute(self.say("home_not_this"), "not_this", data)])
        await self.edge.reply(context, tr.card_activity(card))
        return tr.invoke_message(self.say("teams_noted"))

    async def not_this(self, context: TurnContext, a: tr.Action) -> dict[str, Any]:
        choices = [{"title": i.title, "value": i.id} for i in self.desk.catalog.problems][:100]
        picker = {"type": "Input.ChoiceSet", "id": "intent", "style": "compact", "isRequired": True,
                  "placeholder": self.say("teams_not_this_placeholder"),
                  "errorMessage": self.say("teams_not_this_placeholder"), "choices": choices}
        card = tr.note_card(self.say("teams_not_this_prompt"), inputs=[picker],
                            actions=[tr.execute(self.say("teams_show_fix"), "choose", {"case_id": a.case_id})])
        await self.edge.reply(context, tr.card_activity(card))
        return tr.invoke_message(self.say("teams_not_this_posted"))

    async def choose(self, context: TurnContext, a: tr.Action) -> dict[str, Any]:
        """A topic on a "which one?" card, or the "Not this" picker: answer with that intent."""
        intent = a.intent
        if intent not in self.desk.catalog:
            return tr.invoke_message(self.say("teams_not_this_placeholder"))
        case_id = a.case_id or None
        if case_id and await self._case(a) is None:
            return self._expired()
        if case_id:
            change, answer = await self.edge.db(self.desk.choose, case_id, intent, a.incoming.user,
                                                a.incoming.reply_to)
            if change is None or change.case is None:
                return self._expired()
            if not change.changed:
                return self._already()
        else:
            if not await self._once(a, "choose"):
                return self._already()
            answer = await self.edge.db(self.desk.assistant.engine.answer_for, intent)
        card = self.edge.renderer.teams(answer, case_id)
        posted = await self.edge.reply(context, tr.answer_activity(card, case_id, answer))
        if case_id and posted:
            await self.edge.db(self.edge.store.set_reply_ref, case_id, posted)
        note = self.say("teams_chosen_note", user=self._who(a), title=self.desk.catalog.title(intent))
        return await self._settle(context, a, tr.note_card(note))

    async def escalate(self, context: TurnContext, a: tr.Action) -> dict[str, Any]:
        case = None
        if a.case_id and await self._case(a) is None:
            return self._expired()
        if a.case_id:
            change = await self.edge.db(self.desk.escalate, a.case_id, a.incoming.user, a.incoming.reply_to)
            if change.case is None:
                return self._expired()
            if not change.changed:
                return self._already()
            case = change.case
        elif not await self._once(a, "escalate"):
            return self._already()
        text = await self._escalate(case, a)
        await self.edge.reply(context, tr.text_activity(text))
        return tr.invoke_message(text)

    async def _escalate(self, case: Case | None, a: tr.Action) -> str:
        """Post to the conversations that said "escalations here"; what to tell the user."""
        targets = await self.edge.db(self.edge.conversations.targets, "escalation")
        if not targets:
            return self.say("teams_escalation_not_configured")
        title = self.desk.catalog.title(case.intent) if case and case.intent in self.desk.catalog \
            else self.say("slack_unknown_problem")
        post = tr.text_activity(self.say("teams_escalation_post", title=title, user=self._who(a)))
        reached = 0
        for target in targets:
            try:
                await self.edge.hosting.send(target.conversation, post)
                reached += 1
            except ConversationGone:
                await self.edge.db(self.edge.conversations.mark_gone, target.conversation.key)
            except Exception:  # noqa: BLE001 - try the others; the user is told below
                log.warning("posting an escalation to Teams failed", exc_info=True)
        return self.say("teams_escalated") if reached else self.say("teams_escalation_failed")

    # -- check-in buttons -----------------------------------------------------------------------------

    async def snooze_hour(self, context: TurnContext, a: tr.Action) -> dict[str, Any]:
        return await self._snooze(context, a, lambda now, tz: now + timedelta(hours=1))

    async def snooze_tomorrow(self, context: TurnContext, a: tr.Action) -> dict[str, Any]:
        return await self._snooze(context, a, lambda now, tz: tomorrow_morning(now, tz, self.edge.hours))

    async def _snooze(self, context: TurnContext, a: tr.Action, when: Callable) -> dict[str, Any]:
        case = await self._case(a)
        if case is None:
            return self._expired()
        if not await self._once(a, "snooze"):
            return self._already()
        tz_name = a.incoming.timezone or case.user_tz
        if a.incoming.timezone and a.incoming.timezone != case.user_tz:
            await self.edge.db(self.edge.store.set_user_tz, case.id, a.incoming.timezone)
        tz = zone(tz_name, self.edge.default_tz)
        until = when(self.desk.clock(), tz)
        if not await self.edge.db(self.desk.snooze, case.id, until):
            return self._already()
        local = until.astimezone(tz)
        note = self.say("teams_snoozed", user=self._who(a), when=f"{local:%a %d %b %H:%M} ({tz.key})")
        return await self._settle(context, a, tr.settled(self.edge.renderer.checkin("teams", case.id, case.intent),
                                                         note))

    # -- digest buttons ---------------------------------------------------------------------------------

    async def digest_steps(self, context: TurnContext, a: tr.Action) -> dict[str, Any]:
        if a.intent not in self.desk.catalog:
            return self._expired()
        answer = await self.edge.db(self.desk.assistant.engine.answer_for, a.intent)
        await self.edge.reply(context, tr.answer_activity(self.edge.renderer.teams(answer), None, answer))
        return tr.invoke_message(self.say("teams_fix_posted"))

    async def digest_resolve(self, context: TurnContext, a: tr.Action) -> dict[str, Any]:
        if a.intent not in self.desk.catalog:
            return self._expired()
        now = self.desk.clock()
        count = await self.edge.db(resolve_group, self.desk.store, a.intent, now)
        if count == 0:
            return tr.invoke_message(self.say("teams_nothing_to_resolve"))
        note = self.say("teams_group_resolved", user=self._who(a), count=count, title=self.desk.catalog.title(a.intent))
        digest = await self.edge.db(build_digest, self.desk.store, self.desk.catalog, now)
        card = self.edge.renderer.digest("teams", digest)
        card["body"].insert(0, {"type": "TextBlock", "text": note, "wrap": True, "weight": "Bolder"})
        return await self._settle(context, a, card)
