"""The digest in words: what each channel's digest layout (responses/<channel>/digest.*) gets,
and how a digest too big for its channel is cut.

A digest fits its channel's measured budget (ChannelFormat.fits: Slack's block-text budget,
Teams' card size) by showing fewer groups, biggest first, with "and N more" and the rest
posted as replies in the digest's thread, as many groups to a reply as fit. `compact` (after
the platform refused a digest anyway) posts the header alone and every group in the thread.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Callable, Mapping, Protocol

from .formats import ChannelFormat, Safe
from .moments import age_text

if TYPE_CHECKING:  # types only: the digest's module brings SQLAlchemy, which `classify` never needs
    from ..cases.digest import Digest, Entry, Group


class DigestRenderer(Protocol):
    """What the digest needs of the Renderer (bot/core/replies/render.py), which calls it."""

    formats: Mapping[str, ChannelFormat]
    phrases: Callable[..., str]

    def raw_layout(self, channel: str, name: str, ctx: dict[str, Any]) -> Any: ...


SPARK = "▁▂▃▄▅▆▇█"
QUESTION_WORDS = 8
QUESTION_CHARS = 60
COMPACT_GROUPS = 5      # groups in one thread reply when the platform refused the fitted digest


@dataclass
class DigestPost:
    """A digest as posted: the message, then the replies in its thread (possibly none)."""

    main: Any
    rest: list[Any] = field(default_factory=list)
    shown_groups: int = 0


def sparkline(values: list[int]) -> str:
    """One block character a value, from the lowest to the highest of them, as sparklines are
    drawn (the figures beside it say where it starts and ends); a flat line sits in the middle."""
    if not values:
        return ""
    low, high = min(values), max(values)
    if high == low:
        return SPARK[3] * len(values) if high else SPARK[0] * len(values)
    return "".join(SPARK[round((v - low) / (high - low) * (len(SPARK) - 1))] for v in values)


def first_words(question: str) -> str:
    words = question.split()
    head = " ".join(words[:QUESTION_WORDS])
    if len(head) > QUESTION_CHARS:
        head = head[:QUESTION_CHARS].rsplit(" ", 1)[0] or head[:QUESTION_CHARS]
    return head + ("…" if head != " ".join(words) else "")


def epoch(moment: datetime | None) -> str:
    return str(int(moment.timestamp())) if moment is not None else ""


class DigestWords:
    """Builds the digest's layout context for one channel from the Renderer's phrases."""

    def __init__(self, renderer: DigestRenderer, channel: str) -> None:
        self.r = renderer
        self.channel = channel
        self.fmt = renderer.formats[channel]

    def say(self, key: str, **values: Any) -> str:
        return self.r.phrases(key, self.channel, **values)

    def entry(self, e: Entry) -> str:

        esc = self.fmt.escape
        details = ", ".join(esc(d) for d in e.details)
        if not e.from_chat:
            return self.say("digest_reference", reference=Safe(esc(e.reference or "")), details=Safe(details))
        who = self.fmt.mention(e.platform, e.user)
        who = Safe(who) if who else Safe(self.say("digest_someone", platform=e.platform.capitalize()))
        reference = Safe(esc(e.reference)) if e.reference else ""
        if e.question:
            return self.say("digest_asked", who=who, words=Safe(esc(first_words(e.question))), reference=reference)
        return self.say("digest_asked_erased", who=who, reference=reference)

    def group(self, g: Group, now: datetime) -> dict[str, Any]:

        title = g.title if g.title is not None else self.say("digest_unknown_title")
        return {"intent": g.intent, "title": title, "count": g.count, "age": age_text(g.oldest, now, self.r.phrases),
                "refs": [self.entry(e) for e in g.shown], "more": g.more, "known": g.title is not None,
                "summary": (self.r.kb_text(self.channel, g.summary, {}) if g.summary is not None
                            else self.say("digest_unknown_summary"))}

    def view(self, digest: Digest) -> dict[str, Any]:
        now = digest.generated_at
        return {
            "total": digest.total, "new": digest.new, "fixed": digest.fixed,
            "since_last_digest": digest.since_last_digest, "since": epoch(digest.since),
            "trend": sparkline(digest.trend), "trend_days": len(digest.trend),
            "trend_from": digest.trend[0] if digest.trend else 0, "trend_to": digest.trend[-1] if digest.trend else 0,
            "snoozed": [{"title": self.group(g, now)["title"], "count": g.count} for g in digest.snoozed],
            "groups": [self.group(g, now) for g in digest.groups],
            "generated": now.strftime("%Y-%m-%d %H:%M UTC"),
        }


def digest_post(renderer: DigestRenderer, channel: str, digest: Digest, compact: bool = False) -> DigestPost:
    """The digest for `channel`, fitted: as many groups as the budget allows in the message, the
    rest in thread replies."""
    view = DigestWords(renderer, channel).view(digest)
    groups = view["groups"]
    fmt = renderer.formats[channel]

    # Measured before fitting: fitting would shorten a too-long digest's text, where what it
    # needs is fewer groups in the message and the others in the thread.
    def main(n: int) -> Any:
        hidden = groups[n:]
        return renderer.raw_layout(channel, "digest", {**view, "part": "main", "groups": groups[:n],
                                                    "hidden_groups": len(hidden),
                                                    "hidden_entries": sum(g["count"] for g in hidden)})

    def reply(chunk: list[dict[str, Any]]) -> Any:
        return renderer.raw_layout(channel, "digest", {**view, "part": "rest", "groups": chunk, "hidden_groups": 0,
                                                    "hidden_entries": 0})

    shown = 0 if compact else len(groups)
    message = main(shown)
    if not fmt.fits(message):
        low, high = 0, shown - 1           # main(0), the header alone, always fits
        while low < high:                  # the most groups that fit
            middle = (low + high + 1) // 2
            if fmt.fits(main(middle)):
                low = middle
            else:
                high = middle - 1
        shown, message = low, main(low)
    rest: list[Any] = []
    chunk: list[dict[str, Any]] = []
    most = COMPACT_GROUPS if compact else len(groups)
    for g in groups[shown:]:
        if chunk and (len(chunk) >= most or not fmt.fits(reply(chunk + [g]))):
            rest.append(reply(chunk))
            chunk = []
        chunk.append(g)
    if chunk:
        rest.append(reply(chunk))
    return DigestPost(fmt.fit(message), [fmt.fit(r) for r in rest], shown)


def digest_json(renderer: DigestRenderer, digest: Digest) -> dict[str, Any]:
    """`python -m bot digest --preview --json`: every group, every shown reference, the header's figures."""
    words = DigestWords(renderer, "text")
    groups = []
    for g in digest.groups:
        groups.append({"intent": g.intent, "title": g.title if g.title is not None else words.say("digest_unknown_title"),
                       "count": g.count, "references": [words.entry(e) for e in g.shown], "more": g.more,
                       "oldest": g.oldest.isoformat() if g.oldest else None})
    return {"total": digest.total, "generated_at": digest.generated_at.isoformat(), "groups": groups,
            "new": digest.new, "fixed": digest.fixed,
            "since": digest.since.isoformat() if digest.since else None, "since_last_digest": digest.since_last_digest,
            "trend": list(digest.trend),
            "snoozed": [{"intent": g.intent, "count": g.count,
                         "until": g.snoozed_until.isoformat() if g.snoozed_until else None} for g in digest.snoozed]}
