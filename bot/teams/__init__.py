"""Microsoft Teams: activities -> the platform-free core; core replies -> Adaptive Cards.

Built on the Microsoft 365 Agents SDK (microsoft-agents-*, aiohttp hosting) and mounted on
the same aiohttp application as everything else, at /api/messages. Importing this package
loads nothing from the SDK; `build_teams` does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .edge import TeamsEdge


def build_teams(settings: Any, desk: Any, renderer: Any, store: Any) -> "TeamsEdge":
    """The Teams edge for these settings (no network yet)."""
    from ..core.replies.render import Phrases
    from .edge import TeamsEdge
    from .hosting import build_hosting

    return TeamsEdge(desk, renderer, Phrases(settings.responses_dir), store, build_hosting(settings),
                     default_tz=settings.digest_tz, hours=settings.business_hours, admin_users=settings.admin_users,
                     retry_after_seconds=settings.event_retry_after.total_seconds())
