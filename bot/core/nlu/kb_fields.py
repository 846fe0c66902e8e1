"""The knowledge-base fields that make a fix safe to follow: steps (risky or not), sources.

A step restates the help article, or names the public Intuit or Cin7 Core page it relies on
(`source`). A step that is hard to undo (a bulk rewrite, a delete, a disconnect, reopening a
closed period, unmatching a reconciled transaction) carries `risky`: the warning every layout
shows before the step. The rule is explained in docs/knowledge-base.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit


class CatalogError(ValueError):
    """The knowledge base is malformed; the message names the file and the field."""


# Values every knowledge-base text may use besides the entity slots: operator settings.
KB_VALUES = ("support",)
# A source is a public help page of one of the two products the bot is about.
SOURCE_DOMAINS = ("intuit.com", "cin7.com")


@dataclass(frozen=True)
class Step:
    text: str
    risky: str = ""                 # the warning shown before the step; "" when it is safe
    sources: tuple[str, ...] = ()   # help pages the step relies on beyond the article

    def __str__(self) -> str:
        return self.text


def _one_line(value: object, where: str, key: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise CatalogError(f"{where}: '{key}' must be text")
    return " ".join(value.split())


def parse_sources(value: object, where: str) -> tuple[str, ...]:
    """One URL or a list of them, each an https page on an Intuit or Cin7 domain."""
    if value is None:
        return ()
    urls = [value] if isinstance(value, str) else value
    if not isinstance(urls, list) or not urls:
        raise CatalogError(f"{where}: 'source' must be a URL or a list of URLs")
    out = []
    for url in urls:
        url = _one_line(url, where, "source")
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        if parts.scheme != "https" or not any(host == d or host.endswith("." + d) for d in SOURCE_DOMAINS):
            raise CatalogError(f"{where}: source {url!r} is not an https page on "
                               f"{' or '.join(SOURCE_DOMAINS)}")
        out.append(url)
    return tuple(out)


def parse_steps(doc: dict, where: str, required: bool) -> tuple[Step, ...]:
    """`steps:` as plain text (restating the article) or `{text, risky, source}` mappings."""
    value = doc.get("steps") or []
    if not isinstance(value, list):
        raise CatalogError(f"{where}: 'steps' must be a list")
    if required and not value:
        raise CatalogError(f"{where}: 'steps' needs at least one entry")
    steps = []
    for n, item in enumerate(value, start=1):
        sw = f"{where} step {n}"
        if isinstance(item, str):
            steps.append(Step(_one_line(item, sw, "steps")))
            continue
        if not isinstance(item, dict) or "text" not in item:
            raise CatalogError(f"{sw}: a step is text, or a mapping with 'text'")
        unknown = set(item) - {"text", "risky", "source"}
        if unknown:
            raise CatalogError(f"{sw}: unknown keys {sorted(unknown)} (use text, risky, source)")
        risky = _one_line(item["risky"], sw, "risky") if "risky" in item else ""
        steps.append(Step(_one_line(item["text"], sw, "text"), risky, parse_sources(item.get("source"), sw)))
    return tuple(steps)
