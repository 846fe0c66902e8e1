"""Every layout the bot posts to Slack and Teams, rendered by the real core, for the render
tests: slack_sdk's Block Kit models (tests/core/replies/test_layouts.py), Microsoft's
`adaptivecards` renderer in a browser (tests/sandbox/test_cards.py), and the size budgets.

Each entry is (name, payload): a Slack message {"text", "blocks"} or view, or an Adaptive Card.
Besides every answer of the golden tests: check-ins, "Still failing", "Not this", the App Home,
the digest (all clear, a small one with chat cases and snoozes, and a huge one, with its thread
replies), and the worst multi-finding diagnosis (eight problems, each with a long paste line)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from bot.core.cases.digest import Digest, Entry, Group
from bot.core.nlu.answers import Answer, AnswerKind, Finding
from bot.core.outcomes import Outcome, Result
from bot.core.replies import notes
from bot.core.storage.tables import Case
from bot.slack.home import home_view

NOW = datetime(2026, 3, 2, 14, 0, tzinfo=timezone.utc)
CASE_ID = "7b0c4b7e-0000-4000-8000-000000000001"
HOSTILE_PRODUCT = "*Oak* _Side_ [Table](https://evil.example) <x> & co"
# A numbered paste line ("From your message: \1. ..." showed a stray backslash in Teams) naming a
# product whose name is Markdown: a list marker, emphasis and a link that must all stay text.
HOSTILE = f'1. Product "{HOSTILE_PRODUCT}" in "SO-1" has not been exported to QuickBooks'


def worst_diagnosis(core) -> Answer:
    """Eight problems in one paste, each quoted back with a long line of it."""
    ids = [i.id for i in core.catalog.problems][:8]
    line = "2026-03-02 09:00:01 ERROR sync: " + "Order SO-10452 line 7 product Oak Side Table " * 5
    findings = tuple(Finding(i, 0.99, {"product": "Oak Side Table " * 4, "order": "SO-10452"}, line, "signature")
                     for i in ids)
    return Answer(AnswerKind.DIAGNOSIS, ids[0], 0.99, (), {}, findings)


def digests(core) -> dict[str, Digest]:
    catalog = core.catalog
    ids = [i.id for i in catalog.problems]

    def group(intent: str, n: int, long: int = 0) -> Group:
        entries = [Entry(f"Sale SO-{k:05d}" + "-X" * long, ("Oak Side Table " + "with a long name " * long,))
                   for k in range(n)]
        entries[0] = Entry("BILL-7731", (), "slack", "U0ALICE01", HOSTILE)
        entries[1] = Entry(None, (), "teams", "29:someone", None)
        return Group(intent, catalog.title(intent), catalog[intent].summary, n, NOW - timedelta(days=3, hours=n),
                     [e.reference for e in entries], entries)

    trend = [3, 4, 4, 6, 9, 12, 12, 11, 10, 9, 9, 8, 7, 7]
    small = Digest(NOW, [group(ids[0], 7), group(ids[1], 3), Group("no_such_intent", None, None, 2, NOW, [None, None],
                                                                   [Entry("Journal J-1"), Entry("Journal J-2")])],
                   [group(ids[2], 2)], since=NOW - timedelta(days=1), since_last_digest=True, new=4, fixed=2,
                   trend=trend)
    huge = Digest(NOW, [group(i, 40, long=20) for i in ids], since=NOW - timedelta(days=1), new=300, fixed=12,
                  trend=trend)
    return {"digest-all-clear": Digest(NOW, [], trend=[0] * 14, fixed=3), "digest-small": small, "digest-huge": huge}


def what_next(core) -> Outcome:
    """"Still failing" with every related topic offered."""
    return Outcome(Result.DONE, related=core.catalog["bill_not_exported"].related)


def instead(core) -> Outcome:
    """"Not this" on a bill diagnosis: the other problems, three of them ranked first."""
    others = tuple(i.id for i in core.catalog.problems if i.id != "bill_not_exported")
    return Outcome(Result.DONE, choices=others, replaces="bill_not_exported", ranked=3)


def slack_layouts(core, answers: dict[str, Answer]) -> list[tuple[str, dict[str, Any]]]:
    r = core.renderer
    out = [(f"answer:{name}", r.slack(a, CASE_ID)) for name, a in answers.items()]
    out.append(("answer:worst", r.slack(worst_diagnosis(core), CASE_ID)))
    out.append(("checkin", r.checkin("slack", CASE_ID, "bill_not_exported")))
    out.append(("still_failing", notes.still_failing(r, "slack", what_next(core), "bill_not_exported")))
    out.append(("not_this", notes.not_this(r, "slack", instead(core))))
    for name, digest in digests(core).items():
        post = r.digest_post("slack", digest)
        out.append((name, post.main))
        out += [(f"{name}:thread{n}", reply) for n, reply in enumerate(post.rest)]
        compact = r.digest_post("slack", digest, compact=True)
        out += [(f"{name}:compact", compact.main)] + [(f"{name}:compact{n}", p) for n, p in enumerate(compact.rest)]
    cases = [Case(f"id{n}", "slack", "T1", "C0QBOSYNC" if n % 2 else "D0DM", "", "", "U0ALICE01", i.id, 0.9, {},
                  "open", 0, "", NOW - timedelta(hours=n), NOW, None) for n, i in enumerate(core.catalog.problems)]
    out.append(("home", home_view(cases, r, NOW, True)))
    return out


def teams_layouts(core, answers: dict[str, Answer]) -> list[tuple[str, dict[str, Any]]]:
    r = core.renderer
    out = [(f"answer:{name}", r.teams(a, CASE_ID)) for name, a in answers.items()]
    out.append(("answer:worst", r.teams(worst_diagnosis(core), CASE_ID)))
    out.append(("answer:hostile", r.teams(core.engine.diagnose(HOSTILE), CASE_ID)))
    out.append(("checkin", r.checkin("teams", CASE_ID, "bill_not_exported")))
    out.append(("still_failing", notes.still_failing(r, "teams", what_next(core), "bill_not_exported")))
    out.append(("not_this", notes.not_this(r, "teams", instead(core))))
    for name, digest in digests(core).items():
        post = r.digest_post("teams", digest)
        out.append((name, post.main))
        out += [(f"{name}:thread{n}", reply) for n, reply in enumerate(post.rest)]
    return out
