"""The buttons on the bot's answers, the "Not this" menu, the App Home and the admin button."""

from __future__ import annotations

import asyncio
import json

import pytest

from tests.standins import slack_payloads as slack
from tests.slack.conftest import ESCALATION_CHANNEL
from tests.slack.harness import ALICE, BOB, CHANNEL, TEAM, BotClient, all_text, elements, mention_event
from tests.support import SteppedSleep

pytestmark = pytest.mark.asyncio

BILL_ERROR = 'Error: Bill "BILL-7731" has not been exported to QuickBooks'


async def ask(bot: BotClient, text: str = BILL_ERROR) -> tuple[dict, str, str]:
    """Mention the bot in a channel; returns (the user's event, the answer's ts, the case id)."""
    event = mention_event(text)
    await bot.event(event)
    await bot.drain()
    answer = bot.stub.attempts("chat.postMessage")[-1]
    assert answer.ok
    return event, answer.response["ts"], answer.body["metadata"]["event_payload"]["case_id"]


def case(bot: BotClient, case_id: str) -> dict:
    [row] = bot.sql("SELECT status, failing_count, intent, confidence, resolved_at, reply_ref FROM cases "
                    "WHERE id = :id", id=case_id)
    return dict(zip(("status", "failing_count", "intent", "confidence", "resolved_at", "reply_ref"), row))


def feedback(bot: BotClient, case_id: str) -> list[tuple]:
    return bot.sql("SELECT action, source, user, intent_before, intent_after FROM feedback WHERE case_id = :id "
                   "ORDER BY id", id=case_id)


def new_posts(bot: BotClient, since: int) -> list[dict]:
    return [c.body for c in bot.stub.attempts("chat.postMessage")[since:] if c.ok]


def n_posts(bot: BotClient) -> int:
    return len(bot.stub.attempts("chat.postMessage"))


# -- Fixed ------------------------------------------------------------------------------------

async def test_a_click_that_beats_the_write_of_its_case_waits_for_it(bot: BotClient):
    """A case is written once its reply is posted; a click in between must not be lost."""
    from bot.slack.edge import CASE_WRITE_WAIT_S

    edge = bot.services.slack
    gate, real_write = asyncio.Event(), edge.write
    pauses = edge.sleep = SteppedSleep()

    async def held_write(fn, *args):  # the reply is posted; writing what came of it waits here
        if fn.__name__ == "_write_outcomes":
            await gate.wait()
        return await real_write(fn, *args)

    edge.write = held_write
    await bot.event(mention_event(BILL_ERROR))
    await bot.stub.until(lambda: bot.stub.accepted("chat.postMessage"))
    [answer] = bot.stub.attempts("chat.postMessage")
    case_id = answer.body["metadata"]["event_payload"]["case_id"]
    status, _ = await bot.click(answer.response["ts"], "syncmedic_fixed")
    await pauses.asleep(CASE_WRITE_WAIT_S)  # the click waits for its case (for CASE_WRITE_WAIT_S at most)
    assert status == 200
    assert bot.sql("SELECT id FROM cases WHERE id = :id", id=case_id) == []  # the reply is out, its case not yet
    assert not bot.stub.accepted("chat.update")
    gate.set()
    await bot.drain()
    assert case(bot, case_id)["status"] == "resolved"
    assert feedback(bot, case_id) == [("fixed", answer.response["ts"], ALICE, "bill_not_exported",
                                       "bill_not_exported")]
    assert len(bot.stub.accepted("chat.update")) == 1


