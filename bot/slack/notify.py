"""Check-ins and digests delivered to Slack (the Notifier for the Clockwork)."""

from __future__ import annotations

import logging

from slack_sdk.errors import SlackApiError

from ..core.schedule.clockwork import Gone
from ..core.cases.digest import Digest
from ..core.storage.tables import Case
from .edge import SlackEdge

log = logging.getLogger(__name__)
DIGEST_TOO_BIG = {"msg_blocks_too_long", "invalid_blocks", "msg_too_long"}
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
        """The digest, fitted to Slack's budget, with the groups that did not fit in its thread.
        Refused as too large anyway, it goes again as its header alone with every group in the
        thread (a digest that always fails would be retried all day)."""
        client, _ = await self.edge.clients.for_team(self.digest_team)
        post = self.edge.renderer.digest_post("slack", digest)
        try:
            ts = await self._post(client, post.main)
        except SlackApiError as exc:
            if exc.response.get("error") not in DIGEST_TOO_BIG:
                raise
            log.warning("Slack refused the digest (%s); posting it as a summary with the groups in its thread",
                        exc.response.get("error"))
            post = self.edge.renderer.digest_post("slack", digest, compact=True)
            ts = await self._post(client, post.main)
        for reply in post.rest:
            try:  # the digest itself is out: a lost reply is logged, never a reason to post it all again
                await self._post(client, reply, ts)
            except SlackApiError as exc:
                log.warning("a reply in the digest's thread failed (%s)", exc.response.get("error"))
        return ts

    async def _post(self, client, payload: dict, thread: str = "") -> str:
        try:
            resp = await client.chat_postMessage(channel=self.digest_channel, text=payload["text"],
                                                 blocks=payload["blocks"], unfurl_links=False,
                                                 **({"thread_ts": thread} if thread else {}))
        except SlackApiError as exc:
            if exc.response.get("error") in GONE_ERRORS:
                raise Gone(exc.response.get("error")) from None
            raise
        return str(resp.get("ts") or "")
