"""Hybrid retrieval ranking that keeps relevance first (issue 20; the formula, its parameters and its sources:
``docs/retrieval.md``).

1. **Fusion** (reciprocal rank fusion, Cormack, Clarke & Büttcher 2009): each candidate list (full text, ranked
   by BM25 / ``ts_rank``; any extra list, e.g. vector similarity), best first, adds ``1 / (rrf_k + rank)`` for
   the candidate at 1-based ``rank``. ``relevance`` = that sum divided by its largest possible value
   (``lists / (rrf_k + 1)``), in (0, 1] for a candidate found by some list and 0 for one found by none.
2. **Adjustments** (Park et al. 2023's recency and importance, plus the memory's strength): recency =
   ``recency_base ^ hours since the last access`` measured from *now* (not rescaled over the candidates: an idle
   persona's last conversation is as old as it is), importance / 10, strength in [0, 1]; ``adjustment`` is their
   weighted mean with the persona's recency and importance weights and ``strength_weight``, in [0, 1].
3. **Score**: a relevant candidate scores ``1 + relevance (1 + beta adjustment) / (1 + beta)`` in (1, 2], with
   ``beta = max_boost (w_rec + w_imp) / (w_rec + w_imp + w_rel)``; an irrelevant one scores ``adjustment`` in
   [0, 1]. So every relevant candidate scores above every irrelevant one (the adjustments only reorder within a
   band), and a query with no content word (every candidate irrelevant) ranks by the adjustments alone.

Pure: numbers in, numbers out; every constant is ``[retrieval]`` in ``data/memory.toml``.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import NamedTuple

from bot.core.memory.config import table

IMPORTANCE_SCALE = 10.0
# The least relevance of a memory some list found: keeps its score strictly above 1 whatever the rounding.
_FLOOR = 1e-9


@dataclass(frozen=True)
class RankingParameters:
    """The ``[retrieval]`` constants (``docs/retrieval.md``)."""

    recency_base: float
    rrf_k: float
    max_boost: float
    strength_weight: float
    meaning_min_similarity: float


@cache
def parameters() -> RankingParameters:
    section = table()["retrieval"]
    return RankingParameters(
        recency_base=float(section["recency_base"]),
        rrf_k=float(section["rrf_k"]),
        max_boost=float(section["max_boost"]),
        strength_weight=float(section["strength_weight"]),
        meaning_min_similarity=float(section["meaning_min_similarity"]),
    )


def meaning_floor() -> float:
    """The least cosine similarity of a memory that meaning adds to the results (``meaning_min_similarity``)."""
    return parameters().meaning_min_similarity


@cache
def stop_words() -> frozenset[str]:
    """Words that carry no content (``[retrieval] stop_words``)."""
    return frozenset(str(word) for word in table()["retrieval"]["stop_words"])


def content_words(words: Sequence[str]) -> list[str]:
    """``words`` without the stop words, in order."""
    stops = stop_words()
    return [word for word in words if word not in stops]


def fuse(lists: Sequence[Sequence[Hashable]], rrf_k: float | None = None) -> dict[Hashable, float]:
    """Reciprocal rank fusion: each key's sum over the lists of ``1 / (rrf_k + rank)`` (rank from 1; a key repeated
    in one list counts at its first, best place)."""
    k = parameters().rrf_k if rrf_k is None else rrf_k
    if not math.isfinite(k) or k < 0:
        raise ValueError("rrf_k must be a finite number of at least 0")
    fused: dict[Hashable, float] = {}
    for ranked in lists:
        seen: set[Hashable] = set()
        for position, key in enumerate(ranked, start=1):
            if key in seen:
                continue
            seen.add(key)
            fused[key] = fused.get(key, 0.0) + 1.0 / (k + position)
    return fused


def recency(hours_since_access: float, base: float | None = None) -> float:
    """``base ^ hours`` (``[retrieval] recency_base``, 0.995 per hour), from now; a future access counts as now."""
    b = parameters().recency_base if base is None else base
    return float(b ** max(0.0, hours_since_access))


class Parts(NamedTuple):
    """One candidate's parts: ``relevance`` (fused, scaled to (0, 1]; 0 when no list found it), ``recency``,
    ``importance`` (/10) and ``strength`` in [0, 1], ``adjustment`` (their weighted mean) and ``score``.
    (A named tuple: hundreds are made per retrieval, on the chat path.)"""

    relevant: bool
    fused: float
    relevance: float
    recency: float
    importance: float
    strength: float
    adjustment: float
    score: float


def _unit(value: float) -> float:
    """``value`` clamped to [0, 1]; not a number counts as 0."""
    if 0.0 <= value <= 1.0:
        return value
    return 1.0 if value > 1.0 else 0.0


def boost(weights: tuple[float, float, float], max_boost: float | None = None) -> float:
    """``beta = max_boost (w_rec + w_imp) / (w_rec + w_imp + w_rel)``: how far the adjustments may lift relevance."""
    if len(weights) != 3 or any(not math.isfinite(w) or w < 0 for w in weights):
        raise ValueError("weights must be three finite numbers of at least 0")
    top = parameters().max_boost if max_boost is None else max_boost
    w_rec, w_imp, w_rel = weights
    total = w_rec + w_imp + w_rel
    return 0.0 if total <= 0 else top * (w_rec + w_imp) / total


def _setup(lists: int, weights: tuple[float, float, float]) -> tuple[float, float, float, float, float, float]:
    params = parameters()
    beta = boost(weights, params.max_boost)
    w_rec, w_imp, _ = weights
    total = w_rec + w_imp + params.strength_weight
    scale = 1.0 / total if total > 0 else 0.0
    best = max(1, lists) / (params.rrf_k + 1.0)
    return beta, w_rec * scale, w_imp * scale, params.strength_weight * scale, best, params.recency_base


def _same_length(*columns: Sequence[float]) -> int:
    """The candidates' count: every column must have one value per candidate."""
    size = len(columns[0])
    if any(len(column) != size for column in columns):
        raise ValueError("fused, hours_since_access, importance and strength must have the same length")
    return size


