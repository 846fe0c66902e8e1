"""The model in use: one model for every process on every machine, decided by the database.

A model file on one machine's disk cannot be that: a retrain in one web process used to reach
that process only (other workers, a worker forked again from its parent, other machines kept
the old one). So every model that is built to be served is *published* into the database
(bot/core/storage/modelshelf.py) with its bytes, and every process serves the newest model
published for processes like it:

- `python -m bot train` and the App Home's retrain button publish the model they build;
- a process starting up serves the newest published model, from its own model folder when
  that holds the same bytes, else from the database (no training at start-up when there is
  one); only a database with none gets the local model (loaded or rebuilt as before) published;
- a running process looks every MODEL_CHECK_INTERVAL for a newer one and swaps it in
  (bot/modelwatch.py), and a web worker does so before it serves its first request.

"Processes like it" (`compat`) have the same model format, the same knowledge base and training
examples (the corrections exported from the database at a retrain are left out: they travel
inside the model) and the same library versions. During a deploy that changes intents/, the
old and new processes each serve the newest model of their own kind.
"""

from __future__ import annotations

import hashlib
import json
import pickle
from pathlib import Path
from typing import TYPE_CHECKING

from ..nlu.catalog import Catalog
from .compiled import TrainedModel
from .store import (MODEL_FORMAT, Progress, StaleModelError, base_fingerprint, fingerprint, library_versions,
                    load_model, model_from_bytes, read_saved)

if TYPE_CHECKING:  # SQLAlchemy only where a database is opened: `classify` must not pay for it
    from ..storage.modelshelf import ModelShelf, Shelved


def compat_key(model_format: int, base_sha256: str, libraries: dict) -> str:
    """Which processes can serve a model (see the module docstring)."""
    return hashlib.sha256(json.dumps([model_format, base_sha256, libraries], sort_keys=True).encode()).hexdigest()


def local_compat(intents_dir: Path, training_dir: Path) -> str:
    """The kind of model this process can serve."""
    return compat_key(MODEL_FORMAT, base_fingerprint(intents_dir, training_dir), library_versions())


def meta_compat(meta: dict) -> str:
    """The kind of process a model built with `meta` can be served by."""
    return compat_key(meta["format"], meta["base_sha256"], meta["libraries"])


def publish(shelf: ModelShelf, data: bytes, meta: dict) -> Shelved:
    """Make a built model the one in use for every process of its kind."""
    if fingerprint(data) != meta.get("fingerprint"):
        raise ValueError("the model's bytes do not match its description")
    return shelf.put(data, meta, meta_compat(meta))


def load_published(shelf: ModelShelf, shelved: Shelved, folder: Path | None = None) -> tuple[TrainedModel, dict]:
    """A published model, read from `folder` when it holds the same bytes (no 13 MB read)."""
    saved = read_saved(folder) if folder is not None else None
    if saved is not None and saved[1]["fingerprint"] == shelved.fingerprint:
        data, meta = saved[0], shelf.read_meta(shelved.id)
    else:
        data, meta = shelf.read(shelved.id)
    return model_from_bytes(data, f"published model {shelved.fingerprint[:12]}"), {
        **meta, "fingerprint": fingerprint(data)}


def model_in_use(catalog: Catalog, intents_dir: Path, training_dir: Path, folder: Path, shelf: ModelShelf, *,
                 rebuild: bool = True, progress: Progress = lambda _m: None) -> tuple[TrainedModel, dict]:
    """The model a starting process serves (see the module docstring)."""
    newest = shelf.newest(local_compat(intents_dir, training_dir))
    if newest is not None:
        try:
            model, meta = load_published(shelf, newest, folder)
        except (StaleModelError, pickle.UnpicklingError, EOFError, AttributeError, ImportError, ValueError) as exc:
            # Unreadable bytes (never expected: we wrote them): serve this machine's own model.
            progress(f"the published model {newest.fingerprint[:12]} cannot be loaded ({type(exc).__name__}); "
                     "using the model folder's")
        else:
            progress(f"serving the model in use, built at {newest.built_at} ({newest.fingerprint[:12]})")
            return model, meta
    model, meta = load_model(catalog, intents_dir, training_dir, folder, rebuild=rebuild, progress=progress)
    saved = read_saved(folder)
    if saved is not None and saved[1]["fingerprint"] == meta["fingerprint"]:
        publish(shelf, saved[0], meta)
        progress(f"published the model built at {meta.get('built_at')} ({meta['fingerprint'][:12]})")
    return model, meta
