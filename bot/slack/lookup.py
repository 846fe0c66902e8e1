"""Looking before posting again: the bot's own posts, found by the identity they carry.

Every post the bot makes for a recorded piece of work (the answer to a message, a check-in, a
digest) carries message metadata whose `event_payload.delivery` names that work. When the
work is tried again (a recovery after its process died, a check-in or digest claimed again,
a post whose call failed in a way that may have reached Slack), the conversation is read
first (conversations.replies for a thread, conversations.history otherwise) and a post found
there is adopted instead of posting a second one.
"""

from __future__ import annotations

from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

PAGE = 200         # messages per page (Slack's recommended maximum is 200)
MAX_PAGES = 5      # a thread or a day of a channel longer than 1,000 messages is not read to the end


def carries(message: dict[str, Any], event_type: str, delivery: str) -> bool:
    """Whether `message` is the bot's post of type `event_type` for `delivery`."""
    metadata = message.get("metadata") or {}
    payload = metadata.get("event_payload") or {}
    return metadata.get("event_type") == event_type and payload.get("delivery") == delivery


def stamp(metadata: dict[str, Any], delivery: str) -> dict[str, Any]:
    """`metadata` with the identity of the work the post is for."""
    return {**metadata, "event_payload": {**(metadata.get("event_payload") or {}), "delivery": delivery}}


async def find_post(client: AsyncWebClient, channel: str, event_type: str, delivery: str, *, thread: str = "",
                    oldest: str = "") -> str | None:
    """The ts of the bot's post for `delivery` in `thread` (or, without one, in the channel
    since `oldest`), or None. Errors are the caller's: when it cannot look, it must not post."""
    cursor = ""
    for _ in range(MAX_PAGES):
        args: dict[str, Any] = {"channel": channel, "include_all_metadata": True, "limit": PAGE}
        if oldest:
            args.update(oldest=oldest, inclusive=True)
        if cursor:
            args["cursor"] = cursor
        if thread:
            resp = await client.conversations_replies(ts=thread, **args)
        else:
            resp = await client.conversations_history(**args)
        for message in resp.get("messages") or []:
            if carries(message, event_type, delivery):
                return str(message.get("ts") or "")
        cursor = ((resp.get("response_metadata") or {}).get("next_cursor") or "") if resp.get("has_more") else ""
        if not cursor:
            return None
    return None
