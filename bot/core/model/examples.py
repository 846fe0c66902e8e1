"""Labelled examples: training/examples/ (what the model learns), training/heldout/ and
training/heldout-wild/ (what `evaluate` and the benchmarks score). Each folder is read by its
own function so training cannot reach a held-out set by accident, and the model's fingerprint
(bot.core.model.store.training_files) covers the training folders only."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from ..nlu.catalog import OUT_OF_SCOPE, Catalog, CatalogError

WILD_FOLDER = "heldout-wild"
# A draft (python -m bot gaps --draft) says so on a line of its own, at the top level.
_DRAFT_LINE = re.compile(rb"(?m)^draft:[ \t]{0,20}true[ \t]{0,20}(?:#[^\n]{0,500})?\r?$")


def is_draft(data: bytes) -> bool:
    """Whether an intent or examples file is a draft a person has not finished: the model is
    neither built from it nor made stale by it (bot/core/model/store.py inputs_fingerprint)."""
    return _DRAFT_LINE.search(data) is not None


@dataclass(frozen=True)
class Example:
    text: str
    intent: str
    source: str
    # For a multi-error paste: what it must report, in order (an intent id per distinct error,
    # out_of_scope for a failing line that is no known problem). Empty: not checked.
    findings: tuple[str, ...] = ()


def _example(item: object, path: Path, n: int, catalog: Catalog) -> tuple[str, tuple[str, ...]]:
    """(text, expected findings) of one entry: a string, or {text, findings}."""
    findings: tuple[str, ...] = ()
    if isinstance(item, dict):
        text = item.get("text")
        wanted = item.get("findings") or []
        if not isinstance(wanted, list) or not all(isinstance(f, str) for f in wanted):
            raise CatalogError(f"{path}: example {n}: 'findings' must be a list of intent ids")
        unknown = [f for f in wanted if f != OUT_OF_SCOPE and f not in catalog]
        if unknown:
            raise CatalogError(f"{path}: example {n}: unknown intents in findings {unknown}")
        findings = tuple(wanted)
    else:
        text = item
    if not isinstance(text, str) or not text.strip():
        raise CatalogError(f"{path}: example {n} is empty or not text")
    return text.strip(), findings


def _read_folder(folder: Path, catalog: Catalog) -> list[Example]:
    examples = []
    for path in sorted(folder.glob("*.yaml")):
        try:
            doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            raise CatalogError(f"{path}: not valid YAML ({exc})") from None
        if isinstance(doc, dict) and doc.get("draft") is True:
            continue  # examples for a draft intent (python -m bot gaps --draft): not learned yet
        intent = doc.get("intent")
        if intent != OUT_OF_SCOPE and intent not in catalog:
            raise CatalogError(f"{path}: unknown intent {intent!r}")
        for n, item in enumerate(doc.get("examples") or [], start=1):
            text, findings = _example(item, path, n, catalog)
            examples.append(Example(text, intent, f"{path.name}:{n}", findings))
    return examples


def training_files(training_dir: Path) -> list[Path]:
    """Every file the model is built from (its fingerprint covers exactly these)."""
    return sorted((training_dir / "examples").glob("*.yaml")) + sorted((training_dir / "corrections").glob("*.yaml"))


def load_training_examples(training_dir: Path, catalog: Catalog) -> list[Example]:
    """Hand-written examples plus corrections users made with "Not this"."""
    return _read_folder(training_dir / "examples", catalog) + _read_folder(training_dir / "corrections", catalog)


def load_heldout_examples(training_dir: Path, catalog: Catalog) -> list[Example]:
    """The project's own held-out set (training/heldout/)."""
    return _read_folder(training_dir / "heldout", catalog)


def load_wild_examples(training_dir: Path, catalog: Catalog) -> list[Example]:
    """The independent held-out set written from public material (training/heldout-wild/);
    empty when a project has none."""
    return _read_folder(training_dir / WILD_FOLDER, catalog)
