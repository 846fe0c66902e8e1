"""What the buttons on our Slack replies do. Every handler acknowledges first (bolt waits for
`ack()`), then changes the case through the Desk, whose database constraints make a second
click on the same button change nothing."""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import timedelta
from typing import Any, Callable

from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from ..core.cases.digest import resolve_group
from ..core.replies.render import Safe
from ..core.storage.tables import Case
from ..core.schedule.timerules import BusinessHours, tomorrow_morning, zone
from . import translate as tr
from .edge import Clicked, SlackEdge

log = logging.getLogger(__name__)


class Buttons:
    def __init__(self, edge: SlackEdge, admin_users: frozenset[str], retrain: Callable[[], dict] | None = None,
                 hours: BusinessHours | None = None, default_tz: str = "UTC") -> None:
        self.edge = edge
        self.desk = edge.desk
        self.admin_users = admin_users
        self.retrain_model = retrain
        self.hours = hours
        self.default_tz = default_tz  # when Slack cannot tell us the user's zone

    def say(self, key: str, **values: Any) -> str:
        return self.edge.say(key, **values)

    async def _note(self, client: AsyncWebClient, c: Clicked, text: str,
                    blocks: list[dict[str, Any]] | None = None) -> None:
        """A follow-up message under the clicked one (privately, if the clicked one was private)."""
        if c.ephemeral and c.response_url:
            await AsyncWebhookClient(c.response_url).send(text=text, blocks=blocks, response_type="ephemeral",
                                                          replace_original=False)
            return
        await client.chat_postMessage(channel=c.channel, text=text, **({"blocks": blocks} if blocks else {}),
                                      **({"thread_ts": c.thread} if c.thread else {}))

    async def _settle(self, client: AsyncWebClient, c: Clicked, note: str, text: str) -> None:
        """Replace the clicked message's buttons with a note saying what happened."""
        blocks = tr.without_actions(c.blocks) + [{"type": "context", "elements": [{"type": "mrkdwn", "text": note}]}]
        if c.ephemeral and c.response_url:
            await AsyncWebhookClient(c.response_url).send(text=text or note, blocks=blocks, replace_original=True)
            return
        await client.chat_update(channel=c.channel, ts=c.message_ts, blocks=blocks, text=text or note)

    async def fixed(self, body: dict[str, Any], client: AsyncWebClient) -> None:
        c = Clicked.of(body)
        case_id = c.value.get("case_id", "")
        change = await self.edge.db(self.desk.fixed, case_id, c.user, c.message_ts) if case_id else None
        if not change or not change.changed:
            return  # a repeat click, or a message without a case: nothing changes
        note = self.say("slack_fixed_note", user=Safe(tr.safe_user_mention(c.user)))
        await self._settle(client, c, note, (body.get("message") or {}).get("text") or "")

    async def still_failing(self, body: dict[str, Any], client: AsyncWebClient) -> None:
        c = Clicked.of(body)
        case_id = c.value.get("case_id", "")
        if not case_id:
            return
        failing = await self.edge.db(self.desk.still_failing, case_id, c.user, c.message_ts)
        case = failing.change.case
        if not failing.change.changed or case is None:
            return
        related = ", ".join(self.desk.catalog.title(r) for r in self.desk.catalog[case.intent].related[:3]) \
            if case.intent in self.desk.catalog else ""
        if failing.escalate_now:
            where = await self._escalate(client, case, c)
            if where is not None:
                text = self.say("slack_still_failing_escalated", count=case.failing_count, where=Safe(where))
                await self._note(client, c, text)
            return
        blocks = [
            {"type": "section", "text": {"type": "mrkdwn", "text": self.say("slack_still_failing", related=related)}},
            {"type": "actions", "block_id": "syncmedic_failing", "elements": [
                _button(self.say("home_escalate"), "syncmedic_escalate", case, "danger"),
                _button(self.say("home_not_this"), "syncmedic_not_this", case)]},
        ]
        await self._note(client, c, self.say("slack_still_failing", related=related), blocks)

    async def escalate(self, body: dict[str, Any], client: AsyncWebClient) -> None:
        c = Clicked.of(body)
        case_id = c.value.get("case_id", "")
        case = None
        if case_id:
            change = await self.edge.db(self.desk.escalate, case_id, c.user, c.message_ts)
            if not change.changed:
                return
            case = change.case
        else:
            # No case to hold the state: a marker row (unique per answer) makes it escalate once.
            marker = await self.edge.db(self.desk.store.record_event, "slack", c.team, c.channel,
                                        f"escalate:{c.message_ts}", kind="escalate")
            if marker is None:
                return
            await self.edge.db(self.desk.store.finish_event, marker)
        where = await self._escalate(client, case, c)
        if where is not None:
            await self._note(client, c, self.say("slack_escalated_thread", where=Safe(where)))

    async def _escalate(self, client: AsyncWebClient, case: Case | None, c: Clicked) -> str | None:
        """Post to the escalation channel with a link back; returns where it went (for the thread),
        or None when nobody is set up to receive escalations (the user is told so instead)."""
        channel = self.edge.escalation_channel
        if not channel:
            await self._note(client, c, self.say("slack_escalation_not_configured"))
            return None
        link = ""
        try:
            link = (await client.chat_getPermalink(channel=c.channel, message_ts=c.message_ts)).get("permalink", "")
        except Exception:  # noqa: BLE001 - the escalation still goes out without a link
            log.warning("could not get a permalink for an escalation", exc_info=True)
        title = self.desk.catalog.title(case.intent) if case else self.say("slack_unknown_problem")
        text = self.say("slack_escalation_post", group=Safe(tr.safe_usergroup_mention(self.edge.escalation_usergroup)),
                        title=title, user=Safe(tr.safe_user_mention(c.user)),
                        link=Safe(f"<{link}|Open the thread>" if link else "")).strip()
        await client.chat_postMessage(channel=channel, text=text, unfurl_links=False)
        return tr.safe_channel_link(channel)

    async def not_this(self, body: dict[str, Any], client: AsyncWebClient) -> None:
        c = Clicked.of(body)
        case_id = c.value.get("case_id", "")
        options = [{"text": {"type": "plain_text", "text": i.title[:75]}, "value": i.id}
                   for i in self.desk.catalog.problems][:100]
        blocks = [{"type": "section", "block_id": f"syncmedic_pick:{case_id}",
                   "text": {"type": "mrkdwn", "text": self.say("slack_not_this_prompt")},
                   "accessory": {"type": "static_select", "action_id": "syncmedic_pick_intent",
                                 "placeholder": {"type": "plain_text", "text": self.say("slack_not_this_placeholder")},
                                 "options": options}}]
        await self._note(client, c, self.say("slack_not_this_prompt"), blocks)

    async def choose(self, body: dict[str, Any], client: AsyncWebClient) -> None:
        """A "This one" button or the "Not this" menu: answer with the intent the user picked."""
        c = Clicked.of(body)
        intent, case_id = c.value.get("intent", ""), c.value.get("case_id", "")
        if intent not in self.desk.catalog:
            return
        try:
            change, answer = await self.edge.db(self.desk.choose, case_id or None, intent, c.user, c.message_ts)
        except KeyError:
            return
        if change is not None and not change.changed:
            return
        payload = self.edge.renderer.slack(answer, case_id or None)
        posted = await self.edge.post(client, c.channel, c.thread, payload, answer, case_id or None)
        if case_id and posted:
            await self.edge.db(self.desk.store.set_reply_ref, case_id, posted)
        note = self.say("slack_chosen_note", user=Safe(tr.safe_user_mention(c.user)), title=self.desk.catalog.title(intent))
        await self._settle(client, c, note, note)

    async def help(self, body: dict[str, Any], client: AsyncWebClient) -> None:
        c = Clicked.of(body)
        answer = self.desk.assistant.engine.answer_for("help")
        await self.edge.post(client, c.channel, c.thread, self.edge.renderer.slack(answer), None, None)

    async def retrain(self, body: dict[str, Any], client: AsyncWebClient) -> None:
        user = (body.get("user") or {}).get("id", "")
        channel = await self._dm(client, user)
        if user not in self.admin_users:  # checked on every click, not only when drawing the button
            log.warning("non-admin %s tried to retrain", user)
            await client.chat_postMessage(channel=channel, text=self.say("slack_admin_only"))
            return
        if self.retrain_model is None:
            return
        await client.chat_postMessage(channel=channel, text=self.say("slack_retrain_started"))
        try:
            meta = await asyncio.to_thread(self.retrain_model)
        except Exception:  # noqa: BLE001
            log.exception("retraining failed")
            await client.chat_postMessage(channel=channel, text=self.say("slack_retrain_failed"))
            return
        await client.chat_postMessage(channel=channel, text=self.say(
            "slack_retrained", examples=meta.get("examples", 0), accuracy=f"{meta.get('cv_accuracy', 0):.1%}"))

    async def snooze_hour(self, body: dict[str, Any], client: AsyncWebClient) -> None:
        await self._snooze(body, client, lambda now, tz: now + timedelta(hours=1))

    async def snooze_tomorrow(self, body: dict[str, Any], client: AsyncWebClient) -> None:
        await self._snooze(body, client, lambda now, tz: tomorrow_morning(now, tz, self.hours))

    async def _snooze(self, body: dict[str, Any], client: AsyncWebClient, when: Callable) -> None:
        c = Clicked.of(body)
        case_id = c.value.get("case_id", "")
        case = await self.edge.db(self.desk.store.get_case, case_id) if case_id else None
        if case is None:
            return
        tz = case.user_tz
        if not tz:
            try:
                tz = (await client.users_info(user=c.user))["user"].get("tz")
            except Exception:  # noqa: BLE001 - fall back to UTC
                tz = None
        now = self.desk.clock()
        until = when(now, zone(tz, self.default_tz))
        if not await self.edge.db(self.desk.snooze, case_id, until):
            return
        local = until.astimezone(zone(tz, self.default_tz))
        note = self.say("slack_snoozed", user=Safe(tr.safe_user_mention(c.user)),
                        when=Safe(f"<!date^{int(until.timestamp())}^{{date_short_pretty}} at {{time}}|"
                                  f"{local:%Y-%m-%d %H:%M}>"))
        await self._settle(client, c, note, note)

    async def digest_steps(self, body: dict[str, Any], client: AsyncWebClient) -> None:
        c = Clicked.of(body)
        intent = ((body.get("actions") or [{}])[0]).get("value", "")
        if intent not in self.desk.catalog:
            return
        answer = self.desk.assistant.engine.answer_for(intent)
        await self.edge.post(client, c.channel, c.message_ts, self.edge.renderer.slack(answer), None, None)

    async def digest_resolve(self, body: dict[str, Any], client: AsyncWebClient) -> None:
        c = Clicked.of(body)
        intent = ((body.get("actions") or [{}])[0]).get("value", "")
        if intent not in self.desk.catalog:
            return
        count = await self.edge.db(resolve_group, self.desk.store, intent, self.desk.clock())
        if count == 0:
            return  # a repeat click (or nothing was open): keep the note that is there
        note = self.say("slack_group_resolved", user=Safe(tr.safe_user_mention(c.user)), count=count,
                        title=self.desk.catalog.title(intent))
        blocks = []
        for block in c.blocks:
            if block.get("type") == "actions" and block.get("block_id") == f"syncmedic_digest:{intent}":
                block = {"type": "context", "elements": [{"type": "mrkdwn", "text": note}]}
            blocks.append(block)
        await client.chat_update(channel=c.channel, ts=c.message_ts, blocks=blocks,
                                 text=(body.get("message") or {}).get("text") or note)

    async def _dm(self, client: AsyncWebClient, user: str) -> str:
        return (await client.conversations_open(users=user))["channel"]["id"]


def _button(text: str, action_id: str, case: Case, style: str | None = None) -> dict[str, Any]:
    button = {"type": "button", "text": {"type": "plain_text", "text": text[:75]}, "action_id": action_id,
              "value": json.dumps({"case_id": case.id, "intent": case.intent})}
    if style:
        button["style"] = style
    return button
