"""One entry point for every edge: a message in, a reply out.

Slack, Teams, the sandbox and the CLI all call `Assistant.handle`; they differ only in how
they translate their payloads into a Message and the Reply into their own format.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .nlu.answers import Answer, AnswerKind
from .nlu.engine import Engine
from .replies.render import Renderer


@dataclass(frozen=True)
class Message:
    text: str
    platform: str = "cli"
    user: str = ""
    channel: str = ""
    thread: str = ""
    # Set when the user picked an intent themselves ("This one" / "Not this" menu).
    chosen_intent: str | None = None


@dataclass(frozen=True)
class Reply:
    answer: Answer
    case_id: str | None = None
    extra: dict = field(default_factory=dict)

    @property
    def is_diagnosis(self) -> bool:
        return self.answer.kind is AnswerKind.DIAGNOSIS


class Assistant:
    def __init__(self, engine: Engine, renderer: Renderer) -> None:
        self.engine = engine
        self.renderer = renderer

    def handle(self, message: Message) -> Reply:
        return self.handle_many([message])[0]

    def handle_many(self, messages: list[Message]) -> list[Reply]:
        """Several messages at once: one model call for all of them (the cheap path)."""
        free = [m for m in messages if not m.chosen_intent]
        answers = iter(self.engine.diagnose_many([m.text for m in free]))
        return [Reply(self.engine.answer_for(m.chosen_intent, m.text)) if m.chosen_intent else Reply(next(answers))
                for m in messages]
