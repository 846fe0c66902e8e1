"""Messages in, answers out: mentions, DMs, threads, what the bot must ignore, escaping."""

from __future__ import annotations

import json

import pytest

from tests.standins import slack_payloads as slack
from tests.slack.harness import (ALICE, BOB, BOT_ID, BOT_USER, CHANNEL, DM, BotClient, all_text, dm_event, elements,
                      fresh_ts, mention_event, message_event)

pytestmark = pytest.mark.asyncio

BILL_ERROR = 'Sync failed. Error: Bill "BILL-7731" has not been exported to QuickBooks'
PERIOD_ERROR = "Error: The account period has closed and the account books cannot be updated"


def only_post(bot: BotClient) -> dict:
    posts = bot.stub.posts()
    assert len(posts) == 1, [p.get("text") for p in posts]
    return posts[0]


def case_rows(bot: BotClient) -> list[tuple]:
    return bot.sql("SELECT id, channel, thread, message, user, intent, status, reply_ref, question FROM cases")


async def test_app_mention_in_channel_answers_once_in_the_thread_with_metadata(bot: BotClient, core):
    event = mention_event(BILL_ERROR)
    status, _ = await bot.event(event)
    await bot.drain()

    assert status == 200
    post = only_post(bot)
    assert post["channel"] == CHANNEL
    assert post["thread_ts"] == event["ts"]
    [(case_id, channel, thread, message, user, intent, state, reply_ref, question)] = case_rows(bot)
    assert post["metadata"] == {"event_type": "sync_diagnosis",
                                "event_payload": {"case_id": case_id, "intent": "bill_not_exported",
                                                  "confidence": 0.99, "delivery": event["ts"]}}
    title = core.catalog["bill_not_exported"].title
    assert post["text"] == title
    assert post["blocks"][0] == {"type": "header", "text": {"type": "plain_text", "text": title, "emoji": True}}
    assert "BILL-7731" in all_text(post)
    buttons = {e["action_id"]: json.loads(e["value"]) for e in elements(post["blocks"])}
    assert buttons == {a: {"case_id": case_id, "intent": "bill_not_exported"}
                       for a in ("syncmedic_fixed", "syncmedic_still_failing", "syncmedic_not_this")}
    # The case: where the question was, who asked, and which message answered it.
    assert (channel, thread, message, user, intent, state) == (CHANNEL, event["ts"], event["ts"], ALICE,
                                                               "bill_not_exported", "open")
    assert reply_ref == bot.stub.attempts("chat.postMessage")[0].response["ts"]
    assert question == BILL_ERROR  # the bot's own mention is not part of the question
    [row] = bot.events()
    assert (row["channel"], row["message"], row["kind"], row["status"], row["payload"]) == (
        CHANNEL, event["ts"], "message", "done", None)


async def test_dm_is_answered_in_the_dm_without_a_thread(bot: BotClient):
    event = dm_event(PERIOD_ERROR)
    status, _ = await bot.event(event)
    await bot.drain()

    assert status == 200
    post = only_post(bot)
    assert post["channel"] == DM
    assert "thread_ts" not in post
    assert post["metadata"]["event_payload"]["intent"] == "period_closed"
    [case] = case_rows(bot)
    assert case[2] == ""  # no thread


async def test_dm_question_inside_a_thread_is_answered_in_that_thread(bot: BotClient):
    parent = fresh_ts()
    status, _ = await bot.event(dm_event(PERIOD_ERROR, thread_ts=parent))
    await bot.drain()

    assert status == 200
    post = only_post(bot)
    assert (post["channel"], post["thread_ts"]) == (DM, parent)


async def test_reply_without_mention_in_a_thread_the_bot_answered_is_answered(bot: BotClient):
    first = mention_event(BILL_ERROR)
    await bot.event(first)
    await bot.drain()
    follow_up = message_event(PERIOD_ERROR, thread_ts=first["ts"], user=BOB)
    status, _ = await bot.event(follow_up)
    await bot.drain()

    assert status == 200
    posts = bot.stub.posts()
    assert len(posts) == 2
    assert posts[1]["channel"] == CHANNEL
    assert posts[1]["thread_ts"] == first["ts"]
    assert posts[1]["metadata"]["event_payload"]["intent"] == "period_closed"
    cases = {row[5]: row for row in case_rows(bot)}
    assert cases["period_closed"][1:5] == (CHANNEL, first["ts"], follow_up["ts"], BOB)


