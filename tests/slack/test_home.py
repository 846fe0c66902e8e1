"""The App Home view (bot/slack/home.py + responses/slack/home.json.j2): what it shows for a
user's open cases, and that its ages come from the Desk's clock, not the wall clock."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from bot.core.storage.tables import Case
from bot.slack.home import SHOWN_CASES, home_view

from tests.slack.harness import ALICE, CHANNEL, BotClient, fresh_ts, mention_event

NOW = datetime(2026, 3, 4, 15, 0, tzinfo=timezone.utc)
BILL_ERROR = 'Error: Bill "BILL-7731" has not been exported to QuickBooks'


def home_opened(user: str = ALICE) -> dict:
    return {"type": "app_home_opened", "user": user, "channel": "D" + user[1:], "tab": "home", "event_ts": fresh_ts()}


def case(intent: str, channel: str, age: timedelta, status: str = "open") -> Case:
    created = NOW - age
    return Case(id="c1", platform="slack", workspace="T0TEAM001", channel=channel, thread="1.1", message="1.1",
                user=ALICE, intent=intent, confidence=0.9, entities={}, status=status, failing_count=0, reply_ref="",
                created_at=created, updated_at=created, resolved_at=None)


def sections(view: dict) -> list[str]:
    return [b["text"]["text"] for b in view["blocks"] if b["type"] == "section"]


def test_each_case_shows_its_title_age_place_and_status(core):
    title = core.catalog.title("bill_not_exported")
    view = home_view([case("bill_not_exported", "C0SALES01", timedelta(seconds=20)),
                      case("bill_not_exported", "G0PRIVATE", timedelta(minutes=90)),
                      case("bill_not_exported", "D0DIRECT1", timedelta(hours=5, minutes=59), "escalated"),
                      case("bill_not_exported", "C0SALES01", timedelta(days=3, hours=23))], core.renderer, NOW, False)
    assert view["type"] == "home"
    assert view["blocks"][0] == {"type": "header", "text": {"type": "plain_text", "text": "Your open sync problems"}}
    assert sections(view) == [
        f"*{title}*\nAsked 1 min ago in <#C0SALES01> · status: open",
        f"*{title}*\nAsked 90 min ago in <#G0PRIVATE> · status: open",
        f"*{title}*\nAsked 5 hours ago in a direct message · status: escalated",
        f"*{title}*\nAsked 3 days ago in <#C0SALES01> · status: open"]
    assert "actions" not in [b["type"] for b in view["blocks"]]


def test_nothing_open_and_the_admin_section(core):
    view = home_view([], core.renderer, NOW, True)
    assert sections(view)[0].startswith("Nothing open.")
    assert view["blocks"][-3:] == [
        {"type": "divider"}, {"type": "section", "text": {"type": "mrkdwn", "text": "*Admin*"}},
        {"type": "actions", "block_id": "syncmedic_admin", "elements": [
            {"type": "button", "text": {"type": "plain_text", "text": "Retrain the model"},
             "action_id": "syncmedic_admin_retrain", "value": "retrain"}]}]


def test_at_most_40_cases_are_listed(core):
    view = home_view([case("bill_not_exported", "C0SALES01", timedelta(hours=1))] * 60, core.renderer, NOW, False)
    assert len(sections(view)) == SHOWN_CASES == 40


async def test_app_home_ages_come_from_the_desks_clock(bot: BotClient):
    await bot.event(mention_event(BILL_ERROR))
    await bot.drain()
    desk = bot.services.desk
    asked = desk.clock()
    desk.clock = lambda: asked + timedelta(hours=5, minutes=10)  # what a moved (sandbox, test) clock reads

    await bot.event(home_opened(ALICE))
    await bot.drain()

    [publish] = bot.stub.accepted("views.publish")
    [shown] = sections(publish["view"])
    assert f"Asked 5 hours ago in <#{CHANNEL}>" in shown
