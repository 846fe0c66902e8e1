"""The reference data the engine consults beside the model (intents/reference/), in one place."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .catalog import Catalog
from .codes import CodeBook, load_codebook
from .language import Languages, load_languages
from .systems import Systems, load_systems


@dataclass(frozen=True)
class Lookups:
    codes: CodeBook = field(default_factory=lambda: CodeBook([]))
    systems: Systems = field(default_factory=lambda: Systems([], []))
    languages: Languages = field(default_factory=lambda: Languages(frozenset(), []))


def load_lookups(intents_dir: Path, catalog: Catalog) -> Lookups:
    """QuickBooks error codes, source systems and languages; each empty when its file is absent."""
    return Lookups(load_codebook(intents_dir, catalog), load_systems(intents_dir, catalog), load_languages(intents_dir))
