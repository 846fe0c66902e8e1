"""What a click did, in words (bot/core/replies/notes.py): the escalation post and the why-notes,
for Slack and Teams. What a person typed is escaped for the channel it goes to."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from bot.core.cases.escalations import Escalation, Tried, trimmed
from bot.core.outcomes import Outcome, Result, Why
from bot.core.replies import notes
from bot.teams.format import teams_escape

NOW = datetime(2026, 3, 2, 14, 0, tzinfo=timezone.utc)
UTC = ZoneInfo("UTC")
HOSTILE = "<!channel> ``` *not bold* & [link](http://x.test)\n1. Bill <b>BILL-7</b>"


def escalation(question: str = HOSTILE, intent: str = "bill_not_exported", private: bool = False) -> Escalation:
    return Escalation("e-1", "slack", "T1", "c-1", "U0ANA", "Ana *Ops*", "C0QBO", "1.0", "2.0", private,
                      NOW - timedelta(minutes=5), question, intent, 0.93,
                      (Tried("still_failing", "", "U0ANA", "Ana *Ops*", NOW - timedelta(minutes=7)),
                       Tried("chose", "period_closed", "U0ANA", "Ana *Ops*", NOW - timedelta(minutes=6))))


def slack_who(user: str, _name: str) -> str:
    return f"<@{user}>"


def teams_who(_user: str, name: str) -> str:
    from bot.teams.format import teams_escape

    return teams_escape(name)


def test_the_slack_post_carries_what_a_person_needs_escaped(core):
    post = notes.escalation(core.renderer, "slack", escalation(), who=slack_who, where="<#C0QBO>",
                            link="https://acme.slack.com/archives/C0QBO/p2", now=NOW, tz=UTC)
    text = json.dumps(post)
    assert "<!channel>" not in text and "&lt;!channel&gt;" in text  # can never ping the channel
    shown = "\n".join(b["text"]["text"] for b in post["blocks"] if b.get("text"))
    assert "*Asked by* <@U0ANA> today at 13:55 in <#C0QBO>" in shown
    assert f"*Diagnosis:* {core.catalog.title('bill_not_exported')} (confidence 93%)" in shown
    pasted = next(b["text"]["text"] for b in post["blocks"] if b.get("text", {}).get("text", "").startswith("*What"))
    assert pasted.count("```") == 2  # a fence in the paste cannot end the code block early
    assert "• Still failing, by <@U0ANA> today at 13:53" in shown
    assert f"• Picked another problem: {core.catalog.title('period_closed')}, by <@U0ANA> today at 13:54" in shown
    [claim] = [e for b in post["blocks"] for e in b.get("elements", []) if e.get("action_id") == "syncmedic_claim"]
    assert json.loads(claim["value"]) == {"escalation": "e-1", "case_id": "c-1"}


def test_not_recognised_and_private(core):
    post = notes.escalation(core.renderer, "slack", escalation("", "", private=True), who=slack_who, where="x",
                            link="https://acme.slack.com/archives/D1/p2", now=NOW, tz=UTC)
    shown = json.dumps(post)
    assert "*Needs a person:* a sync problem I did not recognise" in shown
    assert "*Diagnosis:* not recognised" in shown and "What they pasted" not in shown
    assert "a direct message with SyncMedic (only they can see it, so contact them directly)" in shown
    assert "Open the thread" not in shown  # nobody else can open a DM with the bot


def test_the_teams_card_escapes_names_and_the_paste(core):
    card = notes.escalation(core.renderer, "teams", escalation(), who=teams_who, where="a channel thread",
                            link="", now=NOW, tz=UTC)
    text = json.dumps(card)
    assert json.dumps(teams_escape("Ana *Ops*"))[1:-1] in text and "Ana *Ops*" not in text
    assert r"\\*not bold\\*" in text
    assert [a["verb"] for a in card["actions"] if a["type"] == "Action.Execute"] == ["claim"]


def test_why_notes_say_who_and_when_in_the_persons_zone(core):
    earlier = Outcome(Result.ALREADY, why=Why.ALREADY_FIXED, by="U0ANA", by_name="Ana *Ops*",
                      at=NOW - timedelta(hours=1), zone=ZoneInfo("America/New_York"))
    assert notes.why(core.renderer, "slack", earlier, slack_who, NOW) == "Already marked fixed by <@U0ANA> today at 08:00."
    assert notes.why(core.renderer, "teams", earlier, teams_who, NOW) == (
        f"Already marked fixed by {teams_escape('Ana *Ops*')} today at 08:00.")
    nobody = Outcome(Result.ALREADY, why=Why.ALREADY_FIXED, at=NOW - timedelta(days=1), zone=UTC)
    assert notes.why(core.renderer, "slack", nobody, slack_who, NOW) == "Already marked fixed yesterday at 14:00."
    claimed = Outcome(Result.ALREADY, why=Why.ALREADY_CLAIMED, by="U0BOB", at=NOW, zone=UTC)
    assert notes.why(core.renderer, "slack", claimed, slack_who, NOW) == "<@U0BOB> is already on it (picked up today at 14:00)."


def test_every_why_has_words(core):
    for why in Why:
        assert notes.why(core.renderer, "slack", Outcome(Result.ALREADY, why=why), slack_who, NOW)


def test_a_paste_is_trimmed_for_the_post():
    assert trimmed("  a  \n\n\n\n b \n") == "a\n\n b"
    assert trimmed("x" * 2000).endswith("\u2026") and len(trimmed("x" * 2000)) == 1501
    assert trimmed(None) == ""
