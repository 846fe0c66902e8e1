"""The admin's report in Teams: "@SyncMedic report" from an admin gets the short version (with
masked samples only in a personal chat), anyone else a refusal; Teams messages are recorded
for the report like Slack's."""

from __future__ import annotations

import json

from tests.teams.harness import ALICE, BILL_ERROR, BOB, TeamsClient

REFUSED = "can you book me a meeting room for tomorrow for Maria Lopez?"


async def converse(bot: TeamsClient) -> None:
    for text in (BILL_ERROR, REFUSED):
        assert (await bot.post(bot.personal_message(text, user=BOB)))[0] == 202


def last_card(bot: TeamsClient) -> str:
    """Everything the card says (its text blocks and its facts), as JSON text."""
    return json.dumps(bot.stub.posts()[-1].card, ensure_ascii=False)


async def test_teams_messages_are_recorded(start_bot):
    bot = await start_bot()
    await converse(bot)
    rows = bot.sql("SELECT platform, kind, user, text FROM answered_messages ORDER BY id")
    assert rows == [("teams", "diagnosis", BOB["aadObjectId"], None), ("teams", "out_of_scope", BOB["aadObjectId"], REFUSED)]


async def test_an_admin_gets_the_report_in_a_personal_chat_with_samples(start_bot):
    bot = await start_bot(ADMIN_USERS=f"U0SLACKADMIN,{ALICE['aadObjectId']}")
    await converse(bot)
    assert (await bot.post(bot.personal_message("report")))[0] == 202
    shown = last_card(bot)
    assert "Messages answered" in shown and "2 (1 diagnosed, 0 asked which one, 1 refused)" in shown
    assert "meeting room for tomorrow for [name] [name]" in shown   # masked (no link syntax: nothing to escape)
    assert "Maria" not in shown and BOB["aadObjectId"] not in shown and "Lopez" not in shown


async def test_in_a_channel_the_report_has_no_message_text(start_bot):
    bot = await start_bot(ADMIN_USERS=ALICE["aadObjectId"])
    await converse(bot)
    assert (await bot.post(bot.channel_mention("report")))[0] == 202
    shown = last_card(bot)
    assert "Messages answered" in shown and "What I could not answer" in shown
    assert "meeting room" not in shown


async def test_anyone_else_is_refused(start_bot):
    bot = await start_bot(ADMIN_USERS=ALICE["aadObjectId"])
    await converse(bot)
    assert (await bot.post(bot.personal_message("report", user=BOB)))[0] == 202
    reply = bot.stub.posts()[-1].body
    assert "Only SyncMedic admins" in reply["text"] and not reply.get("attachments")
    bot_without_admins = await start_bot()           # ADMIN_USERS unset: nobody sees reports
    assert (await bot_without_admins.post(bot_without_admins.personal_message("report")))[0] == 202
    assert "Only SyncMedic admins" in bot_without_admins.stub.posts()[-1].body["text"]
