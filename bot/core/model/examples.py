"""Labelled examples: training/examples/ (what the model learns) and training/heldout/ (what
`evaluate` scores). The two are read by separate functions so training cannot reach the
held-out set by accident."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from ..nlu.catalog import OUT_OF_SCOPE, Catalog, CatalogError


@dataclass(frozen=True)
class Example:
    text: str
    intent: str
    source: str


def _read_folder(folder: Path, catalog: Catalog) -> list[Example]:
    examples = []
    for path in sorted(folder.glob("*.yaml")):
        try:
            doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            raise CatalogError(f"{path}: not valid YAML ({exc})") from None
        intent = doc.get("intent")
        if intent != OUT_OF_SCOPE and intent not in catalog:
            raise CatalogError(f"{path}: unknown intent {intent!r}")
        for n, text in enumerate(doc.get("examples") or [], start=1):
            if not isinstance(text, str) or not text.strip():
                raise CatalogError(f"{path}: example {n} is empty or not text")
            examples.append(Example(text.strip(), intent, f"{path.name}:{n}"))
    return examples


def training_files(training_dir: Path) -> list[Path]:
    """Every file the model is built from (its fingerprint covers exactly these)."""
    return sorted((training_dir / "examples").glob("*.yaml")) + sorted((training_dir / "corrections").glob("*.yaml"))


def load_training_examples(training_dir: Path, catalog: Catalog) -> list[Example]:
    """Hand-written examples plus corrections users made with "Not this"."""
    return _read_folder(training_dir / "examples", catalog) + _read_folder(training_dir / "corrections", catalog)


def load_heldout_examples(training_dir: Path, catalog: Catalog) -> list[Example]:
    return _read_folder(training_dir / "heldout", catalog)
