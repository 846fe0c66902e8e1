"""SUPPORT_CONTACT: the one way to Cin7 Core support every escalation text shows."""

from __future__ import annotations

import pytest

from bot.settings import DEFAULT_SUPPORT_CONTACT, Settings, SettingsError
from tests.support import run_bot_here


def test_the_default_is_cin7_cores_help_centre():
    assert Settings.from_env({}).support_contact == DEFAULT_SUPPORT_CONTACT == "https://help.core.cin7.com"
    assert Settings.from_env({"SUPPORT_CONTACT": "   "}).support_contact == DEFAULT_SUPPORT_CONTACT


def test_a_configured_contact_is_kept_on_one_line():
    env = {"SUPPORT_CONTACT": "  help@partner.example \t (Mon-Fri) "}
    assert Settings.from_env(env).support_contact == "help@partner.example (Mon-Fri)"


@pytest.mark.parametrize("value", ["x" * 201, "help@partner.example\x1b[31m"])
def test_an_unusable_contact_stops_start_up_naming_the_variable(value):
    with pytest.raises(SettingsError, match="SUPPORT_CONTACT"):
        Settings.from_env({"SUPPORT_CONTACT": value})


def test_the_configured_contact_reaches_the_reply(cli_env):
    result = run_bot_here(["ask", 'Bill "BILL-7731" has not been exported to QuickBooks'],  # an exact error text
                     env={**cli_env, "SUPPORT_CONTACT": "help@partner.example"})
    assert result.returncode == 0, result.stderr.decode()
    out = result.stdout.decode()
    assert "Cin7 Core support (help@partner.example)" in out
    assert DEFAULT_SUPPORT_CONTACT not in out and "dearsystems" not in out
