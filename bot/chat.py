"""`python -m bot chat`: a terminal conversation, the simplest edge over the Desk.

A multi-line paste is one message, as in Slack: a terminal hands a paste over line by line,
all at once, so lines that are already waiting when one has been read belong to it
(`pasting`). Typed lines come one at a time, with the person's pauses between them.
"""

from __future__ import annotations

import select
import sys
from typing import Callable

from .core.nlu.answers import Answer, AnswerKind
from .core.desk import Desk
from .wiring import Core

_FIXED = {"fixed", "fixed it", "it worked", "worked"}
_FAILING = {"still failing", "failing", "didn't work", "did not work", "still broken"}
_NOT_THIS = {"not this", "wrong", "not it"}
_QUIT = {"quit", "exit", "bye", ":q"}
_PERSON = {"person", "human", "none", "none of these"}
PASTE_GAP_S = 0.05  # lines arriving closer together than this are one paste


def pasting() -> bool:
    """More of a paste is already waiting on the terminal (never for a pipe: a script's lines
    are its messages, one a line)."""
    if not sys.stdin.isatty():
        return False
    ready, _, _ = select.select([sys.stdin], [], [], PASTE_GAP_S)
    return bool(ready)


def run_chat(core: Core, read: Callable[[str], str] = input, write: Callable[[str], None] = print,
             desk: Desk | None = None, more: Callable[[], bool] | None = None) -> int:
    """`more()`: whether the next line is part of the same message (default: the terminal's
    paste, when reading with input())."""
    phrases = core.phrases
    desk = desk or Desk(core.engine)
    if more is None:
        more = pasting if read is input else (lambda: False)
    write(phrases("chat_welcome"))
    last: Answer | None = None
    last_text = ""
    options: list[str] = []  # intent ids a number reply picks from
    while True:
        try:
            line = read("you> ")
            while more():
                line += "\n" + read("")
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
            write(core.renderer.text(last, chat=True))
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
            current = last.intent if last.intent in core.catalog else ""
            options = list(desk.choices_instead(current, last_text)[0])
            lines = [f"  {n}. {core.catalog.title(i)}" for n, i in enumerate(options, start=1)]
            write("\n".join([phrases("chat_not_this_menu", instead=core.catalog.title(current) if current else ""),
                              *lines]))
            continue
        last_text = line
        last = desk.answer(line)
        write(core.renderer.text(last, chat=True).rstrip())
        if last.kind is AnswerKind.CHOICE:
            options = [f.intent for f in last.findings]
        elif last.kind is AnswerKind.OUT_OF_SCOPE:
            options = [a.intent for a in last.alternatives]
        else:
            options = []
