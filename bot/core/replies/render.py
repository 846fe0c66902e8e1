"""Turning an Answer into words for a channel: one layout per channel in responses/ (slack/,
teams/, text/), each a jinja template that builds the message as data.

The words live in responses/ (layouts, phrases.yaml) and intents/ (each intent's title, causes
and steps, written once). Knowledge-base text is itself a small jinja template whose slots
(`{{ product|em("the product") }}`) are filled with what the user's message said. Anything that
came from a user is escaped for the channel it goes to, by that channel's own escape function
(its ChannelFormat, handed in by whoever builds the core), before any template sees it; the same
format fits the rendered message to the channel's limits.
"""

from __future__ import annotations

import json
import re
from functools import cached_property
from pathlib import Path
from typing import Any, Callable

from jinja2 import Environment, FileSystemLoader, StrictUndefined, Template, Undefined, nodes, pass_context
from jinja2.runtime import Context
from markupsafe import Markup

from ..nlu.answers import Answer, AnswerKind, Finding
from ..nlu.catalog import OUT_OF_SCOPE, Catalog
from ..nlu.text import one_line
from .digest_view import DigestPost, DigestWords, digest_json, digest_post
from .formats import ChannelFormat, Safe

EVIDENCE_CHARS = 200
KB_MEMO_SIZE = 4096  # rendered knowledge-base snippets kept (see Renderer.kb_text)

_BOLD = re.compile(r"\*\*([^*\n]{1,200})\*\*")


def _kb_environment(channel: ChannelFormat) -> Environment:
    def finalize(value: Any) -> str:
        if isinstance(value, Safe):
            return value
        if value is None or isinstance(value, Undefined):
            return ""
        return channel.escape(str(value))

    def em(value: Any, fallback: str = "") -> str:
        if value is None or isinstance(value, Undefined) or not str(value).strip():
            return Safe(channel.escape(fallback))
        return Safe(channel.bold(channel.escape(str(value))))

    def bold(value: str) -> str:
        return Safe(channel.bold(channel.escape(value)))

    env = Environment(finalize=finalize, autoescape=False)
    env.filters["em"] = em
    env.filters["b"] = bold
    return env


def _block_helpers() -> dict[str, Callable[..., dict]]:
    """Data constructors for the Slack layout template; the words stay in the template."""
    def mrkdwn(text: str) -> dict:
        return {"type": "mrkdwn", "text": text}

    def plain(text: str) -> dict:
        return {"type": "plain_text", "text": text, "emoji": True}

    return {
        "header": lambda text: {"type": "header", "text": plain(text)},
        "section": lambda text, accessory=None: (
            {"type": "section", "text": mrkdwn(text), **({"accessory": accessory} if accessory else {})}),
        "context": lambda *texts: {"type": "context", "elements": [mrkdwn(t) for t in texts if t]},
        "divider": lambda: {"type": "divider"},
        "actions": lambda block_id, *elements: {"type": "actions", "block_id": block_id, "elements": list(elements)},
        "button": lambda text, action_id, value, style=None: {
            "type": "button", "text": plain(text), "action_id": action_id, "value": value,
            **({"style": style} if style else {})},
        # A "⋯" menu: options as (label, value) pairs.
        "overflow": lambda action_id, *options: {
            "type": "overflow", "action_id": action_id,
            "options": [{"text": plain(label), "value": value} for label, value in options]},
    }


_DATA_SINK = "_syncmedic_data"


@pass_context
def _tojson(context: Context, value: Any) -> str:
    """A layout's result: JSON text, or, when the renderer asks for data, the value itself (it
    would only be parsed back: the JSON round trip cost a fifth of a Slack reply's rendering)."""
    sink = context.get(_DATA_SINK)
    if sink is not None:
        sink.append(value)
        return ""
    return Markup(json.dumps(value, ensure_ascii=False))


def _numbered(items: list[Any], before: str = "") -> str:
    """Steps as numbered lines; a risky step's warning (after `before`, the layout's words) on
    its own line just above it, so it is read before the step, never after."""
    lines = []
    for n, item in enumerate(items, 1):
        text, warning = (item["text"], item["risky"]) if isinstance(item, dict) else (item, "")
        if warning:
            lines.append(f"{before}{warning}")
        lines.append(f"{n}. {text}")
    return "\n".join(lines)


