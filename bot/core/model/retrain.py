"""Retraining from what users taught the bot: "Not this" corrections exported where training
reads them (training/corrections/from-database.<intent>.yaml), then the model rebuilt."""

from __future__ import annotations

from pathlib import Path

import yaml

from ..nlu.catalog import Catalog
from ..storage.store import Store
from .compiled import TrainedModel
from .store import Progress, build_model, save_model


def export_corrections(training_dir: Path, store: Store) -> int:
    """Write the database's corrections, one file per intent, replacing the last export; how many."""
    folder = training_dir / "corrections"
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("from-database.*.yaml"):
        old.unlink()
    rows = store.corrections()
    by_intent: dict[str, list[str]] = {}
    for text, intent in rows:
        by_intent.setdefault(intent, []).append(text)
    for intent, texts in sorted(by_intent.items()):
        (folder / f"from-database.{intent}.yaml").write_text(
            yaml.safe_dump({"intent": intent, "examples": texts}, allow_unicode=True, sort_keys=False),
            encoding="utf-8")
    return len(rows)


def retrain(catalog: Catalog, intents_dir: Path, training_dir: Path, model_dir: Path, store: Store,
            progress: Progress = lambda _m: None) -> tuple[TrainedModel, dict, bytes]:
    """Export the corrections and build (and save) a new model from everything: (model, what
    built it, its bytes, for publishing: bot.core.model.inuse)."""
    export_corrections(training_dir, store)
    model, meta, data = build_model(catalog, intents_dir, training_dir, progress)
    save_model(model_dir, data, meta)
    return model, meta, data