async def test_a_throttled_reply_does_not_hold_back_the_cases_of_its_batch(start_bot):
    """Two messages answered together; Slack throttles the first reply, for as long as the test
    likes. The second reply's case is written without waiting for it (once STRAGGLER_S has
    passed), so its buttons work."""
    from bot.slack.edge import STRAGGLER_S

    throttled = SteppedSleep()         # the throttled reply waits out Retry-After here
    bot = await start_bot(retry_sleep=throttled)
    edge = bot.services.slack
    pauses = edge.sleep = SteppedSleep()
    gate, taken, first = asyncio.Event(), asyncio.Event(), mention_event(BILL_ERROR)

    async def hold_first(work):        # held, then fails without posting (left for recovery)
        if work.ts == first["ts"]:
            taken.set()
            await gate.wait()
            raise RuntimeError("not this one")

    edge.before_answer = hold_first
    await bot.event(first)
    await asyncio.wait_for(taken.wait(), 5)
    second, third = mention_event(BILL_ERROR), mention_event("Reference number is not unique")
    await bot.event(second)
    await bot.event(third)             # these two wait behind the first: one batch
    bot.stub.rate_limit("chat.postMessage", times=1, retry_after=2)  # the batch's first reply
    gate.set()
    await throttled.asleep()           # one reply throttled...
    [through] = await bot.stub.until(  # ...one through
        lambda: [c for c in bot.stub.attempts("chat.postMessage")
                 if c.ok and c.body.get("thread_ts") in (second["ts"], third["ts"])])
    await pauses.asleep(STRAGGLER_S)
    assert pauses.wake() == 1          # STRAGGLER_S has passed
    case_id = through.body["metadata"]["event_payload"]["case_id"]
    await asyncio.wait_for(edge.written(case_id), 5)
    assert case(bot, case_id)["reply_ref"] == through.response["ts"]  # written, the other still throttled
    assert sum(c.status == 429 for c in bot.stub.attempts("chat.postMessage")) == 1
    assert len([c for c in bot.stub.attempts("chat.postMessage") if c.ok]) == 1
    assert len(throttled.delays) == 1 and 2 <= throttled.delays[0] < 3  # Retry-After, plus slack_sdk's jitter
    throttled.wake()
    await bot.drain()
    assert len([c for c in bot.stub.attempts("chat.postMessage") if c.ok]) == 2


async def test_a_click_on_a_case_another_process_is_still_writing_waits_for_it(bot: BotClient):
    from bot.slack.edge import CASE_POLL_S

    edge = bot.services.slack
    polls = edge.sleep = SteppedSleep()
    [pending] = bot.store.new_cases([dict(platform="slack", workspace=TEAM, channel=CHANNEL, thread="1.5",
                                          message="1.5", user=ALICE, intent="bill_not_exported", confidence=0.9,
                                          entities={}, question="q")])
    waiting = asyncio.ensure_future(edge.written(pending.id))
    await polls.asleep(CASE_POLL_S)    # not in the database yet: the click waits to look again
    assert not waiting.done()
    bot.store.answered([(pending, "1.6")], [])
    polls.wake()
    await asyncio.wait_for(waiting, 2)


async def test_fixed_resolves_the_case_and_removes_the_buttons(bot: BotClient):
    _, answer_ts, case_id = await ask(bot)
    original = dict(bot.stub.messages[answer_ts])
    before = n_posts(bot)
    status, _ = await bot.click(answer_ts, "syncmedic_fixed")
    await bot.drain()

    assert status == 200
    state = case(bot, case_id)
    assert state["status"] == "resolved" and state["resolved_at"] is not None
    assert feedback(bot, case_id) == [("fixed", answer_ts, ALICE, "bill_not_exported", "bill_not_exported")]
    [update] = bot.stub.accepted("chat.update")
    assert (update["channel"], update["ts"]) == (CHANNEL, answer_ts)
    assert [b for b in update["blocks"] if b["type"] == "actions"] == []
    assert elements(update["blocks"]) == []
    assert update["blocks"][:-1] == [b for b in original["blocks"] if b["type"] != "actions"]
    assert update["blocks"][-1] == {"type": "context", "elements": [
        {"type": "mrkdwn", "text": f"Marked fixed by <@{ALICE}>. Thanks for closing the loop."}]}
    assert update["text"] == original["text"]
    assert n_posts(bot) == before  # nothing new posted


async def test_fixed_clicked_twice_changes_the_case_once(bot: BotClient):
    _, answer_ts, case_id = await ask(bot)
    as_bob_sees_it = bot.seen(answer_ts)  # Bob's client still shows the buttons
    await bot.click(answer_ts, "syncmedic_fixed")
    await bot.drain()
    resolved_at = case(bot, case_id)["resolved_at"]
    status, _ = await bot.click(answer_ts, "syncmedic_fixed", user=BOB, message=as_bob_sees_it)
    await bot.drain()

    assert status == 200
    assert len(bot.stub.attempts("chat.update")) == 1
    assert case(bot, case_id)["resolved_at"] == resolved_at
    assert [f[0] for f in feedback(bot, case_id)] == ["fixed"]


