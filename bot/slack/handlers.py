"""Wiring Slack's events, commands, shortcuts and actions to the edge (bolt listeners).

The app runs with `process_before_response=True`: bolt answers Slack only once a listener
returns, and every listener returns as soon as the work is recorded (messages) or started
in the background (clicks). Slack gets its 200 fast, and only after nothing can be lost.
"""

from __future__ import annotations

import logging
import re
from typing import Any, Callable

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from . import translate as tr
from .buttons import Buttons
from .edge import SlackEdge
from .home import home_view
from .reports import SlackReports

log = logging.getLogger(__name__)

COMMAND = "/syncmedic"
SHORTCUT = "diagnose_message"


def register(app: AsyncApp, edge: SlackEdge, buttons: Buttons, reports: SlackReports | None = None) -> None:
    desk = edge.desk
    reports = reports or SlackReports(desk, edge.renderer, edge.say)

    @app.event("app_mention")
    async def on_mention(body: dict, event: dict, context: Any) -> None:
        if tr.is_from_a_person(event, context.bot_user_id):
            await edge.accept(tr.work_from_event(body, event, context.bot_user_id), body.get("event_id", ""))

    @app.event("message")
    async def on_message(body: dict, event: dict, context: Any) -> None:
        bot = context.bot_user_id
        if not tr.is_from_a_person(event, bot):
            return
        work = tr.work_from_event(body, event, bot)
        if event.get("channel_type") == "im" or tr.mentions(event, bot):
            await edge.accept(work, body.get("event_id", ""))
            return
        thread = event.get("thread_ts")
        # A reply in a thread we are already helping in needs no new mention.
        if thread and await edge.db(desk.follows, "slack", work.team, work.channel, thread):
            await edge.accept(work, body.get("event_id", ""))

    @app.command(COMMAND)
    async def on_command(ack: Callable, body: dict) -> None:
        text = (body.get("text") or "").strip()
        if not text or text.lower() in ("help", "?"):
            await ack(response_type="ephemeral", text=edge.say("slack_command_usage"))
            return
        work = tr.Work(kind="command", team=body.get("team_id", ""), channel=body.get("channel_id", ""),
                       ts=body.get("trigger_id", ""), reply_thread="", user=body.get("user_id", ""), text=text,
                       response_url=body.get("response_url", ""))
        await edge.accept(work)
        await ack()

    @app.shortcut(SHORTCUT)
    async def on_shortcut(ack: Callable, body: dict, context: Any) -> None:
        message = body.get("message") or {}
        files = [f["id"] for f in message.get("files") or [] if isinstance(f, dict) and f.get("id")]
        work = tr.Work(kind="shortcut", team=(body.get("team") or {}).get("id", ""),
                       channel=(body.get("channel") or {}).get("id", ""), ts=message.get("ts", ""),
                       reply_thread=message.get("thread_ts") or message.get("ts", ""),
                       user=(body.get("user") or {}).get("id", ""),
                       text=tr.strip_mentions(tr.message_text(message), context.bot_user_id), files=files[:5])
        await edge.accept(work)
        await ack()

    def clicked(handler: Callable[[dict, AsyncWebClient], Any]) -> Callable:
        async def listener(ack: Callable, body: dict, client: AsyncWebClient) -> None:
            await ack()
            # A reply's case is written before the reply is posted: a click always finds it.
            edge.spawn(handler(body, client))
        return listener

    app.action("syncmedic_fixed")(clicked(buttons.fixed))
    app.action("syncmedic_still_failing")(clicked(buttons.still_failing))
    app.action("syncmedic_not_this")(clicked(buttons.not_this))
    app.action("syncmedic_escalate")(clicked(buttons.escalate))
    app.action("syncmedic_decline")(clicked(buttons.decline))
    app.action("syncmedic_claim")(clicked(buttons.claim))
    app.action("syncmedic_help")(clicked(buttons.help))
    app.action("syncmedic_pick_intent")(clicked(buttons.choose))
    app.action(re.compile(r"^syncmedic_choose_\d{1,2}$"))(clicked(buttons.choose))
    app.action("syncmedic_admin_retrain")(clicked(buttons.retrain))
    app.action("syncmedic_admin_report")(clicked(reports.send_full))
    app.action("syncmedic_snooze_hour")(clicked(buttons.snooze_hour))
    app.action("syncmedic_snooze_tomorrow")(clicked(buttons.snooze_tomorrow))
    app.action("syncmedic_digest_steps")(clicked(buttons.digest_steps))
    app.action("syncmedic_digest_resolve")(clicked(buttons.digest_resolve))
    app.action("syncmedic_digest_menu")(clicked(buttons.digest_menu))

    @app.event("app_home_opened")
    async def on_home(event: dict, client: AsyncWebClient, context: Any) -> None:
        if event.get("tab", "home") != "home":
            return

        async def publish() -> None:
            user = event.get("user", "")
            cases = await edge.db(desk.open_cases, "slack", context.team_id or "", user)
            report = await reports.for_home(user)
            view = home_view(cases, edge.renderer, desk.clock(), desk.is_admin(user), report)
            await client.views_publish(user_id=user, view=view)

        edge.spawn(publish(), "publishing the App Home")

    @app.error
    async def on_error(error: Exception) -> None:
        # The payload may hold a customer's message text: log the error, not the body.
        log.error("Slack listener failed: %s", type(error).__name__, exc_info=error)
