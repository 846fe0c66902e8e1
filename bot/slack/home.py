"""The App Home tab: the user's open cases (and, for admins, the retrain button)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Callable

from ..core.replies.render import Safe as _Safe
from ..core.storage.tables import Case

def _age(created: datetime, now: datetime) -> str:
    minutes = int((now - created).total_seconds() // 60)
    if minutes < 60:
        return f"{max(minutes, 1)} min ago"
    if minutes < 48 * 60:
        return f"{minutes // 60} h ago"
    return f"{minutes // (24 * 60)} days ago"

def home_view(cases: list[Case], title: Callable[[str], str], say: Callable[..., str], now: datetime,
              is_admin: bool) -> dict[str, Any]:
    blocks: list[dict[str, Any]] = [{"type": "header", "text": {"type": "plain_text", "text": say("home_title")}}]
    if not cases:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": say("home_empty")}})
    for case in cases[:40]:
        where = f"<#{case.channel}>" if case.channel[:1] in ("C", "G") else "a direct message"
        text = say("home_case", title=title(case.intent), age=_age(case.created_at, now), status=case.status,
                   where=_Safe(where))
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": text}})
    if is_admin:
        blocks += [{"type": "divider"},
                   {"type": "section", "text": {"type": "mrkdwn", "text": f"*{say('home_admin')}*"}},
                   {"type": "actions", "block_id": "syncmedic_admin", "elements": [
                       {"type": "button", "text": {"type": "plain_text", "text": say("home_retrain")},
                        "action_id": "syncmedic_admin_retrain", "value": "retrain"}]}]
    return {"type": "home", "blocks": blocks[:100]}

