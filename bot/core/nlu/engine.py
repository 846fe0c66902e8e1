"""Diagnosis: exact signatures first, the calibrated model for everything else.

`Engine.diagnose(text)` is total: any string in, exactly one Answer out, in time bounded
by the (capped) input length.
"""

from __future__ import annotations

import re
from typing import Sequence

import numpy as np

from .answers import Answer, AnswerKind, Finding, Scored
from .catalog import META_INTENTS, OUT_OF_SCOPE, Catalog
from ..model.compiled import TrainedModel
from .entities import extract
from .scan import WHOLE_MESSAGE_CHARS, SignatureHit, candidate_segments, find_signatures
from .text import normalise

SIGNATURE_CONFIDENCE = 0.99
# Sync-history messages longer than this take the general path (it picks out error lines).
WHOLE_ERROR_TEXT = 2_000
MAX_FINDINGS = 5
# Intents kept per segment, best first (plus out-of-scope, always): every use below looks at
# most at 3 alternatives past up to MAX_FINDINGS findings and the meta intents.
RANKED = 3 + MAX_FINDINGS + len(META_INTENTS)
_HAS_WORD = re.compile(r"\w")


class Engine:
    def __init__(self, catalog: Catalog, model: TrainedModel) -> None:
        self.catalog = catalog
        self.model = model
        self._classes = model.classes
        self._out_of_scope = self._classes.index(OUT_OF_SCOPE) if OUT_OF_SCOPE in self._classes else None
        unknown = set(self._classes) - set(catalog.ids) - {OUT_OF_SCOPE}
        if unknown:
            raise ValueError(f"model knows intents the catalog does not: {sorted(unknown)}")

    def diagnose(self, text: str) -> Answer:
        return self.diagnose_many([text])[0]

    def diagnose_many(self, texts: Sequence[str]) -> list[Answer]:
        """Batch form: one model call for all segments of all messages (the cheap path)."""
        cleaned = [normalise(t) for t in texts]
        segments = [candidate_segments(t) if _HAS_WORD.search(t) else [] for t in cleaned]
        flat = [s for segs in segments for s in segs]
        proba = self.model.predict_proba(flat) if flat else np.zeros((0, len(self._classes)))
        answers, at = [], 0
        for text, segs in zip(cleaned, segments):
            answers.append(self._decide(text, proba[at: at + len(segs)]))
            at += len(segs)
        return answers

    # -- decisions -----------------------------------------------------------------------

    def _decide(self, text: str, seg_proba: np.ndarray) -> Answer:
        if not len(seg_proba):
            return Answer(AnswerKind.EMPTY, OUT_OF_SCOPE, 1.0)
        hits = find_signatures(self.catalog, text)
        ranked = self._rank_segments(seg_proba)
        if hits:
            return self._from_signatures(text, hits, ranked)
        return self._from_model(text, ranked)

    def _rank_segments(self, seg_proba: np.ndarray) -> list[list[Scored]]:
        """Per segment, intents by falling probability; the most confident segment first."""
        per_segment = []
        classes = self._classes
        refusal = self._out_of_scope
        for row in seg_proba:
            order = np.argsort(-row)[:RANKED].tolist()
            if refusal is not None and refusal not in order:
                order.append(refusal)  # the lowest of those kept: the order still holds
            values = row.tolist()
            per_segment.append([Scored(classes[i], values[i]) for i in order])

        def strength(scores: list[Scored]) -> float:
            return max((s.confidence for s in scores if s.intent != OUT_OF_SCOPE), default=0.0)

        return sorted(per_segment, key=strength, reverse=True)

    def _finding(self, intent: str, confidence: float, text: str, source: str,
                 slots: dict[str, str] | None = None, evidence: str = "", alone: bool = True,
                 told: frozenset[str] = frozenset()) -> Finding:
        context = evidence or text
        item = self.catalog[intent]
        # Which of two causes: the error texts that matched (`told`), else explicit wording in
        # the whole message (another line may say it), unless other lines belong to other
        # errors (several errors, or a long paste).
        chosen, said = item.pick_variants(text if alone and len(text) <= WHOLE_MESSAGE_CHARS else context, told)
        return Finding(
            intent=intent,
            confidence=confidence,
            entities=extract(context, {**said, **(slots or {})}),
            evidence=evidence,
            source=source,
            variants=tuple(v.key for v in chosen) if len(chosen) == 1 else (),
        )

    def _from_signatures(self, text: str, hits: list[SignatureHit], ranked: list[list[Scored]]) -> Answer:
        findings: list[Finding] = []
        alone = len({h.intent for h in hits}) == 1
        for hit in hits:
            if any(f.intent == hit.intent for f in findings):
                continue
            told = frozenset(h.variant for h in hits if h.intent == hit.intent)
            findings.append(self._finding(hit.intent, SIGNATURE_CONFIDENCE, text, "signature",
                                          hit.slots, hit.evidence(text), alone, told))
        findings += self._extra_segment_findings(text, ranked, {f.intent for f in findings})
        findings = findings[:MAX_FINDINGS]
        seen = {f.intent for f in findings}
        alternatives = [Scored(f.intent, f.confidence) for f in findings[1:]]
        alternatives += [s for s in ranked[0] if s.intent not in seen and s.intent != OUT_OF_SCOPE]
        primary = findings[0]
        return Answer(AnswerKind.DIAGNOSIS, primary.intent, primary.confidence,
                      tuple(alternatives[:3]), primary.entities, tuple(findings))

    def _extra_segment_findings(self, text: str, ranked: list[list[Scored]], known: set[str]) -> list[Finding]:
        """Other confident problems in other lines of a long paste."""
        extra = []
        if len(ranked) < 2:
            return extra
        for scores in ranked:
            top = scores[0]
            if (top.intent in known or top.intent == OUT_OF_SCOPE or top.intent in META_INTENTS
                    or top.confidence < max(self.model.threshold, 0.6)):
                continue
            known.add(top.intent)
            extra.append(self._finding(top.intent, top.confidence, text, "model"))
        return extra

    def _from_model(self, text: str, ranked: list[list[Scored]]) -> Answer:
        scores = ranked[0]
        in_scope = [s for s in scores if s.intent != OUT_OF_SCOPE]
        top = scores[0]
        closest = tuple(s for s in in_scope if s.intent not in META_INTENTS)[:3]
        if top.intent == OUT_OF_SCOPE or top.confidence < self.model.threshold:
            refusal = next((s.confidence for s in scores if s.intent == OUT_OF_SCOPE), 0.0)
            doubt = max(1.0 - (in_scope[0].confidence if in_scope else 0.0), refusal)
            return Answer(AnswerKind.OUT_OF_SCOPE, OUT_OF_SCOPE, doubt, closest)
        if top.intent in META_INTENTS:
            finding = Finding(top.intent, top.confidence)
            return Answer(AnswerKind.META, top.intent, top.confidence, tuple(in_scope[1:4]), {}, (finding,))
        problems = [s for s in in_scope if s.intent not in META_INTENTS]
        close = [s for s in in_scope[1:3]
                 if s.intent not in META_INTENTS and top.confidence - s.confidence < self.model.margin]
        findings = [self._finding(top.intent, top.confidence, text, "model")]
        if close:
            findings += [self._finding(s.intent, s.confidence, text, "model") for s in close]
            kind = AnswerKind.CHOICE
        else:
            findings += self._extra_segment_findings(text, ranked, {top.intent})
            kind = AnswerKind.DIAGNOSIS
        primary = findings[0]
        return Answer(kind, primary.intent, primary.confidence, tuple(p for p in problems if p.intent != top.intent)[:3],
                      primary.entities, tuple(findings[:MAX_FINDINGS]))

    def answer_for(self, intent: str, text: str = "") -> Answer:
        """The answer for an intent the user chose themselves, with the specifics of `text`."""
        if intent not in self.catalog:
            raise KeyError(intent)
        cleaned = normalise(text)
        finding = self._finding(intent, 1.0, cleaned, "user")
        kind = AnswerKind.DIAGNOSIS if self.catalog[intent].is_problem else AnswerKind.META
        return Answer(kind, intent, 1.0, (), finding.entities, (finding,))

    def diagnose_error_texts(self, texts: Sequence[str]) -> list[Answer]:
        """For sync-history messages: the same answers as diagnose_many, cheaper in bulk.

        A sync history repeats a handful of error texts thousands of times with different
        names and numbers. Exact signatures answer most of them without the model; the rest
        go to the model once per distinct text.
        """
        answers: list[Answer | None] = [None] * len(texts)
        pending: dict[str, list[int]] = {}
        for i, raw in enumerate(texts):
            text = normalise(raw)
            hits = find_signatures(self.catalog, text) if len(text) <= WHOLE_ERROR_TEXT else None
            if hits:
                answers[i] = self._from_signatures(text, hits, [[]])
            else:
                pending.setdefault(raw, []).append(i)
        if pending:
            distinct = list(pending)
            for raw, answer in zip(distinct, self.diagnose_many(distinct)):
                for i in pending[raw]:
                    answers[i] = answer
        return answers  # type: ignore[return-value]
