"""Tiers and capacity: the query-free value memories rank by, which tier each belongs in, which cold ones have
expired, and which to evict when the store is over its limits."""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any, TypeVar

from bot.core.memory.config import BYTES_PER_MB, IMPORTANCE_MAX, IMPORTANCE_MIN, MemoryConfig
from bot.core.memory.decay import is_exempt
from bot.core.memory.items import MemoryItem, days_between, hours_between, require_aware

T = TypeVar("T")
SORT_RUN = 8_192  # the longest list sorted in one call by sorted_by


def memory_value(item: MemoryItem, config: MemoryConfig) -> float:
    """The query-free retrieval value tiers and eviction rank by, in [0, 1].

    ``(w_rec * strength + w_imp * (importance - 1) / 9) / (w_rec + w_imp)``: the retrieval score without the
    relevance term (there is no query), where the decayed strength stands for recency (it falls with time
    since the last access and is restored by a recall) and importance is scaled from 1..10 to 0..1. When both
    weights are 0 (relevance-only retrieval) the two count equally.
    """
    w_rec, w_imp = config.weight_recency, config.weight_importance
    if w_rec + w_imp <= 0:
        w_rec = w_imp = 1.0
    importance = (item.importance - IMPORTANCE_MIN) / (IMPORTANCE_MAX - IMPORTANCE_MIN)
    return (w_rec * item.strength + w_imp * importance) / (w_rec + w_imp)


def sorted_by(items: Iterable[T], *keys: Callable[[T], Any]) -> list[T]:
    """``sorted(items, key=lambda x: (keys[0](x), keys[1](x), ...))``, as one stable sort per key, the last first.

    The same order, but a pass compares single numbers, which Python does an order of magnitude faster than
    tuples. And each sort is one call that holds the interpreter (for 100,000 tuples about 0.1 s, during which a
    worker thread running this stops the event loop's thread too): a long list is sorted in runs of
    :data:`SORT_RUN` merged by ``heapq.merge`` (stable too: equal keys keep the runs' order), which is ordinary
    bytecode between short sorts."""
    ordered = list(items)
    for key in reversed(keys):
        if len(ordered) <= SORT_RUN:
            ordered.sort(key=key)
            continue
        runs = [sorted(ordered[start : start + SORT_RUN], key=key) for start in range(0, len(ordered), SORT_RUN)]
        ordered = list(heapq.merge(*runs, key=key))
    return ordered


def _ranked(items: Sequence[MemoryItem], config: MemoryConfig, now: datetime) -> list[MemoryItem]:
    """Best first: higher ``memory_value``, then more recently accessed, then lower id."""
    return sorted_by(
        items, lambda m: -memory_value(m, config), lambda m: hours_between(now, m.last_accessed_at), lambda m: m.id
    )


def assign_tiers(items: Sequence[MemoryItem], config: MemoryConfig, now: datetime) -> dict[int, str]:
    """The tier each memory belongs in now, by id.

    Pinned memories rank first (among themselves by value), then the rest by ``memory_value`` (ties: more
    recently accessed first, then lower id). The first ``hot_memory_size`` are hot, the next
    ``warm_memory_size`` warm, the rest cold. Pinned memories are never cold: if there are more of them than
    hot plus warm slots, the extra ones are warm (the warm tier overflows; ``health`` reports it).
    """
    require_aware("now", now)
    pinned = _ranked([m for m in items if m.pinned], config, now)
    others = _ranked([m for m in items if not m.pinned], config, now)
    tiers: dict[int, str] = {}
    hot_end = config.hot_memory_size
    warm_end = hot_end + config.warm_memory_size
    for position, item in enumerate(pinned + others):
        if position < hot_end:
            tiers[item.id] = "hot"
        elif position < warm_end or item.pinned:
            tiers[item.id] = "warm"
        else:
            tiers[item.id] = "cold"
    return tiers


def expired_cold(items: Sequence[MemoryItem], config: MemoryConfig, now: datetime) -> list[int]:
    """Ids of cold memories cold for longer than ``cold_memory_retention_days`` (strictly), in id order.

    Pinned memories and those ``is_exempt`` protects are never expired; a cold memory without ``cold_since``
    is not expired (the service should set it when it moves a memory to cold).
    """
    limit = float(config.cold_memory_retention_days)
    return sorted(
        m.id
        for m in items
        if m.tier == "cold"
        and m.cold_since is not None
        and not m.pinned
        and not is_exempt(m, config)
        and days_between(now, m.cold_since) > limit
    )


def max_bytes(config: MemoryConfig) -> float:
    """The content-byte limit: ``max_memory_size_mb * BYTES_PER_MB`` (decimal MB)."""
    return config.max_memory_size_mb * BYTES_PER_MB


def evict_for_capacity(items: Sequence[MemoryItem], config: MemoryConfig, now: datetime) -> list[int]:
    """Ids to delete, in deletion order, until the store is within ``max_entities`` and
    ``max_memory_size_mb``.

    Candidates go lowest ``memory_value`` first (ties: least recently accessed, then lower id), whatever their
    tier; pinned memories are never evicted, so a store over its limits with pinned memories alone stays over
    (``health`` reports it). Nothing is evicted while both limits hold.
    """
    require_aware("now", now)
    count = len(items)
    size = sum(m.content_size for m in items)
    limit = max_bytes(config)
    candidates = [m for m in items if not m.pinned]
    order = sorted_by(
        candidates,
        lambda m: memory_value(m, config),
        lambda m: -hours_between(now, m.last_accessed_at),
        lambda m: m.id,
    )
    evicted: list[int] = []
    for item in order:
        if count <= config.max_entities and size <= limit:
            break
        evicted.append(item.id)
        count -= 1
        size -= item.content_size
    return evicted
