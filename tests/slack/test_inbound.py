"""What reaches /slack/events before and besides the usual events (issue 15, items 7 and 10).

Requests are verified from the raw bytes (signature and timestamp window) before anything
parses them: garbage from anyone gets 400/401 and one log line, never a traceback. A signed
event with odd fields is handled, an event type the bot has no use for is acknowledged and
ignored, and a message whose words are only in its blocks is read from them.
"""

from __future__ import annotations

import json
import logging
import time
from urllib.parse import urlencode

import pytest

from tests.slack.harness import BotClient, all_text
from tests.standins import slack_payloads as slack
from tests.standins.slack_payloads import ALICE, BOT_USER, CHANNEL, EVENTS, FORM, dm_event, fresh_ts, message_event

BILL = 'Bill "B-1042" has not been exported to QuickBooks'
NESTED = "[" * 100_000 + "]" * 100_000
GARBAGE = {
    "malformed json": (b'{"type": "event_callback", ', EVENTS),
    "a json list": (b"[1, 2, 3]", EVENTS),
    "a json string": (b'"event_callback"', EVENTS),
    "invalid utf-8": (b'{"type": "\xff\xfe event_callback"}', EVENTS),
    "deeply nested": (NESTED.encode(), EVENTS),
    "form with a broken payload": (urlencode({"payload": "{not json"}).encode(), FORM),
    "form with a nested payload": (urlencode({"payload": NESTED}).encode(), FORM),
    "empty": (b"", EVENTS),
}


