"""The buttons on the bot's answers, the "Not this" menu, the App Home and the admin button."""

from __future__ import annotations

import asyncio
import json
import re

import pytest

from tests.standins import slack_payloads as slack
from tests.slack.conftest import ESCALATION_CHANNEL
from tests.slack.harness import ALICE, BOB, CHANNEL, BotClient, all_text, elements, fresh_ts, mention_event

pytestmark = pytest.mark.asyncio

BILL_ERROR = 'Error: Bill "BILL-7731" has not been exported to QuickBooks'


async def ask(bot: BotClient, text: str = BILL_ERROR) -> tuple[dict, str, str]:
    """Mention the bot in a channel; returns (the user's event, the answer's ts, the case id)."""
    event = mention_event(text)
    await bot.event(event)
    await bot.drain()
    answer = bot.stub.attempts("chat.postMessage")[-1]
    assert answer.ok
    return event, answer.response["ts"], answer.body["metadata"]["event_payload"].get("case_id")


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
    assert update["blocks"][-1] == {"type": "context", "block_id": "syncmedic_note", "elements": [
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
    assert case(bot, case_id)["resolved_at"] == resolved_at
    assert [f[0] for f in feedback(bot, case_id)] == ["fixed"]
    # Bob is told, in place, who fixed it and when: the button is never a silent no-op.
    first, second = bot.stub.accepted("chat.update")
    assert second["ts"] == answer_ts and elements(second["blocks"]) == []
    assert re.fullmatch(rf"Already marked fixed by <@{ALICE}> today at \d\d:\d\d\.",
                        second["blocks"][-1]["elements"][0]["text"])


async def test_fixed_double_click_at_the_same_moment_changes_the_case_once(bot: BotClient):
    _, answer_ts, case_id = await ask(bot)
    results = await asyncio.gather(*[bot.click(answer_ts, "syncmedic_fixed") for _ in range(3)])
    await bot.drain()

    assert [s for s, _ in results] == [200, 200, 200]
    assert case(bot, case_id)["status"] == "resolved"
    assert len(feedback(bot, case_id)) == 1
    updates = bot.stub.accepted("chat.update")  # one says it is fixed, the others who fixed it
    notes = sorted(u["blocks"][-1]["elements"][0]["text"] for u in updates)
    assert len(updates) == 3 and all(elements(u["blocks"]) == [] for u in updates)
    assert notes[-1] == f"Marked fixed by <@{ALICE}>. Thanks for closing the loop."
    assert all(n.startswith(f"Already marked fixed by <@{ALICE}>") for n in notes[:-1])


# -- Still failing and escalation ----------------------------------------------------------------

async def test_still_failing_posts_a_follow_up_in_the_thread(bot: BotClient, core):
    event, answer_ts, case_id = await ask(bot)
    before = n_posts(bot)
    status, _ = await bot.click(answer_ts, "syncmedic_still_failing")
    await bot.drain()

    assert status == 200
    [follow_up] = new_posts(bot, before)
    assert (follow_up["channel"], follow_up["thread_ts"]) == (CHANNEL, event["ts"])
    related = core.catalog["bill_not_exported"].related[:3]
    assert follow_up["text"].startswith("Sorry it is still failing.")
    # The related topics are a list, each with the button that shows its fix (for this case).
    shown = [b["text"]["text"] for b in follow_up["blocks"] if b.get("accessory")]
    assert [line.split("\n")[0] for line in shown] == [f"*{core.catalog.title(r)}*" for r in related]
    buttons = {e["action_id"]: json.loads(e["value"]) for e in elements(follow_up["blocks"])}
    assert buttons == {"syncmedic_escalate": {"case_id": case_id, "intent": "bill_not_exported"},
                       "syncmedic_not_this": {"case_id": case_id, "intent": "bill_not_exported"},
                       **{f"syncmedic_choose_{n}": {"case_id": case_id, "intent": r}
                          for n, r in enumerate(related, 1)}}
    # ...and the answer itself says, in place, that it was heard (its buttons stay).
    [update] = bot.stub.accepted("chat.update")
    assert update["ts"] == answer_ts and len(elements(update["blocks"])) == 3
    assert update["blocks"][-1]["elements"][0]["text"] == (
        f"<@{ALICE}> says it is still failing. What to try next is in the thread.")
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
    first, second = bot.stub.accepted("chat.update")  # the second click is answered in place
    assert re.fullmatch(rf"Already noted as still failing by <@{ALICE}> today at \d\d:\d\d\.",
                        second["blocks"][-1]["elements"][0]["text"])


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
    title = core.catalog.title("product_not_exported")
    assert escalation["text"] == f"Needs a person: {title}, asked by <@{BOB}>"
    shown = all_text(escalation)
    # What a person needs: who asked and where, the pasted error (escaped), the diagnosis and its
    # confidence, what was already tried, and the link to the thread.
    assert f"*Asked by* <@{BOB}> today at " in shown and f" in <#{CHANNEL}>" in shown
    assert f"*What they pasted*\n```{BILL_ERROR}```" in shown
    assert f"*Diagnosis:* {title} (confidence 100%)" in shown
    assert (f"• Still failing, by <@{ALICE}> today at" in shown
            and f"• Not this (asked for another diagnosis), by <@{ALICE}> today at" in shown
            and f"• Picked another problem: {title}, by <@{ALICE}> today at" in shown)
    assert f"<{permalink}|Open the thread>" in shown
    [claim] = [e for e in elements(escalation["blocks"]) if e["action_id"] == "syncmedic_claim"]
    assert json.loads(claim["value"])["case_id"] == case_id
    assert (note["channel"], note["thread_ts"]) == (CHANNEL, event["ts"])
    assert note["text"] == (f"It has failed 2 times now, so I have asked a person to look at it in "
                            f"<#{ESCALATION_CHANNEL}>. Someone will answer here, and I will tell you who has picked it up.")
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
    assert f"/archives/{CHANNEL}/p{follow_up_ts.replace('.', '')}|Open the thread>" in all_text(escalation)
    assert (note["channel"], note["thread_ts"]) == (CHANNEL, event["ts"])
    assert note["text"] == (f"I have asked for help in <#{ESCALATION_CHANNEL}>. "
                            "Someone will answer here, and I will tell you who has picked it up.")
    assert case(bot, case_id)["status"] == "escalated"
    # The second click is answered in place: who asked, when, and that nobody has it yet. (The two
    # clicks are handled side by side, so which update comes last is not fixed.)
    notes = [u["blocks"][-1]["elements"][0]["text"] for u in bot.stub.accepted("chat.update")
             if u["ts"] == follow_up_ts and u["blocks"][-1]["type"] == "context"]
    assert any(re.fullmatch(rf"A person was already asked by <@{ALICE}> today at \d\d:\d\d; nobody has picked it "
                            r"up yet\.", n) for n in notes), notes


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
    assert block["text"]["text"].startswith(f"Which problem is it, instead of *{core.catalog.title('bill_not_exported')}*?")
    select = block["accessory"]
    assert (select["type"], select["action_id"]) == ("static_select", "syncmedic_pick_intent")
    values = [o["value"] for o in select["options"]]
    # The diagnosis it replaces is left out; the model's most likely come first, then A to Z.
    others = [i.id for i in core.catalog.problems if i.id != "bill_not_exported"]
    likely = [a.intent for a in core.engine.diagnose(BILL_ERROR).alternatives if a.intent in others]
    assert likely and values[:len(likely)] == likely and sorted(values) == sorted(others)
    rest = [o["text"]["text"].casefold() for o in select["options"][len(likely):]]
    assert rest == sorted(rest)
    assert "bill_not_exported" not in values and "greeting" not in values and "out_of_scope" not in values
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
    assert feedback(bot, case_id) == [("not_this", answer_ts, ALICE, "bill_not_exported", "bill_not_exported"),
                                      ("chose:product_not_exported", menu_ts, ALICE, "bill_not_exported",
                                       "product_not_exported")]
    [update] = [u for u in bot.stub.accepted("chat.update") if u["ts"] == menu_ts]
    assert update["blocks"][-1]["elements"][0]["text"] == (
        f"<@{ALICE}> chose: {core.catalog.title('product_not_exported')}")


async def test_picked_menu_is_settled_without_a_live_select(bot: BotClient):
    _, answer_ts, _ = await ask(bot)
    await bot.click(answer_ts, "syncmedic_not_this")
    await bot.drain()
    menu_ts = bot.stub.attempts("chat.postMessage")[-1].response["ts"]
    await bot.pick(menu_ts, "product_not_exported")
    await bot.drain()

    [update] = [u for u in bot.stub.accepted("chat.update") if u["ts"] == menu_ts]
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
    assert len([u for u in bot.stub.accepted("chat.update") if u["ts"] == menu_ts]) == 2  # the second says who chose


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
    [update] = [u for u in bot.stub.accepted("chat.update") if u["ts"] == menu_ts]  # said so, in place
    assert update["blocks"][-1]["elements"][0]["text"].startswith("I don't know that option.")


async def test_forged_button_value_changes_nothing_and_says_so(bot: BotClient):
    _, answer_ts, case_id = await ask(bot)
    for block in bot.stub.messages[answer_ts]["blocks"]:
        for element in block.get("elements", []):
            if element.get("action_id") == "syncmedic_fixed":
                element["value"] = "<!channel> not json"
    status, _ = await bot.click(answer_ts, "syncmedic_fixed")
    await bot.drain()

    assert status == 200
    assert case(bot, case_id)["status"] == "open"
    [update] = bot.stub.accepted("chat.update")
    assert update["blocks"][-1]["elements"][0]["text"].startswith("I don't know that option.")


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
    new_case = fix["metadata"]["event_payload"]["case_id"]
    assert fix["metadata"]["event_payload"] == {"case_id": new_case, "intent": chosen, "confidence": 1.0}
    [update] = bot.stub.accepted("chat.update")
    assert update["ts"] == answer_ts
    assert not [e for e in elements(update["blocks"]) if e["type"] == "button"]
    # The topic picked opened a case, so the new answer's buttons work (they were dead before).
    fix_ts = bot.stub.attempts("chat.postMessage")[-1].response["ts"]
    assert case(bot, new_case)["reply_ref"] == fix_ts
    for action_id in ("syncmedic_still_failing", "syncmedic_fixed"):
        await bot.click(fix_ts, action_id)
        await bot.drain()
    assert case(bot, new_case)["status"] == "resolved" and case(bot, new_case)["failing_count"] == 1
    assert [u["ts"] for u in bot.stub.accepted("chat.update")][1:] == [fix_ts, fix_ts]


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

async def test_buttons_in_a_dm_answer_in_the_thread_of_the_clicked_message(bot: BotClient):
    from tests.slack.harness import DM, dm_event

    await bot.event(dm_event(BILL_ERROR))
    await bot.drain()
    answer_ts = bot.stub.attempts("chat.postMessage")[-1].response["ts"]
    before = n_posts(bot)
    await bot.click(answer_ts, "syncmedic_still_failing")
    await bot.drain()

    [follow_up] = new_posts(bot, before)
    assert (follow_up["channel"], follow_up["thread_ts"]) == (DM, answer_ts)  # next to it, not at the bottom


async def test_escalation_goes_out_without_a_link_when_the_permalink_fails(bot: BotClient, core):
    _, answer_ts, case_id = await ask(bot)
    await bot.click(answer_ts, "syncmedic_still_failing")
    await bot.drain()
    follow_up_ts = bot.stub.attempts("chat.postMessage")[-1].response["ts"]
    bot.stub.fail("chat.getPermalink", "message_not_found")
    await bot.click(follow_up_ts, "syncmedic_escalate")
    await bot.drain()

    [escalation] = [p for p in bot.stub.posts() if p["channel"] == ESCALATION_CHANNEL]
    assert escalation["text"] == f"Needs a person: {core.catalog.title('bill_not_exported')}, asked by <@{ALICE}>"
    assert "Open the thread" not in all_text(escalation)
    assert case(bot, case_id)["status"] == "escalated"


# -- Talk to a person, and claiming an escalation ------------------------------------------------------

async def test_claim_names_who_has_it_on_the_post_and_tells_the_asker_once(bot: BotClient):
    event, answer_ts, case_id = await ask(bot)
    await bot.click(answer_ts, "syncmedic_still_failing")
    await bot.drain()
    follow_up_ts = bot.stub.attempts("chat.postMessage")[-1].response["ts"]
    await bot.click(follow_up_ts, "syncmedic_escalate")
    await bot.drain()
    [post] = [c for c in bot.stub.attempts("chat.postMessage") if c.ok and c.body["channel"] == ESCALATION_CHANNEL]
    post_ts = post.response["ts"]
    unclaimed = bot.seen(post_ts)
    before = n_posts(bot)

    status, _ = await bot.click(post_ts, "syncmedic_claim", user=BOB)
    await bot.drain()

    assert status == 200
    [update] = [u for u in bot.stub.accepted("chat.update") if u["ts"] == post_ts]
    assert [e["action_id"] for e in elements(update["blocks"])] == []  # no Claim button any more
    assert re.fullmatch(rf"Picked up by <@{BOB}> today at \d\d:\d\d\.", update["blocks"][-1]["elements"][0]["text"])
    assert "Open the thread>" in all_text(update)                     # the link stays
    [told] = new_posts(bot, before)
    assert (told["channel"], told["thread_ts"], told["text"]) == (CHANNEL, event["ts"], f"<@{BOB}> has picked this up.")
    assert [f[0] for f in feedback(bot, case_id)][-1] == "claim"

    # Someone else, on a client still showing the Claim button, is told who has it, in place.
    await bot.click(post_ts, "syncmedic_claim", user="U0CAROL01", message=unclaimed)
    await bot.drain()
    late = [u for u in bot.stub.accepted("chat.update") if u["ts"] == post_ts][-1]
    assert re.fullmatch(rf"<@{BOB}> is already on it \(picked up today at \d\d:\d\d\)\.",
                        late["blocks"][-1]["elements"][0]["text"])
    assert len(new_posts(bot, before)) == 1


async def test_talk_to_a_person_in_a_dm_asks_once_and_says_where_the_answer_comes(bot: BotClient, core):
    from tests.slack.harness import DM, dm_event

    await bot.event(dm_event(BILL_ERROR))
    await bot.drain()
    await bot.event(dm_event("I need to talk to a human"))
    await bot.drain()
    question = bot.stub.attempts("chat.postMessage")[-1]
    assert question.body["text"].startswith("Do you want me to ask a person on your team?")
    assert [(e["text"]["text"], e["action_id"]) for e in elements(question.body["blocks"])] == [
        ("Yes, ask a person", "syncmedic_escalate"), ("No, thanks", "syncmedic_decline")]
    question_ts = question.response["ts"]
    before = n_posts(bot)

    await bot.click(question_ts, "syncmedic_escalate")
    await bot.drain()

    escalation, told = new_posts(bot, before)
    # The request is about the case being worked on in this DM: its pasted error and diagnosis.
    shown = all_text(escalation)
    assert escalation["channel"] == ESCALATION_CHANNEL
    assert f"*What they pasted*\n```{BILL_ERROR}```" in shown
    assert f"*Diagnosis:* {core.catalog.title('bill_not_exported')} (confidence " in shown
    assert "a direct message with SyncMedic (only they can see it, so contact them directly)" in shown
    assert "Open the thread" not in shown  # nobody else can open someone's DM with the bot
    # In a DM nobody else can reply: the asker is told where the person will answer instead.
    assert (told["channel"], told["thread_ts"]) == (DM, question_ts)
    assert "Nobody else can write in this chat, so the person who picks it up will contact you directly" in told["text"]
    assert "reply in this thread" not in told["text"] and "answer here" not in told["text"]
    [update] = bot.stub.accepted("chat.update")
    assert update["ts"] == question_ts and elements(update["blocks"]) == []


async def test_no_thanks_settles_the_question(bot: BotClient):
    _, answer_ts, _ = await ask(bot, "I need to talk to a human")
    await bot.click(answer_ts, "syncmedic_decline")
    await bot.drain()
    [update] = bot.stub.accepted("chat.update")
    assert elements(update["blocks"]) == []
    assert update["blocks"][-1]["elements"][0]["text"].startswith("OK, I have not asked anyone.")
    assert [p for p in bot.stub.posts() if p["channel"] == ESCALATION_CHANNEL] == []


async def test_not_this_and_help_twice_say_so_in_place(bot: BotClient):
    _, answer_ts, _ = await ask(bot)
    await bot.click(answer_ts, "syncmedic_not_this")
    await bot.drain()
    await bot.click(answer_ts, "syncmedic_not_this", user=BOB)
    await bot.drain()
    notes = [u["blocks"][-1]["elements"][0]["text"] for u in bot.stub.accepted("chat.update")]
    assert notes[0] == f"<@{ALICE}> asked for another diagnosis: pick the problem from the list in the thread."
    assert re.fullmatch(rf"Another diagnosis was already asked for by <@{ALICE}> today at \d\d:\d\d\.", notes[1])

    _, other_ts, _ = await ask(bot, "the sync is acting weird since yesterday, any idea?")
    posts = n_posts(bot)
    for _ in range(2):
        await bot.click(other_ts, "syncmedic_help")
        await bot.drain()
    assert n_posts(bot) == posts + 1  # help once, in the thread
    helps = [u["blocks"][-1]["elements"][0]["text"] for u in bot.stub.accepted("chat.update") if u["ts"] == other_ts]
    assert helps == ["The answer is in the thread.", "That was already done on this message."]


async def test_the_buttons_of_a_fix_shown_from_the_digest_are_not_silent(bot: BotClient):
    """The digest's "Show the fix" posts an answer without a case: its buttons still answer."""
    digest_ts = fresh_ts()
    bot.stub.messages[digest_ts] = {"channel": CHANNEL, "ts": digest_ts, "text": "Sync errors still open: 2",
                                    "blocks": [{"type": "actions", "block_id": "syncmedic_digest:period_closed",
                                                "elements": [{"type": "button", "action_id": "syncmedic_digest_steps",
                                                              "value": "period_closed", "text": {
                                                                  "type": "plain_text", "text": "Show the fix"}}]}]}
    await bot.click(digest_ts, "syncmedic_digest_steps")
    await bot.drain()
    fix_ts = bot.stub.attempts("chat.postMessage")[-1].response["ts"]
    for action_id in ("syncmedic_still_failing", "syncmedic_not_this", "syncmedic_fixed"):
        before = len(bot.stub.accepted("chat.update"))
        await bot.click(fix_ts, action_id)
        await bot.drain()
        assert len(bot.stub.accepted("chat.update")) == before + 1, action_id  # said, in place
    notes = [u["blocks"][-1]["elements"][0]["text"] for u in bot.stub.accepted("chat.update")]
    assert notes[-1].startswith(f"Thanks, <@{ALICE}>. A fix shown from the digest is not kept as a case")
    # The fix is a reply in the digest's thread: what it answers goes in that thread too.
    thread = [p["text"] for p in bot.stub.posts() if p.get("thread_ts") == digest_ts]
    assert thread[1].startswith("Sorry it is still failing")
    assert thread[2] == "Which problem is it? (instead of The QuickBooks books are closed for that date)"


async def test_an_escalation_slack_refuses_is_not_a_silent_promise(bot: BotClient):
    event, answer_ts, _ = await ask(bot)
    bot.stub.outside.add(ESCALATION_CHANNEL)  # the bot was never invited there: not_in_channel
    await bot.click(answer_ts, "syncmedic_still_failing")
    await bot.drain()
    follow_up_ts = [c for c in bot.stub.attempts("chat.postMessage") if c.ok][-1].response["ts"]
    await bot.click(follow_up_ts, "syncmedic_escalate")
    await bot.drain()
    [told] = [p for p in bot.stub.posts() if p["text"].startswith("I could not post to the channel")]
    assert told["thread_ts"] == event["ts"]
    assert not any("asked for help" in p["text"] for p in bot.stub.posts())
