"""Building the core from settings: the composition root shared by the CLI, the server and
the scheduler (bot/app.py builds the web application around it)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from .core.model.compiled import TrainedModel
from .core.model.inuse import meta_compat, model_in_use, publish
from .core.model.store import Progress, load_model
from .core.nlu.catalog import Catalog, load_catalog
from .core.nlu.engine import Engine
from .core.nlu.lookups import load_lookups
from .core.replies.formats import TEXT, ChannelFormat
from .core.replies.render import Phrases, Renderer
from .settings import Settings, SettingsError, redact_url
from .slack.format import SLACK
from .teams.format import TEAMS

if TYPE_CHECKING:  # SQLAlchemy is imported only where a database is opened (not by `classify`)
    from .core.storage.store import Store


def channel_formats() -> dict[str, ChannelFormat]:
    """Every channel the core renders for, each with its own escaping and limits."""
    return {"slack": SLACK, "teams": TEAMS, "text": TEXT}


@dataclass
class Core:
    catalog: Catalog
    engine: Engine
    renderer: Renderer
    phrases: Phrases
    model_meta: dict   # what built the model served now, with its "fingerprint"
    model_compat: str = ""  # the kind of model this process can serve (bot.core.model.inuse)

    def use(self, model: TrainedModel, meta: dict) -> None:
        """Serve `model` from now on, in this process (a retrained or newly published one)."""
        self.engine.use(model)
        self.model_meta = meta


def build_core(settings: Settings, progress: Progress = lambda _m: None, store: "Store | None" = None) -> Core:
    """The core. With `store`, it serves the model in use (the newest published in the
    database: bot.core.model.inuse); without, the one in the model folder (the CLI's
    classify, ask, chat and evaluate, which never open the database)."""
    catalog = load_catalog(settings.intents_dir)
    rebuild = settings.stale_model == "rebuild"
    if store is not None:
        from .core.storage.modelshelf import ModelShelf

        model, meta = model_in_use(catalog, settings.intents_dir, settings.training_dir, settings.model_dir,
                                   ModelShelf(store.engine), rebuild=rebuild, progress=progress)
    else:
        model, meta = load_model(catalog, settings.intents_dir, settings.training_dir, settings.model_dir,
                                 rebuild=rebuild, progress=progress)
    renderer = Renderer(catalog, settings.responses_dir, channel_formats(), settings.support_contact)
    return Core(catalog, Engine(catalog, model, load_lookups(settings.intents_dir, catalog)), renderer,
                renderer.phrases, meta, meta_compat(meta))  # the served model is of this process's kind


def retrain(settings: Settings, core: Core, store: "Store") -> dict:
    """Export corrections, rebuild the model, publish it (every process, on every machine,
    picks it up: bot/modelwatch.py) and serve it here at once."""
    from .core.model.retrain import retrain as rebuild
    from .core.storage.modelshelf import ModelShelf

    model, meta, data = rebuild(core.catalog, settings.intents_dir, settings.training_dir, settings.model_dir, store)
    publish(ModelShelf(store.engine), data, meta)
    core.use(model, meta)
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