async def test_fixed_double_click_at_the_same_moment_changes_the_case_once(bot: BotClient):
    _, answer_ts, case_id = await ask(bot)
    results = await asyncio.gather(*[bot.click(answer_ts, "syncmedic_fixed") for _ in range(3)])
    await bot.drain()

    assert [s for s, _ in results] == [200, 200, 200]
    assert len(bot.stub.attempts("chat.update")) == 1
    assert case(bot, case_id)["status"] == "resolved"
    assert len(feedback(bot, case_id)) == 1


# -- Still failing and escalation ----------------------------------------------------------------

async def test_still_failing_posts_a_follow_up_in_the_thread(bot: BotClient, core):
    event, answer_ts, case_id = await ask(bot)
    before = n_posts(bot)
    status, _ = await bot.click(answer_ts, "syncmedic_still_failing")
    await bot.drain()

    assert status == 200
    [follow_up] = new_posts(bot, before)
    assert (follow_up["channel"], follow_up["thread_ts"]) == (CHANNEL, event["ts"])
    related = [core.catalog.title(r) for r in core.catalog["bill_not_exported"].related[:3]]
    assert follow_up["text"].startswith("Sorry it is still failing.")
    assert ", ".join(related) in follow_up["text"]
    buttons = {e["action_id"]: json.loads(e["value"]) for e in elements(follow_up["blocks"])}
    assert buttons == {"syncmedic_escalate": {"case_id": case_id, "intent": "bill_not_exported"},
                       "syncmedic_not_this": {"case_id": case_id, "intent": "bill_not_exported"}}
    state = case(bot, case_id)
    assert (state["status"], state["failing_count"]) == ("open", 1)
    assert feedback(bot, case_id) == [("still_failing", answer_ts, ALICE, "bill_not_exported", "bill_not_exported")]
    assert [p for p in bot.stub.posts() if p["channel"] == ESCALATION_CHANNEL] == []


async def test_still_failing_twice_on_the_same_message_counts_once(bot: BotClient):
    _, answer_ts, case_id = await ask(bot)
    before = n_posts(bot)
    await bot.click(answer_ts, "syncmedic_still_failing")
    await bot.drain()
    await bot.click(answer_ts, "syncmedic_still_failing")
    await bot.drain()

    assert len(new_posts(bot, before)) == 1
    assert (case(bot, case_id)["status"], case(bot, case_id)["failing_count"]) == ("open", 1)


async def test_second_still_failing_from_another_message_escalates_with_a_permalink(bot: BotClient, core):
    """Answer -> Still failing -> Not this -> pick an intent -> Still failing on the new answer."""
    event, answer_ts, case_id = await ask(bot)
    await bot.click(answer_ts, "syncmedic_still_failing")
    await bot.drain()
    follow_up_ts = bot.stub.attempts("chat.postMessage")[-1].response["ts"]
    await bot.click(follow_up_ts, "syncmedic_not_this")
    await bot.drain()
    menu_ts = bot.stub.attempts("chat.postMessage")[-1].response["ts"]
    await bot.pick(menu_ts, "product_not_exported")
    await bot.drain()
    second_answer = bot.stub.attempts("chat.postMessage")[-1]
    assert second_answer.body["metadata"]["event_payload"]["intent"] == "product_not_exported"
    second_ts = second_answer.response["ts"]
    before = n_posts(bot)

    status, _ = await bot.click(second_ts, "syncmedic_still_failing", user=BOB)
    await bot.drain()

    assert status == 200
    assert [(c.body["channel"], c.body["message_ts"]) for c in bot.stub.attempts("chat.getPermalink")] == [
        (CHANNEL, second_ts)]
    permalink = f"https://acme.slack.com/archives/{CHANNEL}/p{second_ts.replace('.', '')}"
    escalation, note = new_posts(bot, before)
    assert escalation["channel"] == ESCALATION_CHANNEL
    assert "thread_ts" not in escalation
    assert escalation["text"] == (f"Needs a person: {core.catalog.title('product_not_exported')}, reported by "
                                  f"<@{BOB}>. <{permalink}|Open the thread>")
    assert (note["channel"], note["thread_ts"]) == (CHANNEL, event["ts"])
    assert note["text"] == f"It has failed 2 times now, so I have asked a person to look at it in <#{ESCALATION_CHANNEL}>."
    state = case(bot, case_id)
    assert (state["status"], state["failing_count"], state["intent"]) == ("escalated", 2, "product_not_exported")