def problems(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    """Log records that carry a traceback, or come from aiohttp's 'Error handling request'."""
    return [r for r in caplog.records if r.exc_info or (r.name.startswith("aiohttp") and r.levelno >= logging.ERROR)]


async def post_raw(bot: BotClient, body: bytes, headers: dict[str, str]) -> int:
    async with bot.session.post(bot.base + "/slack/events", data=body, headers=headers) as resp:
        await resp.read()
        return resp.status


def assert_nothing_done(bot: BotClient) -> None:
    assert bot.events() == []
    assert bot.stub.writes() == []


@pytest.mark.parametrize("name", list(GARBAGE))
@pytest.mark.parametrize("signing", ["unsigned", "timestamp abc", "forged", "non-ascii signature"])
async def test_unsigned_garbage_is_refused_with_one_log_line(bot: BotClient, caplog, name, signing):
    body, content_type = GARBAGE[name]
    headers = {"Content-Type": content_type}
    if signing == "timestamp abc":
        headers.update({"X-Slack-Request-Timestamp": "abc", "X-Slack-Signature": "v0=" + "0" * 64})
    elif signing == "forged":
        headers.update({"X-Slack-Request-Timestamp": str(int(time.time())), "X-Slack-Signature": "v0=" + "1" * 64})
    elif signing == "non-ascii signature":
        headers.update({"X-Slack-Request-Timestamp": str(int(time.time())), "X-Slack-Signature": "v0=\u00e9t\u00e9"})
    caplog.clear()
    with caplog.at_level(logging.INFO):
        status = await post_raw(bot, body, headers)
    await bot.drain()
    assert status in (400, 401)
    assert problems(caplog) == []
    refusals = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(refusals) == 1 and "/slack/events" in refusals[0].getMessage()
    assert_nothing_done(bot)


@pytest.mark.parametrize("name", [n for n in GARBAGE if n != "invalid utf-8"])
async def test_signed_garbage_is_refused_without_a_traceback(bot: BotClient, caplog, name):
    body, content_type = GARBAGE[name]
    request = slack.signed(body.decode(), content_type)
    caplog.clear()
    status = await post_raw(bot, request.body.encode(), request.headers)
    await bot.drain()
    assert status == 400
    assert problems(caplog) == []
    assert_nothing_done(bot)


async def test_a_stale_timestamp_is_refused(bot: BotClient, caplog):
    status, _ = await bot.send(slack.event_request(dm_event(BILL), timestamp=int(time.time()) - 600))
    await bot.drain()
    assert status == 401 and problems(caplog) == []
    assert_nothing_done(bot)


@pytest.mark.parametrize("text", [42, 4.2, ["a", "list"], {"an": "object"}, True])
async def test_a_signed_event_whose_text_is_not_text_is_handled(bot: BotClient, caplog, text):
    event = dm_event(BILL)
    event["text"] = text
    event.pop("blocks", None)
    status, _ = await bot.event(event)
    mention = slack.mention_event(BILL)
    mention["text"] = text
    status_mention, _ = await bot.event(mention)
    await bot.drain()
    assert (status, status_mention) == (200, 200)
    assert problems(caplog) == []
    assert [e["status"] for e in bot.events()] in ([], ["done"], ["done", "done"])


@pytest.mark.parametrize("kind", ["reaction_added", "member_joined_channel", "some_event_slack_adds_next_year"])
async def test_an_event_type_the_bot_does_not_use_is_acknowledged_and_ignored(bot: BotClient, caplog, kind):
    event = {"type": kind, "user": ALICE, "channel": CHANNEL, "event_ts": fresh_ts(),
             "item": {"type": "message", "channel": CHANNEL, "ts": fresh_ts()}, "reaction": "eyes"}
    status, _ = await bot.event(event)
    await bot.drain()
    assert status == 200
    assert problems(caplog) == []
    assert_nothing_done(bot)


def rich_text_dm(*elements: dict) -> dict:
    event = dm_event("")
    event["text"] = ""
    event["blocks"] = [{"type": "rich_text", "block_id": "rt1", "elements": list(elements)}]
    return event


async def test_a_blocks_only_message_is_read_from_its_blocks(bot: BotClient):
    event = rich_text_dm(
        {"type": "rich_text_section", "elements": [{"type": "text", "text": "This came up again today:"}]},
        {"type": "rich_text_preformatted", "elements": [{"type": "text", "text": BILL}]})
    status, _ = await bot.event(event)
    await bot.drain()
    assert status == 200
    [reply] = bot.stub.posts()
    assert reply["metadata"]["event_payload"]["intent"] == "bill_not_exported"
    assert "B-1042" in all_text(reply)


async def test_a_blocks_only_mention_of_the_bot_in_a_channel_is_answered(bot: BotClient):
    ts = fresh_ts()
    event = message_event("", ts=ts)
    event["blocks"] = [{"type": "rich_text", "block_id": "rt1", "elements": [{"type": "rich_text_section", "elements": [
        {"type": "user", "user_id": BOT_USER}, {"type": "text", "text": " " + BILL}]}]}]
    status, _ = await bot.event(event)
    await bot.drain()
    assert status == 200
    [reply] = bot.stub.posts()
    assert reply["thread_ts"] == ts
    assert reply["metadata"]["event_payload"]["intent"] == "bill_not_exported"


async def test_signed_slack_requests_still_work(bot: BotClient):
    """The check runs before bolt's: a real event and url_verification pass."""
    status, _ = await bot.event(dm_event(BILL))
    assert status == 200
    challenge = json.dumps({"token": "t", "challenge": "c-123", "type": "url_verification"})
    status, body = await bot.send(slack.signed(challenge, EVENTS))
    assert status == 200 and "c-123" in body
    await bot.drain()
    assert len(bot.stub.posts()) == 1


async def test_a_slash_command_about_a_payload_is_answered(bot: BotClient):
    """bolt reads any form body containing the word "payload" as an interactivity payload and,
    finding none, as an empty body: the command was lost (404)."""
    status, _ = await bot.command("QuickBooks said: Invalid JSON payload. " + BILL)
    await bot.drain()
    assert status == 200
    [reply] = bot.stub.posts()
    assert reply["metadata"]["event_payload"]["intent"] == "bill_not_exported"
