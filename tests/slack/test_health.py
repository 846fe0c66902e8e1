"""Health that tells the truth (issue 15, item 9).

A SQLite file deleted or replaced while the bot runs used to go unnoticed (/healthz said ok,
the bot answered into the unlinked file, and after a restart every case was gone); a
PostgreSQL outage put a traceback in the log for every request. Now /healthz fails with the
reason, writes are refused (503: Slack delivers them again), and the log says so once, then
once a minute. The log filter is tested in tests/test_health.py, with a clock the test moves;
a PostgreSQL outage with real processes in tests/scheduling/test_outage.py."""

from __future__ import annotations

import logging
import os
import shutil

import pytest

from tests.slack.harness import BotClient
from tests.standins.slack_payloads import dm_event

BILL = 'Bill "B-1042" has not been exported to QuickBooks'


def database_file(bot: BotClient) -> str:
    path = bot.services.health.path
    assert path is not None
    return str(path)


async def health(bot: BotClient) -> tuple[int, dict]:
    async with await bot.get("/healthz") as resp:
        return resp.status, await resp.json()


@pytest.mark.parametrize("how", ["deleted", "replaced"])
async def test_a_sqlite_file_deleted_or_replaced_while_running_is_noticed_once(bot: BotClient, caplog, how, tmp_path):
    status, _ = await bot.event(dm_event(BILL))
    await bot.drain()
    assert status == 200 and len(bot.stub.posts()) == 1
    path = database_file(bot)
    if how == "deleted":
        os.unlink(path)
    else:  # a backup restored over it, say
        shutil.copy(path, tmp_path / "copy.db")
        os.replace(tmp_path / "copy.db", path)
    caplog.clear()

    for _ in range(5):
        status, body = await health(bot)
        assert status == 503 and how in body["database"] and body["status"] == "unavailable"
        status, _ = await bot.event(dm_event(BILL))
        assert status == 503  # not answered into a file nobody will see again: Slack delivers it again
    await bot.drain()

    assert len(bot.stub.posts()) == 1
    said = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(said) == 1 and how in said[0].getMessage() and not said[0].exc_info


async def test_healthz_reports_the_database_and_the_model(bot: BotClient):
    status, body = await health(bot)
    assert status == 200 and body["status"] == "ok" and "database" not in body
    assert body["pid"] == os.getpid()
    assert len(body["model"]["fingerprint"] or "") == 64 and body["model"]["built_at"]
