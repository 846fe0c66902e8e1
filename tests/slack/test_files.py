"""Snippets and attached files: fetched with the bot token from Slack's file host, bounded, text only."""

from __future__ import annotations

import pytest

from tests.slack.harness import BOT_TOKEN, BOT_USER, CHANNEL, DM, BotClient, all_text, dm_event, fresh_ts, message_event

pytestmark = pytest.mark.asyncio

LOG = ("2024-05-14 10:01:02 INFO starting QuickBooks export\n"
       "2024-05-14 10:01:03 ERROR Bill \"SUP-55120\" has not been exported to QuickBooks\n"
       "2024-05-14 10:01:04 INFO export finished with 1 error\n")


def file_share(file_id: str, text: str = "", **kw) -> dict:
    files = [{"id": file_id, "mode": "hidden_by_limit"}]  # events carry little; the bot asks files.info
    return dm_event(text, subtype="file_share", files=files, upload=False, display_as_bot=False, **kw)


def note_of(post: dict) -> str:
    first = post["blocks"][0]
    assert first["type"] == "context", post["blocks"][:2]
    return first["elements"][0]["text"]


async def test_snippet_in_a_dm_is_fetched_with_the_bot_token_and_diagnosed(bot: BotClient):
    bot.stub.add_file("F0SNIPPET1", LOG.encode(), name="sync.log", filetype="text")
    status, _ = await bot.event(file_share("F0SNIPPET1"))
    await bot.drain()

    assert status == 200
    assert [c.body["file"] for c in bot.stub.attempts("files.info")] == ["F0SNIPPET1"]
    assert bot.stub.file_requests == [("F0SNIPPET1", f"Bearer {BOT_TOKEN}")]
    [post] = bot.stub.posts()
    assert post["channel"] == DM and "thread_ts" not in post
    assert post["metadata"]["event_payload"]["intent"] == "bill_not_exported"
    assert "SUP-55120" in all_text(post)
    assert "could not read" not in all_text(post)
    [(question,)] = bot.sql("SELECT question FROM cases")
    assert "SUP-55120" in question


async def test_file_with_a_message_in_a_channel_is_read_together_with_the_text(bot: BotClient):
    bot.stub.add_file("F0LOG00001", LOG.encode(), name="export.log", filetype="log", mimetype="text/x-log",
                      mode="hosted")
    event = message_event(f"<@{BOT_USER}> this keeps failing, log attached", subtype="file_share",
                          files=[{"id": "F0LOG00001"}])
    await bot.event(event)
    await bot.drain()

    [post] = bot.stub.posts()
    assert (post["channel"], post["thread_ts"]) == (CHANNEL, event["ts"])
    assert post["metadata"]["event_payload"]["intent"] == "bill_not_exported"
    [(question,)] = bot.sql("SELECT question FROM cases")
    assert question.startswith("this keeps failing, log attached\n") and "SUP-55120" in question


async def test_file_larger_than_the_limit_is_not_downloaded_and_the_reply_says_so(bot: BotClient):
    bot.stub.add_file("F0BIG00001", LOG.encode(), name="huge.log", size=5_000_000)
    await bot.event(file_share("F0BIG00001"))
    await bot.drain()

    assert bot.stub.file_requests == []
    [post] = bot.stub.posts()
    assert note_of(post) == "I could not read the attached file huge.log: it is larger than 1000 KB."
    assert bot.sql("SELECT count(*) FROM cases") == [(0,)]


async def test_file_that_turns_out_larger_than_announced_is_cut_off(start_bot):
    bot = await start_bot(SLACK_FILE_MAX_BYTES="2000")
    content = (LOG * 200).encode()  # files.info claims 100 bytes; the download is ~30 KB
    bot.stub.add_file("F0LIAR0001", content, name="small.log", size=100)
    await bot.event(file_share("F0LIAR0001"))
    await bot.drain()

    assert bot.stub.file_requests == [("F0LIAR0001", f"Bearer {BOT_TOKEN}")]
    [post] = bot.stub.posts()
    assert note_of(post) == "I could not read the attached file small.log: it is larger than 2 KB."
    assert "SUP-55120" not in all_text(post)


async def test_non_text_file_is_not_downloaded_and_the_reply_says_so(bot: BotClient):
    bot.stub.add_file("F0IMAGE001", b"\x89PNG\r\n\x1a\n" + bytes(200), name="screenshot.png", mimetype="image/png",
                      filetype="png", mode="hosted")
    await bot.event(file_share("F0IMAGE001", text="see screenshot"))
    await bot.drain()

    assert bot.stub.file_requests == []
    [post] = bot.stub.posts()
    assert note_of(post) == "I could not read the attached file screenshot.png: it is not a text file."


async def test_token_is_never_sent_to_a_host_other_than_slacks(bot: BotClient):
    # Same stub, reached through another host name: the bot must refuse before connecting.
    other = bot.stub.base.replace("127.0.0.1", "localhost") + "/files/F0ELSEWHR1"
    bot.stub.add_file("F0ELSEWHR1", LOG.encode(), name="sync.log", url_private_download=other, url_private=other)
    await bot.event(file_share("F0ELSEWHR1"))
    await bot.drain()

    assert bot.stub.file_requests == []
    [post] = bot.stub.posts()
    assert note_of(post) == "I could not read the attached file sync.log: Slack did not let me download it."


async def test_file_slack_will_not_describe_is_reported(bot: BotClient):
    await bot.event(file_share("F0MISSING1", text="log attached"))
    await bot.drain()

    assert [c.error for c in bot.stub.attempts("files.info")] == ["file_not_found"]
    [post] = bot.stub.posts()
    assert note_of(post) == "I could not read the attached file F0MISSING1: Slack did not let me download it."


async def test_file_name_is_escaped_in_the_note(bot: BotClient):
    bot.stub.add_file("F0NAMED001", b"\x00\x01", name="<!channel> <@U0MALLORY>.bin", mimetype="application/zip",
                      filetype="zip", mode="hosted")
    await bot.event(file_share("F0NAMED001"))
    await bot.drain()

    [post] = bot.stub.posts()
    note = note_of(post)
    assert "&lt;!channel&gt; &lt;@U0MALLORY&gt;.bin" in note
    assert "<!" not in all_text(post) and "<@" not in all_text(post)


async def test_at_most_five_files_are_read(bot: BotClient):
    for n in range(7):
        bot.stub.add_file(f"F0MANY000{n}", LOG.encode(), name=f"part{n}.log")
    event = file_share("F0MANY0000", ts=fresh_ts())
    event["files"] = [{"id": f"F0MANY000{n}"} for n in range(7)]
    await bot.event(event)
    await bot.drain()

    assert [f for f, _ in bot.stub.file_requests] == [f"F0MANY000{n}" for n in range(5)]
    assert len(bot.stub.posts()) == 1
