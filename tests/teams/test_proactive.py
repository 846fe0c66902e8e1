"""Messages the bot starts in Teams: check-ins and the digest go out through the stored
conversation references; a gone conversation is marked and skipped; throttling is retried."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.core.storage.tables import utcnow
from bot.teams.translate import conversation_key

from tests.teams.harness import BILL_ERROR, CARD, CHANNEL, TENANT, TeamsClient, actions_of, card_text

pytestmark = pytest.mark.asyncio

LATER = timedelta(hours=5)  # past FOLLOWUP_AFTER (4h)


async def ask(bot: TeamsClient, *, channel: bool = False, conversation: str | None = None) -> tuple[dict, str]:
    activity = bot.channel_mention(BILL_ERROR) if channel else bot.personal_message(BILL_ERROR,
                                                                                     conversation=conversation)
    status, _ = await bot.post(activity)
    assert status == 202
    return activity, bot.stub.posts()[-1].body["channelData"]["sync_diagnosis"]["case_id"]


def followups(bot: TeamsClient, case_id: str) -> list[tuple]:
    return bot.sql("SELECT status, ref FROM followups WHERE case_id = :id ORDER BY id", id=case_id)


async def checkins(bot: TeamsClient, after: timedelta = LATER) -> int:
    return await bot.services.clockwork.send_checkins(utcnow() + after)


async def test_checkin_reaches_the_personal_chat_through_the_stored_reference(bot: TeamsClient):
    _, case_id = await ask(bot)
    assert await checkins(bot, timedelta(hours=1)) == 0  # not due yet

    assert await checkins(bot) == 1

    sent = bot.stub.accepted("send")[-1]
    assert sent.conversation == bot.personal
    assert sent.body["conversation"]["id"] == bot.personal
    assert sent.body["serviceUrl"] == bot.stub.service_url
    assert sent.body["channelData"]["sync_checkin"] == {"case_id": case_id, "intent": "bill_not_exported",
                                                        "delivery": "checkin:1"}
    assert sent.body["channelData"]["tenant"] == {"id": TENANT}
    [attachment] = sent.body["attachments"]
    assert attachment["contentType"] == CARD
    assert [a["verb"] for a in actions_of(attachment["content"])] == [
        "fixed", "still_failing", "snooze_hour", "snooze_tomorrow"]
    assert "Checking in" in card_text(attachment["content"])
    assert followups(bot, case_id) == [("sent", sent.response["id"])]
    assert await checkins(bot) == 0  # sent once


async def test_checkin_for_a_channel_question_goes_to_its_thread(bot: TeamsClient):
    post, case_id = await ask(bot, channel=True)
    assert await checkins(bot) == 1

    sent = bot.stub.accepted("send")[-1]
    assert sent.conversation == f"{CHANNEL};messageid={post['id']}"
    assert sent.body["channelData"]["channel"] == {"id": CHANNEL}


async def test_checkin_buttons_fixed_and_snooze(bot: TeamsClient):
    _, first_case = await ask(bot)
    _, second_case = await ask(bot)
    await checkins(bot)
    first_checkin, second_checkin = [c.response["id"] for c in bot.stub.accepted("send")]

    _, response = await bot.post(bot.click(first_checkin, "fixed"))
    card = response["value"]
    assert "Checking in" in card_text(card) and "Marked fixed by Alice Ng" in card_text(card)
    assert actions_of(card) == []
    assert bot.sql("SELECT status FROM cases WHERE id = :id", id=first_case) == [("resolved",)]

    seen = bot.stub.seen(second_checkin)
    before = utcnow()
    _, response = await bot.post(bot.click(second_checkin, "snooze_hour"))
    assert "Snoozed by Alice Ng: I will ask again" in card_text(response["value"])
    assert "(Europe/London)" in card_text(response["value"]).replace("\\", "")
    [due] = bot.services.followups.pending_for(second_case)
    assert timedelta(minutes=59) <= due - before <= timedelta(minutes=61)
    [update] = [u for u in bot.stub.accepted("update") if u.activity_id == second_checkin]
    assert update.card == response["value"]
    # Snoozing twice from the same card moves nothing.
    _, again = await bot.post(bot.click(second_checkin, "snooze_hour", message=seen))
    assert "Already snoozed by Alice Ng today at" in card_text(again["value"])
    assert bot.services.followups.pending_for(second_case) == [due]


@pytest.mark.parametrize("status", [403, 404])
async def test_gone_conversation_is_marked_and_skipped_not_retried(bot: TeamsClient, status: int):
    _, first_case = await ask(bot)
    _, second_case = await ask(bot)
    bot.stub.fail(status, times=1, kinds=("send",))

    assert await checkins(bot) == 0

    attempts = bot.stub.calls[2:]
    assert [c.status for c in attempts] == [status]  # once: no retries for a gone conversation
    # The first check-in is given up; the second is not even tried: the conversation is marked gone.
    assert followups(bot, first_case)[-1][0] == "cancelled"
    assert followups(bot, second_case)[-1][0] == "cancelled"
    [(gone_at,)] = bot.sql("SELECT gone_at FROM teams_conversations WHERE key = :k", k=conversation_key(bot.personal))
    assert gone_at is not None
    assert await checkins(bot, timedelta(days=2)) == 0
    assert len(bot.stub.calls) == 3

    # The person writes again: the conversation is back and new check-ins go out.
    _, third_case = await ask(bot)
    assert bot.sql("SELECT gone_at FROM teams_conversations WHERE key = :k", k=conversation_key(bot.personal)) == [
        (None,)]
    assert await checkins(bot) == 1
    assert followups(bot, third_case)[-1][0] == "sent"


async def test_throttled_checkin_is_retried_honouring_retry_after(bot: TeamsClient):
    _, case_id = await ask(bot)
    bot.stub.fail(429, times=2, retry_after=1, kinds=("send",))

    assert await checkins(bot) == 1

    attempts = bot.stub.calls[1:]
    assert [c.status for c in attempts] == [429, 429, 201]
    assert attempts[0].body == attempts[2].body
    assert bot.services.teams.hosting.backoff.sleep.delays == [1.0, 1.0]  # waited Retry-After each time
    assert followups(bot, case_id) == [("sent", attempts[2].response["id"])]


@pytest.mark.parametrize("status", [412, 502, 504])
async def test_other_throttling_answers_are_retried_with_backoff(bot: TeamsClient, status: int):
    _, case_id = await ask(bot)
    bot.stub.fail(status, times=2, kinds=("send",))

    assert await checkins(bot) == 1
    assert [c.status for c in bot.stub.calls[1:]] == [status, status, 201]
    assert followups(bot, case_id)[-1][0] == "sent"


async def test_throttling_that_does_not_stop_gives_up_for_this_tick_and_retries_later(bot: TeamsClient):
    _, case_id = await ask(bot)
    bot.stub.fail(429, times=4, retry_after=0, kinds=("send",))

    assert await checkins(bot) == 0
    assert [c.status for c in bot.stub.calls[1:]] == [429] * 4  # bounded: 4 tries in all
    [(status, due)] = bot.sql("SELECT status, due_at FROM followups WHERE case_id = :id", id=case_id)
    assert status == "pending"  # postponed, not given up
    assert await checkins(bot, LATER + timedelta(minutes=3)) == 1
    assert followups(bot, case_id)[-1][0] == "sent"


async def test_a_gone_digest_channel_is_skipped_from_then_on(start_bot):
    bot = await start_bot(DIGEST_TIME="00:00", DIGEST_DAYS="Mon-Sun")
    await bot.post(bot.channel_mention("digest here"))
    bot.stub.fail(403, kinds=("send",))

    await bot.services.clockwork.post_digests(utcnow())

    assert [c.status for c in bot.stub.calls[1:]] == [403]
    assert bot.sql("SELECT gone_at IS NOT NULL FROM teams_conversations") == [(1,)]
    bot.services.teams._digest_targets = None  # as another process would see it after TARGETS_TTL
    assert bot.services.teams.digest_targets() == []
