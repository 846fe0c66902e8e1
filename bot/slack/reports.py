"""The admin's report in Slack: the App Home's short version, the "Send me the full report"
button (the HTML report as a file in the admin's DM) and the monthly summary in the digest
channel. Who may see what is the Desk's decision (Desk.report); this module only renders and
posts.

The file goes up with files_upload_v2 (files.getUploadURLExternal, the upload itself, then
files.completeUploadExternal sharing it into the DM): it needs the files:write scope
(slack/manifest.yml).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Callable

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from ..core.desk import Desk
from ..core.insights.render import report_renderer
from ..core.outcomes import Result
from ..core.replies.render import Renderer
from ..core.schedule.clockwork import Gone

log = logging.getLogger(__name__)
Say = Callable[..., str]
GONE_ERRORS = {"channel_not_found", "is_archived", "not_in_channel", "account_inactive", "token_revoked",
               "invalid_auth"}


class SlackReports:
    def __init__(self, desk: Desk, renderer: Renderer, say: Say) -> None:
        self.desk = desk
        self.renderer = renderer
        self.say = say

    async def for_home(self, user: str) -> Any:
        """The report for an admin's App Home (None for anyone else, or when it cannot be made:
        the rest of the Home is still worth showing)."""
        if not self.desk.is_admin(user):
            return None
        try:
            outcome = await asyncio.to_thread(self.desk.report, user, private=True)
        except Exception:  # noqa: BLE001 - the Home without figures beats no Home
            log.exception("building the report for the App Home failed")
            return None
        return outcome.details["report"] if outcome.done else None

    async def send_full(self, body: dict[str, Any], client: AsyncWebClient) -> None:
        """The App Home's "Send me the full report": the HTML report, as a file in the admin's DM."""
        user = (body.get("user") or {}).get("id", "")
        channel = (await client.conversations_open(users=user))["channel"]["id"]
        outcome = await asyncio.to_thread(self.desk.report, user, private=True)
        if outcome.result is Result.REFUSED:
            await client.chat_postMessage(channel=channel, text=self.say("slack_admin_only"))
            return
        report = outcome.details["report"]
        page = report_renderer(self.renderer).html(report, samples=outcome.details["samples"])
        first, last = report.period.first_day.isoformat(), report.period.last_day.isoformat()
        await client.files_upload_v2(
            channel=channel, content=page.encode("utf-8"), filename=f"syncmedic-report-{first}-to-{last}.html",
            title=self.say("slack_report_title", first=first, last=last),
            initial_comment=self.say("slack_report_sent", first=first, last=last))

    async def post_monthly(self, client: AsyncWebClient, channel: str, report: Any) -> str:
        """Last month's summary in the digest channel: figures and gaps, no message samples."""
        payload = report_renderer(self.renderer).channel_message("slack", report, samples=False)
        try:
            resp = await client.chat_postMessage(channel=channel, text=payload["text"], blocks=payload["blocks"],
                                                 unfurl_links=False)
        except SlackApiError as exc:
            if exc.response.get("error") in GONE_ERRORS:
                raise Gone(exc.response.get("error")) from None
            raise
        return str(resp.get("ts") or "")
