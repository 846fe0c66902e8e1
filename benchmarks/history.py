"""A made-up but plausible history for the insights benchmark and the report screenshots:
cases with their clicks, every answered message (refused ones with their text), and imported
sync errors, written straight into the database in a few bulk inserts.

Refused messages are paraphrases of a few dozen problems the knowledge base does not cover
(QuickBooks codes the help article has no fix for, other products, DEAR questions), each with
made-up references, names, amounts and e-mail addresses, and filler, so that nearly every
message is a distinct text, as real ones are.
"""

from __future__ import annotations

import random
import uuid
from datetime import datetime, timedelta
from typing import Any, Callable

from sqlalchemy import insert

from bot.core.storage.store import Store
from bot.core.storage.tables import AnsweredRow, CaseRow, FeedbackRow, SyncErrorRow

# {ref}, {name}, {amount}, {email}, {n}: filled with made-up values.
UNKNOWN_PROBLEMS: list[list[str]] = [
    ["ERROR CODE:5010 Stale Object Error when syncing invoice {ref}",
     "stale object error again on {ref}", "QuickBooks says Stale Object Error for sale {ref}, what does it mean",
     "qbo keeps returning stale object error 5010 on payment {ref}",
     "Sync failed: Stale Object Error. {name} edited {ref} in QuickBooks at the same time"],
    ["Invalid Company Status: subscription period has ended, every sync stopped",
     "QuickBooks says our subscription period has ended", "subscription period ended error since {n} days",
     "error 6190 invalid company status when exporting {ref}"],
    ["ThrottleExceeded: too many requests to QuickBooks, sync paused",
     "error code 3001 ThrottleExceeded during the nightly sync of {n} invoices",
     "qbo throttle exceeded message in sync history for {ref}"],
    ["how do I connect DEAR to Shopify Payments payouts", "shopify payouts are not showing in dear for {name}",
     "Shopify payout of {amount} missing from Cin7 Core"],
    ["Xero says the contact {name} is archived when DEAR pushes invoice {ref}",
     "xero sync error contact archived for {ref}", "Cin7 Core to Xero: contact {name} is archived"],
    ["how do I add a new user to DEAR and give them sales access", "can you add {email} as a DEAR user",
     "need a login for {name} in Cin7 Core, who sets up users"],
    ["barcode labels print blank from DEAR since the update", "printing barcode labels for {ref} gives empty pages",
     "label printer prints nothing for product barcodes"],
    ["Required Param Missing: Line.Amount is missing in the request for {ref}",
     "error 2020 required param missing when exporting credit note {ref}",
     "qbo says required parameter missing on {ref}"],
    ["Amount calculation incorrect in the request: total {amount} does not match lines",
     "error 6070 amount calculation incorrect on invoice {ref}", "amount calculation incorrect for {ref} ({amount})"],
    ["our stocktake variance for {ref} looks wrong, off by {n} units", "stocktake adjustment doubled the variance",
     "stock take in DEAR shows variance of {n} but counts match"],
    ["does DEAR support multi-currency price tiers for wholesale customers",
     "how to set price tier in another currency for {name}", "price tiers in euro for wholesale"],
    ["You do not have permission to access this feature (5020) when syncing payroll",
     "error 5020 permission to access this feature", "qbo says no permission to access this feature for {email}"],
]
FILLER = ["", "", "", " please help", " any idea?", " since this morning", " urgent", " thanks", " again today",
          " for the third time", " not sure what changed", " can someone look", " (sent by {name})"]
NAMES = ["Acme Trading", "Kiwi Kitchenware", "Summit Outdoor", "Maria Lopez", "Jon Park", "Blue Fern Ltd",
         "Harbor Goods", "Priya Shah", "Tom O'Neil", "Northwind"]


def _fill(template: str, rng: random.Random) -> str:
    return template.format(ref=f"{rng.choice(['SO', 'INV', 'PO', 'CN', 'PAY'])}-{rng.randint(100, 99999):05d}",
                           name=rng.choice(NAMES), amount=f"${rng.randint(1, 9999)}.{rng.randint(0, 99):02d}",
                           email=f"{rng.choice(['ops', 'maria', 'jon', 'accounts'])}{rng.randint(1, 99)}@example.com",
                           n=rng.randint(2, 400))


def refused_text(rng: random.Random, problems: list[list[str]] = UNKNOWN_PROBLEMS) -> tuple[str, int]:
    """One refused message and which problem it is (skewed: the first problems are the common ones)."""
    which = min(int(rng.expovariate(0.35)), len(problems) - 1)
    text = _fill(rng.choice(problems[which]), rng) + _fill(rng.choice(FILLER), rng)
    return text, which


def free_text(rng: random.Random, words: list[str]) -> str:
    """A one-off question: 6 to 16 words of the knowledge base's vocabulary, in no order (what
    a message about nothing the bot knows looks like to the clustering: a stray point)."""
    return " ".join(rng.choice(words) for _ in range(rng.randint(6, 16)))


