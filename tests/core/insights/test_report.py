"""The report as people see it: text, JSON, the HTML page, Slack and Teams; and who sees what
(the Desk's rules: admins only, samples only where nobody else reads them)."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest

from bot.core.desk import REPORT_REUSE, Desk
from bot.core.insights.period import Period
from bot.core.insights.render import report_renderer
from bot.core.insights.report import build_report
from bot.core.outcomes import Result, Where
from bot.slack.home import home_view
from tests.core.insights.history import SINCE, UNTIL, Builder, at, hand_built
from tests.support import Clock, strings

HOSTILE = "<script>alert(1)</script> <!channel> & *bold* [link](https://evil.example) ERROR qbo 7777"
SECRET_USER = "U0SECRETUSER"


@pytest.fixture
def report(sqlite_store, core):
    hand_built(sqlite_store)
    b = Builder(sqlite_store)
    b.message(at(14, 9), "out_of_scope", "out_of_scope", text=HOSTILE, user=SECRET_USER)
    b.message(at(14, 10), "out_of_scope", "out_of_scope", text=HOSTILE + " again", user=SECRET_USER)
    return build_report(sqlite_store, core.engine, Period(SINCE, UNTIL), UNTIL, retention=timedelta(days=30))


def test_text_report_has_every_section(report, core):
    text = report_renderer(core.renderer).text(report)
    assert text.startswith("SyncMedic report: 2026-03-02 to 2026-03-15 (UTC)")
    for line in ("seen                                        12", "self-service rate (Fixed it, no person)     29%",
                 "median time from diagnosis to Fixed it      4.2 hours", "still open at the end of the period         4",
                 "corrected to: " + core.catalog.title("period_closed") + " (1)"):
        assert line in text, line
    # The second week, as worked out by hand, plus the fixture's two hostile refusals.
    assert re.search(r"2026-03-09 +8 +3 +0 +4 +3 +0 +1 +0% ", text)
    assert "KNOWLEDGE GAPS: 5 messages I refused or got wrong (4 refused, 1 corrected with Not this)" in text
    assert "python -m bot gaps --draft" in text


def test_json_is_the_figures(report):
    data = json.loads(json.dumps(report.to_json()))
    assert data["messages"] == {"seen": 12, "diagnosed": 6, "choice": 1, "refused": 4, "other": 1}
    assert data["cases"]["self_service_rate"] == round(2 / 7, 4) and data["cases"]["not_this"] == 1
    assert [w["first_day"] for w in data["weeks"]] == ["2026-03-02", "2026-03-09"]
    assert data["sync_errors"]["open_by_age"]["over_30_days"] == 1
    assert data["period"]["last_day"] == "2026-03-15" and data["gaps"]["total"] == 5
    assert all("samples" in g for g in data["gaps"]["clusters"])


def test_the_page_is_self_contained(report, core):
    page = report_renderer(core.renderer).html(report)
    assert page.startswith("<!doctype html>") and "<style>" in page
    assert page.count("<svg") == 4 and "chart-weekly" in page and "chart-gaps" in page
    assert "<script" not in page.replace("&lt;script", "")           # no script of ours; the sample's is text
    assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", page)   # nothing fetched
    assert "&lt;script&gt;alert([n])&lt;/script&gt;" in page          # escaped, and masked


def test_nobody_is_named_anywhere(report, core):
    rendered = report_renderer(core.renderer)
    outputs = [rendered.text(report), rendered.html(report), json.dumps(report.to_json()),
               json.dumps(rendered.channel_message("slack", report, samples=False)),
               json.dumps(rendered.channel_message("teams", report, samples=True)),
               json.dumps(home_view([], core.renderer, UNTIL, True, report))]
    for out in outputs:
        assert SECRET_USER not in out and "U1" not in re.findall(r"\bU\d\b", out)


def test_channels_get_no_message_text(report, core):
    rendered = report_renderer(core.renderer)
    for payload in (rendered.channel_message("slack", report, samples=False),
                    rendered.channel_message("teams", report, samples=False)):
        shown = "\n".join(strings(payload))
        for said in ("alert(", "[ref]", "will not sync", "stale object error again"):  # what people wrote
            assert said not in shown
        assert "12" in shown  # the figures are there
    assert rendered.view(report, "slack", samples=False)["gaps"]["clusters"][0]["samples"] == []


def test_samples_are_escaped_for_each_channel(report, core):
    rendered = report_renderer(core.renderer)
    home = json.dumps(home_view([], core.renderer, UNTIL, True, report))
    assert "&lt;script&gt;alert([n])&lt;/script&gt; &amp;" in home and "<script>" not in home
    card = json.dumps(rendered.channel_message("teams", report, samples=True))
    assert "\\\\[link\\\\]\\\\(https" in card or "\\\\[link\\\\]" in card   # markdown made literal


def test_only_admins_get_the_report_and_samples_only_in_private(sqlite_store, core):
    clock = Clock(UNTIL)
    desk = Desk(core.engine, sqlite_store, admin_users=frozenset({"UADMIN"}), clock=clock)
    assert desk.report("UOTHER", private=True).result is Result.REFUSED
    private = desk.report("UADMIN", private=True)
    assert private.done and private.details["samples"] is True
    assert desk.report("UADMIN", private=False).details["samples"] is False
    nobody = Desk(core.engine, sqlite_store, clock=clock)       # ADMIN_USERS unset: nobody is an admin
    assert nobody.report("UADMIN", private=True).result is Result.REFUSED


def test_the_default_report_is_reused_briefly(sqlite_store, core):
    clock = Clock(UNTIL)
    desk = Desk(core.engine, sqlite_store, clock=clock)
    first = desk.build_report()
    assert desk.build_report() is first
    clock.advance(REPORT_REUSE)
    assert desk.build_report() is not first
    assert desk.build_report(Period(SINCE, UNTIL)) is not desk.build_report(Period(SINCE, UNTIL))


def test_every_answered_message_is_recorded_with_its_case(sqlite_store, core):
    """Desk.plan_cases plans a record for each answer; only a refused one keeps its text."""
    clock = Clock(UNTIL - timedelta(hours=1))
    desk = Desk(core.engine, sqlite_store, clock=clock)
    texts = ['Bill "BILL-7731" has not been exported to QuickBooks', "what's the weather like", "hi"]
    answers = desk.answer_many(texts)
    planned = desk.plan_cases([(t, Where("slack", "T1", "C1", "", f"{n}.1", "U1")) for n, t in enumerate(texts)],
                              answers)
    kinds = [p.asked.kind for p in planned]
    assert kinds == ["diagnosis", "out_of_scope", "meta"]
    assert planned[0].asked.case_id == planned[0].case.id and planned[1].asked.case_id == ""
    assert [p.asked.text for p in planned] == [None, "what's the weather like", None]
    sqlite_store.progress(opened=[planned[0].case], answered=[(None, planned[0].case.id, "9.1")],
                          asked=[p.asked for p in planned])
    sqlite_store.progress(asked=[p.asked for p in planned])       # answered again: still once
    clock.advance(timedelta(hours=1))
    report = desk.build_report()
    assert report.outcomes.messages.to_json() == {"seen": 3, "diagnosed": 1, "choice": 0, "refused": 1, "other": 1}
    assert report.gaps.refused == 1
