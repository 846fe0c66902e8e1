"""Settings that cannot work stop start-up with one line naming the variable (issue 15, item 8).

Each setting is checked where it is read (Settings.from_env), and the database where it is
opened: a URL SQLAlchemy cannot use or a server that does not answer is as much a
configuration error as a typo. Every command that opens the database exits 2 with that one
line and no traceback.
"""

from __future__ import annotations

import socket

import pytest

from bot.settings import Settings, SettingsError

from tests.support import run_bot


@pytest.mark.parametrize("name, value", [
    ("DATABASE_URL", "garbage"),
    ("DATABASE_URL", "mysql://syncmedic:hunter2@db.example.com/syncmedic"),
    ("DATABASE_URL", "sqlite:///"),
    ("DATABASE_URL", "sqlite://"),
    ("DATABASE_URL", "sqlite:///:memory:"),
    ("LOG_LEVEL", "LOUD"),
    ("SLACK_API_BASE_URL", "not a url"),
    ("SLACK_API_BASE_URL", "ftp://slack.com/api/"),
    ("SLACK_API_BASE_URL", "https://slack.com:port/api/"),
    ("SCHEDULER_INTERVAL", "0s"),
])
def test_an_unusable_setting_is_refused_naming_it(name, value):
    with pytest.raises(SettingsError) as refused:
        Settings.from_env({name: value})
    message = str(refused.value)
    assert message.startswith(name) and "\n" not in message
    assert "hunter2" not in message  # a password in a URL is never repeated


def test_usable_values_are_kept():
    settings = Settings.from_env({"DATABASE_URL": "postgres://u:p@db:5432/x", "LOG_LEVEL": "warn",
                                  "SLACK_API_BASE_URL": "https://slack-gov.com/api", "SLACK_BOT_TOKEN": " xoxb-1\n"})
    assert settings.database_url == "postgres://u:p@db:5432/x"
    assert settings.log_level == "WARNING"
    assert settings.slack_api_base_url == "https://slack-gov.com/api/"
    assert settings.slack_bot_token == "xoxb-1"  # the line break a paste brings is not part of it
    assert Settings.from_env({"DATABASE_URL": "sqlite:///var/x.db"}).database_url == "sqlite:///var/x.db"


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def sync_history(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("csv") / "history.csv"
    path.write_text("Date,Type,Reference,Status,Message\n2026-03-01,Sale,SO-1,Error,Something failed\n")
    return str(path)


@pytest.mark.parametrize("command", ["run", "scheduler", "ingest", "train"])
@pytest.mark.parametrize("url", ["garbage", "unreachable"])
def test_every_command_that_opens_the_database_exits_2_with_one_line(command, url, cli_env, tmp_path,
                                                                     sync_history):
    if url == "unreachable":  # a PostgreSQL server nobody listens for
        url = f"postgresql://syncmedic:hunter2@127.0.0.1:{_closed_port()}/syncmedic"
    args = {"ingest": ["ingest", sync_history], "train": ["train", "--quiet"]}.get(command, [command])
    env = {**cli_env, "DATABASE_URL": url, "SYNCMEDIC_DATA_DIR": str(tmp_path / "data"), "PORT": "0"}
    result = run_bot(args, env=env, timeout=120)
    err = result.stderr.decode()
    assert result.returncode == 2, err
    assert err.startswith("configuration error: DATABASE_URL") and err.count("\n") == 1, err
    assert "Traceback" not in err and "hunter2" not in err
    assert not (tmp_path / "data" / "model").exists()  # refused before any model work
