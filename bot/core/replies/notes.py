"""The words for what a click did, for every edge: why nothing changed (Outcome.why, with who
and when), what to try after "Still failing", the "Not this" menu and the escalation post.

Each is one layout in responses/<channel>/ or one phrase in responses/phrases.yaml; this module
gathers their context from an Outcome once, so Slack and Teams only say where it goes. Who
someone is, is the edge's to write (`who(user_id, name)`: a Slack mention, a Teams name),
already escaped for its channel; everything else a user typed is escaped here.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Callable
from zoneinfo import ZoneInfo

from ..cases.escalations import Escalation
from ..outcomes import Outcome
from .moments import when_text
from .render import Renderer, Safe

Who = Callable[[str, str], str]   # (user id, display name) -> how the channel names them, escaped
UTC = ZoneInfo("UTC")


def when(renderer: Renderer, channel: str, moment: datetime | None, now: datetime, tz: ZoneInfo | None) -> str:
    """`moment` in the one format every note uses ("today at 14:05"), for `channel`."""
    if moment is None:
        return ""
    return when_text(moment, now, tz or UTC, lambda key, **v: renderer.phrases(key, channel, **v))


def why(renderer: Renderer, channel: str, outcome: Outcome, who: Who, now: datetime) -> str:
    """Why a click changed nothing, with who did it before and when."""
    by = who(outcome.by, outcome.by_name) if (outcome.by or outcome.by_name) else ""
    return renderer.phrases(f"why_{outcome.why}", channel, by=Safe(by),
                            at=Safe(when(renderer, channel, outcome.at, now, outcome.zone)))


def snoozed(renderer: Renderer, channel: str, outcome: Outcome, who: str, now: datetime) -> str:
    """"Snoozed by ...: I will ask again today at 14:05 (America/New_York)." `who` is already
    escaped for the channel; the zone is an IANA key ZoneInfo accepted (letters, digits and
    `/_+-`, nothing any channel needs escaped: its `_` sits inside a word)."""
    zone = outcome.zone.key if outcome.zone is not None else ""
    return renderer.phrases("note_snoozed", channel, user=Safe(who), zone=Safe(zone),
                            when=Safe(when(renderer, channel, outcome.until, now, outcome.zone)))


def _topics(renderer: Renderer, channel: str, intents: tuple[str, ...]) -> list[dict[str, str]]:
    catalog = renderer.catalog
    return [{"id": i, "title": catalog.title(i), "summary": renderer.kb_text(channel, catalog[i].summary, {})}
            for i in intents if i in catalog]


def still_failing(renderer: Renderer, channel: str, outcome: Outcome, intent: str) -> Any:
    """What to try next: the related topics (each with its fix), a person, another diagnosis."""
    case_id = outcome.case.id if outcome.case is not None else ""
    return renderer.layout(channel, "still_failing", {
        "related": _topics(renderer, channel, outcome.related), "case_id": case_id,
        "intent": outcome.case.intent if outcome.case is not None else intent})


def not_this(renderer: Renderer, channel: str, outcome: Outcome) -> Any:
    """The menu of other problems: the one it replaces named and left out, most likely first."""
    catalog = renderer.catalog
    return renderer.layout(channel, "not_this", {
        "case_id": outcome.case.id if outcome.case is not None else "",
        "replaces": catalog.title(outcome.replaces) if outcome.replaces else "",
        "choices": [{"id": i, "title": catalog.title(i)} for i in outcome.choices], "ranked": outcome.ranked})


def escalation(renderer: Renderer, channel: str, e: Escalation, *, who: Who, where: str, link: str, now: datetime,
               tz: ZoneInfo | None, group: str = "") -> Any:
    """The post that asks a person: who asked and where, when, the pasted text (trimmed and
    escaped), the diagnosis and its confidence or "not recognised", what was tried, the link
    to the thread, and a Claim button (or, once claimed, who has it)."""
    say = renderer.phrases
    escape = renderer.formats[channel].escape
    question = escape(e.question)
    if channel == "slack":
        question = question.replace("```", "`\u200b``")  # a fence in the paste must not end the code block
    tried = []
    for t in e.tried:
        what = say(f"tried_{t.action}", channel, title=renderer.catalog.title(t.intent)) \
            if t.action in ("fixed", "still_failing", "not_this", "chose", "snooze") else escape(t.action)
        tried.append(say("tried_line", channel, what=Safe(what), by=Safe(who(t.user, t.user_name)),
                         at=Safe(when(renderer, channel, t.at, now, tz))))
    claimed = ""
    if e.claimed_by:
        claimed = say("note_claimed", channel, user=Safe(who(e.claimed_by, e.claimed_by_name or "")),
                      at=Safe(when(renderer, channel, e.claimed_at, now, tz)))
    value = {"escalation": e.id, "case_id": e.case_id or ""}
    return renderer.layout(channel, "escalation", {
        "group": group, "title": renderer.catalog.title(e.intent) if e.intent else "",
        "unknown": say("escalation_unknown", channel), "confidence_pct": round(e.confidence * 100),
        "asker": who(e.asker, e.asker_name), "where": where if not e.private else say("escalation_in_private", channel),
        "when": when(renderer, channel, e.created_at, now, tz), "question": question, "tried": tried,
        "link": link if not e.private else "", "value": json.dumps(value), "data": value, "claimed": claimed})
