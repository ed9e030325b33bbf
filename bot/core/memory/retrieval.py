"""Retrieval scores (Park et al. 2023): recency, importance and relevance, each min-max normalised over the
candidates, weighted and summed; the best ``k`` first."""

from __future__ import annotations

import math
from collections.abc import Sequence

from bot.core.memory.config import table
from bot.core.memory.duplicates import normalise_text


def _min_max(column: Sequence[float]) -> list[float]:
    low, high = min(column), max(column)
    if high - low <= 0:
        return [0.5] * len(column)
    return [(value - low) / (high - low) for value in column]


def _finite(name: str, column: Sequence[float]) -> None:
    if not all(math.isfinite(value) for value in column):
        raise ValueError(f"{name} must hold finite numbers")


def retrieval_components(
    hours_since_access: Sequence[float],
    importance: Sequence[float],
    relevance: Sequence[float],
) -> tuple[list[float], list[float], list[float]]:
    """The three normalised columns of :func:`retrieval_scores` (recency, importance, relevance), each in [0, 1],
    so a caller that shows the parts computes them once. Same checks as :func:`retrieval_scores`."""
    size = len(hours_since_access)
    if len(importance) != size or len(relevance) != size:
        raise ValueError("hours_since_access, importance and relevance must have the same length")
    if size == 0:
        return [], [], []
    for name, column in (
        ("hours_since_access", hours_since_access),
        ("importance", importance),
        ("relevance", relevance),
    ):
        _finite(name, column)
    if min(hours_since_access) < 0:
        raise ValueError("hours_since_access cannot be negative")
    base = float(table()["retrieval"]["recency_base"])
    return (_min_max([base**hours for hours in hours_since_access]), _min_max(importance), _min_max(relevance))


def combine(
    components: tuple[Sequence[float], Sequence[float], Sequence[float]], weights: tuple[float, float, float]
) -> list[float]:
    """``w_rec recency + w_imp importance + w_rel relevance`` over normalised columns."""
    if len(weights) != 3 or any(not math.isfinite(w) or w < 0 for w in weights):
        raise ValueError("weights must be three finite numbers of at least 0")
    recency, imp, rel = components
    w_rec, w_imp, w_rel = weights
    return [w_rec * r + w_imp * i + w_rel * v for r, i, v in zip(recency, imp, rel, strict=True)]


def best_first(scores: Sequence[float], k: int) -> list[int]:
    """Indices of the ``k`` best scores, best first; equal scores go to the lower index."""
    return sorted(range(len(scores)), key=lambda i: (-scores[i], i))[: max(0, k)]


def retrieval_scores(
    hours_since_access: Sequence[float],
    importance: Sequence[float],
    relevance: Sequence[float],
    weights: tuple[float, float, float] = (1.0, 1.0, 1.0),
) -> list[float]:
    """Park et al. (2023) retrieval scores, one per candidate, in input order.

    recency = ``[retrieval] recency_base`` (0.995) ^ hours since last access; each of recency, importance and
    relevance is min-max normalised to [0, 1] over the candidates (a column whose values are all equal scores
    0.5 everywhere); score = w_rec recency + w_imp importance + w_rel relevance (not divided by the weights'
    sum, so a score lies in [0, sum of weights]). ``ValueError`` when the lengths differ, an hour count is
    negative, a value is not finite or a weight is negative; no candidates gives ``[]``.
    """
    if len(weights) != 3 or any(not math.isfinite(w) or w < 0 for w in weights):
        raise ValueError("weights must be three finite numbers of at least 0")
    return combine(retrieval_components(hours_since_access, importance, relevance), weights)


def top_k(
    hours_since_access: Sequence[float],
    importance: Sequence[float],
    relevance: Sequence[float],
    k: int,
    weights: tuple[float, float, float] = (1.0, 1.0, 1.0),
) -> list[int]:
    """Indices of the ``k`` best ``retrieval_scores``, best first; equal scores go to the lower index."""
    return best_first(retrieval_scores(hours_since_access, importance, relevance, weights), k)


def by_relevance(
    text_ranks: Sequence[float], scores: Sequence[float], k: int, tiers: Sequence[int] | None = None
) -> list[int]:
    """``/memory search`` by relevance: indices of the candidates that match the query at all (text rank above 0),
    the best match first (equal ranks: the better retrieval score, then the lower index), at most ``k``; with
    ``tiers``, a higher tier first (as :func:`bot.core.memory.ranking.best_scores`)."""
    matching = [i for i, rank in enumerate(text_ranks) if rank > 0]
    if tiers is not None and len(tiers) != len(text_ranks):
        raise ValueError("tiers must have one value per candidate")
    if tiers is None:
        return sorted(matching, key=lambda i: (-text_ranks[i], -scores[i], i))[: max(0, k)]
    return sorted(matching, key=lambda i: (-tiers[i], -text_ranks[i], -scores[i], i))[: max(0, k)]


def matched_words(query_words: Sequence[str], text: str) -> list[str]:
    """The words of the query (``normalise_text`` words) that ``text`` holds, in the query's order: why a memory
    matched (the full-text search matches whole words, as these are compared)."""
    held = set(normalise_text(text))
    return [word for word in query_words if word in held]