def _step_runs(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Steps cut before each risky one, for layouts that show a warning as its own element:
    [{"start": 1, "risky": "", "steps": [...]}, {"start": 4, "risky": "warning", "steps": [...]}]."""
    runs: list[dict[str, Any]] = []
    for n, item in enumerate(items, 1):
        if not runs or item["risky"]:
            runs.append({"start": n, "risky": item["risky"], "steps": []})
        runs[-1]["steps"].append(item)
    return runs


class Renderer:
    """Renders answers for each channel from responses/ and the catalog.

    `support_contact` (the SUPPORT_CONTACT setting) is what the knowledge base's escalation
    texts show as `{{ support }}`."""

    def __init__(self, catalog: Catalog, responses_dir: Path, formats: dict[str, ChannelFormat],
                 support_contact: str) -> None:
        self.catalog = catalog
        self.formats = formats
        self.responses_dir = responses_dir
        self._layout = Environment(
            loader=FileSystemLoader(str(responses_dir)),
            extensions=["jinja2.ext.do"],
            undefined=StrictUndefined,
            autoescape=False,
            trim_blocks=True,
            lstrip_blocks=True,
            auto_reload=False,  # layouts are read once, then served from jinja's cache without a stat()
        )
        self._layout.globals.update(_block_helpers())
        self._layout.globals["action_value"] = lambda case_id, intent: json.dumps(
            {"case_id": case_id or "", "intent": intent})
        self._layout.filters["tojson"] = _tojson
        # Lists as lines: plain Python, called directly (a jinja macro costs more than the text it makes).
        self._layout.filters["bullets"] = lambda items, mark: "\n".join(f"{mark}{item}" for item in items)
        self._layout.filters["numbered"] = _numbered
        self._layout.filters["step_runs"] = _step_runs
        self._kb_envs = {name: _kb_environment(ch) for name, ch in formats.items()}
        for env in self._kb_envs.values():
            env.globals["support"] = support_contact  # escaped per channel by finalize
        self._kb_cache: dict[tuple[str, str], tuple[Any, tuple[str, ...]]] = {}
        self._kb_rendered: dict[tuple, str] = {}

    @cached_property
    def phrases(self) -> "Phrases":
        """responses/phrases.yaml, read when first needed (`classify` never needs it)."""
        return Phrases(self.responses_dir, self.formats)

    # -- knowledge-base text -------------------------------------------------------------

    def warm_up(self, channels: tuple[str, ...] = ("slack", "teams")) -> int:
        """Compile now what a server renders, so the first reply of each kind does not pay for
        it: every knowledge-base snippet and layout of `channels`, and the plain-text summaries
        each answer's list of topics shows. (What only the command line or a fallback renders
        compiles when first needed.)"""
        count = 0
        for intent in self.catalog.intents.values():
            sources = [intent.summary, intent.means, intent.escalate, intent.answer, *intent.causes]
            sources += [t for step in intent.steps for t in (step.text, step.risky)]
            for v in intent.variants:
                sources += [v.escalate, *v.causes, *(t for step in v.steps for t in (step.text, step.risky))]
            for channel, texts in [*((c, sources) for c in channels), ("text", [intent.summary])]:
                for source in filter(None, texts):
                    self.kb_text(channel, source, {})
                    count += 1
        for name in self._layout.list_templates(filter_func=lambda name: name.split("/")[0] in channels):
            self._layout.get_template(name)
        return count

    def _data(self, name: str, ctx: dict[str, Any]) -> Any:
        """What a .json.j2 layout builds, as data (see _tojson)."""
        sink: list[Any] = []
        self._layout.get_template(name).render({**ctx, _DATA_SINK: sink})
        if len(sink) != 1:
            raise ValueError(f"{name} produced {len(sink)} results, not one")
        return sink[0]

    def raw_layout(self, channel: str, name: str, ctx: dict[str, Any]) -> Any:
        """What responses/<channel>/<name>.json.j2 builds, not yet fitted to the channel."""
        return self._data(f"{channel}/{name}.json.j2", ctx)

    def layout(self, channel: str, name: str, ctx: dict[str, Any]) -> Any:
        """What responses/<channel>/<name>.json.j2 builds from `ctx`, fitted to the channel."""
        return self.formats[channel].fit(self._data(f"{channel}/{name}.json.j2", ctx))

    def kb_text(self, channel: str, source: str, entities: dict[str, str]) -> str:
        key = (channel, source)
        compiled = self._kb_cache.get(key)
        if compiled is None:
            env = self._kb_envs[channel]
            prepared = _BOLD.sub(r"{% filter b %}\1{% endfilter %}", source)
            tree = env.parse(prepared)  # parsed once: for the names it uses and for its code
            # Every name it reads (a superset of the entities it uses is enough for the memo
            # below, and costs a fraction of jinja's meta.find_undeclared_variables).
            names = tuple(sorted({n.name for n in tree.find_all(nodes.Name) if n.ctx == "load"}))
            template = env.template_class.from_code(env, env.compile(tree), env.make_globals(None), None)
            compiled = self._kb_cache[key] = (template, names)
        template, names = compiled
        # A snippet's text depends only on the entities it names, so most of an answer's dozen
        # snippets are the same string every time: rendering each costs more than the rest of
        # the reply together. Bounded, because entity values come from users.
        memo = (channel, source, *(entities.get(n) for n in names))
        text = self._kb_rendered.get(memo)
        if text is None:
            if len(self._kb_rendered) >= KB_MEMO_SIZE:
                self._kb_rendered.clear()
            text = self._kb_rendered[memo] = template.render(**entities)
        return text

    def finding_view(self, channel: str, finding: Finding) -> dict[str, Any]:
        ch = self.formats[channel]
        intent = self.catalog[finding.intent]
        values = finding.entities

        def r(source: str) -> str:
            return self.kb_text(channel, source, values)

        def steps(items: tuple) -> list[dict[str, str]]:
            return [{"text": r(s.text), "risky": r(s.risky) if s.risky else ""} for s in items]

        chosen = [v for v in intent.variants if not finding.variants or v.key in finding.variants]
        together = len(chosen) > 1  # the evidence did not tell: each under its "If this was..."
        return {
            "id": intent.id,
            "kind": intent.kind,
            "title": intent.title,
            "summary": r(intent.summary),
            "section": intent.section,
            "means": r(intent.means),
            "causes": [r(c) for c in intent.causes],
            "steps": steps(intent.steps),
            "variants": [{"key": v.key, "label": v.when if together else v.label,
                          "causes": [r(c) for c in v.causes], "steps": steps(v.steps),
                          "escalate": r(v.escalate) if v.escalate else ""}
                         for v in chosen],
            "escalate": r(intent.escalate) if intent.escalate else "",
            "answer": r(intent.answer),
            "evidence": ch.escape(one_line(finding.evidence, EVIDENCE_CHARS)) if finding.evidence else "",
            "confidence_pct": round(finding.confidence * 100),
            "source": finding.source,
            "entities": {k: ch.escape(v) for k, v in values.items()},
        }

    def other_view(self, channel: str, finding: Finding) -> dict[str, Any]:
        """A finding that is no known problem: an uncovered QuickBooks code, another product's
        error, or a failing line we do not recognise (its text is the user's: escaped)."""
        esc = self.formats[channel].escape
        topic = self.catalog[finding.intent] if finding.intent in self.catalog else None
        return {
            "kind": str(finding.kind),
            "text": esc(one_line(finding.evidence, EVIDENCE_CHARS)) if finding.evidence else "",
            "code": esc(finding.code),
            "code_name": esc(finding.code_name),
            "meaning": esc(finding.meaning),
            "system_name": esc(finding.system_name),
            "topic": topic.title if topic is not None else "",
        }

    def topic_view(self, intent_id: str, confidence: float) -> dict[str, Any]:
        intent = self.catalog[intent_id]
        return {"id": intent_id, "title": intent.title, "summary": self.kb_text("text", intent.summary, {}),
                "confidence_pct": round(confidence * 100)}

    def context(self, channel: str, answer: Answer, case_id: str | None = None) -> dict[str, Any]:
        topics = [self.topic_view(a.intent, a.confidence) for a in answer.alternatives
                  if a.intent in self.catalog and a.intent != OUT_OF_SCOPE]
        problems = [self.finding_view(channel, f) for f in answer.findings if f.is_known]
        others = [self.other_view(channel, f) for f in answer.findings if not f.is_known]
        return {
            "kind": str(answer.kind),
            "intent": answer.intent,
            "confidence_pct": round(answer.confidence * 100),
            "findings": problems,
            # What a paste had besides known problems, and why a refusal refuses.
            "others": others,
            "unlisted": answer.unlisted,
            "count": len(problems) + len(others) + answer.unlisted,
            "refusal": others[0] if answer.kind is AnswerKind.OUT_OF_SCOPE and len(others) == 1 else None,
            "language_name": answer.language_name,
            "topics": topics,
            "case_id": case_id or "",
            "value": json.dumps({"case_id": case_id or "", "intent": answer.intent}),
        }

    # -- channels -----------------------------------------------------------------------

    def slack(self, answer: Answer, case_id: str | None = None) -> dict[str, Any]:
        """{"text": notification fallback, "blocks": [...]} within Slack's limits."""
        return self.layout("slack", "answer", self.context("slack", answer, case_id))

    def teams(self, answer: Answer, case_id: str | None = None) -> dict[str, Any]:
        """An Adaptive Card (the attachment content)."""
        return self.layout("teams", "answer", self.context("teams", answer, case_id))

    def text(self, answer: Answer, case_id: str | None = None, chat: bool = False) -> str:
        """Plain text; `chat`: for `python -m bot chat`, which reads the person's answer to it
        ("fixed", a number, "person"), so the reply says what they can answer."""
        return self._layout.get_template("text/answer.txt.j2").render(
            {**self.context("text", answer, case_id), "chat": chat}).strip() + "\n"

    # -- check-ins and the digest ---------------------------------------------------------

    def checkin(self, channel: str, case_id: str, intent: str) -> Any:
        """The follow-up question for a case, for `channel` (slack, teams or text)."""
        ctx = {"title": self.catalog.title(intent), "value": json.dumps({"case_id": case_id, "intent": intent}),
               "data": {"case_id": case_id, "intent": intent}}
        if channel == "text":
            return self._layout.get_template("text/checkin.txt.j2").render(ctx).strip()
        return self.layout(channel, "checkin", ctx)

    def digest_json(self, digest: Any) -> dict[str, Any]:
        """`python -m bot digest --preview --json`."""
        return digest_json(self, digest)

    def digest_post(self, channel: str, digest: Any, compact: bool = False) -> DigestPost:
        """The daily digest for Slack or Teams as posted: the message, fitted to the channel's
        budget, and the groups that did not fit, as replies for its thread (digest_view.py)."""
        return digest_post(self, channel, digest, compact)

    def digest(self, channel: str, digest: Any) -> Any:
        """The daily digest for `channel`: the whole of it as text, or the message (without
        the thread replies) for Slack and Teams."""
        if channel == "text":
            view = DigestWords(self, "text").view(digest)
            return self._layout.get_template("text/digest.txt.j2").render(view).strip() + "\n"
        return self.digest_post(channel, digest).main


class Phrases:
    """Fixed phrases from responses/phrases.yaml, rendered and escaped for a channel."""

    def __init__(self, responses_dir: Path, formats: dict[str, ChannelFormat]) -> None:
        import yaml

        self._source: dict[str, str] = yaml.safe_load((responses_dir / "phrases.yaml").read_text(encoding="utf-8"))
        self._envs = {name: _kb_environment(ch) for name, ch in formats.items()}
        self._compiled: dict[tuple[str, str], Template] = {}

    def __call__(self, key: str, channel: str = "text", **values: Any) -> str:
        template = self._compiled.get((key, channel))
        if template is None:  # compiling costs far more than rendering: once per phrase and channel
            # Spaces are normalised; a deliberate line break ("\n" in the YAML) is kept.
            source = "\n".join(" ".join(line.split()) for line in self._source[key].strip().split("\n"))
            template = self._compiled[(key, channel)] = self._envs[channel].from_string(source)
        return template.render(**values)
