"""Building the core from settings: the composition root shared by the CLI, the server and
the scheduler (bot/app.py builds the web application around it)."""

from __future__ import annotations

from dataclasses import dataclass

from .core.model.store import Progress, load_model
from .core.nlu.catalog import Catalog, load_catalog
from .core.nlu.engine import Engine
from .core.nlu.lookups import load_lookups
from .core.replies.formats import TEXT, ChannelFormat
from .core.replies.render import Phrases, Renderer
from .settings import Settings
from .slack.format import SLACK
from .teams.format import TEAMS


def channel_formats() -> dict[str, ChannelFormat]:
    """Every channel the core renders for, each with its own escaping and limits."""
    return {"slack": SLACK, "teams": TEAMS, "text": TEXT}


@dataclass
class Core:
    catalog: Catalog
    engine: Engine
    renderer: Renderer
    phrases: Phrases
    model_meta: dict


def build_core(settings: Settings, progress: Progress = lambda _m: None) -> Core:
    catalog = load_catalog(settings.intents_dir)
    model, meta = load_model(catalog, settings.intents_dir, settings.training_dir, settings.model_dir,
                             rebuild=settings.stale_model == "rebuild", progress=progress)
    renderer = Renderer(catalog, settings.responses_dir, channel_formats(), settings.support_contact)
    return Core(catalog, Engine(catalog, model, load_lookups(settings.intents_dir, catalog)), renderer,
                renderer.phrases, meta)


def retrain(settings: Settings, core: Core, store) -> dict:
    """Export corrections, rebuild the model and swap it into the running engine."""
    from .core.model.retrain import retrain as rebuild

    model, meta = rebuild(core.catalog, settings.intents_dir, settings.training_dir, settings.model_dir, store)
    core.engine.model = model
    core.model_meta = meta
    return meta
