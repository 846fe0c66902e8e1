"""Reading the reference data in intents/reference/: QuickBooks error codes, source systems and
languages. Each file is optional (a project without one simply has none of that knowledge), and
every regex in them is held to the same rules as the knowledge base's (bounded repetition), so a
bad edit fails at start-up or in `make test`, never in front of a user."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from .catalog import CatalogError, _compile

REFERENCE_FOLDER = "reference"


def reference_file(intents_dir: Path, name: str) -> Path:
    return intents_dir / REFERENCE_FOLDER / name


def read_yaml(path: Path) -> dict:
    """The file's mapping, or {} when the file does not exist."""
    if not path.exists():
        return {}
    try:
        doc = yaml.load(path.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as exc:
        raise CatalogError(f"{path.name}: not valid YAML ({exc})") from None
    if doc is None:
        return {}
    if not isinstance(doc, dict):
        raise CatalogError(f"{path.name}: expected a mapping")
    return doc


def patterns(value: object, where: str) -> tuple[re.Pattern[str], ...]:
    """A list of bounded, case-insensitive regexes without capturing groups."""
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise CatalogError(f"{where}: 'match' must be a list of regexes")
    out = []
    for source in value:
        compiled = _compile(source, where)
        if compiled.groups:
            raise CatalogError(f"{where}: pattern {source!r} has a capturing group; write (?:...)")
        out.append(compiled)
    return tuple(out)


def text(doc: dict, key: str, where: str, required: bool = True) -> str:
    value = doc.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, (str, int)) or not str(value).strip():
        raise CatalogError(f"{where}: '{key}' must be non-empty text")
    return " ".join(str(value).split())
