"""The Action.Execute buttons on the bot's Teams cards: each click updates the card and the case,
and clicking twice changes the state once."""

from __future__ import annotations

import pytest

from tests.teams.harness import ALICE, BILL_ERROR, BOB, CARD, CHANNEL, TeamsClient, actions_of, card_text

pytestmark = pytest.mark.asyncio


async def ask(bot: TeamsClient, text: str = BILL_ERROR, *, channel: bool = False) -> tuple[str, str]:
    """Ask the bot; returns (the answer card's activity id, the case id)."""
    await bot.post(bot.channel_mention(text) if channel else bot.personal_message(text))
    reply = bot.stub.posts()[-1]
    return reply.response["id"], reply.body["channelData"]["sync_diagnosis"]["case_id"]


def case(bot: TeamsClient, case_id: str) -> dict:
    [row] = bot.sql("SELECT status, failing_count, intent, confidence, resolved_at, reply_ref FROM cases "
                    "WHERE id = :id", id=case_id)
    return dict(zip(("status", "failing_count", "intent", "confidence", "resolved_at", "reply_ref"), row))


def feedback(bot: TeamsClient, case_id: str) -> list[tuple]:
    return bot.sql("SELECT action, source, user, intent_before, intent_after FROM feedback WHERE case_id = :id "
                   "ORDER BY id", id=case_id)


async def test_fixed_updates_the_card_and_resolves_the_case_once(bot: TeamsClient):
    card_id, case_id = await ask(bot, channel=True)
    before = bot.stub.seen(card_id)

    status, response = await bot.post(bot.click(card_id, "fixed"))

    assert status == 200
    assert response["statusCode"] == 200 and response["type"] == CARD
    card = response["value"]
    assert actions_of(card) == []
    assert "Marked fixed by Alice Ng" in card_text(card)
    assert "**BILL-7731**" in card_text(card)  # the answer stays readable, only the buttons go
    [update] = bot.stub.accepted("update")  # everyone else in the channel sees it settled too
    assert update.activity_id == card_id
    assert update.conversation.startswith(CHANNEL + ";messageid=")
    assert update.card == card
    state = case(bot, case_id)
    assert state["status"] == "resolved" and state["resolved_at"] is not None
    assert feedback(bot, case_id) == [("fixed", card_id, ALICE["aadObjectId"], "bill_not_exported",
                                       "bill_not_exported")]

    # A second click (a client that has not refreshed yet still shows the old card) changes nothing.
    status, response = await bot.post(bot.click(card_id, "fixed", message=before, user=BOB))
    assert status == 200
    assert response["type"] == "application/vnd.microsoft.activity.message"
    assert len(bot.stub.accepted("update")) == 1
    assert len(feedback(bot, case_id)) == 1
    assert case(bot, case_id)["resolved_at"] == state["resolved_at"]


async def test_double_click_on_fixed_delivered_twice_counts_once(bot: TeamsClient):
    card_id, case_id = await ask(bot)
    click = bot.click(card_id, "fixed")
    first = await bot.post(click)
    second = await bot.post(click)  # the same invoke, redelivered

    assert first[1]["type"] == CARD
    assert second[1]["type"] == "application/vnd.microsoft.activity.message"
    assert len(feedback(bot, case_id)) == 1
    assert len(bot.stub.accepted("update")) == 1


async def test_still_failing_posts_what_next_and_counts_once_per_card(bot: TeamsClient):
    card_id, case_id = await ask(bot)
    status, response = await bot.post(bot.click(card_id, "still_failing"))

    assert status == 200 and response["type"] == "application/vnd.microsoft.activity.message"
    [note] = bot.stub.posts()[1:]
    assert "still failing" in card_text(note.card)
    assert [a["verb"] for a in actions_of(note.card)] == ["escalate", "not_this"]
    assert case(bot, case_id)["failing_count"] == 1
    # The follow-up is planned afresh ("ask once more later"): the first one is replaced.
    assert bot.sql("SELECT status FROM followups WHERE case_id = :id ORDER BY id", id=case_id) == [
        ("cancelled",), ("pending",)]

    await bot.post(bot.click(card_id, "still_failing"))
    assert case(bot, case_id)["failing_count"] == 1
    assert len(bot.stub.posts()) == 2


