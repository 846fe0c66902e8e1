"""`python -m bot gaps --draft ID`: a starting intent and training examples for one gap cluster.

Writes intents/<new_id>.yaml and training/examples/<new_id>.yaml, both marked `draft: true`:
the catalog and the model leave a draft alone (bot/core/nlu/catalog.py, model/examples.py), so
the bot keeps running while a person writes the title, the meaning, the causes and the steps in
their own words (docs/knowledge-base.md), then deletes the `draft: true` lines and runs
`python -m bot train`. Nothing is overwritten: an existing file is an error.

The examples are the cluster's messages as masked in the report, with every mask replaced by a
made-up value ([ref] -> REF-1001, [name] -> Acme Ltd...), so no customer's reference, name or
amount reaches the training data. The suggested signature is the cluster's most central sample
as a regex, each mask a bounded wildcard, kept only if it passes the knowledge base's own
checks (bounded repetition, known slot names).
"""

from __future__ import annotations

import itertools
import json
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from ..nlu.catalog import Catalog, CatalogError, _compile
from .gaps import Gap

MAX_EXAMPLES = 40
EXAMPLE_CHARS = 1_000
_ID = re.compile(r"^[a-z][a-z0-9_]{2,63}$")
_MASK = re.compile(r"\[(n|ref|name|amount|email|link|id|secret)\]")
_WILDCARDS = {"n": r"\d{1,12}", "ref": r'[^\s"]{1,80}', "name": r"[^\"\n]{1,80}?", "amount": r"\S{1,30}",
              "email": r"\S{1,120}", "link": r"\S{1,300}", "id": r"\S{1,100}", "secret": r"\S{1,300}"}
_MADE_UP = {"name": ("Example Trading Ltd", "Sample Supplies Co", "Jane Example"), "amount": ("$120.00", "$87.50"),
            "email": ("someone@example.com",), "link": ("https://example.com/page",), "id": ("ID-0001",),
            "secret": ("(token removed)",)}


class DraftError(ValueError):
    """The draft cannot be written; the message says why and what to do."""


@dataclass(frozen=True)
class Draft:
    intent_id: str
    intent_file: Path
    examples_file: Path
    examples: int
    signature: str


def draft_id(gap: Gap, catalog: Catalog, name: str | None = None) -> str:
    """The new intent's id: `name`, else from QuickBooks' name for the code, else from the
    cluster's key words, else from its id."""
    if name:
        candidate = name.strip().lower()
    elif gap.code_name:
        candidate = "_".join(re.findall(r"[a-z0-9]+", gap.code_name.lower())[:5])
    elif gap.keywords:
        candidate = "_".join(gap.keywords)
    else:
        candidate = f"gap_{gap.id}"
    candidate = re.sub(r"[^a-z0-9_]", "_", candidate).strip("_")
    if candidate[:1].isdigit():
        candidate = f"gap_{candidate}"
    if not _ID.match(candidate):
        raise DraftError(f"{candidate!r} cannot be an intent id: use 3 to 64 lower-case letters, digits and _, "
                         "starting with a letter (--name)")
    if candidate in catalog:
        raise DraftError(f"there is already an intent {candidate!r}; choose another id with --name")
    return candidate


def _made_up(text: str) -> str:
    counters = {"ref": itertools.count(1001), "n": itertools.count(42)}
    picks = {k: itertools.cycle(v) for k, v in _MADE_UP.items()}

    def fill(match: re.Match[str]) -> str:
        kind = match.group(1)
        if kind == "ref":
            return f"REF-{next(counters['ref'])}"
        if kind == "n":
            return str(next(counters["n"]))
        return next(picks[kind])

    return _MASK.sub(fill, text)


