"""The App Home tab: the user's open cases (and, for admins, the last 30 days in short, the
button that sends the full report, and the retrain button).

The words and the layout are responses/slack/home.json.j2; this module only gathers what it
shows. Ages come from the caller's `now` (the Desk's clock), so tests and the sandbox's moved
clock see the same "Asked 2 hours ago" a user would.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ..core.insights.render import report_renderer
from ..core.replies.moments import age_text
from ..core.replies.render import Renderer
from ..core.storage.tables import Case
from .format import slack_escape

SHOWN_CASES = 40  # one block each: well inside a view's 100 blocks, and still a readable page


def home_view(cases: list[Case], renderer: Renderer, now: datetime, is_admin: bool,
              report: Any = None) -> dict[str, Any]:
    """`report` (an admin's, bot/core/insights/report.py) adds its short version: the App Home
    is private to the person, so it may show masked message samples."""
    shown = [{"title": slack_escape(renderer.catalog.title(case.intent)), "channel": slack_escape(case.channel),
              "in_channel": case.channel[:1] in ("C", "G"),  # a DM's id starts with D: no link to it
              "age": age_text(case.created_at, now, renderer.phrases), "status": slack_escape(case.status)}
             for case in cases[:SHOWN_CASES]]
    insights = report_renderer(renderer).short(report, "slack", samples=True) if is_admin and report else None
    return renderer.layout("slack", "home", {"cases": shown, "is_admin": is_admin, "insights": insights})