async def test_not_this_then_choosing_reanswers_and_records_the_correction(bot: TeamsClient):
    card_id, case_id = await ask(bot)
    status, response = await bot.post(bot.click(card_id, "not_this"))

    assert status == 200 and response["type"] == "application/vnd.microsoft.activity.message"
    picker = bot.stub.posts()[-1]
    [choice_set] = [i for i in picker.card["body"] if i["type"] == "Input.ChoiceSet"]
    assert len(choice_set["choices"]) > 10
    intent = next(c["value"] for c in choice_set["choices"] if c["value"] != "bill_not_exported")
    picker_id = picker.response["id"]
    picker_seen = bot.stub.seen(picker_id)

    status, response = await bot.post(bot.click(picker_id, "choose", data={"intent": intent}))

    assert status == 200 and response["type"] == CARD
    assert "Alice Ng chose:" in card_text(response["value"]) and actions_of(response["value"]) == []
    answer = bot.stub.posts()[-1]
    assert answer.body["channelData"]["sync_diagnosis"] == {"case_id": case_id, "intent": intent, "confidence": 1.0}
    state = case(bot, case_id)
    assert state["intent"] == intent and state["reply_ref"] == answer.response["id"]
    assert bot.sql("SELECT intent FROM corrections") == [(intent,)]
    [update] = bot.stub.accepted("update")
    assert update.activity_id == picker_id

    # Choosing again on the same picker changes nothing and posts nothing.
    posts = len(bot.stub.posts())
    await bot.post(bot.click(picker_id, "choose", data={"intent": intent}, message=picker_seen))
    assert len(bot.stub.posts()) == posts
    assert len(bot.sql("SELECT id FROM corrections")) == 1


async def test_ask_a_person_posts_to_the_escalation_channel_once(bot: TeamsClient):
    await bot.post(bot.channel_mention("escalations here"))
    card_id, case_id = await ask(bot)
    await bot.post(bot.click(card_id, "still_failing"))
    note_id = bot.stub.posts()[-1].response["id"]

    status, response = await bot.post(bot.click(note_id, "escalate"))

    assert status == 200
    assert "asked for help" in response["value"]
    [sent] = bot.stub.accepted("send")  # a new post in the escalation channel (not a thread reply)
    assert sent.conversation == CHANNEL
    assert "Needs a person: A supplier bill has not reached QuickBooks yet, reported by Alice Ng" in sent.body["text"]
    assert sent.body["channelData"]["channel"] == {"id": CHANNEL}
    assert case(bot, case_id)["status"] == "escalated"

    await bot.post(bot.click(note_id, "escalate"))
    assert len(bot.stub.accepted("send")) == 1


async def test_ask_a_person_without_an_escalation_channel_says_so(bot: TeamsClient):
    card_id, case_id = await ask(bot, "what is the weather like in Paris")  # out of scope: no case
    assert case_id is None
    status, response = await bot.post(bot.click(card_id, "escalate"))

    assert status == 200
    assert "Nobody is set up" in response["value"]
    assert bot.stub.accepted("send") == []


async def test_user_names_in_notes_are_escaped(bot: TeamsClient):
    card_id, _ = await ask(bot)
    _, response = await bot.post(bot.click(card_id, "fixed", user=BOB))
    # Teams shows no HTML in a card: "<Ops>" stays as typed, with no backslashes its phones would show.
    assert "Marked fixed by Bob <Ops>." in card_text(response["value"])


async def test_unknown_verbs_and_stale_cards_get_an_answer_not_an_error(bot: TeamsClient):
    card_id, _ = await ask(bot)
    click = bot.click(card_id, "fixed")
    click["value"]["action"]["verb"] = "launch_rockets"
    status, response = await bot.post(click)
    assert status == 200 and response["statusCode"] == 400

    click = bot.click(card_id, "fixed")
    click["value"]["action"]["data"]["case_id"] = "00000000-0000-0000-0000-000000000000"
    status, response = await bot.post(click)
    assert status == 200 and "out of date" in response["value"]


async def test_a_card_from_another_tenant_cannot_touch_the_case(bot: TeamsClient):
    card_id, case_id = await ask(bot)
    click = bot.click(card_id, "fixed")
    click["conversation"]["tenantId"] = "another-tenant"
    click["channelData"]["tenant"]["id"] = "another-tenant"

    status, response = await bot.post(click)

    assert status == 200 and "out of date" in response["value"]
    assert case(bot, case_id)["status"] == "open"
    assert feedback(bot, case_id) == []
