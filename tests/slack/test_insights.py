"""The admin's report in Slack: every answered message recorded, the App Home's short version
for ADMIN_USERS only, and "Send me the full report" uploading the HTML page to the admin's DM
(files_upload_v2 against the stand-in: files.getUploadURLExternal, the upload, then
files.completeUploadExternal)."""

from __future__ import annotations

import json

from tests.slack.harness import ALICE, BOB, BotClient, all_text, mention_event
from tests.standins import slack_payloads as slack

REFUSED = "can you book me a meeting room for tomorrow at Acme Trading, jane@acme.example?"
BILL = 'Error: Bill "BILL-7731" has not been exported to QuickBooks'


async def converse(bot: BotClient) -> None:
    await bot.event(mention_event(BILL))
    await bot.event(mention_event(REFUSED))
    await bot.drain()


async def home_of(bot: BotClient, user: str) -> dict:
    before = len(bot.stub.accepted("views.publish"))
    await bot.event(slack.home_opened_event(user))
    await bot.drain()
    published = bot.stub.accepted("views.publish")
    assert len(published) == before + 1
    return published[-1]


async def test_every_answered_message_is_recorded(start_bot):
    bot = await start_bot()
    await converse(bot)
    rows = bot.sql("SELECT kind, intent, user, text, case_id != '' FROM answered_messages ORDER BY id")
    assert rows == [("diagnosis", "bill_not_exported", ALICE, None, 1),
                    ("out_of_scope", "out_of_scope", ALICE, REFUSED, 0)]


async def test_the_app_home_shows_an_admin_the_report_in_short(start_bot):
    bot = await start_bot(ADMIN_USERS=BOB)
    await converse(bot)
    publish = await home_of(bot, BOB)
    shown = all_text(publish)
    assert "*Last 30 days*" in shown and "*2* messages answered: 1 diagnosed, 0 asked which one, 1 refused" in shown
    assert "*What I could not answer:* 1 messages (1 refused, 0 corrected)" in shown
    assert "can you book me a meeting room for tomorrow at [name] [name]" in shown     # masked
    assert "jane@acme.example" not in shown and "Acme" not in shown and ALICE not in shown
    actions = [e["action_id"] for b in publish["view"]["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert actions == ["syncmedic_admin_report", "syncmedic_admin_retrain"]


async def test_the_app_home_shows_others_no_report(start_bot):
    bot = await start_bot(ADMIN_USERS=BOB)
    await converse(bot)
    publish = await home_of(bot, ALICE)
    shown = json.dumps(publish["view"])
    assert "Last 30 days" not in shown and "meeting room" not in shown and "syncmedic_admin" not in shown


def report_click(user: str) -> dict:
    home = [{"type": "actions", "block_id": "syncmedic_admin_report", "elements": [
        {"type": "button", "action_id": "syncmedic_admin_report", "value": "report",
         "text": {"type": "plain_text", "text": "Send me the full report"}}]}]
    return slack.view_click(home, "syncmedic_admin_report", user=user)


async def test_send_me_the_full_report_uploads_the_page_to_the_admins_dm(start_bot):
    bot = await start_bot(ADMIN_USERS=BOB)
    await converse(bot)
    status, _ = await bot.interact(report_click(BOB))
    await bot.drain()

    assert status == 200
    [asked] = bot.stub.accepted("files.getUploadURLExternal")
    assert asked["filename"].startswith("syncmedic-report-") and asked["filename"].endswith(".html")
    [upload] = bot.stub.uploads.values()
    assert upload["shared_to"] == "D" + BOB[1:] and upload["length"] == len(upload["content"])
    page = upload["content"].decode("utf-8")
    assert page.startswith("<!doctype html>") and page.count("<svg") == 4
    assert "meeting room" in page and "jane@acme.example" not in page and ALICE not in page
    assert upload["initial_comment"].startswith("Here is the full report for")
    [completed] = bot.stub.accepted("files.completeUploadExternal")
    assert completed["channel_id"] == "D" + BOB[1:]


async def test_the_report_button_refuses_anyone_else(start_bot):
    bot = await start_bot(ADMIN_USERS=BOB)
    await converse(bot)
    await bot.interact(report_click(ALICE))   # a forged click: the button is only drawn for admins
    await bot.drain()
    assert bot.stub.uploads == {} and bot.stub.attempts("files.getUploadURLExternal") == []
    [refusal] = [p for p in bot.stub.posts() if p["channel"] == "D" + ALICE[1:]]
    assert refusal["text"] == "Only SyncMedic admins can do that."
