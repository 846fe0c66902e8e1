"""Knowledge gaps: the messages the bot refused or got wrong, grouped by problem.

A gap message is a refused message (answered_messages, kind out_of_scope) or a diagnosis the
person corrected with "Not this" (its case's question, and what it was corrected to), in the
period. Its text is masked (bot/core/insights/mask.py) and clustered (cluster.py). A message
past RETENTION (older than that, or already erased by the retention purge) is counted in
`erased` and is never read, grouped or shown.

Each cluster says how many messages and people, when it was first and last seen, three masked
samples nearest its centre, the QuickBooks error code most of its messages carried, and the
nearest known problem: the one people corrected its messages to, or else the one the model
scores highest on them. Its id is a short hash of its most central sample, so it stays the same
between `python -m bot report` and `python -m bot gaps --draft ID` while the data does.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import and_, select

from ..nlu.catalog import Catalog
from ..nlu.text import normalise, one_line
from ..storage.store import Store
from ..storage.tables import AnsweredRow, CaseRow, FeedbackRow
from .mask import SAMPLE_CHARS, Masker, known_words
from .period import Period

SAMPLES = 3
DESCRIBED = 50          # clusters described (samples, nearest intent); smaller ones are only counted
NEAREST_TEXTS = 8       # members the model reads to find a cluster's nearest intent
KEYWORDS = 3
SAMPLE_CANDIDATES = 50  # the most central members samples are picked from
SAMPLE_POOL = 500       # members of a big cluster its centre is worked out from
DIVERSITY = 0.7         # how much being unlike the samples already picked counts


@dataclass(frozen=True)
class GapMessage:
    source: str              # "refused" or "corrected"
    text: str
    who: tuple[str, str, str]  # platform, workspace, user: counted, never shown
    at: datetime
    code: str = ""
    corrected_to: str = ""


@dataclass
class Gap:
    id: str
    size: int
    people: int
    first_seen: datetime
    last_seen: datetime
    refused: int
    corrected: int
    samples: list[str]
    code: str = ""
    code_name: str = ""
    nearest: str = ""
    nearest_score: float | None = None
    corrected_to: dict[str, int] = field(default_factory=dict)
    keywords: list[str] = field(default_factory=list)
    shapes: list[str] = field(default_factory=list)   # every member, masked (drafts)

    def to_json(self, samples: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id, "size": self.size, "people": self.people, "first_seen": self.first_seen.isoformat(),
            "last_seen": self.last_seen.isoformat(), "refused": self.refused, "corrected": self.corrected,
            "code": self.code, "code_name": self.code_name, "nearest_intent": self.nearest,
            "nearest_score": None if self.nearest_score is None else round(self.nearest_score, 4),
            "corrected_to": dict(self.corrected_to), "keywords": list(self.keywords)}
        if samples:
            out["samples"] = list(self.samples)
        return out


@dataclass
class Gaps:
    clusters: list[Gap]
    refused: int = 0
    corrected: int = 0
    erased: int = 0            # past RETENTION: counted, not shown
    undescribed: int = 0       # messages in clusters past the first DESCRIBED
    undescribed_clusters: int = 0
    approximate: bool = False

    @property
    def total(self) -> int:
        return self.refused + self.corrected

    def to_json(self, samples: bool = True) -> dict[str, Any]:
        return {"total": self.total, "refused": self.refused, "corrected": self.corrected,
                "past_retention": self.erased, "clustered_approximately": self.approximate,
                "smaller_clusters": {"clusters": self.undescribed_clusters, "messages": self.undescribed},
                "clusters": [g.to_json(samples) for g in self.clusters]}


# -- reading the database --------------------------------------------------------------------------

def gap_messages(store: Store, period: Period, keep_from: datetime) -> tuple[list[GapMessage], int, int, int]:
    """(messages still within retention, refused count, corrected count, erased count)."""
    found: list[GapMessage] = []
    refused = corrected = erased = 0
    in_period = and_(CaseRow.created_at >= period.since, CaseRow.created_at < period.until)
    with store.engine.connect() as conn:
        for platform, workspace, user, text, code, at in conn.execute(
                select(AnsweredRow.platform, AnsweredRow.workspace, AnsweredRow.user, AnsweredRow.text,
                       AnsweredRow.code, AnsweredRow.asked_at)
                .where(AnsweredRow.kind == "out_of_scope", AnsweredRow.asked_at >= period.since,
                       AnsweredRow.asked_at < period.until).order_by(AnsweredRow.asked_at)):
            refused += 1
            if text is None or at < keep_from:
                erased += 1
                continue
            found.append(GapMessage("refused", text, (platform, workspace, user), at, code or ""))
        seen: set[str] = set()
        for case_id, platform, workspace, user, question, entities, created, before, after, kind in conn.execute(
                select(CaseRow.id, CaseRow.platform, CaseRow.workspace, CaseRow.user, CaseRow.question,
                       CaseRow.entities, CaseRow.created_at, FeedbackRow.intent_before, FeedbackRow.intent_after,
                       AnsweredRow.kind)
                .join(FeedbackRow, FeedbackRow.case_id == CaseRow.id)
                .outerjoin(AnsweredRow, AnsweredRow.case_id == CaseRow.id)
                .where(in_period, FeedbackRow.action.like("chose:%"), FeedbackRow.created_at < period.until)
                .order_by(FeedbackRow.id)):
            if case_id in seen:
                continue
            seen.add(case_id)  # the first choice says whether the answer was wrong
            if (kind or "diagnosis") != "diagnosis" or after == before:
                continue
            corrected += 1
            if question is None or created < keep_from:
                erased += 1
                continue
            code = str((entities or {}).get("error_code", ""))
            found.append(GapMessage("corrected", question, (platform, workspace, user), created, code, after))
    return found, refused, corrected, erased


# -- describing clusters -------------------------------------------------------------------------

def _vocabulary_texts(catalog: Catalog, lookups: Any) -> list[str]:
    """The knowledge base's own words (never names to mask): intents, QuickBooks' error names,
    the products we know of."""
    texts = []
    for intent in catalog.intents.values():
        texts += intent.training_texts()
        texts += [s.text for s in intent.steps]
    codes = getattr(lookups, "codes", None)
    for entry in getattr(codes, "entries", ()):
        texts += [entry.name, entry.meaning]
    systems = getattr(lookups, "systems", None)
    for system in [*getattr(systems, "ours", ()), *getattr(systems, "others", ())]:
        texts.append(system.name)
    return texts


def masker_for(engine: Any) -> Masker:
    return Masker(known_words(engine.model.scorer, _vocabulary_texts(engine.catalog, engine.lookups)))


def _gap_id(sample: str) -> str:
    return "g" + hashlib.sha1(" ".join(sample.lower().split()).encode("utf-8")).hexdigest()[:6]


def _keywords(word_rows: Any, vocabulary: list[str]) -> list[str]:
    if word_rows is None or not vocabulary or word_rows.shape[0] == 0:
        return []
    weight = np.asarray(word_rows.sum(axis=0)).ravel()
    out = []
    for j in np.argsort(-weight, kind="stable"):
        gram = vocabulary[j]
        if weight[j] <= 0:
            break
        if " " in gram or len(gram) < 3 or not gram.isalpha():
            continue
        out.append(gram)
        if len(out) == KEYWORDS:
            break
    return out


def _samples(vectors: Any, shapes: list[str]) -> list[str]:
    """SAMPLES distinct lines that show the cluster: the most central first, then each the most
    central of those least like the ones already picked (maximal marginal relevance), so three
    copies of one paste with a different greeting do not fill the list."""
    if vectors.shape[0] > SAMPLE_POOL:  # a big cluster's centre is well seen from a spread of its members
        keep = np.linspace(0, vectors.shape[0] - 1, SAMPLE_POOL).astype(np.int64)
        vectors, shapes = vectors[keep], [shapes[int(i)] for i in keep]
    centre = np.asarray(vectors.mean(axis=0)).ravel()
    closeness = np.asarray(vectors @ centre).ravel()
    candidates = [int(i) for i in np.argsort(-closeness, kind="stable")[:SAMPLE_CANDIDATES]]
    picked: list[int] = []
    lines: list[str] = []
    while candidates and len(lines) < SAMPLES:
        if picked:
            similar = np.asarray((vectors[candidates] @ vectors[picked].T).todense()).max(axis=1)
            score = closeness[candidates] - DIVERSITY * similar
            best = candidates[int(np.argmax(score))]
        else:
            best = candidates[0]
        candidates.remove(best)
        line = one_line(shapes[best], SAMPLE_CHARS)
        if line not in lines:
            lines.append(line)
            picked.append(best)
    return lines


def _nearest(engine: Any, texts_by_gap: list[list[str]]) -> list[tuple[str, float | None]]:
    """The problem the model scores highest, averaged over each gap's texts (one model call)."""
    problems = {i.id for i in engine.catalog.problems}
    classes = engine.model.classes
    columns = [j for j, c in enumerate(classes) if c in problems]
    flat = [normalise(t) for texts in texts_by_gap for t in texts]
    if not flat or not columns:
        return [("", None) for _ in texts_by_gap]
    proba = engine.model.predict_proba(flat)
    out, at = [], 0
    for texts in texts_by_gap:
        mean = proba[at:at + len(texts)][:, columns].mean(axis=0)
        at += len(texts)
        best = int(np.argmax(mean))
        out.append((classes[columns[best]], float(mean[best])))
    return out


