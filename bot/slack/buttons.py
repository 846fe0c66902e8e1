"""What the buttons on our Slack messages do: each click is read into a Click, decided by the
Desk (bot/core/desk.py), and its Outcome rendered back into Slack. No rule lives here: this
module only translates, and posts where the Outcome says.

Where an answer goes: every click shows its effect on the clicked message itself (a note in
place of the previous one, the buttons removed once there is nothing left to click), and
anything longer (what to try next, the "Not this" menu, a new answer, help) goes in the thread
of the clicked message, in a DM too (never at the bottom of the conversation). A click on a
private answer (a slash command's) is answered privately through its response_url. A click
that changes nothing says why, in place (Outcome.why: who did it before, and when).

Every handler runs after bolt's `ack()` (see handlers.py), in the background.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, replace
from typing import Any, Awaitable, Callable

from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from ..core.cases import escalations
from ..core.desk import Desk
from ..core.nlu.answers import Answer
from ..core.outcomes import Outcome, Result, Why
from ..core.replies import notes
from ..core.replies.render import Renderer, Safe
from . import translate as tr
from .format import fit_slack
from .translate import Clicked

log = logging.getLogger(__name__)
Run = Callable[..., Awaitable[Any]]          # runs a (blocking) Desk call off the event loop
Say = Callable[..., str]                     # a phrase for Slack (responses/phrases.yaml)
Post = Callable[[AsyncWebClient, str, str, dict[str, Any], "Answer | None", "str | None"], Awaitable[str]]
NOTE_BLOCK = "syncmedic_note"                # the block saying what the last click did
# Why-notes after which the message's buttons can do nothing more: they are removed.
SETTLING = (Why.ALREADY_FIXED, Why.EXPIRED, Why.NO_CHECKINS_LEFT)


@dataclass(frozen=True)
class Escalation:
    """Where requests for a person go in Slack (ESCALATION_CHANNEL, ESCALATION_USERGROUP)."""

    channel: str | None = None
    usergroup: str | None = None


def who(user: str, _name: str = "") -> str:
    """How a Slack message names someone: a mention (Slack shows their name to each reader)."""
    return tr.safe_user_mention(user)


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

    async def _thread(self, client: AsyncWebClient, c: Clicked, text: str,
                      blocks: list[dict[str, Any]] | None = None) -> str:
        """A reply in the thread of the clicked message (privately, if the clicked one was private)."""
        if c.ephemeral and c.response_url:
            await AsyncWebhookClient(c.response_url).send(text=text, blocks=blocks, response_type="ephemeral",
                                                          replace_original=False)
            return ""
        resp = await client.chat_postMessage(channel=c.channel, text=text, **({"blocks": blocks} if blocks else {}),
                                             **({"thread_ts": c.thread} if c.thread else {}), unfurl_links=False)
        return str(resp.get("ts") or "")

    async def _in_place(self, client: AsyncWebClient, c: Clicked, note: str, settle: bool = False,
                        text: str = "") -> None:
        """The clicked message with `note` saying what the click did (in place of the last such
        note); `settle` removes its buttons too, once there is nothing left to click. `text`: a
        new notification text (else the message keeps its own)."""
        kept = tr.without_actions(c.blocks) if settle else list(c.blocks)
        blocks = [b for b in kept if b.get("block_id") != NOTE_BLOCK]
        blocks.append({"type": "context", "block_id": NOTE_BLOCK, "elements": [{"type": "mrkdwn", "text": note}]})
        text = text or c.text or note
        if c.ephemeral and c.response_url:
            await AsyncWebhookClient(c.response_url).send(text=text, blocks=blocks, replace_original=True)
            return
        await client.chat_update(channel=c.channel, ts=c.message_ts, blocks=blocks, text=text)

    async def _explain(self, client: AsyncWebClient, c: Clicked, outcome: Outcome) -> None:
        """A click that changed nothing: why, in place."""
        if outcome.why is None:  # a verb that has no reason to give (the digest's): a repeat
            outcome = replace(outcome, why=Why.ALREADY_DONE)
        note = notes.why(self.renderer, "slack", outcome, who, self.desk.clock())
        await self._in_place(client, c, note, settle=outcome.why in SETTLING)

    def _who(self, c: Clicked) -> Safe:
        return Safe(who(c.user))

    def _invalid(self, c: Clicked) -> bool:
        """A button whose value is not one of ours (forged, or from an older version)."""
        return not c.ours

    # -- an answer's buttons -----------------------------------------------------------------------

    async def fixed(self, body: dict[str, Any], client: AsyncWebClient) -> None:
        c = Clicked.of(body)
        if self._invalid(c):
            return await self._explain(client, c, Outcome(Result.INVALID, why=Why.INVALID))
        outcome = await self.run(self.desk.fixed, c.click())
        if not outcome.done:
            return await self._explain(client, c, outcome)
        note = "slack_fixed_note" if outcome.case is not None else "note_fixed_untracked"
        await self._in_place(client, c, self.say(note, user=self._who(c)), settle=True)

    async def still_failing(self, body: dict[str, Any], client: AsyncWebClient) -> None:
        c = Clicked.of(body)
        if self._invalid(c):
            return await self._explain(client, c, Outcome(Result.INVALID, why=Why.INVALID))
        outcome = await self.run(self.desk.still_failing, c.click())
        if not outcome.done:
            return await self._explain(client, c, outcome)
        if outcome.escalate and outcome.escalation is not None:
            told = await self._escalate(client, outcome.escalation, c, "escalated_after_failing", outcome.count)
            await self._in_place(client, c, told)
            return
        payload = notes.still_failing(self.renderer, "slack", outcome, c.value.get("intent", ""))
        await self._thread(client, c, payload["text"], payload["blocks"])
        await self._in_place(client, c, self.say("note_still_failing", user=self._who(c)))

    async def escalate(self, body: dict[str, Any], client: AsyncWebClient) -> None:
        c = Clicked.of(body)
        if self._invalid(c):
            return await self._explain(client, c, Outcome(Result.INVALID, why=Why.INVALID))
        outcome = await self.run(self.desk.escalate, c.click())
        if not outcome.done or outcome.escalation is None:
            return await self._explain(client, c, outcome)
        told = await self._escalate(client, outcome.escalation, c, "escalated_to")
        # Nothing more to click on the "talk to a person?" question; elsewhere Fixed it stays useful.
        await self._in_place(client, c, told, settle=c.value.get("intent") == "escalate")

    async def _escalate(self, client: AsyncWebClient, e: escalations.Escalation, c: Clicked, opening: str,
                        count: int = 0) -> str:
        """Post the request for a person to ESCALATION_CHANNEL and tell the asker, in the thread,
        where it went and where the person will answer; returns what the asker was told."""
        channel = self.escalation.channel
        if not channel:
            told = self.say("slack_escalation_not_configured")
            await self._thread(client, c, told)
            return told
        link = ""
        if not e.private:  # nobody else can open a DM with the bot: no link to it
            try:
                link = (await client.chat_getPermalink(channel=c.channel, message_ts=c.message_ts)).get("permalink", "")
            except Exception:  # noqa: BLE001 - the escalation still goes out without a link
                log.warning("could not get a permalink for an escalation", exc_info=True)
        payload = self._escalation_post(e, link)
        try:
            await client.chat_postMessage(channel=channel, text=payload["text"], blocks=payload["blocks"],
                                          unfurl_links=False)
        except Exception:  # noqa: BLE001 - the asker must hear that it did not go out
            log.warning("posting an escalation to %s failed", channel, exc_info=True)
            told = self.say("slack_escalation_failed")
            await self._thread(client, c, told)
            return told
        where = Safe(tr.safe_channel_link(channel))
        told = " ".join([self.say(opening, where=where, count=count),
                         self.say("escalated_reply_private" if e.private else "escalated_reply_here")])
        await self._thread(client, c, told)
        return told

    def _escalation_post(self, e: escalations.Escalation, link: str) -> dict[str, Any]:
        return notes.escalation(self.renderer, "slack", e, who=who, where=tr.safe_channel_link(e.channel) or e.channel,
                                link=link, now=self.desk.clock(), tz=self.desk.team_zone,
                                group=tr.safe_usergroup_mention(self.escalation.usergroup))

    async def claim(self, body: dict[str, Any], client: AsyncWebClient) -> None:
        """"Claim" on an escalation post: the post says who has it; the asker is told, where they asked."""
        c = Clicked.of(body)
        outcome = await self.run(self.desk.claim, c.click())
        e = outcome.escalation
        if not outcome.done or e is None:
            return await self._explain(client, c, outcome)
        payload = self._escalation_post(e, _link_in(c.blocks))
        await client.chat_update(channel=c.channel, ts=c.message_ts, text=payload["text"], blocks=payload["blocks"])
        told = self.say("claimed_for_asker", user=self._who(c), private=e.private)
        try:
            await client.chat_postMessage(channel=e.channel, text=told, unfurl_links=False,
                                          **({"thread_ts": e.thread} if e.thread else {}))
        except Exception:  # noqa: BLE001 - the claim stands; the post says who has it
            log.warning("could not tell the asker who claimed their escalation", exc_info=True)

    async def decline(self, body: dict[str, Any], client: AsyncWebClient) -> None:
        """"No, thanks" to "talk to a person?"."""
        c = Clicked.of(body)
        await self.run(self.desk.decline, c.click())  # said the same way the second time
        await self._in_place(client, c, self.say("note_declined"), settle=True)

    async def not_this(self, body: dict[str, Any], client: AsyncWebClient) -> None:
        c = Clicked.of(body)
        if self._invalid(c):
            return await self._explain(client, c, Outcome(Result.INVALID, why=Why.INVALID))
        outcome = await self.run(self.desk.not_this, c.click())
        if not outcome.done:
            return await self._explain(client, c, outcome)
        payload = notes.not_this(self.renderer, "slack", outcome)
        await self._thread(client, c, payload["text"], payload["blocks"])
        await self._in_place(client, c, self.say("note_not_this", user=self._who(c)))

    async def choose(self, body: dict[str, Any], client: AsyncWebClient) -> None:
        """A "This one" / "Show fix" button or the "Not this" menu: answer with the intent picked,
        in the thread, and settle what was clicked."""
        c = Clicked.of(body)
        click = c.click()
        outcome = await self.run(self.desk.choose, click)
        if not outcome.done or outcome.answer is None:
            return await self._explain(client, c, outcome)
        case_id = outcome.case.id if outcome.case else None
        await self.run(self.desk.open_chosen, outcome, click)
        posted = await self.post(client, c.channel, c.thread, self.renderer.slack(outcome.answer, case_id),
                                 outcome.answer, case_id)
        if case_id and posted:
            await self.run(self.desk.reply_posted, case_id, posted)
        note = self.say("slack_chosen_note", user=self._who(c), title=self.desk.catalog.title(outcome.answer.intent))
        await self._in_place(client, c, note, settle=True, text=note)

    async def help(self, body: dict[str, Any], client: AsyncWebClient) -> None:
        c = Clicked.of(body)
        outcome = await self.run(self.desk.help, c.click())
        if not outcome.done or outcome.answer is None:
            return await self._explain(client, c, outcome)
        await self.post(client, c.channel, c.thread, self.renderer.slack(outcome.answer), None, None)
        await self._in_place(client, c, self.say("note_help"))

    # -- the App Home's admin button -----------------------------------------------------------------

    async def retrain(self, body: dict[str, Any], client: AsyncWebClient) -> None:
        user = (body.get("user") or {}).get("id", "")
        allowed = self.desk.can_retrain(user)
        channel = await self._dm(client, user)
        if allowed is Result.UNAVAILABLE:
            await client.chat_postMessage(channel=channel, text=self.say("slack_retrain_unavailable"))
            return
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
        if self._invalid(c):
            return await self._explain(client, c, Outcome(Result.INVALID, why=Why.INVALID))
        outcome = await self.run(self.desk.snooze, c.click(), until, await self._user_tz(client, c.user))
        if not outcome.done or outcome.until is None or outcome.zone is None:
            return await self._explain(client, c, outcome)
        note = notes.snoozed(self.renderer, "slack", outcome, self._who(c), self.desk.clock())
        await self._in_place(client, c, note, settle=True, text=note)

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
            when = Safe(notes.when(self.renderer, "slack", outcome.until, self.desk.clock(), outcome.zone))
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


def _link_in(blocks: list[dict[str, Any]]) -> str:
    """The thread link an escalation post carries (kept when the post is redrawn as claimed)."""
    for block in blocks:
        for element in block.get("elements") or []:
            text = element.get("text") if isinstance(element, dict) else None
            if isinstance(text, str) and text.startswith("<http") and text.endswith("|Open the thread>"):
                return text[1:].partition("|")[0]
    return ""