def suggested_signature(sample: str) -> str:
    """The sample as a bounded regex (masks as wildcards, the first [ref] as the `reference`
    slot), or "" when it would not pass the knowledge base's checks."""
    if len(_MASK.sub("", sample).strip()) < 12:
        return ""  # hardly any error text: nothing to match on
    pieces, named = [], False
    at = 0
    for match in _MASK.finditer(sample):
        pieces.append(re.escape(sample[at:match.start()]).replace("\\ ", " "))
        kind = match.group(1)
        if kind == "ref" and not named:
            pieces.append(f"(?P<reference>{_WILDCARDS['ref']})")
            named = True
        else:
            pieces.append(f"(?:{_WILDCARDS[kind]})")
        at = match.end()
    pieces.append(re.escape(sample[at:]).replace("\\ ", " "))
    pattern = "".join(pieces).strip()
    try:
        _compile(pattern, "draft signature")
    except CatalogError:
        return ""
    return pattern


def _quoted(value: str) -> str:
    """A YAML scalar: JSON's double-quoted strings are valid YAML."""
    return json.dumps(value, ensure_ascii=False)


def write_draft(gap: Gap, catalog: Catalog, intents_dir: Path, training_dir: Path, *, made_at: datetime,
                name: str | None = None) -> Draft:
    intent_id = draft_id(gap, catalog, name)
    intent_file = intents_dir / f"{intent_id}.yaml"
    examples_file = training_dir / "examples" / f"{intent_id}.yaml"
    for path in (intent_file, examples_file):
        if path.exists():
            raise DraftError(f"{path} already exists; nothing was written (choose another id with --name)")
    examples: list[str] = []
    for shape in gap.shapes:
        text = _made_up(shape)[:EXAMPLE_CHARS].strip()
        if text and text not in examples:
            examples.append(text)
        if len(examples) == MAX_EXAMPLES:
            break
    signature = suggested_signature(gap.samples[0]) if gap.samples else ""
    related = [gap.nearest] if gap.nearest in catalog else []
    seen = f"{gap.first_seen:%Y-%m-%d} to {gap.last_seen:%Y-%m-%d}"
    code = f"QuickBooks error code {gap.code} ({gap.code_name})" if gap.code else "no QuickBooks error code"
    lines = [
        f"# DRAFT written by `python -m bot gaps --draft {gap.id}` on {made_at:%Y-%m-%d}, from {gap.size} messages",
        f"# ({gap.refused} refused, {gap.corrected} corrected with Not this) seen {seen} from {gap.people} people;",
        f"# {code}.",
        "# SyncMedic ignores this file while `draft: true` is in it. To finish it: write every TODO in",
        "# your own words (docs/knowledge-base.md says what each field is for), check the signature",
        "# against real error texts, delete the `draft: true` line here and in",
        f"# training/examples/{intent_id}.yaml, then run `python -m bot train`.",
        "draft: true",
        f"id: {intent_id}",
        "kind: problem",
        f"title: {_quoted('TODO: the problem in a few words')}",
        f"summary: {_quoted('TODO: one line for the digest and the menu: what to do about it')}",
        f"section: {_quoted('TODO: where the help article (or the page you rely on) covers it')}",
        f"means: {_quoted('TODO: what the error means, in plain words')}",
        "causes:",
        f"  - {_quoted('TODO: the usual cause')}",
        "steps:",
        f"  - {_quoted('TODO: the first thing to do')}",
        f"escalate: {_quoted('TODO: when to get a person, and whom')}",
        "# What people wrote (masked), most typical first:",
        *[f"#   {s}" for s in gap.samples],
    ]
    if signature:
        lines += ["signatures:", f"  - pattern: {_quoted(signature)}"]
    else:
        lines += ["# No signature suggested: the samples are not one error text. Add one if there is."]
    lines.append(f"related: [{', '.join(related)}]")
    example_lines = [
        f"# DRAFT examples for {intent_id} (python -m bot gaps --draft {gap.id}): the messages of the cluster,",
        "# masked, with made-up references, names and amounts. Check each one is really this problem,",
        "# add your own, then delete the `draft: true` line.",
        "draft: true",
        f"intent: {intent_id}",
        "examples:",
        *[f"- {_quoted(e)}" for e in examples],
    ]
    intent_file.parent.mkdir(parents=True, exist_ok=True)
    examples_file.parent.mkdir(parents=True, exist_ok=True)
    intent_file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    examples_file.write_text("\n".join(example_lines) + "\n", encoding="utf-8")
    return Draft(intent_id, intent_file, examples_file, len(examples), signature)
