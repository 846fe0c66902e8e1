"""The terminal conversation, in process: run_chat takes its read and write functions.

A stub desk returns fixed CHOICE / OUT_OF_SCOPE answers so the follow-up replies are
tested without depending on what the model makes of a phrase."""

from __future__ import annotations

import pytest

from bot.chat import run_chat
from bot.core.nlu.answers import Answer, AnswerKind, Finding, Scored
from bot.core.desk import Desk

CHOICE = Answer(AnswerKind.CHOICE, "pending_products_tax_rule", 0.45, (Scored("sale_cogs_pending", 0.41),), {},
                (Finding("pending_products_tax_rule", 0.45), Finding("sale_cogs_pending", 0.41)))
OUT_OF_SCOPE = Answer(AnswerKind.OUT_OF_SCOPE, "out_of_scope", 0.9,
                      (Scored("qbo_disconnected", 0.05), Scored("unauthorized_401", 0.03)))


class FixedDesk(Desk):
    """The real desk, except that every message gets the same answer."""

    def __init__(self, core, answer: Answer) -> None:
        super().__init__(core.engine)
        self.fixed_answer = answer

    def answer(self, text: str) -> Answer:
        return self.fixed_answer


def converse(core, settings, lines: list[str], answer: Answer | None = None, pasted: int = 0,
             desk: Desk | None = None) -> list[str]:
    """Run the chat over `lines`; the first `pasted` line breaks arrive as one paste (the next
    line is already waiting when a line has been read)."""
    desk = desk or (FixedDesk(core, answer) if answer is not None else None)
    pending = list(lines)
    waiting = [pasted]
    said: list[str] = []

    def read(_prompt: str) -> str:
        if not pending:
            raise EOFError
        return pending.pop(0)

    def more() -> bool:
        waiting[0] -= 1
        return waiting[0] >= 0 and bool(pending)

    assert run_chat(core, read=read, write=said.append, desk=desk, more=more) == 0
    return said


class RecordingDesk(Desk):
    def __init__(self, core) -> None:
        super().__init__(core.engine)
        self.asked: list[str] = []

    def answer(self, text: str) -> Answer:
        self.asked.append(text)
        return super().answer(text)


def test_a_multi_line_paste_is_one_message(core, settings, phrases):
    desk = RecordingDesk(core)
    paste = ["Sync history, 2 March:", 'Error: Bill "BILL-7731" has not been exported to QuickBooks',
             "Status: Error"]
    said = converse(core, settings, [*paste, "fixed"], pasted=2, desk=desk)
    assert desk.asked == ["\n".join(paste)]
    assert said[1].startswith(core.catalog.title("bill_not_exported"))
    assert said[2] == phrases("chat_fixed")


def test_chat_replies_say_what_can_be_answered(core, settings):
    said = converse(core, settings, ['Error: Bill "BILL-7731" has not been exported to QuickBooks'])
    assert said[1].endswith('Did it work? Reply "fixed", "still failing" or "not this".')


@pytest.fixture(scope="module")
def phrases(core):
    return core.phrases


def test_picking_a_number_after_a_choice(core, settings):
    said = converse(core, settings, ["SO-00412 is pending", "2"], CHOICE)
    assert said[1].startswith("I can see a couple of possibilities")
    assert said[2].startswith(core.catalog.title("sale_cogs_pending"))
    assert "*" not in said[2]
    assert "SO-00412" in said[2]  # the specifics of the original message carry over


def test_number_out_of_range(core, settings, phrases):
    said = converse(core, settings, ["pending", "7"], CHOICE)
    assert said[2] == phrases("chat_pick_range", count=2)


def test_none_after_a_choice_asks_a_person(core, settings, phrases):
    said = converse(core, settings, ["pending", "none"], CHOICE)
    assert said[2] == phrases("chat_escalate")


def test_person_after_out_of_scope(core, settings, phrases):
    said = converse(core, settings, ["something odd", "person"], OUT_OF_SCOPE)
    assert "Closest topics I do know" in said[1]
    assert said[2] == phrases("chat_escalate")


def test_number_after_out_of_scope_shows_that_topic(core, settings):
    said = converse(core, settings, ["something odd", "2"], OUT_OF_SCOPE)
    assert said[2].startswith(core.catalog.title("unauthorized_401"))


def test_feedback_before_any_question(core, settings, phrases):
    said = converse(core, settings, ["still failing", "not this", "person"])
    assert said[1:] == [phrases("chat_no_previous")] * 3 + [""]


def test_quit_ends_without_reading_more(core, settings, phrases):
    said = converse(core, settings, ["quit", "hi"])
    assert said == [phrases("chat_welcome")]
