"""Storing the trained model beside a record of what built it, and refusing stale ones.

A pickled scikit-learn model is only trustworthy with the library versions that wrote it
and only current for the inputs it was trained on. `model.json` records both; loading
compares them before unpickling and either rebuilds or refuses, never silently serves.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ..nlu.catalog import Catalog
from .compiled import PARAMS, TrainedModel
from .examples import is_draft, load_training_examples, training_files

Progress = Callable[[str], None]

# 2: features numbered most common first (bot.core.model.train._most_common_first).
# 3: coefficients in single precision (bot.core.model.train.COMPILE_TOLERANCE).
# 4: the pickled classes moved to bot.core.model.compiled (a format 3 pickle names bot.core.model).
MODEL_FORMAT = 4


class StaleModelError(RuntimeError):
    """The stored model does not match the current inputs or libraries."""


def library_versions() -> dict[str, str]:
    """Versions of what built the model, read from package metadata so that checking them
    does not import scikit-learn (serving never needs it)."""
    from importlib.metadata import PackageNotFoundError, version

    found = {"python": platform.python_version()}
    for package in ("scikit-learn", "numpy", "scipy"):
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            found[package] = "missing"
    return found


def fingerprint(data: bytes) -> str:
    """What identifies a model wherever it is: the sha256 of its pickled bytes."""
    return hashlib.sha256(data).hexdigest()


def model_from_bytes(data: bytes, origin: str) -> TrainedModel:
    """Unpickle a model read from our own model folder or database (both trusted: nothing
    else writes there)."""
    import pickle

    model = pickle.loads(data)
    if not isinstance(model, TrainedModel):
        raise StaleModelError(f"{origin} does not hold a SyncMedic model")
    return model


# Written by the database's "Not this" corrections at each retrain (bot.core.model.retrain):
# they travel inside a published model, so they are not part of what another machine must share.
EXPORTED_CORRECTIONS = "from-database."


def inputs_fingerprint(intents_dir: Path, training_dir: Path, *, exported: bool = True) -> str:
    """sha256 over every file the model is built from, the parameters and the format;
    `exported=False` leaves out the corrections exported from the database (base_fingerprint)."""
    digest = hashlib.sha256(json.dumps([MODEL_FORMAT, PARAMS], sort_keys=True, default=str).encode())
    for path in sorted(intents_dir.glob("*.yaml")) + training_files(training_dir):
        if not exported and path.parent.name == "corrections" and path.name.startswith(EXPORTED_CORRECTIONS):
            continue
        data = path.read_bytes()
        if is_draft(data):  # not learned from yet (python -m bot gaps --draft): no rebuild for it
            continue
        digest.update(str(path.relative_to(path.parent.parent)).encode() + b"\0")
        digest.update(data + b"\0")
    return digest.hexdigest()


def base_fingerprint(intents_dir: Path, training_dir: Path) -> str:
    """What every process serving one model must have in common (with the format and the
    library versions): the knowledge base and the examples in the repository."""
    return inputs_fingerprint(intents_dir, training_dir, exported=False)


@dataclass(frozen=True)
class ModelPaths:
    folder: Path

    @property
    def model(self) -> Path:
        return self.folder / "model.pickle"

    @property
    def meta(self) -> Path:
        return self.folder / "model.json"


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".")
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.replace(tmp, path)


def build_model(catalog: Catalog, intents_dir: Path, training_dir: Path,
                progress: Progress = lambda _m: None) -> tuple[TrainedModel, dict, bytes]:
    """Train a model: (model, what built it, its pickled bytes)."""
    import pickle

    from .train import train

    examples = load_training_examples(training_dir, catalog)
    kb_texts, kb_labels = [], []
    for intent in catalog.intents.values():
        for text in intent.training_texts():
            kb_texts.append(text)
            kb_labels.append(intent.id)
    progress(f"training on {len(examples)} examples and {len(kb_texts)} knowledge-base passages")
    started = time.perf_counter()
    model = train([e.text for e in examples], [e.intent for e in examples], kb_texts, kb_labels, progress)
    meta = {
        "format": MODEL_FORMAT,
        "inputs_sha256": inputs_fingerprint(intents_dir, training_dir),
        "libraries": library_versions(),
        "params": PARAMS,
        "examples": len(examples),
        "classes": model.classes,
        "threshold": model.threshold,
        "margin": model.margin,
        "cv_accuracy": round(model.cv_accuracy, 4),
        "train_seconds": round(time.perf_counter() - started, 1),
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "base_sha256": base_fingerprint(intents_dir, training_dir),
    }
    data = pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL)
    meta["fingerprint"] = fingerprint(data)
    return model, meta, data


def save_model(folder: Path, data: bytes, meta: dict) -> None:
    paths = ModelPaths(folder)
    _atomic_write(paths.model, data)
    _atomic_write(paths.meta, json.dumps(meta, indent=2, default=str).encode())


def build_and_save(catalog: Catalog, intents_dir: Path, training_dir: Path, folder: Path,
                   progress: Progress = lambda _m: None) -> tuple[TrainedModel, dict]:
    model, meta, data = build_model(catalog, intents_dir, training_dir, progress)
    save_model(folder, data, meta)
    return model, meta


def read_saved(folder: Path) -> tuple[bytes, dict] | None:
    """The saved model's bytes and description as they are on disk (the description with the
    bytes' own fingerprint), or None when there is no complete, readable pair."""
    paths = ModelPaths(folder)
    try:
        meta = json.loads(paths.meta.read_text())
        data = paths.model.read_bytes()
    except (OSError, ValueError):
        return None
    return (data, {**meta, "fingerprint": fingerprint(data)}) if isinstance(meta, dict) else None


def stale_reason(meta: dict, intents_dir: Path, training_dir: Path) -> str | None:
    """Why a stored model may not be used, or None when it is current."""
    if meta.get("format") != MODEL_FORMAT:
        return "it was built by another version of SyncMedic"
    if meta.get("libraries") != library_versions():
        return "it was built with other library versions"
    if meta.get("inputs_sha256") != inputs_fingerprint(intents_dir, training_dir):
        return "intents/ or training/ changed since it was built"
    return None


def load_model(catalog: Catalog, intents_dir: Path, training_dir: Path, folder: Path,
               rebuild: bool = True, progress: Progress = lambda _m: None) -> tuple[TrainedModel, dict]:
    """The current model: loaded when up to date, else rebuilt (or StaleModelError)."""
    paths = ModelPaths(folder)
    reason = "no model has been built yet"
    if paths.meta.exists() and paths.model.exists():
        saved = read_saved(folder)
        if saved is None:
            reason = "its description file is unreadable"
        else:
            data, meta = saved
            reason = stale_reason(meta, intents_dir, training_dir) or ""
            if not reason:
                # A model saved before base_sha256 was recorded: current, so built from these inputs.
                meta.setdefault("base_sha256", base_fingerprint(intents_dir, training_dir))
                return model_from_bytes(data, str(paths.model)), meta
    if not rebuild:
        raise StaleModelError(f"The model in {folder} cannot be used: {reason}. Run `python -m bot train`.")
    progress(f"rebuilding the model: {reason}")
    return build_and_save(catalog, intents_dir, training_dir, folder, progress)
