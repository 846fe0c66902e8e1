"""`python -m bot chat`: a terminal conversation, the simplest edge over the Desk."""

from __future__ import annotations

from typing import Callable

from .core.nlu.answers import Answer, AnswerKind
from .core.desk import Desk
from .wiring import Core

_FIXED = {"fixed", "fixed it", "it worked", "worked"}
_FAILING = {"still failing", "failing", "didn't work", "did not work", "still broken"}
_NOT_THIS = {"not this", "wrong", "not it"}
_QUIT = {"quit", "exit", "bye", ":q"}
_PERSON = {"person", "human", "none", "none of these"}


def run_chat(core: Core, read: Callable[[str], str] = input, write: Callable[[str], None] = print,
             desk: Desk | None = None) -> int:
    phrases = core.phrases
    desk = desk or Desk(core.engine)
    write(phrases("chat_welcome"))
    last: Answer | None = None
    last_text = ""
    options: list[str] = []  # intent ids a number reply picks from
    while True:
        try:
            line = read("you> ")
        except EOFError:
            write("")
            return 0
        said = " ".join(line.split()).lower().rstrip(".!")
        if said in _QUIT:
            return 0
        if said.isdigit() and options:
            n = int(said)
            if not 1 <= n <= len(options):
                write(phrases("chat_pick_range", count=len(options)))
                continue
            last = desk.answer_for(options[n - 1], last_text)
            options = []
            write(core.renderer.text(last))
            continue
        if said in _FIXED | _FAILING | _NOT_THIS | _PERSON and last is None:
            write(phrases("chat_no_previous"))
            continue
        if said in _FIXED:
            write(phrases("chat_fixed"))
            last, options = None, []
            continue
        if said in _FAILING:
            write(phrases("chat_still_failing"))
            continue
        if said in _PERSON:
            write(phrases("chat_escalate"))
            continue
        if said in _NOT_THIS:
            options = [i.id for i in core.catalog.problems]
            lines = [f"  {n}. {core.catalog.title(i)}" for n, i in enumerate(options, start=1)]
            write("\n".join([phrases("chat_not_this_menu"), *lines]))
            continue
        last_text = line
        last = desk.answer(line)
        write(core.renderer.text(last).rstrip())
        if last.kind is AnswerKind.CHOICE:
            options = [f.intent for f in last.findings]
        elif last.kind is AnswerKind.OUT_OF_SCOPE:
            options = [a.intent for a in last.alternatives]
        else:
            options = []
