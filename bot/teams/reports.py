"""The admin's report in Teams: the reply to "@SyncMedic report" (an Adaptive Card with the
headline figures and the biggest knowledge gaps) and the monthly summary. Who may see it, and
whether it may carry message samples (only in a personal chat), is the Desk's decision
(Desk.report); this module only renders and sends."""

from __future__ import annotations

import asyncio
from typing import Any

from ..core.insights.render import report_renderer
from ..core.outcomes import Result
from ..core.schedule.clockwork import Gone
from . import translate as tr
from .connector import ConversationGone

TARGET_PREFIX = "teams:"


async def report_reply(edge: Any, incoming: tr.Incoming) -> dict[str, Any]:
    """The activity answering "report" from `incoming`'s sender."""
    outcome = await asyncio.to_thread(edge.desk.report, incoming.user, private=incoming.personal)
    if outcome.result is Result.REFUSED:
        return tr.text_activity(edge.say("teams_admin_only"))
    card = report_renderer(edge.renderer).channel_message("teams", outcome.details["report"],
                                                          samples=outcome.details["samples"])
    return tr.card_activity(card)


async def post_monthly(edge: Any, target: str, report: Any) -> str:
    """Last month's summary to a Teams digest target (no message samples)."""
    stored = await asyncio.to_thread(edge.conversations.get, target.removeprefix(TARGET_PREFIX))
    if stored is None or stored.gone_at is not None:
        raise Gone("no usable conversation reference is stored")
    card = report_renderer(edge.renderer).channel_message("teams", report, samples=False)
    try:
        return await edge.hosting.send(stored.conversation, tr.card_activity(card))
    except ConversationGone as exc:
        await asyncio.to_thread(edge.conversations.mark_gone, stored.conversation.key)
        raise Gone(str(exc)) from None