async def test_ask_a_person_escalates_once(bot: BotClient, core):
    event, answer_ts, case_id = await ask(bot)
    await bot.click(answer_ts, "syncmedic_still_failing")
    await bot.drain()
    follow_up_ts = bot.stub.attempts("chat.postMessage")[-1].response["ts"]
    before = n_posts(bot)
    await bot.click(follow_up_ts, "syncmedic_escalate")
    await bot.click(follow_up_ts, "syncmedic_escalate")
    await bot.drain()

    escalation, note = new_posts(bot, before)
    assert escalation["channel"] == ESCALATION_CHANNEL
    assert core.catalog.title("bill_not_exported") in escalation["text"]
    assert f"/archives/{CHANNEL}/p{follow_up_ts.replace('.', '')}|Open the thread>" in escalation["text"]
    assert (note["channel"], note["thread_ts"]) == (CHANNEL, event["ts"])
    assert note["text"] == (f"I have asked for help in <#{ESCALATION_CHANNEL}>. Someone will reply in this thread.")
    assert case(bot, case_id)["status"] == "escalated"


async def test_escalation_usergroup_is_pinged_in_the_escalation_post(start_bot):
    bot = await start_bot(ESCALATION_USERGROUP="S0SUPPORT1")
    _, answer_ts, _ = await ask(bot)
    await bot.click(answer_ts, "syncmedic_still_failing")
    await bot.drain()
    follow_up_ts = bot.stub.attempts("chat.postMessage")[-1].response["ts"]
    await bot.click(follow_up_ts, "syncmedic_escalate")
    await bot.drain()

    [escalation] = [p for p in bot.stub.posts() if p["channel"] == ESCALATION_CHANNEL]
    assert escalation["text"].startswith("<!subteam^S0SUPPORT1> Needs a person:")


async def test_ask_a_person_without_an_escalation_channel_makes_no_false_promise(start_bot):
    bot = await start_bot(ESCALATION_CHANNEL=None)
    event, answer_ts, _ = await ask(bot)
    await bot.click(answer_ts, "syncmedic_still_failing")
    await bot.drain()
    follow_up_ts = bot.stub.attempts("chat.postMessage")[-1].response["ts"]
    before = n_posts(bot)
    await bot.click(follow_up_ts, "syncmedic_escalate")
    await bot.drain()

    notes = new_posts(bot, before)
    assert all(p["thread_ts"] == event["ts"] for p in notes)
    assert any(p["text"].startswith("Nobody is set up to receive escalations yet.") for p in notes)
    assert not any("asked for help" in p["text"] or "Someone will reply" in p["text"] for p in notes)


async def test_escalation_by_still_failing_without_a_channel_makes_no_false_promise(start_bot):
    bot = await start_bot(ESCALATION_CHANNEL=None, ESCALATE_AFTER="1")
    _, answer_ts, _ = await ask(bot)
    before = n_posts(bot)
    await bot.click(answer_ts, "syncmedic_still_failing")
    await bot.drain()

    notes = new_posts(bot, before)
    assert any(p["text"].startswith("Nobody is set up to receive escalations yet.") for p in notes)
    assert not any("asked a person" in p["text"] for p in notes)


async def test_ask_a_person_on_an_out_of_scope_answer_escalates_once(bot: BotClient):
    _, answer_ts, case_id = await ask(bot, "the sync is acting weird since yesterday, any idea?")
    assert case_id is None
    await bot.click(answer_ts, "syncmedic_escalate")
    await bot.drain()
    await bot.click(answer_ts, "syncmedic_escalate", user=BOB)
    await bot.drain()

    assert len([p for p in bot.stub.posts() if p["channel"] == ESCALATION_CHANNEL]) == 1


# -- Not this, and picking the problem ------------------------------------------------------------