async def test_metadata_of_an_answer_without_a_case_has_no_case_id(bot: BotClient):
    """Slack's metadata schema has no null: a greeting or a refusal leaves the key out."""
    for text in ("hello", "the sync is acting weird since yesterday, any idea?"):
        await bot.event(mention_event(text))
        await bot.drain()
        payload = bot.stub.posts()[-1]["metadata"]["event_payload"]
        assert "case_id" not in payload and set(payload) == {"intent", "confidence", "delivery"}, payload
        assert None not in payload.values()


async def test_paste_asked_for_by_an_out_of_scope_reply_is_answered_in_the_thread(bot: BotClient):
    first = mention_event("the sync is acting weird since yesterday, any idea?")
    await bot.event(first)
    await bot.drain()
    [reply] = bot.stub.posts()
    assert reply["metadata"]["event_payload"]["intent"] == "out_of_scope"
    assert "paste the exact message" in all_text(reply)  # the bot asked for the error text...

    await bot.event(message_event(BILL_ERROR, thread_ts=first["ts"]))  # ...so the user pastes it there
    await bot.drain()

    posts = bot.stub.posts()
    assert len(posts) == 2
    assert posts[1]["thread_ts"] == first["ts"]
    assert posts[1]["metadata"]["event_payload"]["intent"] == "bill_not_exported"


async def test_reply_in_an_unrelated_thread_is_ignored(bot: BotClient):
    await bot.event(mention_event(BILL_ERROR))  # the bot answers in some other thread
    await bot.drain()
    status, _ = await bot.event(message_event(PERIOD_ERROR, thread_ts=fresh_ts()))
    await bot.drain()

    assert status == 200
    assert len(bot.stub.posts()) == 1
    assert len(bot.events()) == 1  # the ignored message was not even recorded


async def test_channel_message_without_mention_is_ignored(bot: BotClient):
    status, _ = await bot.event(message_event(BILL_ERROR))
    await bot.drain()

    assert status == 200
    assert bot.stub.writes() == []
    assert bot.events() == []
    assert case_rows(bot) == []


@pytest.mark.parametrize("event", [
    pytest.param(dm_event(BILL_ERROR, user=None, subtype="bot_message", bot_id="B0OTHER01", username="otherbot"),
                 id="another-bot"),
    pytest.param(dm_event(BILL_ERROR, user="U0OTHERBOT", bot_id="B0OTHER01",
                          bot_profile={"id": "B0OTHER01", "app_id": "A0OTHER", "name": "otherbot"}),
                 id="another-bot-with-user"),
    pytest.param(dm_event(BILL_ERROR, user=BOT_USER, bot_id=BOT_ID), id="itself"),
    pytest.param(dm_event(BILL_ERROR, user=BOT_USER), id="itself-without-bot-id"),
    pytest.param(mention_event(BILL_ERROR, user=BOT_USER), id="itself-mentioning-itself"),
])
async def test_messages_from_bots_are_ignored(bot: BotClient, event: dict):
    status, _ = await bot.event(event)
    await bot.drain()

    assert status == 200
    assert bot.stub.writes() == []
    assert bot.events() == []


@pytest.mark.parametrize("subtype", ["message_changed", "message_deleted"])
async def test_edits_and_deletions_are_ignored(bot: BotClient, subtype: str):
    original = dm_event(BILL_ERROR)
    await bot.event(original)
    await bot.drain()
    assert len(bot.stub.posts()) == 1

    edited = {**original, "text": PERIOD_ERROR, "edited": {"user": ALICE, "ts": fresh_ts()}}
    if subtype == "message_changed":
        event = {"type": "message", "subtype": "message_changed", "hidden": True, "channel": DM, "channel_type": "im",
                 "ts": fresh_ts(), "event_ts": fresh_ts(), "message": edited, "previous_message": original}
    else:
        event = {"type": "message", "subtype": "message_deleted", "hidden": True, "channel": DM, "channel_type": "im",
                 "ts": fresh_ts(), "event_ts": fresh_ts(), "deleted_ts": original["ts"], "previous_message": original}
    status, _ = await bot.event(event)
    await bot.drain()

    assert status == 200
    assert len(bot.stub.posts()) == 1
    assert len(bot.stub.writes()) == 1
    assert len(bot.events()) == 1


