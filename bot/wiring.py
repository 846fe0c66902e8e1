"""Building the core from settings: the composition root for the CLI (and later the app)."""

from __future__ import annotations

from dataclasses import dataclass

from .core.assistant import Assistant
from .core.catalog import Catalog, load_catalog

from .core.engine import Engine
from .core.model_store import Progress, load_model
from .core.rendering import Renderer
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
    engine = Engine(catalog, model)
    renderer = Renderer(catalog, settings.responses_dir)
    return Core(catalog, engine, renderer, Assistant(engine, renderer), meta)