async def test_not_this_posts_a_menu_of_problems_in_the_thread(bot: BotClient, core):
    event, answer_ts, case_id = await ask(bot)
    before = n_posts(bot)
    status, _ = await bot.click(answer_ts, "syncmedic_not_this")
    await bot.drain()

    assert status == 200
    [menu] = new_posts(bot, before)
    assert (menu["channel"], menu["thread_ts"]) == (CHANNEL, event["ts"])
    [block] = menu["blocks"]
    assert block["block_id"] == f"syncmedic_pick:{case_id}"
    select = block["accessory"]
    assert (select["type"], select["action_id"]) == ("static_select", "syncmedic_pick_intent")
    values = [o["value"] for o in select["options"]]
    assert values == [i.id for i in core.catalog.problems][:100]
    assert "bill_not_exported" in values and "greeting" not in values and "out_of_scope" not in values
    assert all(len(o["text"]["text"]) <= 75 for o in select["options"])
    assert case(bot, case_id)["intent"] == "bill_not_exported"  # nothing changes until a pick


async def test_picking_an_intent_re_answers_and_records_the_correction(bot: BotClient, core):
    event, answer_ts, case_id = await ask(bot)
    await bot.click(answer_ts, "syncmedic_not_this")
    await bot.drain()
    menu_ts = bot.stub.attempts("chat.postMessage")[-1].response["ts"]
    before = n_posts(bot)
    status, _ = await bot.pick(menu_ts, "product_not_exported")
    await bot.drain()

    assert status == 200
    [again] = new_posts(bot, before)
    assert (again["channel"], again["thread_ts"]) == (CHANNEL, event["ts"])
    assert again["metadata"] == {"event_type": "sync_diagnosis", "event_payload": {
        "case_id": case_id, "intent": "product_not_exported", "confidence": 1.0}}
    assert again["text"] == core.catalog.title("product_not_exported")
    state = case(bot, case_id)
    assert (state["intent"], state["confidence"]) == ("product_not_exported", 1.0)
    assert state["reply_ref"] == bot.stub.attempts("chat.postMessage")[-1].response["ts"]
    assert bot.sql("SELECT case_id, text, intent FROM corrections") == [(case_id, BILL_ERROR, "product_not_exported")]
    assert feedback(bot, case_id) == [("chose:product_not_exported", menu_ts, ALICE, "bill_not_exported",
                                       "product_not_exported")]
    [update] = bot.stub.accepted("chat.update")
    assert update["ts"] == menu_ts
    assert update["blocks"][-1]["elements"][0]["text"] == (
        f"<@{ALICE}> chose: {core.catalog.title('product_not_exported')}")


async def test_picked_menu_is_settled_without_a_live_select(bot: BotClient):
    _, answer_ts, _ = await ask(bot)
    await bot.click(answer_ts, "syncmedic_not_this")
    await bot.drain()
    menu_ts = bot.stub.attempts("chat.postMessage")[-1].response["ts"]
    await bot.pick(menu_ts, "product_not_exported")
    await bot.drain()

    [update] = bot.stub.accepted("chat.update")
    assert elements(update["blocks"]) == []


async def test_picking_the_same_intent_twice_answers_once(bot: BotClient):
    _, answer_ts, case_id = await ask(bot)
    await bot.click(answer_ts, "syncmedic_not_this")
    await bot.drain()
    menu_ts = bot.stub.attempts("chat.postMessage")[-1].response["ts"]
    before = n_posts(bot)
    await asyncio.gather(bot.pick(menu_ts, "product_not_exported"), bot.pick(menu_ts, "product_not_exported"))
    await bot.drain()

    assert len(new_posts(bot, before)) == 1
    assert len(bot.sql("SELECT id FROM corrections")) == 1
    assert len(bot.stub.attempts("chat.update")) == 1


async def test_picking_an_unknown_intent_changes_nothing(bot: BotClient):
    _, answer_ts, case_id = await ask(bot)
    await bot.click(answer_ts, "syncmedic_not_this")
    await bot.drain()
    menu_ts = bot.stub.attempts("chat.postMessage")[-1].response["ts"]
    menu = bot.stub.messages[menu_ts]
    menu["blocks"][0]["accessory"]["options"].append(
        {"text": {"type": "plain_text", "text": "forged"}, "value": "no_such_intent"})
    before = n_posts(bot)
    status, _ = await bot.pick(menu_ts, "no_such_intent")
    await bot.drain()

    assert status == 200
    assert new_posts(bot, before) == []
    assert case(bot, case_id)["intent"] == "bill_not_exported"
    assert bot.sql("SELECT count(*) FROM corrections") == [(0,)]


