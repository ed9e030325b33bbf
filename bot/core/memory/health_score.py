"""A memory store's health (:class:`MemoryHealth`): tier usage, fragmentation, staleness, a score and advice."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.core.memory.config import MemoryConfig, table
from bot.core.memory.items import MemoryItem, days_between, require_aware
from bot.core.memory.tiers import assign_tiers, max_bytes


@dataclass(frozen=True)
class MemoryHealth:
    """A memory store's health report (seed §3.2).

    ``score`` 0..100 (see ``health``); ``hot_usage`` / ``warm_usage`` = tier count / configured size (1.0 =
    full, above 1 = overfull); ``entities_usage`` = count / ``max_entities``; ``size_usage`` = content bytes /
    ``max_bytes``; ``fragmentation`` 0..1; ``time_since_optimization`` None when never optimised.
    """

    score: float
    hot_count: int
    warm_count: int
    cold_count: int
    hot_usage: float
    warm_usage: float
    entities_usage: float
    size_usage: float
    fragmentation: float
    time_since_optimization: timedelta | None
    recommendations: tuple[str, ...]


def fragmentation(items: Sequence[MemoryItem], config: MemoryConfig, now: datetime) -> float:
    """The share (0..1) of memories whose stored tier differs from what ``assign_tiers`` gives now.

    0 for an empty store, and right after an optimisation that applied ``assign_tiers``; it grows as decay,
    recalls and new memories change the ranking.
    """
    if not items:
        return 0.0
    wanted = assign_tiers(items, config, now)
    wrong = sum(1 for m in items if wanted[m.id] != m.tier)
    return wrong / len(items)


def _percent(ratio: float) -> str:
    return f"{round(ratio * 100)}%"


def health(
    items: Sequence[MemoryItem], config: MemoryConfig, now: datetime, last_optimization_at: datetime | None
) -> MemoryHealth:
    """The store's health at ``now``. Thresholds and penalties come from ``[health]`` in ``data/memory.toml``.

    Score = 100 - P_frag * fragmentation - P_over * overfill - P_stale * staleness, clamped to 0..100, with
    the penalties P from ``[health.score]`` (40, 35, 25); overfill = (the largest of hot, warm, entity and
    size usage) - 1, clipped to 0..1; staleness = (days since optimisation - stale_after_days) /
    stale_after_days, clipped to 0..1. Days since optimisation count from ``last_optimization_at``, or, when
    never optimised, from the oldest memory's ``created_at`` (an empty store is never stale). An empty store
    scores 100.

    Recommendations, in this order, each when its rule holds:

    1. hot usage > ``hot_usage_above``: "Hot memory is N% full: run /memory optimize or raise the hot size."
    2. warm usage > ``warm_usage_above``: the same for warm.
    3. entity usage >= ``entities_usage_at_least``: the store is near (or over) ``max_entities``.
    4. size usage >= ``size_usage_at_least``: the store is near (or over) ``max_memory_size_mb``.
    5. fragmentation >= ``fragmentation_at_least``: "N% of memories sit in the wrong tier: run /memory
       optimize."
    6. days since optimisation >= ``stale_after_days``: "No optimisation for N days: ..." (or "never
       optimised" when ``last_optimization_at`` is None).
    """
    require_aware("now", now)
    return health_from_counts(
        config,
        now,
        last_optimization_at,
        hot=sum(1 for m in items if m.tier == "hot"),
        warm=sum(1 for m in items if m.tier == "warm"),
        cold=sum(1 for m in items if m.tier == "cold"),
        total_bytes=sum(m.content_size for m in items),
        oldest_created_at=min((m.created_at for m in items), default=None),
        fragmentation_share=fragmentation(items, config, now),
    )


def health_from_counts(
    config: MemoryConfig,
    now: datetime,
    last_optimization_at: datetime | None,
    *,
    hot: int,
    warm: int,
    cold: int,
    total_bytes: int,
    oldest_created_at: datetime | None,
    fragmentation_share: float,
) -> MemoryHealth:
    """:func:`health` from counts alone (what SQL aggregates give), so a large store is never loaded whole.
    The formula and the recommendations are those documented on :func:`health`."""
    rules = table()["health"]
    penalties = rules["score"]
    total = hot + warm + cold
    hot_usage = hot / config.hot_memory_size
    warm_usage = warm / config.warm_memory_size
    entities_usage = total / config.max_entities
    size_usage = total_bytes / max_bytes(config)
    frag = fragmentation_share if total else 0.0

    since: timedelta | None = None
    if last_optimization_at is not None:
        require_aware("last_optimization_at", last_optimization_at)
        since = max(timedelta(0), now - last_optimization_at)
        stale_days: float | None = days_between(now, last_optimization_at)
    elif total and oldest_created_at is not None:
        stale_days = days_between(now, oldest_created_at)
    else:
        stale_days = None

    stale_after = float(rules["stale_after_days"])
    overfill = min(1.0, max(0.0, max(hot_usage, warm_usage, entities_usage, size_usage) - 1.0))
    staleness = 0.0 if stale_days is None else min(1.0, max(0.0, (stale_days - stale_after) / stale_after))
    score = 100.0
    if total:
        score -= float(penalties["fragmentation"]) * frag
        score -= float(penalties["overfill"]) * overfill
        score -= float(penalties["staleness"]) * staleness
    score = min(100.0, max(0.0, score))

    advice: list[str] = []
    if hot_usage > float(rules["hot_usage_above"]):
        advice.append(f"Hot memory is {_percent(hot_usage)} full: run /memory optimize or raise the hot size.")
    if warm_usage > float(rules["warm_usage_above"]):
        advice.append(f"Warm memory is {_percent(warm_usage)} full: run /memory optimize or raise the warm size.")
    if entities_usage >= float(rules["entities_usage_at_least"]):
        advice.append(
            f"Memory holds {total} of at most {config.max_entities} memories "
            f"({_percent(entities_usage)}): the weakest will be removed; "
            "raise the limit or let cold memories expire."
        )
    if size_usage >= float(rules["size_usage_at_least"]):
        advice.append(
            f"Memory uses {_percent(size_usage)} of its {config.max_memory_size_mb:g} MB: "
            "the weakest memories will be removed; raise the size limit."
        )
    if total and frag >= float(rules["fragmentation_at_least"]):
        advice.append(f"{_percent(frag)} of memories sit in the wrong tier: run /memory optimize.")
    if stale_days is not None and stale_days >= stale_after:
        if last_optimization_at is None:
            advice.append("Memory has never been optimised: run /memory optimize.")
        else:
            advice.append(f"No optimisation for {math.floor(stale_days)} days: run /memory optimize.")

    return MemoryHealth(
        score=score,
        hot_count=hot,
        warm_count=warm,
        cold_count=cold,
        hot_usage=hot_usage,
        warm_usage=warm_usage,
        entities_usage=entities_usage,
        size_usage=size_usage,
        fragmentation=frag,
        time_since_optimization=since,
        recommendations=tuple(advice),
    )
