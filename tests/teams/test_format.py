"""Teams' format: escaping and card limits (bot/teams/format.py)."""

from __future__ import annotations

from bot.teams.format import (NBSP, TEAMS_CARD_BUDGET_BYTES, TEAMS_TEXT_CHARS, card_bytes, fit_teams, fits_teams,
                              keep_line_breaks, teams_escape)


def test_fit_teams_cuts_long_text_blocks():
    card = fit_teams({"type": "AdaptiveCard", "body": [
        {"type": "Container", "items": [{"type": "TextBlock", "text": "y" * 9000}]}]})
    assert len(card["body"][0]["items"][0]["text"]) == TEAMS_TEXT_CHARS


def test_fit_teams_keeps_a_card_within_the_size_budget():
    card = {"type": "AdaptiveCard", "body": [{"type": "TextBlock", "text": "z" * 3900} for _ in range(40)]}
    assert not fits_teams(card)
    assert card_bytes(fit_teams(card)) <= TEAMS_CARD_BUDGET_BYTES


def test_teams_escape_keeps_user_markdown_literal():
    assert teams_escape("**bold** [link](x)") == r"\*\*bold\*\* \[link\](x)"
    assert teams_escape("_italic_ and error _x") == r"\_italic\_ and error \_x"
    assert teams_escape(r"C:\*.csv") == r"C:\\*.csv"        # a backslash Markdown would swallow


def test_teams_escape_adds_no_backslash_teams_does_not_need():
    """Teams' mobile clients show escapes as backslashes: only what Teams would read as markup
    is escaped ("From your message: \\1. Bill ..." showed a stray backslash)."""
    for text in ("1. Bill BILL-7731 failed", "SKU_A_B-12", "a * b", "Price (USD) #4 <tag> {x} ~y~ `z` 3.50",
                 "(see [1])", "50% off! a+b=c"):
        assert "\\" not in teams_escape(text), text
    assert teams_escape("1. Bill\n2) Sale\n- Item\n+ more") == f"1.{NBSP}Bill\n2){NBSP}Sale\n-{NBSP}Item\n+{NBSP}more"


def test_single_line_breaks_are_kept_and_lists_stay_lists():
    assert keep_line_breaks("first line\nsecond line") == "first line\n\nsecond line"
    assert keep_line_breaks("1. one\n2. two\n- three") == "1. one\n2. two\n- three"
    assert keep_line_breaks("**Why**\n\n- a\n- b\nafter") == "**Why**\n\n- a\n- b\n\nafter"
    card = fit_teams({"type": "AdaptiveCard", "body": [{"type": "TextBlock", "text": "a\nb"}]})
    assert card["body"][0]["text"] == "a\n\nb"