async def test_forged_button_value_is_ignored(bot: BotClient):
    _, answer_ts, case_id = await ask(bot)
    for block in bot.stub.messages[answer_ts]["blocks"]:
        for element in block.get("elements", []):
            if element.get("action_id") == "syncmedic_fixed":
                element["value"] = "<!channel> not json"
    status, _ = await bot.click(answer_ts, "syncmedic_fixed")
    await bot.drain()

    assert status == 200
    assert bot.stub.attempts("chat.update") == []
    assert case(bot, case_id)["status"] == "open"


# -- Out-of-scope answers: Show fix and What can you do? ------------------------------------------

async def test_show_fix_on_an_out_of_scope_answer_posts_that_fix(bot: BotClient, core):
    event, answer_ts, case_id = await ask(bot, "the sync is acting weird since yesterday, any idea?")
    assert case_id is None
    answer = bot.stub.messages[answer_ts]
    show = [e for e in elements(answer["blocks"]) if e["action_id"].startswith("syncmedic_choose_")]
    if not show:
        pytest.skip("this out-of-scope answer lists no close topics")
    chosen = json.loads(show[0]["value"])["intent"]
    before = n_posts(bot)
    status, _ = await bot.click(answer_ts, show[0]["action_id"])
    await bot.drain()

    assert status == 200
    [fix] = new_posts(bot, before)
    assert (fix["channel"], fix["thread_ts"]) == (CHANNEL, event["ts"])
    assert fix["metadata"]["event_payload"] == {"case_id": None, "intent": chosen, "confidence": 1.0}
    [update] = bot.stub.accepted("chat.update")
    assert update["ts"] == answer_ts
    assert not [e for e in elements(update["blocks"]) if e["type"] == "button"]


async def test_what_can_you_do_posts_help_in_the_thread(bot: BotClient):
    event, answer_ts, _ = await ask(bot, "the sync is acting weird since yesterday, any idea?")
    before = n_posts(bot)
    await bot.click(answer_ts, "syncmedic_help")
    await bot.drain()

    [help_post] = new_posts(bot, before)
    assert (help_post["channel"], help_post["thread_ts"]) == (CHANNEL, event["ts"])
    assert "metadata" not in help_post
    assert help_post["text"]


# -- App Home ----------------------------------------------------------------------------------

async def test_app_home_lists_the_users_open_cases(bot: BotClient, core):
    await ask(bot)                                                   # stays open
    _, fixed_ts, _ = await ask(bot, "The account period has closed and the account books cannot be updated")
    await bot.click(fixed_ts, "syncmedic_fixed")                     # resolved: not listed
    await bot.event(mention_event('Product "WIDGET-1" has not been exported to QuickBooks', user=BOB))
    await bot.drain()

    status, _ = await bot.event(slack.home_opened_event(ALICE))
    await bot.drain()

    assert status == 200
    [publish] = bot.stub.accepted("views.publish")
    assert publish["user_id"] == ALICE
    view = publish["view"]
    assert view["type"] == "home"
    assert view["blocks"][0] == {"type": "header", "text": {"type": "plain_text", "text": "Your open sync problems"}}
    cases = [b["text"]["text"] for b in view["blocks"][1:] if b["type"] == "section"]
    assert len(cases) == 1
    assert cases[0].startswith(f"*{core.catalog.title('bill_not_exported')}*")
    assert cases[0].endswith(f"Asked 1 min ago in <#{CHANNEL}> · status: open")
    shown = all_text(publish)
    assert core.catalog.title("period_closed") not in shown              # resolved
    assert core.catalog.title("product_not_exported") not in shown       # someone else's
    assert "syncmedic_admin_retrain" not in json.dumps(view)


async def test_app_home_case_title_is_on_its_own_line(bot: BotClient, core):
    await ask(bot)
    await bot.event(slack.home_opened_event(ALICE))
    await bot.drain()

    [publish] = bot.stub.accepted("views.publish")
    assert publish["view"]["blocks"][1]["text"]["text"].startswith(
        f"*{core.catalog.title('bill_not_exported')}*\nAsked 1 min ago")


