"""Knowledge gaps: refused and corrected messages grouped by problem, masked, past-retention
messages counted but never shown."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from bot.core.insights.gaps import find_gaps
from bot.core.insights.period import Period
from tests.core.insights.history import SINCE, UNTIL, Builder, hand_built

STALE = [  # one unknown error (QuickBooks' 5010, which the help article does not cover), said six ways
    "ERROR CODE:5010 Stale Object Error when syncing invoice INV-2231",
    "stale object error again on SO-00412",
    "QuickBooks says Stale Object Error for sale SO-991, what does it mean?",
    "qbo keeps returning stale object error 5010 on payment PAY-22",
    "Sync failed: Stale Object Error. Maria Lopez edited INV-7 in QuickBooks at the same time",
    "getting a stale object err on every invoice since this morning, customer Acme Trading Ltd",
]
ENDED = [  # another one (6190), five ways
    "Invalid Company Status: subscription period has ended, every sync stopped",
    "QuickBooks says our subscription period has ended",
    "subscription period ended error since 3 days, please help",
    "error 6190 invalid company status when exporting SO-8812",
    "our qbo subscription has ended and now every sync fails (jon@example.com)",
]
OTHER = ["can you book me a meeting room for tomorrow", "what's the weather in Auckland"]
NOW = UNTIL
MONTH = timedelta(days=30)


def refused(store, texts_and_users: list[tuple[str, str]], start=SINCE + timedelta(hours=1), code_of=None) -> None:
    b = Builder(store)
    for n, (text, user) in enumerate(texts_and_users):
        b.message(start + timedelta(hours=n), "out_of_scope", "out_of_scope", text=text, user=user,
                  code=(code_of or (lambda t: ""))(text))


def cluster_of(gaps, text_part: str):
    found = [g for g in gaps.clusters if any(text_part in shape for shape in g.shapes)]
    assert len(found) == 1, [g.shapes for g in gaps.clusters]
    return found[0]


def codes(core):
    book = core.engine.lookups.codes
    return lambda text: (hit.code if (hit := book.find(text)) else "")


def test_paraphrases_of_one_unknown_error_group_and_two_errors_stay_apart(store, core):
    mixed = [(t, f"U{n % 3}") for n, t in enumerate(STALE)] + [(t, "U9") for t in ENDED] + [(t, "U7") for t in OTHER]
    mixed = [mixed[i] for i in (0, 6, 1, 7, 2, 11, 3, 8, 4, 9, 5, 10, 12)]  # interleaved, as they would arrive
    refused(store, mixed, code_of=codes(core))
    gaps = find_gaps(store, core.engine, Period(SINCE, UNTIL), NOW, MONTH)
    stale, ended = cluster_of(gaps, "Stale Object Error when syncing"), cluster_of(gaps, "subscription period has ended")
    assert stale is not ended
    assert (stale.size, stale.people, stale.refused) == (6, 3, 6)
    assert (ended.size, ended.people) == (5, 1)
    assert stale.code == "5010" and stale.code_name == "Stale Object Error"
    assert ended.code == "6190"
    # The two unrelated questions are in neither.
    for text in OTHER:
        assert not any(text in s for s in stale.shapes + ended.shapes)
    assert gaps.clusters[0] is stale and gaps.total == 13 and gaps.erased == 0
    assert stale.first_seen == SINCE + timedelta(hours=1) and stale.last_seen == SINCE + timedelta(hours=11)
    assert len(stale.samples) == 3 and len(set(stale.samples)) == 3
    assert stale.nearest in core.catalog and core.catalog[stale.nearest].is_problem


def test_the_approximate_pass_for_many_messages_groups_the_same_way(sqlite_store, core):
    """Past EXACT_LIMIT distinct texts, leaders first, then their centroids exactly (cluster.py):
    forced here with a tiny limit on texts that differ only in a greeting or a plea."""
    tails = ["", " please", " thanks", " urgent", " any idea?", " again today", " help"]
    texts = [(t + tail, "U1") for t in (STALE[1], ENDED[1]) for tail in tails] + [(t, "U2") for t in OTHER]
    refused(sqlite_store, texts)
    gaps = find_gaps(sqlite_store, core.engine, Period(SINCE, UNTIL), NOW, MONTH, exact_limit=6)
    assert gaps.approximate
    stale, ended = cluster_of(gaps, "stale object error again on [ref]"), cluster_of(gaps, ENDED[1])
    assert stale is not ended and (stale.size, ended.size) == (7, 7)


def test_samples_are_masked_and_nobody_is_named(store, core):
    refused(store, [(t, f"U0SECRET{n}") for n, t in enumerate(STALE + ENDED)])
    gaps = find_gaps(store, core.engine, Period(SINCE, UNTIL), NOW, MONTH)
    shown = json.dumps(gaps.to_json())
    for secret in ("INV-2231", "SO-00412", "SO-991", "PAY-22", "Maria", "Lopez", "Acme", "jon@example.com",
                   "SO-8812", "U0SECRET"):
        assert secret not in shown
    assert "[ref]" in shown
    assert "samples" not in json.dumps(gaps.to_json(samples=False))
    assert "Stale Object Error" not in json.dumps(gaps.to_json(samples=False))


def test_messages_past_retention_are_counted_but_not_shown(sqlite_store, core):
    refused(sqlite_store, [(t, "U1") for t in STALE[:3]], start=SINCE + timedelta(hours=1))
    refused(sqlite_store, [(t, "U2") for t in ENDED[:2]], start=SINCE + timedelta(days=10))
    # With RETENTION at 7 days, the three stale-object messages (13-14 days old) are past it.
    gaps = find_gaps(sqlite_store, core.engine, Period(SINCE, UNTIL), NOW, timedelta(days=7))
    assert (gaps.refused, gaps.erased) == (5, 3)
    assert [g.size for g in gaps.clusters] == [2]
    assert "Stale" not in json.dumps(gaps.to_json())
    # Once the retention purge has erased their text, they are still counted, still not shown.
    sqlite_store.clock = lambda: NOW
    assert sqlite_store.purge(timedelta(days=7)) >= 3
    gaps = find_gaps(sqlite_store, core.engine, Period(SINCE, UNTIL), NOW, MONTH)
    assert (gaps.refused, gaps.erased, sum(g.size for g in gaps.clusters)) == (5, 3, 2)


def test_a_corrected_diagnosis_is_a_gap_whose_nearest_problem_is_the_correction(sqlite_store, core):
    hand_built(sqlite_store)  # E: a bill_not_exported diagnosis corrected to period_closed
    gaps = find_gaps(sqlite_store, core.engine, Period(SINCE, UNTIL), NOW, MONTH)
    assert (gaps.refused, gaps.corrected) == (2, 1)
    corrected = cluster_of(gaps, "will not sync, books are closed")
    assert (corrected.corrected, corrected.corrected_to, corrected.nearest) == (1, {"period_closed": 1}, "period_closed")
    assert corrected.samples == ['Bill "[ref]" will not sync, books are closed']


def test_ids_are_stable_and_distinct(sqlite_store, core):
    refused(sqlite_store, [(t, "U1") for t in STALE + ENDED + OTHER])
    first = find_gaps(sqlite_store, core.engine, Period(SINCE, UNTIL), NOW, MONTH)
    again = find_gaps(sqlite_store, core.engine, Period(SINCE, UNTIL), NOW, MONTH)
    assert [g.id for g in first.clusters] == [g.id for g in again.clusters]
    assert len({g.id for g in first.clusters}) == len(first.clusters)
    assert all(g.id.startswith("g") and len(g.id) == 7 for g in first.clusters)


def test_no_gap_messages_no_clusters(sqlite_store, core):
    gaps = find_gaps(sqlite_store, core.engine, Period(SINCE, UNTIL), NOW, MONTH)
    assert (gaps.total, gaps.clusters, gaps.erased) == (0, [], 0)


@pytest.mark.parametrize("text", ["", "   ", "[[[ ]]]", "12345 67890", "\x00\x01", "é" * 5000])
def test_odd_texts_do_not_break_clustering(sqlite_store, core, text):
    refused(sqlite_store, [(text or " ", "U1"), (STALE[0], "U2")])
    gaps = find_gaps(sqlite_store, core.engine, Period(SINCE, UNTIL), NOW, MONTH)
    assert sum(g.size for g in gaps.clusters) == 2
