"""Diagnosis: exact signatures first, then QuickBooks error codes, the calibrated model last.

`Engine.diagnose(text)` is total: any string in, exactly one Answer out, in time bounded by the
(capped) input length. Before anything is answered with DEAR's steps the engine checks what
would make them wrong: another product named as the error's source, a QuickBooks code the help
article does not cover, a message in another language (read in English). A paste of several
failing lines is answered line by line (bot.core.nlu.paste), every line accounted for.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Sequence

import numpy as np

from ..model.compiled import TrainedModel
from .answers import Answer, AnswerKind, Finding, FindingKind, Scored
from .catalog import META_INTENTS, OUT_OF_SCOPE, Catalog
from .codes import CodeHit
from .entities import extract
from .language import Language
from .lookups import Lookups
from .paste import MAX_UNITS, Unit, units
from .scan import WHOLE_MESSAGE_CHARS, SignatureHit, candidate_segments, find_signatures
from .systems import Sources
from .text import normalise

SIGNATURE_CONFIDENCE = 0.99
# A QuickBooks error code is as exact as an error text, but says less about which of a
# two-cause intent's causes applies.
CODE_CONFIDENCE = 0.97
# How sure a refusal is when the message itself says why (another product, an uncovered code).
STATED_REFUSAL_CONFIDENCE = 0.95
# Sync-history messages longer than this take the general path (it picks out error lines).
WHOLE_ERROR_TEXT = 2_000
MAX_FINDINGS = 5
# Failing lines that are no known problem, listed at most (the rest are counted).
MAX_OTHER_FINDINGS = 10
# Intents kept per segment, best first (plus out-of-scope, always): every use below looks at
# most at 3 alternatives past up to MAX_FINDINGS findings and the meta intents.
RANKED = 3 + MAX_FINDINGS + len(META_INTENTS)
_HAS_WORD = re.compile(r"\w")


@dataclass
class _Plan:
    """What one message is made of, before the model has scored anything."""

    text: str                       # normalised
    sources: Sources
    language: Language | None
    units: list[Unit]               # two or more: a paste, answered line by line
    fault_code: str                 # the code of a lone fault payload
    segments: list[str]             # the model's inputs, unit by unit
    spans: list[tuple[int, int]]    # each unit's segments (one span for a whole message)
    read: str = ""                  # a message in another language, as the model read it


class Engine:
    def __init__(self, catalog: Catalog, model: TrainedModel, lookups: Lookups | None = None) -> None:
        self.catalog = catalog
        self.model = model
        self.lookups = lookups or Lookups()
        self._classes = model.classes
        self._out_of_scope = self._classes.index(OUT_OF_SCOPE) if OUT_OF_SCOPE in self._classes else None
        unknown = set(self._classes) - set(catalog.ids) - {OUT_OF_SCOPE}
        if unknown:
            raise ValueError(f"model knows intents the catalog does not: {sorted(unknown)}")

    def use(self, model: TrainedModel) -> None:
        """Serve another model from now on (a retrained one). It must know the same intents in
        the same order: the engine's tables are built for them."""
        if list(model.classes) != list(self._classes):
            raise ValueError("the new model knows other intents than the one it replaces")
        self.model = model

    def diagnose(self, text: str) -> Answer:
        return self.diagnose_many([text])[0]

    def diagnose_many(self, texts: Sequence[str]) -> list[Answer]:
        """Batch form: one model call for all segments of all messages (the cheap path)."""
        plans = [self._plan(normalise(t)) for t in texts]
        flat = [s for plan in plans for s in plan.segments]
        proba = self.model.predict_proba(flat) if flat else np.zeros((0, len(self._classes)))
        answers, at = [], 0
        for plan in plans:
            answers.append(self._decide(plan, proba[at: at + len(plan.segments)]))
            at += len(plan.segments)
        return answers

    # -- reading the message -----------------------------------------------------------------

    def _plan(self, text: str) -> _Plan:
        if not _HAS_WORD.search(text):
            return _Plan(text, Sources(None, ()), None, [], "", [], [])
        sources = self.lookups.systems.sources(text)
        found = units(text)
        if len(found) >= 2:
            found = found[:MAX_UNITS + MAX_OTHER_FINDINGS]
            segments, spans = [], []
            for unit in found:
                pieces = candidate_segments(unit.text)
                spans.append((len(segments), len(segments) + len(pieces)))
                segments += pieces
            return _Plan(text, sources, None, found, "", segments, spans)
        language = self.lookups.languages.detect(text)
        # A message in another language is read in English; a long paste keeps its own lines.
        read = language.to_english(text) if language and len(text) <= WHOLE_MESSAGE_CHARS else text
        segments = candidate_segments(read) if _HAS_WORD.search(read) else candidate_segments(text)
        code = found[0].code if len(found) == 1 else ""
        return _Plan(text, sources, language, [], code, segments, [(0, len(segments))], read if language else "")

    # -- decisions -----------------------------------------------------------------------

    def _decide(self, plan: _Plan, seg_proba: np.ndarray) -> Answer:
        if not len(seg_proba):
            return Answer(AnswerKind.EMPTY, OUT_OF_SCOPE, 1.0)
        if plan.units:
            answer = self._from_paste(plan, seg_proba)
        else:
            answer = self._from_message(plan, self._rank_segments(seg_proba))
        return self._finish(answer, plan)

    def _from_message(self, plan: _Plan, ranked: list[list[Scored]]) -> Answer:
        text = plan.text
        hits = find_signatures(self.catalog, text)
        code = None if hits else self.lookups.codes.find(text, plan.fault_code)
        if plan.sources.other is not None and not self._is_meta(ranked, hits, code):
            return self._other_product(plan, hits, code, ranked)
        if hits:
            return self._from_signatures(text, hits, ranked)
        if code is not None and code.covered:
            return self._from_code(text, code, ranked)
        if code is not None:
            return self._uncovered_code(text, code, ranked)
        return self._from_model(text, ranked, plan.read)

    def _finish(self, answer: Answer, plan: _Plan) -> Answer:
        """The source system as an entity, and the language the message was written in."""
        entities = answer.entities
        source = plan.sources.source_system
        if source and "source_system" not in entities:
            entities = {**entities, "source_system": source}
        language = plan.language
        if entities is answer.entities and language is None:
            return answer
        return replace(answer, entities=entities, language=language.code if language else "",
                       language_name=language.name if language else "")

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

    def _is_meta(self, ranked: list[list[Scored]], hits: list[SignatureHit], code: CodeHit | None) -> bool:
        """Thanks or hello that happens to name a product is still thanks or hello."""
        top = ranked[0][0] if ranked and ranked[0] else None
        return (not hits and code is None and top is not None and top.intent in META_INTENTS
                and top.confidence >= self.model.threshold)

    def _closest(self, ranked: list[list[Scored]], first: tuple[str, ...] = ()) -> tuple[Scored, ...]:
        """Up to three problems to offer as topics: `first` (recognised exactly), then the model's."""
        topics = [Scored(i, SIGNATURE_CONFIDENCE) for i in first if i in self.catalog]
        for s in ranked[0] if ranked else []:
            if s.intent not in META_INTENTS and s.intent != OUT_OF_SCOPE and s.intent not in first:
                topics.append(s)
        return tuple(topics[:3])

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

    def _code_finding(self, code: CodeHit, text: str, evidence: str = "", alone: bool = True) -> Finding:
        slots = {"error_code": code.code} if code.code else None
        if code.covered:
            found = self._finding(code.intent, CODE_CONFIDENCE, text, "code", slots, evidence, alone)
            return replace(found, code=code.code, code_name=code.name)
        return Finding(OUT_OF_SCOPE, CODE_CONFIDENCE, dict(slots or {}), evidence, "code",
                       kind=FindingKind.UNCOVERED_CODE, code=code.code, code_name=code.name, meaning=code.meaning)

    # -- one message ---------------------------------------------------------------------

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
        return self._diagnosis(findings[:MAX_FINDINGS], ranked)

    def _from_code(self, text: str, code: CodeHit, ranked: list[list[Scored]]) -> Answer:
        findings = [self._code_finding(code, text)]
        findings += self._extra_segment_findings(text, ranked, {code.intent})
        return self._diagnosis(findings[:MAX_FINDINGS], ranked)

    def _diagnosis(self, findings: list[Finding], ranked: list[list[Scored]], others: Sequence[Finding] = (),
                   unlisted: int = 0) -> Answer:
        seen = {f.intent for f in findings}
        alternatives = [Scored(f.intent, f.confidence) for f in findings[1:]]
        alternatives += [s for s in (ranked[0] if ranked else []) if s.intent not in seen and s.intent != OUT_OF_SCOPE]
        primary = findings[0]
        return Answer(AnswerKind.DIAGNOSIS, primary.intent, primary.confidence, tuple(alternatives[:3]),
                      primary.entities, tuple(findings) + tuple(others), unlisted=unlisted)

    def _uncovered_code(self, text: str, code: CodeHit, ranked: list[list[Scored]]) -> Answer:
        """A code the article has no fix for: named and refused, never pulled to a near intent."""
        finding = self._code_finding(code, text)
        return Answer(AnswerKind.OUT_OF_SCOPE, OUT_OF_SCOPE, CODE_CONFIDENCE, self._closest(ranked),
                      dict(finding.entities), (finding,))

    def _other_product(self, plan: _Plan, hits: list[SignatureHit], code: CodeHit | None,
                       ranked: list[list[Scored]]) -> Answer:
        """Another product's error: refused with the reason. When its QuickBooks message is one we
        know, that topic comes first among the ones offered (the QuickBooks side of it), but its
        DEAR steps are not handed out as if they applied."""
        system = plan.sources.other
        known = hits[0].intent if hits else (code.intent if code is not None and code.covered else "")
        how = "signature" if hits else "code" if code is not None else "system"
        finding = Finding(known or OUT_OF_SCOPE, STATED_REFUSAL_CONFIDENCE, {}, "", how,
                          kind=FindingKind.OTHER_PRODUCT, code=code.code if code else "",
                          code_name=code.name if code else "", system=system.id, system_name=system.name)
        return Answer(AnswerKind.OUT_OF_SCOPE, OUT_OF_SCOPE, STATED_REFUSAL_CONFIDENCE,
                      self._closest(ranked, (known,) if known else ()), {}, (finding,))

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

    def _from_model(self, text: str, ranked: list[list[Scored]], read: str = "") -> Answer:
        scores = ranked[0]
        in_scope = [s for s in scores if s.intent != OUT_OF_SCOPE]
        top = scores[0]
        closest = tuple(s for s in in_scope if s.intent not in META_INTENTS)[:3]
        if top.intent == OUT_OF_SCOPE or top.confidence < self.model.threshold:
            refusal = next((s.confidence for s in scores if s.intent == OUT_OF_SCOPE), 0.0)
            doubt = max(1.0 - (in_scope[0].confidence if in_scope else 0.0), refusal)
            return Answer(AnswerKind.OUT_OF_SCOPE, OUT_OF_SCOPE, doubt, closest)
        systems = self.lookups.systems
        if systems.needs_context(top.intent) and not (systems.about_the_sync(text) or systems.about_the_sync(read)):
            # "401 Unauthorized" from any web service: not ours unless the message is about the sync.
            return Answer(AnswerKind.OUT_OF_SCOPE, OUT_OF_SCOPE, 1.0 - top.confidence, closest)
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

    # -- a paste, line by line -------------------------------------------------------------

    def _from_paste(self, plan: _Plan, seg_proba: np.ndarray) -> Answer:
        """One finding per distinct error, in the order they appear; a failing line that is no
        known problem is a finding too ("not recognised", with its text), never dropped."""
        if plan.sources.other is not None:
            first = plan.units[0]
            hits = find_signatures(self.catalog, first.text)
            code = None if hits else self.lookups.codes.find(first.text, first.code, whole_message=False)
            return self._other_product(plan, hits, code, self._rank_segments(seg_proba))
        known: list[Finding] = []
        others: list[Finding] = []
        seen: set[str] = set()
        first_ranked: list[list[Scored]] = []
        for unit, (a, b) in zip(plan.units, plan.spans):
            ranked = self._rank_segments(seg_proba[a:b])
            first_ranked = first_ranked or ranked
            for finding in self._unit_findings(unit, ranked):
                key = finding.intent if finding.is_known else finding.code or f"line:{unit.key}"
                if key in seen:
                    continue
                seen.add(key)
                (known if finding.is_known else others).append(finding)
        listed = others[:MAX_OTHER_FINDINGS]
        unlisted = len(others) - len(listed) + max(0, len(known) - MAX_FINDINGS)
        if known:
            return self._diagnosis(known[:MAX_FINDINGS], first_ranked, listed, unlisted)
        confidence = min(f.confidence for f in listed)
        return Answer(AnswerKind.OUT_OF_SCOPE, OUT_OF_SCOPE, confidence, self._closest(first_ranked), {},
                      tuple(listed), unlisted=unlisted)

    def _unit_findings(self, unit: Unit, ranked: list[list[Scored]]) -> list[Finding]:
        hits = find_signatures(self.catalog, unit.text)
        if hits:  # each with the variants its error texts prove (issue 14), as for a whole message
            return [self._finding(h.intent, SIGNATURE_CONFIDENCE, unit.text, "signature", h.slots, unit.text,
                                  alone=False, told=frozenset(o.variant for o in hits if o.intent == h.intent))
                    for h in hits]
        code = self.lookups.codes.find(unit.text, unit.code, whole_message=False)
        if code is not None:
            return [self._code_finding(code, unit.text, unit.text, alone=False)]
        top = ranked[0][0] if ranked and ranked[0] else None
        if (top is not None and top.intent != OUT_OF_SCOPE and top.intent not in META_INTENTS
                and top.confidence >= self.model.threshold
                and (not self.lookups.systems.needs_context(top.intent) or self.lookups.systems.about_the_sync(unit.text))):
            return [self._finding(top.intent, top.confidence, unit.text, "model", None, unit.text, alone=False)]
        refusal = next((s.confidence for s in ranked[0] if s.intent == OUT_OF_SCOPE), 0.0) if ranked else 1.0
        doubt = max(refusal, 1.0 - (top.confidence if top is not None and top.intent != OUT_OF_SCOPE else 0.0))
        return [Finding(OUT_OF_SCOPE, doubt, {}, unit.text, "model", kind=FindingKind.NOT_RECOGNISED)]

    # -- other entry points ------------------------------------------------------------------

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
            if hits and ("\n" not in text or len(units(text)) < 2):
                plan = self._plan_light(text)
                if plan.sources.other is None:
                    answers[i] = self._finish(self._from_signatures(text, hits, [[]]), plan)
                    continue
            pending.setdefault(raw, []).append(i)
        if pending:
            distinct = list(pending)
            for raw, answer in zip(distinct, self.diagnose_many(distinct)):
                for i in pending[raw]:
                    answers[i] = answer
        return answers  # type: ignore[return-value]

    def _plan_light(self, text: str) -> _Plan:
        """What _finish needs of a plan, for an answer made without the model."""
        return _Plan(text, self.lookups.systems.sources(text), self.lookups.languages.detect(text), [], "", [], [])