async def test_app_home_without_cases_and_for_an_admin(start_bot):
    bot = await start_bot(ADMIN_USERS=f"{BOB}, U0OTHER01")
    await bot.event(slack.home_opened_event(BOB))
    await bot.drain()

    [publish] = bot.stub.accepted("views.publish")
    assert publish["user_id"] == BOB
    blocks = publish["view"]["blocks"]
    assert blocks[1]["text"]["text"].startswith("Nothing open.")
    # An admin's Home also has the report in short (tests/slack/test_insights.py) and its button.
    assert [e["action_id"] for e in elements(blocks)] == ["syncmedic_admin_report", "syncmedic_admin_retrain"]


async def test_app_home_messages_tab_publishes_nothing(bot: BotClient):
    status, _ = await bot.event(slack.home_opened_event(ALICE, tab="messages"))
    await bot.drain()
    assert status == 200
    assert bot.stub.attempts("views.publish") == []


def home_click(user: str) -> dict:
    """A click on the App Home's retrain button (a view container: no channel, no message)."""
    home = [{"type": "actions", "block_id": "syncmedic_admin", "elements": [
        {"type": "button", "action_id": "syncmedic_admin_retrain", "value": "retrain",
         "text": {"type": "plain_text", "text": "Retrain the model"}}]}]
    return slack.view_click(home, "syncmedic_admin_retrain", user=user)


async def test_retrain_by_a_non_admin_is_refused(start_bot, retrains, core):
    bot = await start_bot(ADMIN_USERS=BOB)
    model, meta = core.engine.model, dict(core.model_meta)
    status, _ = await bot.interact(home_click(ALICE))
    await bot.drain()

    assert status == 200
    assert [c.body["users"] for c in bot.stub.attempts("conversations.open")] == [ALICE]
    [refusal] = bot.stub.posts()
    assert refusal == {**refusal, "channel": "D" + ALICE[1:], "text": "Only SyncMedic admins can do that."}
    assert retrains == []
    assert core.engine.model is model and core.model_meta == meta


async def test_retrain_by_an_admin_reports_the_new_model(start_bot, retrains):
    bot = await start_bot(ADMIN_USERS=BOB)
    await bot.interact(home_click(BOB))
    await bot.drain()

    assert retrains == [1]
    assert [(p["channel"], p["text"]) for p in bot.stub.posts()] == [
        ("D" + BOB[1:], "Retraining the model with the latest corrections. This takes under a minute."),
        ("D" + BOB[1:], "Model retrained: 1234 examples, cross-validated accuracy 98.7%."),
    ]


# -- "Which of these is it?" answers -----------------------------------------------------------------

CHOICE_CANDIDATES = ["tax rule pending sale", "cogs and tax", "401 error qbo dear sync",
                     "deprecated a supplier in dear, now the bills for them fail to sync"]


def a_choice_question(core) -> str:
    for text in CHOICE_CANDIDATES:
        if str(core.engine.diagnose(text).kind) == "choice":
            return text
    pytest.skip("the current model answers none of the candidate questions with a choice")


async def ask_choice(bot: BotClient, core) -> tuple[dict, str, str, list[dict]]:
    event, answer_ts, case_id = await ask(bot, a_choice_question(core))
    answer = bot.stub.messages[answer_ts]
    assert answer["text"] == "Which of these is it?"
    options = [e for e in elements(answer["blocks"]) if e["action_id"].startswith("syncmedic_choose_")]
    assert len(options) >= 2
    return event, answer_ts, case_id, options


async def test_choosing_the_second_candidate_answers_with_it(bot: BotClient, core):
    event, answer_ts, case_id, options = await ask_choice(bot, core)
    second = json.loads(options[1]["value"])
    assert second["case_id"] == case_id
    before = n_posts(bot)
    await bot.click(answer_ts, options[1]["action_id"])
    await bot.drain()

    [fix] = new_posts(bot, before)
    assert (fix["channel"], fix["thread_ts"]) == (CHANNEL, event["ts"])
    assert fix["metadata"]["event_payload"] == {"case_id": case_id, "intent": second["intent"], "confidence": 1.0}
    assert case(bot, case_id)["intent"] == second["intent"]
    [update] = bot.stub.accepted("chat.update")
    assert update["ts"] == answer_ts and elements(update["blocks"]) == []


