"""The admin's report: outcomes and knowledge gaps for a period, as one plain value.

`build_report` reads the database once per figure family (bot/core/insights/outcomes.py,
gaps.py); the report is then rendered as text, JSON, HTML, an App Home section or a Teams card
(render.py), none of which computes anything. `to_json(samples=False)` and the views built
without samples carry no message text at all: that is what channels and non-private places get
(the Desk decides which, bot/core/desk.py). No view ever carries a user id or a token: people
are only counted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from ..storage.store import Store
from .gaps import Gaps, find_gaps
from .outcomes import Outcomes, outcomes
from .period import Period

REPORT_VERSION = 1


@dataclass
class Report:
    period: Period
    generated_at: datetime
    outcomes: Outcomes
    gaps: Gaps
    titles: dict[str, str]           # intent id -> title, for every intent the report names
    retention_days: float

    def to_json(self, samples: bool = True) -> dict[str, Any]:
        return {"version": REPORT_VERSION, "generated_at": self.generated_at.isoformat(),
                "period": self.period.to_json(), "retention_days": self.retention_days,
                **self.outcomes.to_json(), "gaps": self.gaps.to_json(samples), "titles": dict(self.titles)}


def build_report(store: Store, engine: Any, period: Period, now: datetime, *, retention: timedelta,
                 escalate_after: int = 2, exact_limit: int | None = None) -> Report:
    found = outcomes(store, period, escalate_after)
    gaps = find_gaps(store, engine, period, now, retention, exact_limit=exact_limit)
    catalog = engine.catalog
    named = set(found.by_intent) | {i for f in found.by_intent.values() for i in f.corrected_to}
    named |= {g.nearest for g in gaps.clusters if g.nearest}
    named |= {i for g in gaps.clusters for i in g.corrected_to}
    titles = {i: catalog.title(i) for i in sorted(named)}
    return Report(period, now, found, gaps, titles, round(retention.total_seconds() / 86400, 2))
