"""Check-ins and digests delivered to Slack (the Notifier for the Clockwork).

Each post carries its identity in message metadata (`event_payload.delivery`, the Clockwork's
Post.key). One the Clockwork claimed again (its clock died mid-post, or a send failed in a way
that may have reached Slack) is looked for in its conversation first and adopted when found
(bot/slack/lookup.py), so it is never posted twice.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from ..core.cases.digest import Digest
from ..core.schedule.clockwork import Gone, Post
from ..core.storage.tables import Case
from .edge import SlackEdge
from .lookup import find_post

log = logging.getLogger(__name__)
DIGEST_TOO_BIG = {"msg_blocks_too_long", "invalid_blocks", "msg_too_long"}
GONE_ERRORS = {"channel_not_found", "is_archived", "not_in_channel", "account_inactive", "user_not_found",
               "token_revoked", "invalid_auth"}
CHECKIN_EVENT = "sync_checkin"
DIGEST_EVENT = "sync_digest"
LOOK_MARGIN = timedelta(minutes=1)   # clocks differ: look from a little before the post could be


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

    async def send_checkin(self, case: Case, post: Post | None = None) -> str:
        post = post or Post(f"checkin:case:{case.id}")
        client, _ = await self.edge.clients.for_team(case.workspace)
        if post.look and (found := await self._find(client, case.channel, CHECKIN_EVENT, post, case.thread)):
            log.info("the check-in for case %s was posted before (%s); adopted", case.id, post.key)
            return found
        payload = self.edge.renderer.checkin("slack", case.id, case.intent)
        args = {"channel": case.channel, "text": payload["text"], "blocks": payload["blocks"],
                "metadata": {"event_type": CHECKIN_EVENT,
                             "event_payload": {"case_id": case.id, "intent": case.intent, "delivery": post.key}}}
        if case.thread:
            args["thread_ts"] = case.thread
        return await self._post(client, args)

    def digest_targets(self) -> list[str]:
        return [f"slack:{self.digest_team}:{self.digest_channel}"] if self.digest_channel else []

    async def send_digest(self, target: str, digest: Digest, post: Post | None = None) -> str:
        """The digest, fitted to Slack's budget, with the groups that did not fit in its thread.
        Refused as too large anyway, it goes again as its header alone with every group in the
        thread (a digest that always fails would be retried all day). The main post carries the
        delivery's identity, so a digest claimed again is looked for before it is posted."""
        client, _ = await self.edge.clients.for_team(self.digest_team)
        channel = self.digest_channel or ""
        if post is not None and post.look and (found := await self._find(client, channel, DIGEST_EVENT, post)):
            log.info("the digest for %s was posted before (%s); adopted", target, post.key)
            return found
        metadata = ({"event_type": DIGEST_EVENT, "event_payload": {"delivery": post.key, "total": digest.total}}
                    if post is not None else None)
        rendered = self.edge.renderer.digest_post("slack", digest)
        try:
            ts = await self._post(client, _digest_args(channel, rendered.main, metadata=metadata))
        except SlackApiError as exc:
            if exc.response.get("error") not in DIGEST_TOO_BIG:
                raise
            log.warning("Slack refused the digest (%s); posting it as a summary with the groups in its thread",
                        exc.response.get("error"))
            rendered = self.edge.renderer.digest_post("slack", digest, compact=True)
            ts = await self._post(client, _digest_args(channel, rendered.main, metadata=metadata))
        for reply in rendered.rest:
            try:  # the digest itself is out: a lost reply is logged, never a reason to post it all again
                await self._post(client, _digest_args(channel, reply, thread=ts))
            except SlackApiError as exc:
                log.warning("a reply in the digest's thread failed (%s)", exc.response.get("error"))
        return ts

    async def _find(self, client: AsyncWebClient, channel: str, event_type: str, post: Post,
                    thread: str = "") -> str | None:
        oldest = f"{(post.since - LOOK_MARGIN).timestamp():.6f}" if post.since else ""
        try:
            return await find_post(client, channel, event_type, post.key, thread=thread, oldest=oldest)
        except SlackApiError as exc:
            if exc.response.get("error") in GONE_ERRORS:
                raise Gone(exc.response.get("error")) from None
            raise

    async def _post(self, client: AsyncWebClient, args: dict) -> str:
        try:
            resp = await client.chat_postMessage(**args)
        except SlackApiError as exc:
            if exc.response.get("error") in GONE_ERRORS:
                raise Gone(exc.response.get("error")) from None
            raise
        return str(resp.get("ts") or "")


def _digest_args(channel: str, payload: dict, *, metadata: dict | None = None, thread: str = "") -> dict:
    args = {"channel": channel, "text": payload["text"], "blocks": payload["blocks"], "unfurl_links": False}
    if metadata is not None:
        args["metadata"] = metadata
    if thread:
        args["thread_ts"] = thread
    return args