def find_gaps(store: Store, engine: Any, period: Period, now: datetime, retention: timedelta,
              described: int = DESCRIBED, exact_limit: int | None = None) -> Gaps:
    from .cluster import EXACT_LIMIT, cluster

    messages, refused, corrected, erased = gap_messages(store, period, now - retention)
    gaps = Gaps([], refused, corrected, erased)
    if not messages:
        return gaps
    masker = masker_for(engine)
    shapes = [masker.shape(m.text) for m in messages]
    found = cluster(shapes, engine.model.scorer, exact_limit or EXACT_LIMIT, [m.code for m in messages])
    gaps.approximate = found.approximate
    members: dict[int, list[int]] = {}
    for i, label in enumerate(found.labels):
        members.setdefault(label, []).append(i)
    codes = getattr(engine.lookups, "codes", None)
    clusters = []
    for label in sorted(members)[:described]:
        rows = members[label]
        group = [messages[i] for i in rows]
        vectors = found.vectors[rows]
        samples = _samples(vectors, [shapes[i] for i in rows])
        code_counts = Counter(m.code for m in group if m.code)
        code = code_counts.most_common(1)[0][0] if code_counts else ""
        entry = codes.by_code.get(code) if codes is not None and code else None
        corrected_to = Counter(m.corrected_to for m in group if m.corrected_to)
        clusters.append(Gap(
            id=_gap_id(samples[0]), size=len(group), people=len({m.who for m in group}),
            first_seen=min(m.at for m in group), last_seen=max(m.at for m in group),
            refused=sum(m.source == "refused" for m in group), corrected=sum(m.source == "corrected" for m in group),
            samples=samples, code=code, code_name=entry.name if entry is not None else "",
            corrected_to=dict(corrected_to.most_common()), keywords=_keywords(found.words[rows], found.vocabulary),
            shapes=[shapes[i] for i in rows]))
    # The nearest known problem: what people corrected these to, else what the model says.
    wanted = [[m.text for m in (messages[i] for i in members[label][:NEAREST_TEXTS])]
              for label, gap in zip(sorted(members), clusters) if not gap.corrected_to]
    scored = iter(_nearest(engine, wanted))
    for gap in clusters:
        if gap.corrected_to:
            gap.nearest = next(iter(gap.corrected_to))
        else:
            gap.nearest, gap.nearest_score = next(scored)
    taken: set[str] = set()
    for gap in clusters:  # two long samples cut to the same line: keep the ids apart
        while gap.id in taken:
            gap.id = _gap_id(gap.id + gap.samples[-1])
        taken.add(gap.id)
    gaps.clusters = clusters
    rest = [label for label in sorted(members)[described:]]
    gaps.undescribed_clusters = len(rest)
    gaps.undescribed = sum(len(members[label]) for label in rest)
    return gaps
