"""Deterministic inputs: the same bytes on every run, so figures are comparable over time."""

from __future__ import annotations

import itertools
import random
from typing import Sequence

SEED = 20240501

_NOISE = [
    "{ts} INFO  [sync-worker-{w}] Synchronisation task {n} started for tenant {t}",
    "{ts} INFO  [sync-worker-{w}] Fetched {k} sale orders modified since {ts}",
    "{ts} DEBUG [http] GET https://quickbooks.api.intuit.com/v3/company/{t}/query 200 in {k} ms",
    "{ts} INFO  [sync-worker-{w}] Exported invoice INV-{n} to QuickBooks Online",
    "{ts} DEBUG [mapper] Account mapping cache hit for {k} accounts",
    "{ts} WARN  [sync-worker-{w}] Retrying request {n} after HTTP 429 (attempt {w})",
    "{ts} INFO  [scheduler] Next run in {k} seconds",
    "{ts} DEBUG [db] Committed {k} rows in {w} ms",
]
_ERRORS = [
    "{ts} ERROR [sync-worker-{w}] Bill B-{n} was not exported: "
    "The transaction needs to be in the same currency as the A/R and A/P accounts you use",
    "{ts} ERROR [sync-worker-{w}] Sale SO-{n} failed: Duplicate Name Exists Error. "
    "The name supplied already exists.",
    "{ts} ERROR [sync-worker-{w}] Credit note CR-{n} failed to export to QuickBooks",
]


def _timestamp(rng: random.Random) -> str:
    return (f"2024-05-{rng.randint(1, 28):02d}T{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:"
            f"{rng.randint(0, 59):02d}.{rng.randint(0, 999):03d}Z")


def log_paste(chars: int, seed: int = SEED, error_every: int = 400) -> str:
    """A sync log of about `chars` characters: mostly distinct noise lines (so de-duplication
    does not shrink it), with an error line now and then."""
    rng = random.Random(seed)
    lines, size = [], 0
    for i in itertools.count():
        template = rng.choice(_ERRORS) if i % error_every == error_every // 2 else rng.choice(_NOISE)
        line = template.format(ts=_timestamp(rng), w=rng.randint(1, 8), n=rng.randint(10_000, 99_999),
                               t=rng.randint(10**14, 10**15), k=rng.randint(1, 5_000))
        lines.append(line)
        size += len(line) + 1
        if size >= chars:
            break
    return "\n".join(lines)[:chars]


def binary_junk(size: int = 1_000_000, seed: int = SEED) -> str:
    """Random bytes as a badly-behaved client might deliver them: NULs, control characters,
    invalid UTF-8 kept as lone surrogates."""
    return random.Random(seed).randbytes(size).decode("utf-8", "surrogateescape")


def bad_inputs() -> list[tuple[str, str, str]]:
    """(key, label, text) for each hostile input."""
    two_mb = log_paste(2_000_000)
    return [
        ("log_2mb", "2 MB log paste", two_mb),
        ("one_line_2mb", "2 MB paste on one line", two_mb.replace("\n", " ")),
        ("log_40k", "40,000-char log", log_paste(40_000, seed=SEED + 1, error_every=60)),
        ("quotes_5000", "'\"' * 5000", '"' * 5000),
        ("binary_1mb", "1 MB binary junk", binary_junk()),
    ]


def repeat_to(texts: Sequence[str], n: int) -> list[str]:
    """`texts` cycled to exactly n items."""
    return list(itertools.islice(itertools.cycle(texts), n))