async def test_channel_join_and_other_subtypes_are_ignored(bot: BotClient):
    await bot.event(dm_event(f"<@{ALICE}> has joined the channel", subtype="channel_join"))
    await bot.event(message_event(f"<@{BOT_USER}> {BILL_ERROR}", subtype="me_message"))
    await bot.drain()
    assert bot.stub.writes() == []
    assert bot.events() == []


async def test_same_event_delivered_three_times_is_answered_once(bot: BotClient):
    event = mention_event(BILL_ERROR)
    statuses = [(await bot.event(event, event_id="Ev0RETRY0001"))[0]]
    for n in (1, 2):
        statuses.append((await bot.event(event, event_id="Ev0RETRY0001", retry=n))[0])
    await bot.drain()

    assert statuses == [200, 200, 200]
    post = only_post(bot)
    assert post["thread_ts"] == event["ts"]
    assert len(bot.stub.attempts("chat.postMessage")) == 1
    assert len(case_rows(bot)) == 1
    assert [e["status"] for e in bot.events()] == ["done"]


async def test_concurrent_retries_are_answered_once(bot: BotClient):
    import asyncio

    event = mention_event(BILL_ERROR)
    results = await asyncio.gather(*[bot.event(event, event_id="Ev0RETRY0002", retry=n or None) for n in range(4)])
    await bot.drain()

    assert [s for s, _ in results] == [200] * 4
    only_post(bot)
    assert len(case_rows(bot)) == 1


@pytest.mark.parametrize("mention_first", [True, False], ids=["mention-first", "message-first"])
async def test_same_message_as_app_mention_and_as_message_is_answered_once(bot: BotClient, mention_first: bool):
    ts = fresh_ts()
    as_mention = mention_event(BILL_ERROR, ts=ts)
    as_message = message_event(as_mention["text"], ts=ts)
    order = [as_mention, as_message] if mention_first else [as_message, as_mention]
    statuses = [(await bot.event(e))[0] for e in order]  # each gets its own event_id
    await bot.drain()

    assert statuses == [200, 200]
    post = only_post(bot)
    assert post["thread_ts"] == ts
    assert len(case_rows(bot)) == 1


async def test_forged_signature_is_refused_and_nothing_happens(bot: BotClient):
    status, _ = await bot.event(mention_event(BILL_ERROR), signature="v0=" + "0" * 64)
    await bot.drain()

    assert status == 401
    assert bot.stub.calls == []
    assert bot.events() == []


async def test_signature_made_with_another_secret_is_refused(bot: BotClient):
    body = json.dumps(slack.envelope(mention_event(BILL_ERROR)))
    status, _ = await bot.post("/slack/events", body, "application/json", secret="not-the-secret")
    await bot.drain()

    assert status == 401
    assert bot.stub.calls == []
    assert bot.events() == []


async def test_stale_timestamp_is_refused_even_with_a_valid_signature(bot: BotClient):
    import time

    status, _ = await bot.event(mention_event(BILL_ERROR), timestamp=int(time.time()) - 6 * 60)
    await bot.drain()

    assert status == 401
    assert bot.stub.calls == []
    assert bot.events() == []


async def test_body_tampered_after_signing_is_refused(bot: BotClient):
    import time

    now = int(time.time())
    signed = slack.signed(json.dumps(slack.envelope(mention_event(BILL_ERROR))), "application/json", timestamp=now)
    tampered = signed.body.replace("BILL-7731", "BILL-7732")
    status, _ = await bot.post("/slack/events", tampered, "application/json", timestamp=now,
                               signature=signed.headers["X-Slack-Signature"])
    await bot.drain()

    assert status == 401
    assert bot.stub.calls == []


async def test_url_verification_challenge_is_answered(bot: BotClient):
    body = json.dumps({"token": "legacy", "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P",
                       "type": "url_verification"})
    status, text = await bot.post("/slack/events", body, "application/json")

    assert status == 200
    assert "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P" in text
    assert bot.stub.writes() == []


