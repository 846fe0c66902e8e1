"""Building the core from settings: the composition root for the CLI (and later the app)."""

from __future__ import annotations

from dataclasses import dataclass

from .core.assistant import Assistant
from .core.nlu.catalog import Catalog, load_catalog

from .core.nlu.engine import Engine
from .core.nlu.lookups import load_lookups
from .core.model.store import Progress, load_model
from .core.replies.render import Renderer
from .settings import Settings

@dataclass
class Core:
    catalog: Catalog
    engine: Engine
    renderer: Renderer
    assistant: Assistant
    model_meta: dict

def build_core(settings: Settings, progress: Progress = lambda _m: None) -> Core:
    catalog = load_catalog(settings.intents_dir)
    model, meta = load_model(catalog, settings.intents_dir, settings.training_dir, settings.model_dir,
                             rebuild=settings.stale_model == "rebuild", progress=progress)
    engine = Engine(catalog, model, load_lookups(settings.intents_dir, catalog))
    renderer = Renderer(catalog, settings.responses_dir)
    return Core(catalog, engine, renderer, Assistant(engine, renderer), meta)


def export_corrections(settings: Settings, store) -> int:
    """Write the "Not this" corrections from the database where training reads them,
    one file per intent (training/corrections/from-database.<intent>.yaml)."""
    import yaml

    folder = settings.training_dir / "corrections"
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


def retrain(settings: Settings, core: Core, store) -> dict:
    """Export corrections, rebuild the model and swap it into the running engine."""
    from .core.model.store import build_and_save

    export_corrections(settings, store)
    model, meta = build_and_save(core.catalog, settings.intents_dir, settings.training_dir, settings.model_dir)
    core.engine.model = model
    core.model_meta = meta
    return meta
