"""Vectors for retrieval by meaning: how they are stored (float32 bytes), the exact top ``k`` by cosine, and an
inverted-file index (IVF) for many vectors.

Pure numpy, no I/O. Vectors are kept at length 1, so the cosine similarity is a dot product; a persona's vectors
are one ``(n, dim)`` float32 matrix, and one matrix-vector product scores them all (100,000 x 256 is about 25
million multiply-adds, reading 100 MB: some 2.4 ms here, bound by memory).

Above a size that makes it pay (``bot.services.memories.held``), an **IVF index** (Sivic & Zisserman 2003; the
"IVF" of Jégou, Douze & Schmid 2011 and of FAISS and pgvector's ``ivfflat``) cuts that: spherical k-means
(Dhillon & Modha 2001) groups the vectors around ``lists`` centroids; a query scores the centroids, then only the
vectors of its ``probes`` nearest lists (a few percent of them), exactly. It is approximate: a vector whose list
was not probed is missed (bench_vectors, 100,000 embedded memories: 99.6 % of the exact top 10 found, in 0.5 ms
instead of 2.7).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

FloatMatrix = Any  # numpy float32 arrays (numpy's own generics are more precise than this module needs)


def unit(vector: Sequence[float]) -> FloatMatrix:
    """``vector`` as float32 of length 1 (a zero vector stays zero)."""
    array = np.asarray(vector, dtype=np.float32)
    norm = float(np.linalg.norm(array))
    return array / norm if norm > 0 else array


def to_bytes(vector: Sequence[float]) -> bytes:
    """The stored form: little-endian float32 values, normalised to length 1."""
    return bytes(unit(vector).astype("<f4").tobytes())


def from_bytes(blob: bytes, dim: int) -> FloatMatrix | None:
    """The vector stored in ``blob``, or None when it does not hold ``dim`` float32 values."""
    if len(blob) != dim * 4:
        return None
    return np.frombuffer(blob, dtype="<f4")


def top_k(matrix: FloatMatrix, query: FloatMatrix, k: int) -> list[tuple[int, float]]:
    """The rows of ``matrix`` most similar to ``query`` (row index, cosine similarity), best first.

    One matrix-vector product (measured against products over slices of 16,384 rows, which were slower at the
    median on 2 busy cores: each slice woke BLAS's threads again)."""
    if int(matrix.shape[0]) == 0 or k <= 0:
        return []
    return _best(matrix @ query, k)


def _best(scores: FloatMatrix, k: int) -> list[tuple[int, float]]:
    """The ``k`` highest of ``scores`` (index, score), best first."""
    n = int(scores.shape[0])
    if k < n:
        best = np.argpartition(scores, n - k)[n - k :]
    else:
        best = np.arange(n)
    best = best[np.argsort(-scores[best], kind="stable")]
    return [(int(i), float(scores[i])) for i in best]


# ------------------------------------------------------------------------------------------------ IVF index

KMEANS_ROUNDS = 6  # rounds of k-means over the sample (the lists change little after a few)
SAMPLE_PER_LIST = 64  # the vectors k-means learns the centroids from: this many per list at most
ASSIGN_ROWS = 16_384  # vectors assigned to their lists per matrix product (bounds the product's memory)


@dataclass(frozen=True)
class IvfIndex:
    """Rows ``0 .. rows - 1`` of a matrix grouped into lists: ``centroids`` (lists x dim, unit rows), the rows
    ordered list by list (``order``), where each list starts there (``offsets``, lists + 1 values), and the vectors
    copied in that order (``vectors``: each list is one contiguous block, scored by one product without gathering
    its rows; gathering 3,600 scattered rows took longer than scoring them). ``places``: where each row's copy is
    (the inverse of ``order``), to erase it (:func:`erase`)."""

    centroids: FloatMatrix
    order: Any
    offsets: Any
    vectors: FloatMatrix
    rows: int
    places: Any

    @property
    def lists(self) -> int:
        return int(self.centroids.shape[0])


def list_count(rows: int) -> int:
    """How many lists an index of ``rows`` vectors gets: 1.6 times the square root of the rows, at least 1 (506 at
    100,000; measured there against 256 and 316 lists, more and shorter lists gave the same recall sooner)."""
    return max(1, round(1.6 * math.sqrt(rows)))


def probe_count(lists: int) -> int:
    """How many lists a query scans: a twenty-fifth of them, at least 8 (or all when there are fewer)."""
    return min(lists, max(8, round(lists / 25)))


def train_ivf(matrix: FloatMatrix, *, seed: int = 0) -> IvfIndex:
    """An IVF index of the rows of ``matrix`` (unit vectors; zero rows, forgotten ones, land anywhere): spherical
    k-means over a sample, then every row assigned to its nearest centroid. Deterministic for a ``seed``; for a
    worker thread (its matrix products release the interpreter's lock)."""
    rows = int(matrix.shape[0])
    if rows == 0:
        raise ValueError("an index needs at least one vector")
    lists = min(list_count(rows), rows)
    rng = np.random.default_rng(seed)
    sample = matrix[np.sort(rng.choice(rows, min(rows, SAMPLE_PER_LIST * lists), replace=False))]
    centroids = sample[rng.choice(sample.shape[0], lists, replace=False)].copy()
    for _ in range(KMEANS_ROUNDS):
        nearest = np.argmax(sample @ centroids.T, axis=1)
        grouped = sample[np.argsort(nearest, kind="stable")]
        counts = np.bincount(nearest, minlength=lists)
        ends = np.cumsum(counts)
        sums = np.zeros_like(centroids)
        # A sum per list, not one np.add.reduceat: that holds the interpreter's lock for all of them at once (some
        # 60 ms at 100,000 rows), while between these calls the event loop's thread gets its turn.
        for at, (end, count) in enumerate(zip(ends.tolist(), counts.tolist(), strict=True)):
            if count:
                sums[at] = grouped[end - count : end].sum(axis=0)
        empty = counts == 0  # a list nobody joined starts again from a random sample vector
        sums[empty] = sample[rng.choice(sample.shape[0], int(empty.sum()), replace=False)]
        norms = np.linalg.norm(sums, axis=1, keepdims=True)
        centroids = (sums / np.where(norms > 0, norms, 1.0)).astype(np.float32)
    assigned = np.empty(rows, dtype=np.int64)
    for first in range(0, rows, ASSIGN_ROWS):
        assigned[first : first + ASSIGN_ROWS] = np.argmax(matrix[first : first + ASSIGN_ROWS] @ centroids.T, axis=1)
    order = np.argsort(assigned, kind="stable")
    offsets = np.searchsorted(assigned[order], np.arange(lists + 1))
    vectors = np.empty((rows, matrix.shape[1]), dtype=np.float32)
    for first in range(0, rows, ASSIGN_ROWS):  # in slices: a gather of them all would hold the lock longer
        vectors[first : first + ASSIGN_ROWS] = matrix[order[first : first + ASSIGN_ROWS]]
    places = np.empty(rows, dtype=np.int64)
    places[order] = np.arange(rows)
    return IvfIndex(np.ascontiguousarray(centroids), order, offsets, vectors, rows, places)


def erase(index: IvfIndex, row: int) -> None:
    """Zero the index's copy of ``row``'s vector (a forgotten memory's vector is kept nowhere)."""
    index.vectors[index.places[row]] = 0.0


def search_ivf(
    index: IvfIndex, query: FloatMatrix, probes: int, k: int, *, skip: Any = None
) -> list[tuple[int, float]]:
    """The ``k`` rows most similar to ``query`` among the ``probes`` lists whose centroids are nearest it (row
    indices of the matrix the index was built over, cosine similarity), best first; scored on the index's copy.
    ``skip``: a boolean per row, True for rows to leave out (their copy is stale). Fewer than ``k`` rows come back
    when the probed lists hold fewer."""
    lists = index.lists
    if k <= 0 or lists == 0:
        return []
    near = index.centroids @ query
    chosen = np.argpartition(near, lists - probes)[lists - probes :] if probes < lists else np.arange(lists)
    bounds = [(int(index.offsets[c]), int(index.offsets[c + 1])) for c in np.sort(chosen).tolist()]
    bounds = [(start, end) for start, end in bounds if end > start]
    if not bounds:
        return []
    scores = np.concatenate([index.vectors[start:end] @ query for start, end in bounds])
    rows = index.order[np.concatenate([np.arange(start, end) for start, end in bounds])]
    if skip is not None:
        scores[skip[rows]] = -np.inf
    return [(int(rows[i]), score) for i, score in _best(scores, k) if score != -np.inf]


def top_k_of_rows(matrix: FloatMatrix, rows: Any, query: FloatMatrix, k: int) -> list[tuple[int, float]]:
    """:func:`top_k` among the given rows of ``matrix`` only (row indices of ``matrix``), best first. A row given
    twice is scored twice and returned once: fewer than ``k`` rows may come back (ask for more by the repeats)."""
    found: dict[int, float] = {}
    for i, score in top_k(matrix[rows], query, k):
        found.setdefault(int(rows[i]), score)
    return list(found.items())
