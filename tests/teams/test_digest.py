"""The digest on Teams: one card with the header's figures, each group's actions in one "..."
menu (secondary actions), every menu choice answered on the card that was clicked, the
groups that do not fit in its thread, and a card Teams refuses as too large (413) sent again
as a summary."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.core.storage.tables import SyncErrorRow, utcnow
from bot.teams.format import TEAMS_CARD_BUDGET_BYTES, card_bytes

from tests.teams.harness import BILL_ERROR, CHANNEL, TeamsClient, actions_of, card_text

pytestmark = pytest.mark.asyncio


async def ask(bot: TeamsClient) -> None:
    status, _ = await bot.post(bot.personal_message(BILL_ERROR))
    assert status == 202


def add_errors(bot: TeamsClient, intent: str, n: int, *, long: int = 0, days: int = 2) -> None:
    now = utcnow()
    with bot.store.session() as s:
        for i in range(n):
            s.add(SyncErrorRow(kind="Sale", reference=f"SO-{intent}-{i}-" + "X" * long, intent=intent,
                               message="x", first_seen=now - timedelta(days=days, minutes=i), last_seen=now,
                               entities={"product": "Walnut side table" + " with a very long name" * (long // 4)}))


async def post_digest(bot: TeamsClient) -> int:
    await bot.post(bot.channel_mention("digest here"))
    return await bot.services.clockwork.post_digests(utcnow())


async def test_the_digest_card_and_every_menu_choice(start_bot):
    bot = await start_bot(DIGEST_TIME="00:00", DIGEST_DAYS="Mon-Sun")
    await ask(bot)
    await ask(bot)
    add_errors(bot, "product_not_exported", 3)
    assert await post_digest(bot) == 1
    assert await bot.services.clockwork.post_digests(utcnow()) == 0  # once a day

    sent = bot.stub.accepted("send")[-1]
    assert sent.conversation == CHANNEL  # a new post in the channel, not inside someone's thread
    card = sent.card
    text = card_text(card)
    assert "Sync errors still open: 5" in text and "**2** new, **0** fixed in the last day" in text
    assert "Last 14 days: " in text
    assert "• Sale SO-product_not_exported-0-: Walnut side table" in text      # what each entry is
    assert '• someone in Teams asked “Error: Bill "BILL-7731" has not been exported to…” (BILL-7731)' in text
    # One "..." menu a group: its actions are secondary; no group has a row of buttons.
    verbs = [(a["verb"], a["data"]["intent"], a["mode"]) for a in actions_of(card)]
    assert verbs == [(v, i, "secondary") for i in ("product_not_exported", "bill_not_exported")
                     for v in ("digest_steps", "digest_resolve", "digest_snooze")]

    digest_id = sent.response["id"]
    seen = bot.stub.seen(digest_id)
    # Mark resolved: the card redrawn in place, the header recounted, the note under it.
    _, response = await bot.post(bot.click(digest_id, "digest_resolve", intent="bill_not_exported"))
    redrawn = response["value"]
    assert card_text(redrawn).startswith("Sync errors still open: 3\n**2** new, **2** fixed in the last day")
    note = next(item for item in redrawn["body"] if item.get("id") == "digest_note")
    assert card_text({"body": [note]}).endswith("Alice Ng marked 2 entries resolved.")
    assert redrawn["body"].index(note) == 3                                       # right under the header
    assert [a["data"]["intent"] for a in actions_of(redrawn)] == ["product_not_exported"] * 3
    assert bot.stub.accepted("update")[-1].card == redrawn                        # for everyone in the channel
    assert bot.sql("SELECT DISTINCT status FROM cases") == [("resolved",)]
    # The same choice on the card as it was: says why nothing changed.
    _, again = await bot.post(bot.click(digest_id, "digest_resolve", message=seen, intent="bill_not_exported"))
    assert "Nothing in this group is open any more" in card_text(again["value"])

    # Snooze a day: left out until tomorrow, said on the card.
    _, snoozed = await bot.post(bot.click(digest_id, "digest_snooze", message=seen, intent="product_not_exported"))
    assert "Snoozed for a day: " in card_text(snoozed["value"])
    assert "Alice Ng: left out of the digest until" in card_text(snoozed["value"])
    assert actions_of(snoozed["value"]) == []

    # Show the fix: in the digest's thread.
    posts = len(bot.stub.posts())
    _, response = await bot.post(bot.click(digest_id, "digest_steps", message=seen, intent="product_not_exported"))
    assert response["type"] == "application/vnd.microsoft.activity.message"
    [fix] = bot.stub.posts()[posts:]
    assert fix.kind == "reply" and fix.conversation == f"{CHANNEL};messageid={digest_id}"
    assert fix.body["channelData"]["sync_diagnosis"]["intent"] == "product_not_exported"


async def test_a_big_digest_fits_the_card_budget_with_the_rest_in_its_thread(start_bot):
    """30+ groups with long references made an 83 KB card; Teams' limit is 100 KB, 80 KB advised."""
    bot = await start_bot(DIGEST_TIME="00:00", DIGEST_DAYS="Mon-Sun")
    intents = [i.id for i in bot.services.core.catalog.problems]
    for intent in intents:
        add_errors(bot, intent, 8, long=90)
    assert await post_digest(bot) == 1
    main, *replies = bot.stub.accepted("send", "reply")[1:]   # after the "digest here" answer
    assert card_bytes(main.card) <= TEAMS_CARD_BUDGET_BYTES and replies
    assert all(r.conversation == f"{CHANNEL};messageid={main.response['id']}" for r in replies)
    groups = [a["data"]["intent"] for c in [main, *replies] for a in actions_of(c.card) if a["verb"] == "digest_resolve"]
    assert sorted(groups) == sorted(intents)                   # every group once, in the card or its thread
    assert "listed in this message's thread" in card_text(main.card)


async def test_a_digest_teams_refuses_as_too_large_goes_again_as_a_summary(start_bot):
    bot = await start_bot(DIGEST_TIME="00:00", DIGEST_DAYS="Mon-Sun")
    await ask(bot)
    add_errors(bot, "product_not_exported", 3)
    await bot.post(bot.channel_mention("digest here"))
    before = len(bot.stub.calls)
    bot.stub.fail(413, kinds=("send",))
    assert await bot.services.clockwork.post_digests(utcnow()) == 1
    refused, summary, *replies = bot.stub.calls[before:]
    assert refused.status == 413 and summary.status == 201
    assert actions_of(summary.card) == [] and "Sync errors still open: 4" in card_text(summary.card)
    assert [a["data"]["intent"] for r in replies for a in actions_of(r.card) if a["verb"] == "digest_resolve"] == [
        "product_not_exported", "bill_not_exported"]


async def test_an_answer_teams_refuses_as_too_large_is_sent_as_text(bot: TeamsClient):
    bot.stub.fail(413, kinds=("reply",))
    status, _ = await bot.post(bot.personal_message(BILL_ERROR))
    assert status == 202
    refused, text = [c for c in bot.stub.calls if c.kind == "reply"][-2:]
    assert refused.status == 413 and text.status == 201
    assert text.body["text"].startswith("(The full answer was too big for a Teams card")
    assert text.body["channelData"]["sync_diagnosis"]["intent"] == "bill_not_exported"
