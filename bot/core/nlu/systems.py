"""Which system a message says its error came from: DEAR, QuickBooks Online, or another product.

Other products' errors read like ours (the same QuickBooks messages, a "401", "period closed").
DEAR's steps do not fix them, so a message that names another product as the source is refused
with that reason (intents/reference/source_systems.yaml lists them), and the product is reported
as the `source_system` entity.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from .catalog import Catalog, CatalogError
from .patterns import lowered_if_ascii, required_text
from .reference import patterns, read_yaml, reference_file, text

SYSTEMS_FILE = "source_systems.yaml"
DEAR = "dear"
QBO = "quickbooks_online"
ROLES = ("accounting", "app")
# Past this many characters a paste is not searched for product names (they come first, in the
# question around a paste, not in the middle of a megabyte of log).
SCAN_CHARS = 20_000


@dataclass(frozen=True)
class System:
    id: str
    name: str
    role: str            # "ours", "accounting" or "app"
    match: tuple[re.Pattern[str], ...]
    needles: tuple[str, ...]



@dataclass(frozen=True)
class Sources:
    """What a message says about where its error came from."""

    other: System | None     # the other product that makes it out of scope, if any
    ours: tuple[str, ...]    # which of DEAR / QuickBooks Online it names

    @property
    def source_system(self) -> str:
        """The `source_system` entity: the other product, else DEAR, else QuickBooks Online."""
        if self.other is not None:
            return self.other.id
        return self.ours[0] if self.ours else ""


class Systems:
    def __init__(self, ours: list[System], others: list[System], context_intents: frozenset[str] = frozenset(),
                 context: tuple[re.Pattern[str], ...] = ()) -> None:
        self.ours = ours
        self.others = others
        self.context_intents = context_intents
        self._context = tuple(zip(context, (required_text(p) for p in context)))
        # Every (needle, pattern, system) in one flat list: a message is checked against a
        # hundred product names, and one tight loop of substring tests costs a tenth of a
        # function call per system.
        self._checks = [(needle, pattern, system) for system in ours + others
                        for pattern, needle in zip(system.match, system.needles)]

    def _named(self, sample: str) -> dict[str, tuple[int, System]]:
        """Each system the sample names, with where it first does."""
        lowered = lowered_if_ascii(sample)
        found: dict[str, tuple[int, System]] = {}
        for needle, pattern, system in self._checks:
            if lowered is not None and needle and needle not in lowered:
                continue
            m = pattern.search(sample)
            if m and (system.id not in found or m.start() < found[system.id][0]):
                found[system.id] = (m.start(), system)
        return found

    def needs_context(self, intent: str) -> bool:
        """Whether the model may answer `intent` only for a message about the sync."""
        return intent in self.context_intents

    def about_the_sync(self, text: str) -> bool:
        sample = text[:SCAN_CHARS]
        lowered = lowered_if_ascii(sample)
        return any((lowered is None or not needle or needle in lowered) and pattern.search(sample)
                   for pattern, needle in self._context)

    def sources(self, text: str) -> Sources:
        named_all = self._named(text[:SCAN_CHARS])
        ours = tuple(s.id for s in self.ours if s.id in named_all)
        named = [(at, s) for at, s in named_all.values() if s.role != "ours"]
        # DEAR sending to another accounting system ("Cin7 Core to Xero") is still out of scope,
        # unless QuickBooks Online is named too (a move from one to the other); an app named
        # beside DEAR is usually context ("the vendor Bill.com created") and is left to the rest
        # of the engine.
        out = [(at, s) for at, s in named
               if (s.role == "accounting" and QBO not in ours) or (s.role == "app" and DEAR not in ours)]
        other = min(out, key=lambda pair: pair[0])[1] if out else None
        return Sources(other, ours)


def _system(doc: object, where: str, role: str | None) -> System:
    if not isinstance(doc, dict):
        raise CatalogError(f"{where}: expected a mapping")
    system_id = text(doc, "id", where)
    where = f"{where} ({system_id})"
    if role is None:
        role = text(doc, "role", where)
        if role not in ROLES:
            raise CatalogError(f"{where}: role must be one of {', '.join(ROLES)}")
    match = patterns(doc.get("match"), where)
    return System(system_id, text(doc, "name", where), role, match, tuple(required_text(p) for p in match))


def load_systems(intents_dir: Path, catalog: Catalog | None = None) -> Systems:
    path = reference_file(intents_dir, SYSTEMS_FILE)
    doc = read_yaml(path)
    context = doc.get("sync_context") or {}
    if not isinstance(context, dict):
        raise CatalogError(f"{path.name}: 'sync_context' must be a mapping")
    intents = context.get("intents") or []
    if not isinstance(intents, list) or (catalog is not None and any(i not in catalog for i in intents)):
        raise CatalogError(f"{path.name}: sync_context 'intents' must list intents of the catalog")
    match = patterns(context["match"], f"{path.name} sync_context") if intents else ()
    ours = [_system(d, f"{path.name} ours {n}", "ours") for n, d in enumerate(doc.get("ours") or [], start=1)]
    others = [_system(d, f"{path.name} others {n}", None) for n, d in enumerate(doc.get("others") or [], start=1)]
    ids = [s.id for s in ours + others]
    if len(ids) != len(set(ids)):
        raise CatalogError(f"{path.name}: a system id is listed twice")
    return Systems(ours, others, frozenset(map(str, intents)), match)
