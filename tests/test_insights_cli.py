"""`python -m bot report` and `python -m bot gaps` end to end (the first in a subprocess, the rest
through the command line in this process: tests.support.run_bot_here), on the hand-built history
of tests/core/insights/history.py (whose figures test_outcomes.py checks by hand)."""

from __future__ import annotations

import json
import shutil

import pytest
import yaml

from bot.core.storage.store import Store
from tests.core.insights.history import Builder, at, hand_built
from tests.support import PROJECT_ROOT, run_bot, run_bot_here

PERIOD = ["--since", "2026-03-02", "--until", "2026-03-15"]
KEEP = {"RETENTION": "3650d"}   # the history is from March 2026: within RETENTION, its texts are shown


@pytest.fixture(scope="module")
def history(tmp_path_factory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('cli') / 'history.db'}"
    store = Store.from_url(url)
    hand_built(store)
    b = Builder(store)
    for n, text in enumerate(["ERROR CODE:5010 Stale Object Error on SO-1", "stale object error again on INV-9",
                              "QuickBooks says Stale Object Error for PAY-22"]):
        b.message(at(14, 9 + n), "out_of_scope", "out_of_scope", text=text, code="5010" if "5010" in text else "")
    store.engine.dispose()
    return url


def test_report_text(cli_env, history):
    result = run_bot(["report", *PERIOD], env={**cli_env, **KEEP, "DATABASE_URL": history})
    assert result.returncode == 0, result.stderr.decode()
    text = result.stdout.decode()
    assert text.startswith("SyncMedic report: 2026-03-02 to 2026-03-15 (UTC)")
    assert "self-service rate (Fixed it, no person)     29%" in text and "KNOWLEDGE GAPS: 6 messages" in text


def test_report_json_and_html(cli_env, history, tmp_path):
    page = tmp_path / "report.html"
    result = run_bot_here(["report", *PERIOD, "--json", "--html", str(page)], env={**cli_env, **KEEP, "DATABASE_URL": history})
    assert result.returncode == 0, result.stderr.decode()
    data = json.loads(result.stdout)
    assert data["messages"]["seen"] == 13 and data["cases"]["cases"] == 7 and data["period"]["tz"] == "UTC"
    assert data["gaps"]["clusters"][0]["size"] == 5 and data["gaps"]["clusters"][0]["code"] == "5010"
    assert page.read_text(encoding="utf-8").startswith("<!doctype html>")
    assert f"report written to {page}" in result.stderr.decode()


def test_gaps_draft_writes_a_draft_intent(cli_env, history, tmp_path):
    root = tmp_path / "project"   # a copy: the draft must not land in the project's own intents/
    for folder in ("intents", "responses"):
        shutil.copytree(PROJECT_ROOT / folder, root / folder)
    shutil.copytree(PROJECT_ROOT / "training" / "examples", root / "training" / "examples")
    env = {**cli_env, **KEEP, "DATABASE_URL": history, "SYNCMEDIC_ROOT": str(root)}
    listed = run_bot_here(["gaps", *PERIOD], env=env)
    assert listed.returncode == 0, listed.stderr.decode()
    biggest = {"id": listed.stdout.decode().split()[0]}      # the list starts with the biggest gap's id
    assert "    5 messages" in listed.stdout.decode().splitlines()[0]
    drafted = run_bot_here(["gaps", *PERIOD, "--draft", biggest["id"]], env=env)
    assert drafted.returncode == 0, drafted.stderr.decode()
    assert "wrote" in drafted.stdout.decode() and "draft: true" in drafted.stdout.decode()
    intent = yaml.safe_load((root / "intents" / "stale_object_error.yaml").read_text(encoding="utf-8"))
    assert intent["draft"] is True and intent["id"] == "stale_object_error"
    assert len(yaml.safe_load((root / "training" / "examples" / "stale_object_error.yaml")
                              .read_text(encoding="utf-8"))["examples"]) == 5
    missing = run_bot_here(["gaps", *PERIOD, "--draft", "gnothere"], env=env)
    assert missing.returncode == 1 and "no gap 'gnothere'" in missing.stderr.decode()


def test_past_retention_the_gaps_are_counted_not_shown(cli_env, history):
    result = run_bot_here(["report", *PERIOD, "--json"], env={**cli_env, "RETENTION": "1d", "DATABASE_URL": history})
    data = json.loads(result.stdout)
    assert (data["gaps"]["total"], data["gaps"]["past_retention"], data["gaps"]["clusters"]) == (6, 6, [])
    assert "Stale" not in result.stdout.decode()


def test_no_database_and_bad_dates(cli_env, tmp_path):
    absent = run_bot_here(["report"], env={**cli_env, "DATABASE_URL": f"sqlite:///{tmp_path / 'none.db'}"})
    assert absent.returncode == 1 and "There is no database" in absent.stderr.decode()
    assert not (tmp_path / "none.db").exists()
    Store.from_url(f"sqlite:///{tmp_path / 'x.db'}").engine.dispose()
    bad = run_bot_here(["report", "--since", "last week"], env={**cli_env, "DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"})
    assert bad.returncode == 2 and "use a date such as 2026-04-01" in bad.stderr.decode()
