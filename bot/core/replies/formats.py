"""How a channel writes text: its escape, its bold, and how a rendered message is fitted to the
channel's limits. The core renders through these and knows no platform; Slack's and Teams'
own formats live with their platforms (bot/slack/format.py, bot/teams/format.py) and are
handed to the Renderer and Phrases when the core is built (bot/wiring.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable


class Safe(str):
    """Already escaped for the channel; finalize lets it through untouched."""


def _unchanged(rendered: Any) -> Any:
    return rendered


def _always(rendered: Any) -> bool:
    return True


def _nobody(platform: str, user: str) -> str | None:
    return None


@dataclass(frozen=True)
class ChannelFormat:
    name: str
    escape: Callable[[str], str]            # user text made literal in this channel
    bold: Callable[[str], str]              # emphasis for a slot's value
    fit: Callable[[Any], Any] = field(default=_unchanged)  # a rendered message within the channel's limits
    # Whether a fitted message is within the channel's measured budget as it is (a digest
    # that is not is shown with fewer groups, the rest in a thread).
    fits: Callable[[Any], bool] = field(default=_always)
    # How this channel names a person of `platform` (a Slack mention), or None: the words say "someone".
    mention: Callable[[str, str], str | None] = field(default=_nobody)


TEXT = ChannelFormat("text", lambda text: text, lambda text: text)


def cut(text: str, limit: int) -> str:
    """`text` shortened to `limit` characters, with an ellipsis when something was cut."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "\u2026"