async def test_oversized_request_is_refused(start_bot):
    from aiohttp import ClientSession, TCPConnector

    # No lingering: aiohttp would otherwise keep reading the refused body for 10 s at shutdown.
    bot = await start_bot(server={"lingering_time": 0})
    request = slack.event_request(dm_event("x" * 3_100_000))
    # Its own connection, closed at once: the server stops reading the refused body.
    async with ClientSession(connector=TCPConnector(force_close=True)) as session:
        async with session.post(bot.base + "/slack/events", data=request.body.encode(),
                                headers=request.headers) as resp:
            status = resp.status
    await bot.drain()

    assert status == 413
    assert bot.stub.writes() == []
    assert bot.events() == []


async def test_healthz(bot: BotClient, core):
    async with await bot.get("/healthz") as resp:
        assert resp.status == 200
        body = await resp.json()
    assert body["ok"] is True
    assert body["slack"] == "http"
    assert body["model"]["cv_accuracy"] == core.model_meta.get("cv_accuracy")
    assert bot.stub.writes() == []


async def test_error_line_buried_in_a_40000_character_paste_is_diagnosed(bot: BotClient):
    noise = []
    n = 0
    while sum(len(line) + 1 for line in noise) < 40_000:
        n += 1
        noise.append(f"2024-05-14 09:{n // 60 % 60:02d}:{n % 60:02d}.{n:03d} INFO [worker-{n % 7}] "
                     f"heartbeat ok, queue depth {n * 13 % 97}, batch {n:05d} of stock levels processed")
    middle = len(noise) // 2
    lines = noise[:middle] + ["2024-05-14 10:17:03.221 ERROR [worker-3] " + PERIOD_ERROR] + noise[middle:]
    paste = "\n".join(lines)
    assert len(paste) >= 40_000

    status, _ = await bot.event(dm_event(paste))
    await bot.drain()

    assert status == 200
    post = only_post(bot)
    assert post["metadata"]["event_payload"]["intent"] == "period_closed"
    assert post["channel"] == DM


async def test_error_without_exact_signature_buried_in_log_noise_is_diagnosed(bot: BotClient, core):
    """A paraphrased error (no signature) needs the segment selection, not only the regex scan."""
    noise = [f"2024-05-14 09:{n // 60 % 60:02d}:{n % 60:02d} INFO heartbeat ok, {n * 31 % 1000} stock rows read"
             for n in range(800)]
    error = "ERROR qbo export: the bill for supplier Acme Ltd was never exported so the bill payment failed"
    paste = "\n".join(noise[:400] + [error] + noise[400:])
    assert len(paste) >= 40_000
    direct = core.engine.diagnose(error)

    await bot.event(dm_event(paste))
    await bot.drain()

    post = only_post(bot)
    assert post["metadata"]["event_payload"]["intent"] == direct.intent == "bill_not_exported"


async def test_channel_pings_and_mentions_in_user_text_are_never_posted_unescaped(bot: BotClient):
    # A real @channel and user mention arrive as markup; typed-out ones arrive entity-escaped.
    text = ('<!channel> <@U0MALLORY> <!subteam^S0OPS0001> please look: Bill "&lt;!channel&gt; &lt;@U0MALLORY&gt; '
            'R&amp;D-9" has not been exported to QuickBooks <!here|here>')
    await bot.event(mention_event(text))
    await bot.drain()

    post = only_post(bot)
    shown = all_text(post)
    assert post["metadata"]["event_payload"]["intent"] == "bill_not_exported"
    for dangerous in ("<!channel>", "<!here", "<!subteam", "<@U0MALLORY", "<!"):
        assert dangerous not in shown
    # Echoed user text shows literally, escaped once.
    assert "&lt;!channel&gt; &lt;@U0MALLORY&gt; R&amp;D-9" in shown
    assert "&amp;lt;" not in shown and "&amp;amp;" not in shown


async def test_mention_in_a_dm_is_answered_once(bot: BotClient):
    event = dm_event(f"<@{BOT_USER}> {BILL_ERROR}")
    await bot.event(event)
    await bot.drain()

    post = only_post(bot)
    assert post["channel"] == DM and "thread_ts" not in post
    assert bot.sql("SELECT question FROM cases") == [(BILL_ERROR,)]


async def test_thread_broadcast_with_mention_is_answered_in_its_thread(bot: BotClient):
    parent = fresh_ts()
    event = message_event(f"<@{BOT_USER}> {BILL_ERROR}", thread_ts=parent, subtype="thread_broadcast")
    await bot.event(event)
    await bot.drain()

    post = only_post(bot)
    assert (post["channel"], post["thread_ts"]) == (CHANNEL, parent)

