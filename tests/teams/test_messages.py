"""Questions in Teams, end to end over HTTP: personal chat, channel @mentions, replies as Adaptive
Cards with channelData.sync_diagnosis, redelivery, failed replies, set-up commands."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta

import pytest

from bot.teams.translate import conversation_key
from tests.support import Clock, SteppedSleep

from tests.teams.harness import ALICE, BILL_ERROR, BOT_NAME, CARD, CHANNEL, TENANT, TeamsClient, actions_of, card_text

pytestmark = pytest.mark.asyncio


def cases(bot: TeamsClient) -> list[dict]:
    rows = bot.sql("SELECT id, platform, workspace, channel, thread, message, user, intent, reply_ref, user_tz, "
                   "question, status FROM cases ORDER BY created_at")
    names = ("id", "platform", "workspace", "channel", "thread", "message", "user", "intent", "reply_ref",
             "user_tz", "question", "status")
    return [dict(zip(names, r)) for r in rows]


def events(bot: TeamsClient) -> list[tuple]:
    return bot.sql("SELECT platform, workspace, channel, message, status FROM events ORDER BY id")


async def test_personal_chat_is_answered_with_a_card_carrying_sync_diagnosis(bot: TeamsClient):
    activity = bot.personal_message(BILL_ERROR)
    status, _ = await bot.post(activity)

    assert status == 202
    [reply] = bot.stub.calls
    assert (reply.kind, reply.conversation, reply.activity_id) == ("reply", bot.personal, activity["id"])
    assert reply.ok
    assert reply.authorization == ""  # local mode: no credentials, so no token
    body = reply.body
    assert body["type"] == "message"
    assert body["conversation"]["id"] == bot.personal
    [attachment] = body["attachments"]
    assert attachment["contentType"] == CARD
    card = attachment["content"]
    assert card["type"] == "AdaptiveCard" and card["version"] == "1.5"
    assert [a["verb"] for a in actions_of(card)] == ["fixed", "still_failing", "not_this"]
    assert "**BILL-7731**" in card_text(card)
    [case] = cases(bot)
    assert body["channelData"]["sync_diagnosis"] == {"case_id": case["id"], "intent": "bill_not_exported",
                                                     "confidence": 0.99, "delivery": activity["id"]}
    assert all(a["data"] == {"case_id": case["id"], "intent": "bill_not_exported"} for a in actions_of(card))
    assert case["platform"] == "teams" and case["workspace"] == TENANT
    assert case["channel"] == conversation_key(bot.personal) and len(case["channel"]) <= 64
    assert (case["thread"], case["message"], case["user"]) == ("", activity["id"], ALICE["aadObjectId"])
    assert case["reply_ref"] == reply.response["id"]
    assert case["user_tz"] == "Europe/London"
    assert case["question"] == BILL_ERROR
    assert events(bot) == [("teams", TENANT, case["channel"], activity["id"], "done")]
    [(conversation_id, service_url, kind)] = bot.sql(
        "SELECT conversation_id, service_url, kind FROM teams_conversations")
    assert (conversation_id, service_url, kind) == (bot.personal, bot.stub.service_url, "personal")


async def test_channel_mention_is_stripped_and_answered_in_the_thread(bot: TeamsClient):
    post = bot.channel_mention(BILL_ERROR)
    status, _ = await bot.post(post)

    assert status == 202
    [reply] = bot.stub.calls
    # The post's own thread: the conversation id names the thread's first message.
    assert reply.kind == "reply"
    assert reply.conversation == f"{CHANNEL};messageid={post['id']}"
    assert reply.activity_id == post["id"]
    assert reply.body["channelData"]["sync_diagnosis"]["intent"] == "bill_not_exported"
    [case] = cases(bot)
    assert case["question"] == BILL_ERROR  # no "<at>SyncMedic</at>" left in what was diagnosed
    assert BOT_NAME not in case["question"]
    assert case["thread"] == post["id"]
    assert case["channel"] == conversation_key(CHANNEL)

    # A reply further down the same thread, mentioning the bot again, is answered in that thread.
    follow_up = bot.channel_mention("our COGS in quickbooks doubled", root=post["id"])
    await bot.post(follow_up)
    second = bot.stub.calls[-1]
    assert second.conversation == f"{CHANNEL};messageid={post['id']}"
    assert second.body["channelData"]["sync_diagnosis"]["case_id"] == cases(bot)[1]["id"]
    assert cases(bot)[1]["thread"] == post["id"]


async def test_channel_message_without_a_mention_outside_the_bots_threads_is_left_alone(bot: TeamsClient):
    status, _ = await bot.post(bot.channel_mention(BILL_ERROR, mention=False))

    assert status == 202
    assert bot.stub.calls == []
    assert cases(bot) == [] and events(bot) == []


async def test_html_entities_and_other_mentions_in_teams_text_are_read_as_text(bot: TeamsClient):
    text = 'Error: Bill &quot;BILL-7731&quot; has not been exported to QuickBooks <at>Bob</at>'
    await bot.post(bot.channel_mention(text))

    [case] = cases(bot)
    assert case["question"] == 'Error: Bill "BILL-7731" has not been exported to QuickBooks Bob'
    assert case["intent"] == "bill_not_exported"
    assert "**BILL-7731**" in card_text(bot.stub.calls[0].card)


async def test_user_text_echoed_in_the_card_is_escaped_for_teams(bot: TeamsClient):
    await bot.post(bot.personal_message('Bill "**[click](https://evil.example)**" has not been exported to QuickBooks'))

    text = card_text(bot.stub.calls[0].card)
    assert "[click](https://evil.example)" not in text
    assert r"**\*\*\[click\](https://evil.example)\*\***" in text


async def test_redelivered_activity_is_answered_once(bot: TeamsClient):
    activity = bot.personal_message(BILL_ERROR)
    first = await bot.post(activity)
    again = await bot.post(activity)
    # ...and a burst of the same delivery arriving at once.
    burst = await asyncio.gather(*(bot.post(activity) for _ in range(5)))

    assert [s for s, _ in (first, again, *burst)] == [202] * 7
    assert len(bot.stub.calls) == 1
    assert len(cases(bot)) == 1
    assert [e[-1] for e in events(bot)] == ["done"]


async def test_concurrent_first_deliveries_are_answered_once(bot: TeamsClient):
    activity = bot.channel_mention(BILL_ERROR)
    results = await asyncio.gather(*(bot.post(activity) for _ in range(6)))

    assert {s for s, _ in results} == {202}
    assert len(bot.stub.posts()) == 1
    assert len(cases(bot)) == 1


async def test_a_failed_reply_is_not_remembered_so_a_redelivery_answers_it(bot: TeamsClient):
    bot.stub.fail(500, kinds=("reply",))
    activity = bot.personal_message(BILL_ERROR)
    status, _ = await bot.post(activity)

    assert status == 500
    assert [c.status for c in bot.stub.calls] == [500]
    assert cases(bot) == [] and events(bot) == []  # no case (and no check-in) for an answer nobody saw
    assert bot.sql("SELECT COUNT(*) FROM followups") == [(0,)]

    status, _ = await bot.post(activity)  # the Bot Framework Service delivers it again
    assert status == 202
    assert [c.status for c in bot.stub.calls] == [500, 201]
    [case] = cases(bot)
    assert case["reply_ref"] == bot.stub.calls[-1].response["id"]
    assert bot.sql("SELECT COUNT(*) FROM followups") == [(1,)]


async def test_throttled_reply_is_retried_and_answered_once(bot: TeamsClient):
    bot.stub.fail(429, times=2, kinds=("reply",))
    status, _ = await bot.post(bot.personal_message(BILL_ERROR))

    assert status == 202
    assert [c.status for c in bot.stub.calls] == [429, 429, 201]
    assert bot.stub.calls[0].body == bot.stub.calls[2].body
    [case] = cases(bot)
    assert case["reply_ref"] == bot.stub.calls[-1].response["id"]


async def test_out_of_scope_and_help_are_cards_too(bot: TeamsClient):
    await bot.post(bot.personal_message("what is the weather like in Paris"))
    await bot.post(bot.personal_message("help"))

    first, second = bot.stub.posts()
    assert first.card is not None and second.card is not None
    assert first.body["channelData"]["sync_diagnosis"]["intent"] == "out_of_scope"
    assert first.body["channelData"]["sync_diagnosis"]["case_id"] is None
    assert second.body["channelData"]["sync_diagnosis"]["intent"] == "help"


async def test_digest_here_makes_the_channel_the_digest_target(bot: TeamsClient):
    await bot.post(bot.channel_mention("digest here"))

    [reply] = bot.stub.calls
    assert "daily digest" in reply.body["text"]
    assert bot.sql("SELECT conversation_id, kind, is_digest_target FROM teams_conversations") == [
        (CHANNEL, "channel", 1)]
    assert bot.services.teams.digest_targets() == [f"teams:{conversation_key(CHANNEL)}"]
    assert cases(bot) == []

    await bot.post(bot.channel_mention("Digest off."))
    assert bot.sql("SELECT is_digest_target FROM teams_conversations") == [(0,)]
    assert bot.services.teams.digest_targets() == []


async def test_healthz_reports_teams_mode(bot: TeamsClient):
    async with bot.session.get(bot.base + "/healthz") as resp:
        body = await resp.json()
    assert body["teams"] == "local"


async def test_bad_bodies_are_refused_without_a_reply(bot: TeamsClient):
    assert (await bot.post("{not json"))[0] == 400
    assert (await bot.post({"type": "message"}))[0] == 400  # no conversation
    assert bot.stub.calls == []


async def test_with_admin_users_only_admins_choose_where_the_digest_goes(start_bot):
    from tests.teams.harness import BOB

    bot = await start_bot(ADMIN_USERS=f"U0SLACKADMIN,{ALICE['aadObjectId']}")
    await bot.post(bot.channel_mention("digest here", user=BOB))
    assert "Only SyncMedic admins" in bot.stub.posts()[-1].body["text"]
    assert bot.sql("SELECT is_digest_target FROM teams_conversations") == [(0,)]

    await bot.post(bot.channel_mention("digest here", user=ALICE))
    assert bot.sql("SELECT is_digest_target FROM teams_conversations") == [(1,)]


async def test_a_message_left_unanswered_by_a_dead_process_is_answered_by_recovery(start_bot):
    """A process that died mid-request leaves its message recorded, unanswered. Recovery answers
    it in the stored conversation, once, as a proactive message carrying the diagnosis."""
    from bot.teams import translate as tr

    clock = Clock()
    bot = await start_bot(EVENT_RETRY_AFTER="10s", clock=clock)
    first = bot.personal_message("Reference number is not unique")
    assert (await bot.post(first))[0] == 202  # the bot knows this conversation now
    # What on_message records before answering, in a process that then died:
    lost = bot.personal_message(BILL_ERROR)
    incoming = tr.read_activity(lost)
    row = bot.store.record_event("teams", incoming.conversation.tenant, incoming.conversation.key,
                                 tr.short_id(incoming.activity_id), kind="message",
                                 payload=tr.redo_payload(incoming))
    assert row is not None
    assert await bot.services.teams.recover() == 0   # not before EVENT_RETRY_AFTER: it may be in hand
    clock.advance(timedelta(seconds=11))
    assert await bot.services.teams.recover() == 1
    [sent] = bot.stub.accepted("send")
    assert sent.conversation == bot.personal
    case = next(c for c in cases(bot) if c["message"] == lost["id"])
    assert sent.body["channelData"]["sync_diagnosis"]["case_id"] == case["id"]
    assert (case["intent"], case["reply_ref"], case["question"]) == ("bill_not_exported", sent.response["id"],
                                                                     BILL_ERROR)
    assert events(bot)[-1] == ("teams", TENANT, case["channel"], lost["id"], "done")
    assert await bot.services.teams.recover() == 0
    assert len(bot.stub.posts()) == 2
    # A redelivery of it now is a duplicate: still one answer.
    assert (await bot.post(lost))[0] == 202
    assert len(bot.stub.posts()) == 2


async def test_a_slow_answer_is_held_so_recovery_does_not_answer_it_too(start_bot):
    clock = Clock()
    bot = await start_bot(EVENT_RETRY_AFTER="10s", clock=clock)
    teams = bot.services.teams
    renewals = teams.leases.sleep = SteppedSleep()
    recovered = []

    async def throttled(delay: float) -> None:  # the reply waits out Retry-After, renewed meanwhile
        clock.advance(timedelta(seconds=10 * delay))  # as long as EVENT_RETRY_AFTER: recoverable unless renewed
        await renewals.step()
        recovered.append(await asyncio.wait_for(teams.recover(), 5))

    teams.hosting.reply_backoff = replace(teams.hosting.reply_backoff, sleep=throttled)
    bot.stub.fail(429, times=2, retry_after=1, kinds=("reply",))  # the reply takes 2 s and more
    assert (await bot.post(bot.personal_message(BILL_ERROR)))[0] == 202
    assert recovered == [0, 0]
    assert [c.status for c in bot.stub.calls] == [429, 429, 201]
    assert len(bot.stub.posts()) == 1