def make_history(store: Store, intents: list[str], now: datetime, *, cases: int, refused: int, days: int = 30,
                 sync_errors: int = 0, seed: int = 7, questions: dict[str, str] | None = None,
                 code_of: Callable[[str], str] = lambda _text: "", free_words: list[str] | None = None,
                 free_share: float = 0.0) -> list[tuple[str, int]]:
    """`questions`: a question per intent for the cases (what a correction's sample shows);
    `code_of`: the QuickBooks error code a refused text carries (what the Desk records);
    `free_share` of the refused messages are one-off questions made of `free_words`.
    Returns each refused message with the problem it is (-1: a one-off), in the order written."""
    rng = random.Random(seed)
    span = timedelta(days=days).total_seconds()
    users = [f"U{n:08d}" for n in range(max(5, cases // 50 + 5))]
    case_rows: list[dict[str, Any]] = []
    feedback: list[dict[str, Any]] = []
    answered: list[dict[str, Any]] = []
    weights = [1 / (k + 1) for k in range(len(intents))]
    for n in range(cases):
        created = now - timedelta(seconds=rng.random() * span)
        intent = rng.choices(intents, weights)[0]
        kind = "choice" if rng.random() < 0.1 else "diagnosis"
        case_id = str(uuid.uuid4())
        user = rng.choice(users)
        status, resolved_at, failing = "open", None, 0

        def click(action: str, after: timedelta, before: str = intent, to: str = intent) -> datetime:
            at = created + after
            feedback.append({"case_id": case_id, "action": action, "source": f"r{n}.{len(feedback)}", "user": user,
                             "intent_before": before, "intent_after": to, "created_at": at})
            return at

        roll = rng.random()
        if kind == "choice":
            click(f"chose:{intent}", timedelta(minutes=rng.randint(1, 30)))
        if roll < 0.55:
            resolved_at = click("fixed", timedelta(minutes=rng.randint(5, 60 * 48)))
            status = "resolved"
        elif roll < 0.70:
            failing = 1 + (rng.random() < 0.4)
            for k in range(failing):
                click("still_failing", timedelta(hours=4 * (k + 1)))
            status = "escalated" if failing >= 2 else "open"
        elif roll < 0.75:
            click("escalate", timedelta(minutes=rng.randint(1, 120)))
            status = "escalated"
        elif roll < 0.82 and kind == "diagnosis":
            other = rng.choice([i for i in intents if i != intent])
            click(f"chose:{other}", timedelta(minutes=rng.randint(1, 30)), intent, other)
        case_rows.append({"id": case_id, "platform": "slack", "workspace": "T0BENCH", "channel": "C0BENCH",
                          "thread": f"{n}.1", "message": f"{n}.1", "user": user, "intent": intent, "confidence": 0.9,
                          "entities": {}, "question": (questions or {}).get(intent, f"question {n} about {intent}"),
                          "status": status,
                          "failing_count": failing, "reply_ref": f"{n}.2", "created_at": created,
                          "updated_at": created, "resolved_at": resolved_at, "user_tz": None})
        answered.append({"platform": "slack", "workspace": "T0BENCH", "channel": "C0BENCH", "message": f"{n}.1",
                         "user": user, "kind": kind, "intent": intent, "confidence": 0.9, "code": "",
                         "case_id": case_id, "text": None, "asked_at": created})
    truth: list[tuple[str, int]] = []
    for n in range(refused):
        if free_words and rng.random() < free_share:
            text, which = free_text(rng, free_words), -1
        else:
            text, which = refused_text(rng)
        truth.append((text, which))
        answered.append({"platform": "slack", "workspace": "T0BENCH", "channel": "C0BENCH", "message": f"x{n}.1",
                         "user": rng.choice(users), "kind": "out_of_scope", "intent": "out_of_scope",
                         "confidence": 0.3, "code": code_of(text), "case_id": "", "text": text,
                         "asked_at": now - timedelta(seconds=rng.random() * span)})
    errors = []
    for n in range(sync_errors):
        first = now - timedelta(seconds=rng.random() * span * 1.5)
        done = rng.random() < 0.6
        resolved_at = first + timedelta(hours=rng.randint(1, 24 * 10)) if done else None
        if resolved_at is not None and resolved_at > now:
            resolved_at = None
        errors.append({"kind": rng.choice(["Sale", "Purchase", "Payment"]), "reference": f"REF-{n:06d}",
                       "intent": rng.choice(intents), "confidence": 0.99, "message": "error text", "entities": {},
                       "status": "resolved" if resolved_at else "open", "occurrences": 1, "first_seen": first,
                       "last_seen": first, "resolved_at": resolved_at, "source": "bench"})
    with store.engine.begin() as conn:
        for table, rows in ((CaseRow, case_rows), (FeedbackRow, feedback), (AnsweredRow, answered),
                            (SyncErrorRow, errors)):
            for start in range(0, len(rows), 5000):
                if rows[start:start + 5000]:
                    conn.execute(insert(table), rows[start:start + 5000])
    return truth
