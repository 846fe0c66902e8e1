"""The Slack app manifest a new user pastes must match what the code listens for."""

from pathlib import Path

import yaml

from bot.app import SLACK_SCOPES
from bot.slack.handlers import COMMAND, SHORTCUT

MANIFEST = yaml.safe_load((Path(__file__).resolve().parent.parent / "slack" / "manifest.yml").read_text())


def test_scopes_match_what_the_oauth_flow_asks_for():
    assert sorted(MANIFEST["oauth_config"]["scopes"]["bot"]) == sorted(SLACK_SCOPES)


def test_command_and_shortcut_match_the_handlers():
    assert [c["command"] for c in MANIFEST["features"]["slash_commands"]] == [COMMAND]
    assert [s["callback_id"] for s in MANIFEST["features"]["shortcuts"]] == [SHORTCUT]


def test_events_cover_mentions_dms_threads_home_and_uninstall():
    events = set(MANIFEST["settings"]["event_subscriptions"]["bot_events"])
    assert {"app_mention", "message.channels", "message.im", "app_home_opened", "app_uninstalled",
            "tokens_revoked"} <= events
    assert MANIFEST["settings"]["interactivity"]["is_enabled"] is True
