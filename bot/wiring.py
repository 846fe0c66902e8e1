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
from .settings import Settings, SettingsError, redact_url
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


def build_core(settings: Settings, progress: Progress = lambda _m: None, store=None) -> Core:
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


def open_store(settings: Settings, *, migrate: bool = True):
    """The database (migrated unless `migrate` is False: a worker whose parent migrated it).
    One that cannot be used (a URL SQLAlchemy cannot read, a server that does not answer, a
    file that cannot be created) stops start-up with one line naming DATABASE_URL."""
    from sqlalchemy.exc import SQLAlchemyError

    from .core.storage.store import Store

    try:
        store = Store.from_url(settings.database_url, migrate=migrate)
        if not migrate:
            store.ping()
    except (SQLAlchemyError, OSError, ImportError, ValueError) as exc:
        raise SettingsError(f"DATABASE_URL={redact_url(settings.database_url)!r}: cannot use the database: "
                            f"{failure_reason(exc)}") from None
    return store


def failure_reason(exc: BaseException, limit: int = 200) -> str:
    """The first line of what the database driver said (psycopg's second line is advice), for a
    one-line message."""
    cause = getattr(exc, "orig", None) or exc
    lines = [line.strip() for line in str(cause).splitlines() if line.strip()]
    text = lines[0] if lines else type(cause).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."
