"""The knowledge base: one YAML file per intent in intents/, loaded and checked.

Loading validates everything a reply depends on (required fields, known related ids,
bounded signature regexes), so a bad edit to the knowledge base fails at start-up or in
`make test`, never in front of a user.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from . import regex_tree as rt
from .kb_fields import KB_VALUES, CatalogError, Step, parse_sources, parse_steps  # noqa: F401 (re-exported)
from .patterns import required_text

OUT_OF_SCOPE = "out_of_scope"
META_INTENTS = ("greeting", "thanks", "help", "escalate")
SLOT_NAMES = (
    "product", "order", "bill", "invoice", "reference", "transaction", "account_code",
    "amount", "error_code", "customer", "supplier", "name", "currency", "sale_currency",
)


@dataclass(frozen=True)
class Signature:
    intent: str
    pattern: re.Pattern[str]
    # Plain text every match contains, lower case ("" when the pattern has none): an ASCII
    # message without it cannot match, and a substring test is far cheaper than the search.
    needle: str = ""
    # The variant this error text proves ("" when the text is shared by several causes).
    variant: str = ""

    @property
    def slots(self) -> tuple[str, ...]:
        return tuple(self.pattern.groupindex)


@dataclass(frozen=True)
class Variant:
    key: str
    label: str                       # the heading when this variant is the one shown
    when: str                        # the heading when every variant is shown: "If this was..."
    causes: tuple[str, ...]
    steps: tuple[Step, ...]
    wording: re.Pattern[str] | None = None  # explicit wording that proves it (named groups: slots)
    escalate: str = ""


@dataclass(frozen=True)
class Intent:
    id: str
    kind: str
    title: str
    summary: str
    section: str = ""
    means: str = ""
    causes: tuple[str, ...] = ()
    steps: tuple[Step, ...] = ()
    escalate: str = ""
    answer: str = ""
    signatures: tuple[Signature, ...] = ()
    variants: tuple[Variant, ...] = ()
    related: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()  # help pages the means and causes rely on beyond the article

    @property
    def is_problem(self) -> bool:
        return self.kind == "problem"

    def training_texts(self) -> list[str]:
        """The knowledge-base text the classifier learns from, besides the examples."""
        texts = [self.title, self.summary]
        if self.is_problem:
            texts += [self.means, *self.causes]
            for v in self.variants:
                texts += [v.label, *v.causes]
        return [_strip_markup(t) for t in texts if t]

    def pick_variants(self, text: str, told: frozenset[str] = frozenset()) -> tuple[tuple[Variant, ...], dict[str, str]]:
        """The variants the evidence points at, and the slots the evidence filled.

        `told` holds the variant each matched error text proves ("" for a text several causes
        share). The error text decides when every match tells; otherwise explicit wording
        (`wording`) may, if exactly one variant's wording is there. Codes and numbers in the
        message never do. Without evidence every variant is shown, each under its `when`.
        """
        if not self.variants:
            return (), {}
        if told and "" not in told:
            return tuple(v for v in self.variants if v.key in told), {}
        said = [(v, m) for v in self.variants if v.wording is not None and (m := v.wording.search(text))]
        if len(said) == 1:
            variant, match = said[0]
            return (variant,), {k: s for k, s in match.groupdict().items() if s}
        return self.variants, {}


@dataclass
class Catalog:
    intents: dict[str, Intent] = field(default_factory=dict)

    def __getitem__(self, intent_id: str) -> Intent:
        return self.intents[intent_id]

    def __contains__(self, intent_id: object) -> bool:
        return intent_id in self.intents

    @property
    def ids(self) -> list[str]:
        return list(self.intents)

    @property
    def problems(self) -> list[Intent]:
        return [i for i in self.intents.values() if i.is_problem]

    @property
    def signatures(self) -> list[Signature]:
        return [s for i in self.intents.values() for s in i.signatures]

    def title(self, intent_id: str) -> str:
        return self.intents[intent_id].title if intent_id in self.intents else intent_id


_JINJA = re.compile(r"\{\{[^{}]{0,200}\}\}|\*\*")


def _strip_markup(text: str) -> str:
    return _JINJA.sub(" ", text)


def _text(doc: dict, key: str, where: str, required: bool) -> str:
    value = doc.get(key, "")
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise CatalogError(f"{where}: '{key}' must be text")
    value = " ".join(value.split())
    if required and not value:
        raise CatalogError(f"{where}: '{key}' is required")
    return value


def _multiline(doc: dict, key: str, where: str, required: bool) -> str:
    """Like _text, but keeps line breaks (a meta answer may hold a list, one item a line)."""
    value = doc.get(key) or ""
    if not isinstance(value, str):
        raise CatalogError(f"{where}: '{key}' must be text")
    lines = [" ".join(line.split()) for line in value.strip().splitlines()]
    value = "\n".join(lines).strip()
    if required and not value:
        raise CatalogError(f"{where}: '{key}' is required")
    return value


def _texts(doc: dict, key: str, where: str, required: bool) -> tuple[str, ...]:
    value = doc.get(key) or []
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise CatalogError(f"{where}: '{key}' must be a list of text")
    if required and not value:
        raise CatalogError(f"{where}: '{key}' needs at least one entry")
    return tuple(" ".join(v.split()) for v in value)


def _repetition_problem(nodes: tuple[rt.Node, ...], inside_repeat: bool = False) -> str | None:
    """Why a parsed regex could backtrack badly: unbounded or nested repetition."""
    for node in nodes:
        if isinstance(node, rt.Repeat):
            if node.high is None:
                return "unbounded repetition (* or +); use {1,N}"
            if inside_repeat and node.high > 1:
                return "repetition nested inside repetition"
            found = _repetition_problem(node.body, inside_repeat or node.high > 1)
        elif isinstance(node, rt.Alternatives):
            found = next(filter(None, (_repetition_problem(option, inside_repeat) for option in node.options)), None)
        elif isinstance(node, (rt.Group, rt.Lookaround)):
            found = _repetition_problem(node.body, inside_repeat)
        else:
            continue
        if found:
            return found
    return None


def _compile(pattern: str, where: str) -> re.Pattern[str]:
    try:
        compiled = re.compile(pattern, re.IGNORECASE)
    except re.error as exc:
        raise CatalogError(f"{where}: pattern {pattern!r} is not a valid regex ({exc})") from None
    try:
        problem = _repetition_problem(rt.parse(pattern, re.IGNORECASE))
    except rt.UnknownNode as exc:
        raise CatalogError(f"{where}: pattern {pattern!r} cannot be checked: {exc}") from None
    if problem:
        raise CatalogError(f"{where}: pattern {pattern!r} has {problem}")
    unknown = set(compiled.groupindex) - set(SLOT_NAMES)
    if unknown:
        raise CatalogError(f"{where}: unknown slot names {sorted(unknown)} in {pattern!r}")
    return compiled


def _load_intent(path: Path) -> Intent | None:
    """The intent in `path`; None for a draft (`draft: true`, as `python -m bot gaps --draft`
    writes one): a person finishes it, then deletes that line."""
    where = path.name
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise CatalogError(f"{where}: not valid YAML ({exc})") from None
    if not isinstance(doc, dict):
        raise CatalogError(f"{where}: expected a mapping")
    if doc.get("draft") is True:
        return None
    intent_id = _text(doc, "id", where, True)
    if intent_id != path.stem:
        raise CatalogError(f"{where}: id {intent_id!r} does not match the file name")
    kind = _text(doc, "kind", where, True)
    if kind not in ("problem", "meta"):
        raise CatalogError(f"{where}: kind must be problem or meta")
    problem = kind == "problem"
    variants = _load_variants(doc, where)
    keys = {v.key for v in variants}
    signatures = []
    for n, s in enumerate(doc.get("signatures") or []):
        if not isinstance(s, dict) or "pattern" not in s:
            raise CatalogError(f"{where}: signature {n + 1} needs a 'pattern'")
        pattern = _compile(str(s["pattern"]), f"{where} signature {n + 1}")
        variant = _text(s, "variant", f"{where} signature {n + 1}", False)
        if variant and variant not in keys:
            raise CatalogError(f"{where}: signature {n + 1} names variant {variant!r}, not one of {sorted(keys)}")
        signatures.append(Signature(intent_id, pattern, required_text(pattern), variant))
    related = doc.get("related") or []
    if not isinstance(related, list):
        raise CatalogError(f"{where}: 'related' must be a list of intent ids")
    return Intent(
        id=intent_id,
        kind=kind,
        title=_text(doc, "title", where, True),
        summary=_text(doc, "summary", where, True),
        section=_text(doc, "section", where, problem),
        means=_text(doc, "means", where, problem),
        causes=_texts(doc, "causes", where, problem and not variants),
        steps=parse_steps(doc, where, problem and not variants),
        escalate=_text(doc, "escalate", where, problem and not (variants and all(v.escalate for v in variants))),
        answer=_multiline(doc, "answer", where, not problem),
        signatures=tuple(signatures),
        variants=tuple(variants),
        related=tuple(str(r) for r in related),
        sources=parse_sources(doc.get("sources"), where),
    )


def _load_variants(doc: dict, where: str) -> list[Variant]:
    """Two causes behind one error text: each with its own heading, causes, steps, evidence."""
    variants = []
    for n, v in enumerate(doc.get("variants") or []):
        vw = f"{where} variant {n + 1}"
        if not isinstance(v, dict):
            raise CatalogError(f"{vw}: expected a mapping")
        if "match" in v:  # the old keyword rule: any code in a message could pick the wrong fix
            raise CatalogError(f"{vw}: 'match' is no longer read; a variant is chosen by the signature "
                               "that matched (signature 'variant') or by explicit 'wording'")
        wording = _text(v, "wording", vw, False)
        variants.append(Variant(
            key=_text(v, "key", vw, True),
            label=_text(v, "label", vw, True),
            when=_text(v, "when", vw, True),
            causes=_texts(v, "causes", vw, True),
            steps=parse_steps(v, vw, True),
            wording=_compile(wording, vw) if wording else None,
            escalate=_text(v, "escalate", vw, False),
        ))
    if len(variants) == 1:
        raise CatalogError(f"{where}: 'variants' needs two or more entries")
    if len({v.key for v in variants}) != len(variants):
        raise CatalogError(f"{where}: variant keys must be unique")
    return variants


def load_catalog(intents_dir: Path) -> Catalog:
    """Read every intents/*.yaml but drafts; raise CatalogError naming the first problem found."""
    files = sorted(intents_dir.glob("*.yaml"))
    if not files:
        raise CatalogError(f"no intent files found in {intents_dir}")
    catalog = Catalog({})
    for path in files:
        intent = _load_intent(path)
        if intent is not None:
            catalog.intents[intent.id] = intent
    for intent in catalog.intents.values():
        missing = [r for r in intent.related if r not in catalog.intents]
        if missing:
            raise CatalogError(f"{intent.id}.yaml: related ids not in the catalog: {missing}")
    return catalog