def hybrid_scores(
    fused: Sequence[float],
    lists: int,
    hours_since_access: Sequence[float],
    importance: Sequence[float],
    strength: Sequence[float],
    weights: tuple[float, float, float],
) -> list[float]:
    """Only the scores of :func:`hybrid_parts` (the chat path ranks hundreds of candidates and explains none)."""
    _same_length(fused, hours_since_access, importance, strength)
    beta, a_rec, a_imp, a_str, best, base = _setup(lists, weights)
    lift = beta / (1.0 + beta)
    out: list[float] = []
    for fused_i, hours, imp_raw, strength_raw in zip(fused, hours_since_access, importance, strength, strict=True):
        # _unit inlined (hundreds of candidates per chat reply): a number out of [0, 1] is clamped, NaN counts as 0.
        imp = imp_raw / IMPORTANCE_SCALE
        imp = imp if 0.0 <= imp <= 1.0 else (1.0 if imp > 1.0 else 0.0)
        stren = strength_raw if 0.0 <= strength_raw <= 1.0 else (1.0 if strength_raw > 1.0 else 0.0)
        adjustment = a_rec * (base**hours if hours > 0 else 1.0) + a_imp * imp + a_str * stren
        if fused_i > 0 and fused_i != math.inf:
            relevance = min(1.0, max(_FLOOR, fused_i / best))
            out.append(1.0 + relevance * (1.0 - lift + lift * adjustment))
        else:
            out.append(adjustment)
    return out


def hybrid_part(
    fused: float,
    lists: int,
    hours_since_access: float,
    importance: float,
    strength: float,
    weights: tuple[float, float, float],
) -> Parts:
    """One candidate's :class:`Parts` (the same numbers as :func:`hybrid_scores`)."""
    beta, a_rec, a_imp, a_str, best, base = _setup(lists, weights)
    lift = beta / (1.0 + beta)
    rec = base**hours_since_access if hours_since_access > 0 else 1.0  # from now; a future access or NaN: now
    imp = _unit(importance / IMPORTANCE_SCALE)
    stren = _unit(strength)
    adjustment = a_rec * rec + a_imp * imp + a_str * stren
    if fused > 0 and fused != math.inf:
        relevance = min(1.0, max(_FLOOR, fused / best))
        score = 1.0 + relevance * (1.0 - lift + lift * adjustment)
        return Parts(True, fused, relevance, rec, imp, stren, adjustment, score)
    return Parts(False, 0.0, 0.0, rec, imp, stren, adjustment, adjustment)


def hybrid_parts(
    fused: Sequence[float],
    lists: int,
    hours_since_access: Sequence[float],
    importance: Sequence[float],
    strength: Sequence[float],
    weights: tuple[float, float, float],
) -> list[Parts]:
    """Each candidate's :class:`Parts`, in input order. ``fused``: its RRF sum (0 for one no list found) over
    ``lists`` candidate lists; ``importance`` on the 1..10 scale; ``weights`` the persona's (recency, importance,
    relevance)."""
    size = _same_length(fused, hours_since_access, importance, strength)
    return [
        hybrid_part(fused[i], lists, hours_since_access[i], importance[i], strength[i], weights) for i in range(size)
    ]


def best_scores(scores: Sequence[float], k: int, tiers: Sequence[int] | None = None) -> list[int]:
    """Indices of the ``k`` best :func:`hybrid_scores`, best first; equal scores go to the lower index. (A
    relevant candidate's score is above 1 and an irrelevant one's at most 1, so this keeps relevance first.)
    ``tiers``: a higher tier comes first whatever the scores (the memories that meaning alone found fill what full
    text left: they come after every full-text match, docs/retrieval.md)."""
    if tiers is None:
        return heapq.nlargest(max(0, k), range(len(scores)), key=scores.__getitem__)
    if len(tiers) != len(scores):
        raise ValueError("tiers must have one value per score")
    return heapq.nlargest(max(0, k), range(len(scores)), key=lambda i: (tiers[i], scores[i]))


def hybrid_order(parts: Sequence[Parts], k: int) -> list[int]:
    """Indices of the ``k`` best candidates, best first: every relevant one before every irrelevant one, then by
    score; equal scores go to the lower index."""
    return sorted(range(len(parts)), key=lambda i: (not parts[i].relevant, -parts[i].score, i))[: max(0, k)]