async def test_choosing_the_first_candidate_answers_with_it(bot: BotClient, core):
    event, answer_ts, case_id, options = await ask_choice(bot, core)
    first = json.loads(options[0]["value"])
    assert case(bot, case_id)["intent"] == first["intent"]  # the case starts on the top candidate
    before = n_posts(bot)
    await bot.click(answer_ts, options[0]["action_id"])
    await bot.drain()

    [fix] = new_posts(bot, before)
    assert (fix["channel"], fix["thread_ts"]) == (CHANNEL, event["ts"])
    assert fix["metadata"]["event_payload"]["intent"] == first["intent"]


# -- Buttons on the private answer to a slash command in a channel without the bot ------------------

async def private_answer(bot: BotClient) -> tuple[str, dict]:
    bot.stub.outside.add("C0NOTMEMBR")
    await bot.command(BILL_ERROR, channel="C0NOTMEMBR")
    await bot.drain()
    [answer] = bot.stub.webhook_posts
    assert answer["response_type"] == "ephemeral"
    [case_id] = [r[0] for r in bot.sql("SELECT id FROM cases")]
    return case_id, answer


def ephemeral_click(answer: dict, action_id: str, response_url: str) -> dict:
    """What Slack sends for a click on an ephemeral message: no `message`, is_ephemeral."""
    return slack.ephemeral_click(answer["blocks"], action_id, channel="C0NOTMEMBR", response_url=response_url)


async def test_still_failing_on_a_private_answer_reaches_the_user(bot: BotClient):
    case_id, answer = await private_answer(bot)
    url = f"{bot.stub.base}/response/click-still-failing"
    status, _ = await bot.interact(ephemeral_click(answer, "syncmedic_still_failing", url))
    await bot.drain()

    assert status == 200
    assert case(bot, case_id)["failing_count"] == 1
    delivered = [b for b, path in zip(bot.stub.webhook_posts, bot.stub.webhook_paths)
                 if path == "/response/click-still-failing"]
    delivered += bot.stub.accepted("chat.postEphemeral") + bot.stub.posts()
    assert any("Sorry it is still failing" in all_text(b) for b in delivered)


async def test_fixed_on_a_private_answer_settles_it(bot: BotClient):
    case_id, answer = await private_answer(bot)
    url = f"{bot.stub.base}/response/click-fixed"
    await bot.interact(ephemeral_click(answer, "syncmedic_fixed", url))
    await bot.drain()

    assert case(bot, case_id)["status"] == "resolved"
    replaced = [b for b, path in zip(bot.stub.webhook_posts, bot.stub.webhook_paths) if path == "/response/click-fixed"]
    assert replaced and replaced[-1].get("replace_original") is True
    assert elements(replaced[-1].get("blocks", [])) == []


# -- Buttons in a DM, and escalation when Slack will not give a permalink -----------------------------

async def test_buttons_in_a_dm_answer_unthreaded(bot: BotClient):
    from tests.slack.harness import DM, dm_event

    await bot.event(dm_event(BILL_ERROR))
    await bot.drain()
    answer_ts = bot.stub.attempts("chat.postMessage")[-1].response["ts"]
    before = n_posts(bot)
    await bot.click(answer_ts, "syncmedic_still_failing")
    await bot.drain()

    [follow_up] = new_posts(bot, before)
    assert follow_up["channel"] == DM and "thread_ts" not in follow_up


async def test_escalation_goes_out_without_a_link_when_the_permalink_fails(bot: BotClient, core):
    _, answer_ts, case_id = await ask(bot)
    await bot.click(answer_ts, "syncmedic_still_failing")
    await bot.drain()
    follow_up_ts = bot.stub.attempts("chat.postMessage")[-1].response["ts"]
    bot.stub.fail("chat.getPermalink", "message_not_found")
    await bot.click(follow_up_ts, "syncmedic_escalate")
    await bot.drain()

    [escalation] = [p for p in bot.stub.posts() if p["channel"] == ESCALATION_CHANNEL]
    assert escalation["text"].rstrip() == (f"Needs a person: {core.catalog.title('bill_not_exported')}, "
                                           f"reported by <@{ALICE}>.")
    assert case(bot, case_id)["status"] == "escalated"
