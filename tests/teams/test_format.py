"""Teams' format: escaping and card limits (bot/teams/format.py)."""

from __future__ import annotations

from bot.teams.format import TEAMS_TEXT_CHARS, fit_teams, teams_escape


def test_fit_teams_cuts_long_text_blocks():
    card = fit_teams({"type": "AdaptiveCard", "body": [
        {"type": "Container", "items": [{"type": "TextBlock", "text": "y" * 9000}]}]})
    assert len(card["body"][0]["items"][0]["text"]) == TEAMS_TEXT_CHARS


def test_teams_escape_keeps_user_markdown_literal():
    assert teams_escape("**bold** [link](x)") == r"\*\*bold\*\* \[link\]\(x\)"
