"""The report in words: one view (plain data, escaped for its channel) and the layouts in
responses/ that show it: text/report.txt.j2 (the CLI), report/report.html.j2 (a page with SVG
charts and its stylesheet inline), slack/report.json.j2 and teams/report.json.j2 (the monthly
summary and the Teams reply), and the App Home's admin section (slack/home.json.j2).

Nothing is computed here beyond formatting: percentages, durations, dates. Message samples are
in the view only when `samples` is True (the Desk decides where that is allowed).
"""

from __future__ import annotations

import weakref
from typing import Any, Callable

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from ..replies.render import Renderer
from . import charts
from .outcomes import AGE_BANDS, CaseFigures
from .report import Report

SHORT_GAPS = 5       # gaps in the App Home, the Teams reply and the monthly summary
TEXT_GAPS = 15       # gaps listed by `python -m bot report`
CHART_GAPS = 10


def _pct(rate: float | None) -> str:
    return "\u2013" if rate is None else f"{rate:.0%}"


class ReportRenderer:
    def __init__(self, renderer: Renderer) -> None:
        self.renderer = renderer
        self.phrases = renderer.phrases
        options = dict(loader=FileSystemLoader(str(renderer.responses_dir)), undefined=StrictUndefined,
                       trim_blocks=True, lstrip_blocks=True, auto_reload=False)
        self._html = Environment(autoescape=select_autoescape(["html", "j2"]), **options)
        self._text = Environment(autoescape=False, **options)
        self._html.globals.update(columns=charts.columns, bars=charts.bars)

    # -- the view -----------------------------------------------------------------------------

    def duration(self, seconds: float | None) -> str:
        """"45 min", "3.2 hours", "2.5 days" (phrases.yaml's age_* words); a dash for none."""
        if seconds is None:
            return "\u2013"
        minutes = seconds / 60
        if minutes < 120:
            return self.phrases("age_minutes", count=max(1, round(minutes)))
        if minutes < 2 * 24 * 60:
            return self.phrases("age_hours", count=f"{minutes / 60:.1f}")
        return self.phrases("age_days", count=f"{minutes / 1440:.1f}")

    def _cases(self, f: CaseFigures, title: Callable[[str], str]) -> dict[str, Any]:
        return {**f.to_json(), "self_service_pct": _pct(f.self_service_rate),
                "median_to_fixed": self.duration(f.median_to_fixed_s),
                "corrected_list": [{"title": title(i), "count": n} for i, n in f.corrected_to.items()]}

    def view(self, report: Report, channel: str, samples: bool) -> dict[str, Any]:
        """Everything a layout shows. `channel` picks the escaping of user text and titles
        (slack, teams, text; html: none here, the page's autoescape does it)."""
        escape: Callable[[str], str] = (
            (lambda s: s) if channel in ("html", "text") else self.renderer.formats[channel].escape)

        def title(intent: str) -> str:
            return escape(report.titles.get(intent, intent))

        o = report.outcomes
        weeks = [{"first_day": w.period.first_day.isoformat(), "label": w.period.first_day.strftime("%m-%d"),
                  "messages": w.messages.to_json(), "cases": self._cases(w.cases, title),
                  "self_service_rate": w.cases.self_service_rate, "sync": w.sync.to_json()} for w in o.weeks]
        gaps = []
        for g in report.gaps.clusters:
            gaps.append({**g.to_json(samples=False), "first_seen": g.first_seen.date().isoformat(),
                         "last_seen": g.last_seen.date().isoformat(),
                         "code_name": escape(g.code_name), "nearest_title": title(g.nearest) if g.nearest else "",
                         "nearest_pct": _pct(g.nearest_score) if g.nearest_score is not None else "",
                         "corrected_list": [{"title": title(i), "count": n} for i, n in g.corrected_to.items()],
                         "samples": [escape(s) for s in g.samples] if samples else []})
        sync = o.sync
        return {
            "period": {"first_day": report.period.first_day.isoformat(), "last_day": report.period.last_day.isoformat(),
                       "tz": report.period.tz},
            "generated": report.generated_at.strftime("%Y-%m-%d %H:%M UTC"),
            "samples": samples,
            "retention_days": f"{report.retention_days:g}",
            "messages": o.messages.to_json(),
            "cases": self._cases(o.cases, title),
            "intents": [{"id": i, "title": title(i), **self._cases(f, title)} for i, f in o.by_intent.items()],
            "sync": {**sync.to_json(), "median_age": self.duration(sync.median_age_at_resolution_s),
                     "bands": [{"key": band, "count": sync.open_by_age[band]} for band, _ in AGE_BANDS]},
            "weeks": weeks,
            "gaps": {**report.gaps.to_json(samples=False), "clusters": gaps},
        }

    # -- layouts --------------------------------------------------------------------------------

    def text(self, report: Report, samples: bool = True) -> str:
        ctx = {**self.view(report, "text", samples), "shown_gaps": TEXT_GAPS}
        return self._text.get_template("text/report.txt.j2").render(ctx).strip() + "\n"

    def html(self, report: Report, samples: bool = True) -> str:
        """The whole page: one file, its stylesheet inline, charts as inline SVG, no script."""
        return self._html.get_template("report/report.html.j2").render(
            {**self.view(report, "html", samples), "page": True, "chart_gaps": CHART_GAPS}).strip() + "\n"

    def fragment(self, report: Report, samples: bool = True) -> str:
        """The page's content alone (the sandbox's Insights view puts it in its own page)."""
        return self._html.get_template("report/report.html.j2").render(
            {**self.view(report, "html", samples), "page": False, "chart_gaps": CHART_GAPS}).strip() + "\n"

    def stylesheet(self) -> str:
        return (self.renderer.responses_dir / "report" / "report.css").read_text(encoding="utf-8")

    def short(self, report: Report, channel: str, samples: bool) -> dict[str, Any]:
        """The short version's context: headline figures and the top SHORT_GAPS gaps."""
        view = self.view(report, channel, samples)
        view["gaps"]["clusters"] = view["gaps"]["clusters"][:SHORT_GAPS]
        return view

    def channel_message(self, channel: str, report: Report, samples: bool) -> Any:
        """slack: {"text", "blocks"}; teams: an Adaptive Card. The monthly summary (no samples)
        and the Teams reply to an admin's "report"."""
        return self.renderer.layout(channel, "report", self.short(report, channel, samples))


_RENDERERS: "weakref.WeakKeyDictionary[Renderer, ReportRenderer]" = weakref.WeakKeyDictionary()


def report_renderer(renderer: Renderer) -> ReportRenderer:
    """The ReportRenderer of `renderer`, made once (its templates compile once)."""
    found = _RENDERERS.get(renderer)
    if found is None:
        found = _RENDERERS[renderer] = ReportRenderer(renderer)
    return found
