"""What the buttons on our Slack messages do: each click is read into a Click, decided by the
Desk (bot/core/desk.py), and its Outcome rendered back into Slack. No rule lives here: this
module only translates, and posts where the Outcome says.

Every handler runs after bolt's `ack()` (see handlers.py), in the background.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any, Awaitable, Callable

from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from ..core.desk import Desk
from ..core.nlu.answers import Answer
from ..core.outcomes import Result
from ..core.replies.render import Renderer, Safe
from ..core.storage.tables import Case
from . import translate as tr
from .format import fit_slack
from .translate import Clicked

log = logging.getLogger(__name__)
Run = Callable[..., Awaitable[Any]]          # runs a (blocking) Desk call off the event loop
Say = Callable[..., str]                     # a phrase for Slack (responses/phrases.yaml)
Post = Callable[[AsyncWebClient, str, str, dict[str, Any], "Answer | None", "str | None"], Awaitable[str]]


@dataclass(frozen=True)
class Escalation:
    """Where requests for a person go in Slack (ESCALATION_CHANNEL, ESCALATION_USERGROUP)."""

    channel: str | None = None
    usergroup: str | None = None


class Buttons:
    def __init__(self, desk: Desk, run: Run, renderer: Renderer, say: Say, post: Post,
                 escalation: Escalation = Escalation()) -> None:
        self.desk = desk
        self.run = run
        self.renderer = renderer
        self.say = say
        self.post = post
        self.escalation = escalation

    # -- where the answer to a click goes ---------------------------------------------------------

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

    def _who(self, c: Clicked) -> Safe:
        return Safe(tr.safe_user_mention(c.user))

    # -- an answer's buttons -----------------------------------------------------------------------

    async def fixed(self, body: dict[str, Any], client: AsyncWebClient) -> None:
        c = Clicked.of(body)
        outcome = await self.run(self.desk.fixed, c.click())
        if not outcome.done:
            return  # a repeat click, or a message without a case of ours: nothing changes
        note = self.say("slack_fixed_note", user=self._who(c))
        await self._settle(client, c, note, (body.get("message") or {}).get("text") or "")

    async def still_failing(self, body: dict[str, Any], client: AsyncWebClient) -> None:
        c = Clicked.of(body)
        outcome = await self.run(self.desk.still_failing, c.click())
        case = outcome.case
        if not outcome.done or case is None:
            return
        if outcome.escalate:
            where = await self._escalate(client, case, c)
            if where is not None:
                await self._note(client, c, self.say("slack_still_failing_escalated", count=outcome.count,
                                                     where=Safe(where)))
            return
        payload = self.renderer.layout("slack", "still_failing", {
            "related": [self.desk.catalog.title(r) for r in outcome.related], "case_id": case.id,
            "intent": case.intent})
        await self._note(client, c, payload["text"], payload["blocks"])

    async def escalate(self, body: dict[str, Any], client: AsyncWebClient) -> None:
        c = Clicked.of(body)
        outcome = await self.run(self.desk.escalate, c.click())
        if not outcome.done:
            return
        where = await self._escalate(client, outcome.case, c)
        if where is not None:
            await self._note(client, c, self.say("slack_escalated_thread", where=Safe(where)))

    async def _escalate(self, client: AsyncWebClient, case: Case | None, c: Clicked) -> str | None:
        """Post to the escalation channel with a link back; returns where it went (for the thread),
        or None when nobody is set up to receive escalations (the user is told so instead)."""
        channel = self.escalation.channel
        if not channel:
            await self._note(client, c, self.say("slack_escalation_not_configured"))
            return None
        link = ""
        try:
            link = (await client.chat_getPermalink(channel=c.channel, message_ts=c.message_ts)).get("permalink", "")
        except Exception:  # noqa: BLE001 - the escalation still goes out without a link
            log.warning("could not get a permalink for an escalation", exc_info=True)
        title = self.desk.catalog.title(case.intent) if case else self.say("slack_unknown_problem")
        text = self.say("slack_escalation_post", group=Safe(tr.safe_usergroup_mention(self.escalation.usergroup)),
                        title=title, user=self._who(c),
                        link=Safe(f"<{link}|Open the thread>" if link else "")).strip()
        await client.chat_postMessage(channel=channel, text=text, unfurl_links=False)
        return tr.safe_channel_link(channel)

    async def not_this(self, body: dict[str, Any], client: AsyncWebClient) -> None:
        c = Clicked.of(body)
        outcome = await self.run(self.desk.not_this, c.click())
        if not outcome.done:
            return
        payload = self.renderer.layout("slack", "not_this", {
            "case_id": c.value.get("case_id", ""),
            "choices": [{"id": i, "title": self.desk.catalog.title(i)} for i in outcome.choices]})
        await self._note(client, c, payload["text"], payload["blocks"])

    async def choose(self, body: dict[str, Any], client: AsyncWebClient) -> None:
        """A "This one" / "Show fix" button or the "Not this" menu: answer with the intent picked."""
        c = Clicked.of(body)
        outcome = await self.run(self.desk.choose, c.click())
        if not outcome.done or outcome.answer is None:
            return
        case_id = outcome.case.id if outcome.case else None
        posted = await self.post(client, c.channel, c.thread, self.renderer.slack(outcome.answer, case_id),
                                 outcome.answer, case_id)
        if case_id and posted:
            await self.run(self.desk.reply_posted, case_id, posted)
        note = self.say("slack_chosen_note", user=self._who(c), title=self.desk.catalog.title(outcome.answer.intent))
        await self._settle(client, c, note, note)

    async def help(self, body: dict[str, Any], client: AsyncWebClient) -> None:
        c = Clicked.of(body)
        outcome = await self.run(self.desk.help, c.click())
        await self.post(client, c.channel, c.thread, self.renderer.slack(outcome.answer), None, None)

    # -- the App Home's admin button -----------------------------------------------------------------

    async def retrain(self, body: dict[str, Any], client: AsyncWebClient) -> None:
        user = (body.get("user") or {}).get("id", "")
        allowed = self.desk.can_retrain(user)
        if allowed is Result.UNAVAILABLE:
            return
        channel = await self._dm(client, user)
        if allowed is Result.REFUSED:
            await client.chat_postMessage(channel=channel, text=self.say("slack_admin_only"))
            return
        await client.chat_postMessage(channel=channel, text=self.say("slack_retrain_started"))
        outcome = await asyncio.to_thread(self.desk.retrain, user)
        if not outcome.done:
            await client.chat_postMessage(channel=channel, text=self.say("slack_retrain_failed"))
            return
        await client.chat_postMessage(channel=channel, text=self.say(
            "slack_retrained", examples=outcome.details.get("examples", 0),
            accuracy=f"{outcome.details.get('cv_accuracy', 0):.1%}"))

    async def _dm(self, client: AsyncWebClient, user: str) -> str:
        return (await client.conversations_open(users=user))["channel"]["id"]

    # -- a check-in's buttons ------------------------------------------------------------------------

    async def snooze_hour(self, body: dict[str, Any], client: AsyncWebClient) -> None:
        await self._snooze(body, client, "hour")

    async def snooze_tomorrow(self, body: dict[str, Any], client: AsyncWebClient) -> None:
        await self._snooze(body, client, "tomorrow")

    async def _snooze(self, body: dict[str, Any], client: AsyncWebClient, until: str) -> None:
        c = Clicked.of(body)
        outcome = await self.run(self.desk.snooze, c.click(), until, await self._user_tz(client, c.user))
        if not outcome.done or outcome.until is None or outcome.zone is None:
            return
        local = outcome.until.astimezone(outcome.zone)
        note = self.say("slack_snoozed", user=self._who(c),
                        when=Safe(f"<!date^{int(outcome.until.timestamp())}^{{date_short_pretty}} at {{time}}|"
                                  f"{local:%Y-%m-%d %H:%M}>"))
        await self._settle(client, c, note, note)

    async def _user_tz(self, client: AsyncWebClient, user: str) -> str | None:
        """The zone Slack has for the person (None when Slack cannot tell)."""
        try:
            return (await client.users_info(user=user))["user"].get("tz")
        except Exception:  # noqa: BLE001 - the Desk falls back to the case's zone, then DIGEST_TZ
            return None

    # -- the digest's menu ------------------------------------------------------------------------------
    # One "⋯" menu per group (action syncmedic_digest_menu, options "fix:", "resolve:", "snooze:"
    # + intent). Digests posted before the menu carry two buttons per group with a bare intent
    # (syncmedic_digest_steps, syncmedic_digest_resolve): they keep working.

    async def digest_menu(self, body: dict[str, Any], client: AsyncWebClient) -> None:
        c = Clicked.of(body)
        verb, _, intent = c.option.partition(":")
        handler = {"fix": self._digest_fix, "resolve": self._digest_resolve, "snooze": self._digest_snooze}.get(verb)
        if handler is not None:
            await handler(client, c, intent)

    async def digest_steps(self, body: dict[str, Any], client: AsyncWebClient) -> None:
        c = Clicked.of(body)
        await self._digest_fix(client, c, c.raw_value)

    async def digest_resolve(self, body: dict[str, Any], client: AsyncWebClient) -> None:
        c = Clicked.of(body)
        await self._digest_resolve(client, c, c.raw_value)

    async def _digest_fix(self, client: AsyncWebClient, c: Clicked, intent: str) -> None:
        """The cause's fix in the digest's thread, and a note under the group saying it is there."""
        outcome = await self.run(self.desk.show_fix, c.click(intent=intent))
        if not outcome.done or outcome.answer is None:
            return
        await self.post(client, c.channel, c.thread or c.message_ts, self.renderer.slack(outcome.answer), None, None)
        await self._digest_settle(client, c, intent, self.say("digest_fix_posted", user=self._who(c)), None,
                                  keep_menu=True)

    async def _digest_resolve(self, client: AsyncWebClient, c: Clicked, intent: str) -> None:
        outcome = await self.run(self.desk.resolve_group, c.click(intent=intent), tr.digest_since(c.blocks))
        if outcome.result is Result.INVALID:
            return
        note = (self.say("digest_resolved_note", user=self._who(c), count=outcome.count) if outcome.done
                else self.say("digest_nothing_open"))
        await self._digest_settle(client, c, intent, note, outcome.digest)

    async def _digest_snooze(self, client: AsyncWebClient, c: Clicked, intent: str) -> None:
        outcome = await self.run(self.desk.snooze_group, c.click(intent=intent), tr.digest_since(c.blocks))
        if outcome.result is Result.INVALID:
            return
        if outcome.until is None:
            note = self.say("digest_not_open_to_snooze")
        else:
            local = outcome.until.astimezone(outcome.zone) if outcome.zone else outcome.until
            when = Safe(f"<!date^{int(outcome.until.timestamp())}^{{date_short_pretty}} at {{time}}|"
                        f"{local:%Y-%m-%d %H:%M}>")
            note = (self.say("digest_snoozed_note", user=self._who(c), when=when) if outcome.done
                    else self.say("digest_already_snoozed", when=when))
        await self._digest_settle(client, c, intent, note, outcome.digest)

    async def _digest_settle(self, client: AsyncWebClient, c: Clicked, intent: str, note: str, digest: Any,
                             keep_menu: bool = False) -> None:
        """The clicked digest updated in place: the group's note under it (its menu gone, unless
        `keep_menu`), and the header recounted from `digest` (the digest as it stands now)."""
        header = []
        if digest is not None:
            fresh = self.renderer.digest_post("slack", digest).main
            header = [b for b in fresh["blocks"] if tr.is_digest_header(b)]
        # Notes add text: the updated digest is fitted again to Slack's block-text budget.
        blocks = fit_slack({"blocks": tr.settle_digest_group(c.blocks, intent, note, header, keep_menu)})["blocks"]
        text = c.text or note
        if header:  # the notification text says what the header says
            first = header[0]["text"]["text"]
            text = first.replace("*", "") if header[0].get("type") != "header" else \
                f"{first} ({digest.new} new, {digest.fixed} fixed)"
        await client.chat_update(channel=c.channel, ts=c.message_ts, blocks=blocks, text=text)
