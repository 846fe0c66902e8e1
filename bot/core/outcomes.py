"""What the Desk hands back for a click: plain data every edge renders its own way.

A click arrives as a `Click` (who, where, on which message, with which case and intent); the
Desk decides and returns an `Outcome`. Slack, Teams and the sandbox only translate: the
payload into a Click, the Outcome into a message, a card or a note. No rule lives in an edge.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from .cases.escalations import Escalation
from .nlu.answers import Answer
from .storage.tables import Case


@dataclass(frozen=True)
class Where:
    """Where a message came from and where the answer goes."""

    platform: str
    workspace: str
    channel: str
    thread: str      # the thread to answer in ("" = not threaded)
    message: str     # the user's message id / ts
    user: str


@dataclass(frozen=True)
class Click:
    """One click on a button or menu of a message the bot posted."""

    platform: str    # "slack" or "teams"
    workspace: str   # Slack team id, Teams tenant id
    channel: str     # Slack channel id, Teams conversation key
    user: str
    source: str      # the message the button was on (Slack ts, Teams activity id)
    case_id: str = ""
    intent: str = ""
    user_name: str = ""   # as the platform shows the person (kept with what they clicked)
    thread: str = ""      # where an answer to the click goes (a new case's thread, an asker's)
    private: bool = False  # a one-to-one chat with the bot: nobody else can answer there
    escalation: str = ""  # the escalation a "Claim" button is for


class Result(StrEnum):
    DONE = "done"            # the click did what it says
    ALREADY = "already"      # a repeat (same button, same message): nothing changed
    EXPIRED = "expired"      # no case this click may touch (gone, or another workspace's)
    INVALID = "invalid"      # the click names something that does not exist (a forged value)
    REFUSED = "refused"      # not allowed for this person (admin only)
    UNAVAILABLE = "unavailable"  # the feature is not set up here (no retraining configured)
    FAILED = "failed"        # it was tried and went wrong; nothing changed


class Why(StrEnum):
    """Why a click changed nothing: each is a sentence in responses/phrases.yaml (why_*), told
    in place on the clicked message, with who did it before and when (Outcome.by, .at)."""

    ALREADY_FIXED = "already_fixed"
    ALREADY_FAILING = "already_failing"
    ALREADY_ASKED = "already_asked"            # "Not this" on this message before
    ALREADY_CHOSEN = "already_chosen"
    ALREADY_ESCALATED = "already_escalated"
    ALREADY_CLAIMED = "already_claimed"
    ALREADY_SNOOZED = "already_snoozed"
    ALREADY_DONE = "already_done"              # a message without a case: nobody recorded
    NO_CHECKINS_LEFT = "no_checkins_left"
    EXPIRED = "expired"
    INVALID = "invalid"


@dataclass(frozen=True)
class Outcome:
    """What a click did. Which fields are set depends on the verb (see the Desk's methods)."""

    result: Result
    case: Case | None = None
    answer: Answer | None = None          # an answer to post (choose, help, show the fix)
    escalate: bool = False                # hand the case to a person now
    related: tuple[str, ...] = ()         # intents worth offering next
    choices: tuple[str, ...] = ()         # intents to pick from ("Not this"), most likely first...
    ranked: int = 0                       # ...the first `ranked` by the model's ranking, the rest A-Z
    replaces: str = ""                    # the diagnosis "Not this" replaces (left out of `choices`)
    until: datetime | None = None         # snooze: when the check-in comes back...
    zone: ZoneInfo | None = None          # ...in the zone it was worked out for (and `at` is shown in)
    count: int = 0                        # entries a digest group closed; times still failing
    details: dict[str, Any] = field(default_factory=dict)  # e.g. a retrained model's figures
    escalation: Escalation | None = None  # the request for a person to post (or that was claimed)
    opened: bool = False                  # `case` is new, written once its answer is posted
    why: Why | None = None                # nothing changed: why (with who and when, below)
    by: str = ""                          # who did it before (user id)...
    by_name: str = ""                     # ...as the platform showed them...
    at: datetime | None = None            # ...and when
    digest: Any = None                    # a digest control: the digest as it stands now (cases.digest.Digest)

    @property
    def done(self) -> bool:
        return self.result is Result.DONE
