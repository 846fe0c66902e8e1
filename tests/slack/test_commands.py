"""The /syncmedic slash command and the "Diagnose this message" message shortcut."""

from __future__ import annotations

import json

import pytest

from tests.slack.harness import ALICE, BOB, BOT_USER, CHANNEL, TEAM, BotClient, all_text, fresh_ts

pytestmark = pytest.mark.asyncio

BILL_ERROR = 'Error: Bill "BILL-7731" has not been exported to QuickBooks'
USAGE = ('Use /syncmedic followed by the error text, for example: /syncmedic Bill "BILL-7731" has not been '
         'exported to QuickBooks')


async def test_slash_command_posts_the_diagnosis_in_the_channel(bot: BotClient):
    status, text = await bot.command(BILL_ERROR, trigger_id="111.222.abcdef0123456789")
    await bot.drain()

    assert status == 200
    assert text == ""  # acknowledged without an ephemeral reply: the answer goes to the channel
    [post] = bot.stub.posts()
    assert post["channel"] == CHANNEL
    assert "thread_ts" not in post
    [(case_id, channel, thread, user, intent)] = bot.sql("SELECT id, channel, thread, user, intent FROM cases")
    assert post["metadata"] == {"event_type": "sync_diagnosis", "event_payload": {
        "case_id": case_id, "intent": "bill_not_exported", "confidence": 0.99,
        "delivery": "command:111.222.abcdef0123456789"}}   # the command it answers (its event's key)
    assert (channel, thread, user, intent) == (CHANNEL, "", ALICE, "bill_not_exported")
    [event] = bot.events()
    assert (event["kind"], event["message"], event["status"]) == ("command", "command:111.222.abcdef0123456789",
                                                                  "done")


@pytest.mark.parametrize("text", ["", "   ", "help", "?"])
async def test_empty_slash_command_answers_with_ephemeral_usage(bot: BotClient, text: str):
    status, body = await bot.command(text)
    await bot.drain()

    assert status == 200
    assert json.loads(body) == {"response_type": "ephemeral", "text": USAGE}
    assert bot.stub.calls == [] or all(c.method == "auth.test" for c in bot.stub.calls)
    assert bot.events() == []


async def test_slash_command_in_a_channel_without_the_bot_answers_privately(bot: BotClient):
    bot.stub.fail("chat.postMessage", "not_in_channel")
    response_url = f"{bot.stub.base}/response/T0TEAM1-cmd-1"
    status, _ = await bot.command(BILL_ERROR, channel="C0NOTMEMBR", response_url=response_url)
    await bot.drain()

    assert status == 200
    assert [c.error for c in bot.stub.attempts("chat.postMessage")] == ["not_in_channel"]
    [hook] = bot.stub.webhook_posts
    assert hook["response_type"] == "ephemeral"
    assert hook["blocks"][0]["elements"][0]["text"].startswith("I am not a member of this channel")
    assert "BILL-7731" in all_text(hook)
    assert [e["status"] for e in bot.events()] == ["done"]


async def test_slash_command_with_a_forged_signature_is_refused(bot: BotClient):
    from urllib.parse import urlencode

    body = urlencode({"command": "/syncmedic", "text": BILL_ERROR, "team_id": TEAM, "channel_id": CHANNEL,
                      "user_id": ALICE, "trigger_id": "1.2.3", "response_url": f"{bot.stub.base}/response/x"})
    status, _ = await bot.post("/slack/events", body, "application/x-www-form-urlencoded", signature="v0=deadbeef")
    await bot.drain()

    assert status == 401
    assert bot.stub.calls == []
    assert bot.events() == []


def user_message(text: str, ts: str | None = None, thread_ts: str | None = None) -> dict:
    message = {"type": "message", "user": BOB, "ts": ts or fresh_ts(), "text": text, "team": TEAM,
               "client_msg_id": "c0ffee", "blocks": []}
    if thread_ts:
        message["thread_ts"] = thread_ts
    return message


