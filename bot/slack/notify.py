"""Check-ins and digests delivered to Slack (the Notifier for the Clockwork)."""

from __future__ import annotations

import logging

from slack_sdk.errors import SlackApiError

from ..core.schedule.clockwork import Gone
from ..core.cases.digest import Digest
from ..core.storage.tables import Case
from .edge import SlackEdge

log = logging.getLogger(__name__)
GONE_ERRORS = {"channel_not_found", "is_archived", "not_in_channel", "account_inactive", "user_not_found",
               "token_revoked", "invalid_auth"}


class SlackNotifier:
    platform = "slack"

    def __init__(self, edge: SlackEdge, digest_channel: str | None, digest_team: str | None = None) -> None:
        self.edge = edge
        self.digest_channel = digest_channel
        self.digest_team = digest_team or ""

    async def user_timezone(self, case: Case) -> str | None:
        client, _ = await self.edge.clients.for_team(case.workspace)
        try:
            return (await client.users_info(user=case.user))["user"].get("tz")
        except SlackApiError:
            log.warning("users.info failed; using the default time zone")
            return None

    async def send_checkin(self, case: Case) -> str:
        client, _ = await self.edge.clients.for_team(case.workspace)
        payload = self.edge.renderer.checkin("slack", case.id, case.intent)
        args = {"channel": case.channel, "text": payload["text"], "blocks": payload["blocks"],
                "metadata": {"event_type": "sync_checkin", "event_payload": {"case_id": case.id, "intent": case.intent}}}
        if case.thread:
            args["thread_ts"] = case.thread
        try:
            resp = await client.chat_postMessage(**args)
        except SlackApiError as exc:
            if exc.response.get("error") in GONE_ERRORS:
                raise Gone(exc.response.get("error")) from None
            raise
        return str(resp.get("ts") or "")

    def digest_targets(self) -> list[str]:
        return [f"slack:{self.digest_team}:{self.digest_channel}"] if self.digest_channel else []

    async def send_digest(self, target: str, digest: Digest) -> str:
        client, _ = await self.edge.clients.for_team(self.digest_team)
        payload = self.edge.renderer.digest("slack", digest)
        try:
            resp = await client.chat_postMessage(channel=self.digest_channel, text=payload["text"],
                                                 blocks=payload["blocks"], unfurl_links=False)
        except SlackApiError as exc:
            if exc.response.get("error") in GONE_ERRORS:
                raise Gone(exc.response.get("error")) from None
            raise
        return str(resp.get("ts") or "")
