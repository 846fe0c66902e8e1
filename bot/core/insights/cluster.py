"""Grouping masked messages into clusters of the same problem (report and gaps only; SciPy, and
scikit-learn's random projection for the approximate pass).

Features are the project's own TF-IDF: the served model's vocabularies and idf weights (word
unigrams and bigrams, character n-grams within words; the same folding of case and digits), so
words every sync message uses ("error", "quickbooks", "sync") weigh little and the words of an
error the model has never seen (rare by definition) weigh most. Taking the weights from the
model, not from the messages being grouped, keeps a handful of messages as well separated as
thousands, and the same message always gets the same vector. Masks ([ref], [name]...) carry no
weight. Similarity is cosine; a long paste is read from its error-like lines (CLUSTER_CHARS).

Clusters are average-linkage agglomerative clustering, cut at DISTANCE: a cluster's members are
on average closer than that to each other. Identical masked texts are one point (the same
error pasted again moves no average). Exact clustering needs the full distance matrix (n^2
floats): up to EXACT_LIMIT distinct texts are clustered exactly. Beyond that (approximate):
the rows are projected to PROJECTED dense dimensions (a sparse random projection keeps cosines
to a few hundredths), a first pass in chunks puts every text under a "leader" within
LEADER_DISTANCE of it (one matrix product per chunk against the leaders so far), and the
leaders, each at the centroid of its members, are clustered exactly. Leaders are far tighter
than clusters, so this changes little; memory stays at one chunk x leaders block.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from typing import Any

import numpy as np

DISTANCE = 0.8           # average cosine distance within a cluster, at most
EXACT_LIMIT = 2_500      # distinct texts clustered exactly (a 2,500^2 float32 matrix: 25 MB)
LEADER_DISTANCE = 0.3    # a text this close to a leader joins it (approximate pass)
CHUNK = 1_000            # texts compared with the leaders at once
PROJECTED = 384          # dimensions of the approximate pass
CHAR_WEIGHT = 0.5        # character n-grams' share of the similarity, beside words'
CODE_WEIGHT = 0.3        # two messages carrying the same QuickBooks error code: this much more alike
CLUSTER_CHARS = 400      # what is read of one message
_MASKS = re.compile(r"\[(?:n|ref|name|amount|email|link|secret|id)\]")
_CUES = re.compile(r"error|fail|cannot|can't|unable|invalid|not |denied|rejected|exception|code", re.IGNORECASE)


@dataclass(frozen=True)
class Clustering:
    labels: list[int]                # per input text, 0..k-1, biggest cluster first
    vectors: Any                     # the texts' L2-normalised rows (scipy.sparse), for samples
    vocabulary: list[str]            # word features (columns of the word block), for naming
    words: Any                       # the word block alone (scipy.sparse), for naming
    approximate: bool


def _fold(text: str) -> str:
    from ..model.compiled import model_text

    return _MASKS.sub(" ", model_text(text))


def focus(shape: str) -> str:
    """What clustering reads of a masked message: all of a short one; of a long paste, its
    error-like lines first."""
    if len(shape) <= CLUSTER_CHARS:
        return shape
    lines = [ln for ln in shape.split("\n") if ln.strip()]
    cued = [ln for ln in lines if _CUES.search(ln)]
    return "\n".join(cued or lines)[:CLUSTER_CHARS]


class _Columns:
    """Column numbers for n-grams, given as they first appear."""

    def __init__(self) -> None:
        self.of: dict[str, int] = {}

    def numbers(self, grams: list[str]) -> list[int]:
        of = self.of
        return [of.setdefault(g, len(of)) for g in grams]


def unit_rows(m: Any) -> Any:
    """Each row divided by its length (L2), rows of zeros left as they are; a sparse matrix (CSR)
    stays sparse. What scikit-learn's `normalize` does, without importing scikit-learn: that
    import alone cost `report` and `gaps` a second of start-up, more than the clustering."""
    if hasattr(m, "indptr"):
        m = m.copy()
        lengths = np.diff(m.indptr)
        row_of = np.repeat(np.arange(m.shape[0]), lengths)
        norms = np.sqrt(np.bincount(row_of, weights=np.square(m.data, dtype=np.float64), minlength=m.shape[0]))
        norms[norms == 0] = 1
        m.data /= np.repeat(norms, lengths).astype(m.dtype)
        return m
    norms = np.linalg.norm(m, axis=1, keepdims=True)
    norms[norms == 0] = 1
    return m / norms


def _block(rows: list[list[int]], columns: _Columns, vocabulary: dict[str, int], idf: np.ndarray) -> Any:
    """One TF-IDF block from each row's column numbers: sublinear tf times the model's idf (an
    n-gram the model never saw gets the highest idf: rarer than any it knows), rows
    L2-normalised."""
    from scipy.sparse import csr_matrix

    names = list(columns.of)
    if not names:
        return csr_matrix((len(rows), 1), dtype=np.float32)
    lengths = np.fromiter((len(r) for r in rows), dtype=np.int64, count=len(rows))
    flat = np.fromiter(itertools.chain.from_iterable(rows), dtype=np.int32, count=int(lengths.sum()))
    indptr = np.concatenate(([0], np.cumsum(lengths))).astype(np.int64)
    counts = csr_matrix((np.ones(len(flat), dtype=np.float32), flat, indptr), shape=(len(rows), len(names)))
    counts.sum_duplicates()  # a repeated n-gram counts
    unseen = float(idf.max()) if len(idf) else 1.0
    weights = np.array([idf[j] if (j := vocabulary.get(g)) is not None else unseen for g in names],
                       dtype=np.float32)
    counts.data = np.log1p(counts.data)
    return unit_rows(counts.multiply(weights).tocsr())


def vectorise(texts: list[str], scorer: Any, codes: list[str] | None = None,
              folded: list[str] | None = None) -> tuple[Any, Any, list[str]]:
    """(rows, word block, word features): each block weighted by the model and normalised,
    the two joined by CHAR_WEIGHT; a row with a QuickBooks error code (`codes`) gets that code
    as one more feature, worth CODE_WEIGHT of the similarity of two rows sharing it. The
    n-grams are the model's own (bot/core/model/compiled.py), a word's character n-grams worked
    out once per word, as the served model does."""
    from scipy.sparse import csr_matrix, diags, hstack

    from ..model.compiled import word_char_grams, word_ngrams

    pattern = re.compile(scorer.word_pattern)
    word_range, char_range = tuple(scorer.word_range), tuple(scorer.char_range)
    word_columns, char_columns = _Columns(), _Columns()
    memo: dict[str, list[int]] = {}
    word_rows, char_rows = [], []
    for n, text in enumerate(texts):
        plain = folded[n] if folded is not None else _fold(text)
        word_rows.append(word_columns.numbers(word_ngrams(plain, pattern, word_range)))
        numbers: list[int] = []
        for word in plain.split():
            found = memo.get(word)
            if found is None:
                found = memo[word] = char_columns.numbers(word_char_grams(word, char_range))
            numbers.extend(found)
        char_rows.append(numbers)
    w = _block(word_rows, word_columns, scorer.words.vocabulary, scorer.words.idf)
    c = _block(char_rows, char_columns, scorer.chars.vocabulary, scorer.chars.idf)
    vocabulary = list(word_columns.of)
    text_part = unit_rows(hstack([w * np.float32(np.sqrt(1.0 - CHAR_WEIGHT)),
                                  c * np.float32(np.sqrt(CHAR_WEIGHT))], format="csr"))
    if codes and any(codes):
        numbered = {code: j for j, code in enumerate(sorted({c for c in codes if c}))}
        rows = [i for i, code in enumerate(codes) if code]
        code_part = csr_matrix((np.ones(len(rows), dtype=np.float32), (rows, [numbered[codes[i]] for i in rows])),
                               shape=(len(texts), len(numbered)))
        scale = np.where(np.array([bool(c) for c in codes]), np.sqrt(1.0 - CODE_WEIGHT), 1.0).astype(np.float32)
        text_part = hstack([diags(scale) @ text_part, code_part * np.float32(np.sqrt(CODE_WEIGHT))], format="csr")
    return text_part, w, vocabulary


def _agglomerate(vectors: Any) -> np.ndarray:
    """Exact average-linkage clustering of (few enough) L2-normalised rows, cut at DISTANCE.
    Sparse rows are multiplied as they are: made dense they would hold every n-gram column."""
    from scipy.cluster.hierarchy import fcluster, linkage
    from scipy.spatial.distance import squareform

    n = vectors.shape[0]
    if n == 1:
        return np.zeros(1, dtype=np.int64)
    product = vectors @ vectors.T
    distance = (product.toarray() if hasattr(product, "toarray") else np.asarray(product)).astype(np.float32)
    del product
    np.subtract(np.float32(1.0), distance, out=distance)     # in place: one n x n float32 block at most
    np.clip(distance, 0.0, 2.0, out=distance)
    np.fill_diagonal(distance, 0.0)
    condensed = squareform(distance, checks=False).astype(np.float64)
    del distance
    return fcluster(linkage(condensed, method="average"), t=DISTANCE, criterion="distance") - 1


def project(vectors: Any) -> np.ndarray:
    """The rows in PROJECTED dimensions (a sparse random projection: cosines kept to within
    about 1/sqrt(PROJECTED), rare n-grams included, unlike a truncated SVD), normalised."""
    from sklearn.random_projection import SparseRandomProjection

    projector = SparseRandomProjection(n_components=PROJECTED, dense_output=True, random_state=0)
    return unit_rows(np.asarray(projector.fit_transform(vectors), dtype=np.float32))


def _leaders(rows: np.ndarray) -> np.ndarray:
    """The approximate first pass over dense normalised rows: each row's leader (a row number).
    A row within LEADER_DISTANCE of a leader joins the most similar one; otherwise it leads."""
    n, width = rows.shape
    leader_of = np.empty(n, dtype=np.int64)
    leaders = np.empty((0, width), dtype=rows.dtype)     # the leaders' rows, appended chunk by chunk
    numbers = np.empty(0, dtype=np.int64)                # ...and their row numbers
    threshold = np.float32(1.0 - LEADER_DISTANCE)
    for start in range(0, n, CHUNK):
        chunk = rows[start:start + CHUNK]
        unled = np.arange(len(chunk))
        if len(numbers):
            sims = chunk @ leaders.T
            best_at = sims.argmax(axis=1)
            near = sims[np.arange(len(chunk)), best_at] >= threshold
            leader_of[start + np.nonzero(near)[0]] = numbers[best_at[near]]
            unled = np.nonzero(~near)[0]
            del sims
        # The rest, in order: each joins a leader made earlier in this chunk, or leads.
        new_here: list[int] = []
        if len(unled):
            inner = chunk[unled] @ chunk[unled].T
            for k in range(len(unled)):
                if new_here:
                    close = inner[k, new_here]
                    j = int(close.argmax())
                    if close[j] >= threshold:
                        leader_of[start + unled[k]] = start + unled[new_here[j]]
                        continue
                new_here.append(k)
                leader_of[start + unled[k]] = start + unled[k]
        if new_here:
            picked = unled[new_here]
            leaders = np.vstack([leaders, chunk[picked]])
            numbers = np.concatenate([numbers, start + picked])
    return leader_of


def _approximate(vectors: Any, weights: np.ndarray, exact_limit: int) -> np.ndarray:
    """Labels for many rows: leaders first (in the projected space), then the leaders' centroids
    clustered exactly; when even the leaders are too many, the heaviest exact_limit of them are,
    and each of the rest joins the nearest of those within DISTANCE, or stands alone."""
    rows = project(vectors)
    leader_of = _leaders(rows)
    leaders, members = np.unique(leader_of, return_inverse=True)
    sums = np.zeros((len(leaders), rows.shape[1]), dtype=np.float32)
    np.add.at(sums, members, rows * weights[:, None].astype(np.float32))
    centroids = unit_rows(sums)
    leader_weights = np.bincount(members, weights=weights, minlength=len(leaders))
    if len(leaders) <= exact_limit:
        return _agglomerate(centroids)[members]
    keep = np.sort(np.argsort(-leader_weights, kind="stable")[:exact_limit])
    labels = np.empty(len(leaders), dtype=np.int64)
    labels[keep] = _agglomerate(centroids[keep])
    rest = np.setdiff1d(np.arange(len(leaders)), keep)
    next_label = int(labels[keep].max()) + 1
    for start in range(0, len(rest), CHUNK):
        part = rest[start:start + CHUNK]
        sims = centroids[part] @ centroids[keep].T
        nearest = sims.argmax(axis=1)
        for row, near, sim in zip(part, nearest, sims[np.arange(len(part)), nearest]):
            if 1.0 - sim <= DISTANCE:
                labels[row] = labels[keep[near]]
            else:
                labels[row] = next_label
                next_label += 1
    return labels[members]


def cluster(shapes: list[str], scorer: Any, exact_limit: int = EXACT_LIMIT,
            codes: list[str] | None = None) -> Clustering:
    """Cluster masked texts with the model `scorer`'s TF-IDF (bot.core.model.compiled.CompiledModel)
    and, when known, the QuickBooks error code each carries (`codes`, "" for none); labels are
    numbered biggest cluster first (ties: first seen)."""

    if not shapes:
        return Clustering([], None, [], None, False)
    shapes = [focus(s) for s in shapes]
    codes = codes or [""] * len(shapes)
    plain = [" ".join(_fold(s).split()) for s in shapes]
    folded = [text + "\0" + code for text, code in zip(plain, codes)]
    distinct: dict[str, int] = {}
    point_of = [distinct.setdefault(f, len(distinct)) for f in folded]
    order = list(distinct)
    weights = np.bincount(point_of, minlength=len(order)).astype(np.float64)
    first_of: dict[int, int] = {}
    for i, p in enumerate(point_of):
        first_of.setdefault(p, i)
    firsts = [first_of[p] for p in range(len(order))]
    vectors, word_block, vocabulary = vectorise([shapes[i] for i in firsts], scorer, [codes[i] for i in firsts],
                                                [plain[i] for i in firsts])
    approximate = len(order) > exact_limit
    point_labels = _approximate(vectors, weights, exact_limit) if approximate else _agglomerate(vectors)
    labels = np.asarray(point_labels)[point_of]
    # Renumber: biggest first, then by first appearance.
    sizes = np.bincount(labels)
    first = {int(label): i for i, label in reversed(list(enumerate(labels)))}
    ranking = sorted(range(len(sizes)), key=lambda lab: (-sizes[lab], first.get(lab, 0)))
    rank = {lab: n for n, lab in enumerate(r for r in ranking if sizes[r])}
    return Clustering([rank[int(lab)] for lab in labels], vectors[point_of], vocabulary, word_block[point_of],
                      approximate)