async def test_message_shortcut_answers_in_that_messages_thread(bot: BotClient):
    message = user_message(BILL_ERROR)
    status, text = await bot.shortcut(message, CHANNEL, user=ALICE)
    await bot.drain()

    assert status == 200 and text == ""
    [post] = bot.stub.posts()
    assert (post["channel"], post["thread_ts"]) == (CHANNEL, message["ts"])
    [(case_id, thread, msg, user)] = bot.sql("SELECT id, thread, message, user FROM cases")
    assert post["metadata"]["event_payload"] == {"case_id": case_id, "intent": "bill_not_exported",
                                                 "confidence": 0.99, "delivery": f"shortcut:{message['ts']}"}
    assert (thread, msg, user) == (message["ts"], message["ts"], ALICE)
    assert [(e["kind"], e["status"]) for e in bot.events()] == [("shortcut", "done")]


async def test_message_shortcut_on_a_thread_reply_answers_in_the_thread(bot: BotClient):
    parent = fresh_ts()
    message = user_message(f"<@{BOT_USER}> {BILL_ERROR}", thread_ts=parent)
    await bot.shortcut(message, CHANNEL)
    await bot.drain()

    [post] = bot.stub.posts()
    assert post["thread_ts"] == parent
    assert bot.sql("SELECT question FROM cases") == [(BILL_ERROR,)]


async def test_message_shortcut_used_twice_on_one_message_answers_once(bot: BotClient):
    message = user_message(BILL_ERROR)
    await bot.shortcut(message, CHANNEL)
    await bot.shortcut(message, CHANNEL, user=BOB)
    await bot.drain()

    assert len(bot.stub.posts()) == 1


async def test_paste_in_the_thread_of_a_channel_answer_after_still_failing_is_answered(bot: BotClient):
    """The follow-up to Still failing says "paste the new one here": for a mention, "here" is the
    user's thread, which holds the case, so a reply without a mention is answered."""
    from tests.slack.harness import message_event, mention_event

    event = mention_event(BILL_ERROR)
    await bot.event(event)
    await bot.drain()
    answer_ts = bot.stub.attempts("chat.postMessage")[-1].response["ts"]
    await bot.click(answer_ts, "syncmedic_still_failing")
    await bot.drain()
    follow_up = bot.stub.posts()[-1]
    assert "paste the new one here" in follow_up["text"]

    before = len(bot.stub.posts())
    await bot.event(message_event('Error: Product "WIDGET-1" has not been exported to QuickBooks',
                                  thread_ts=follow_up["thread_ts"]))
    await bot.drain()
    assert len(bot.stub.posts()) == before + 1
    last = bot.stub.posts()[-1]
    assert last["thread_ts"] == event["ts"]
    assert last["metadata"]["event_payload"]["intent"] == "product_not_exported"


async def test_paste_in_the_thread_of_a_command_answer_after_still_failing_is_answered(bot: BotClient):
    from tests.slack.harness import message_event

    await bot.command(BILL_ERROR)
    await bot.drain()
    answer_ts = bot.stub.attempts("chat.postMessage")[-1].response["ts"]
    await bot.click(answer_ts, "syncmedic_still_failing")
    await bot.drain()
    follow_up = bot.stub.posts()[-1]
    assert follow_up["thread_ts"] == answer_ts
    assert "paste the new one here" in follow_up["text"]

    before = len(bot.stub.posts())
    await bot.event(message_event('Error: Product "WIDGET-1" has not been exported to QuickBooks',
                                  thread_ts=answer_ts))
    await bot.drain()
    assert len(bot.stub.posts()) == before + 1
    last = bot.stub.posts()[-1]
    assert last["thread_ts"] == answer_ts
    assert last["metadata"]["event_payload"]["intent"] == "product_not_exported"


async def test_ssl_check_is_answered(bot: BotClient):
    from urllib.parse import urlencode

    status, _ = await bot.post("/slack/events", urlencode({"ssl_check": "1", "token": "legacy"}),
                               "application/x-www-form-urlencoded")
    assert status == 200
    assert bot.stub.writes() == []
