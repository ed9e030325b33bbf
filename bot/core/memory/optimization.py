"""What an optimisation of one memory store changes: pure planning over plain data (the service reads the rows,
runs :func:`plan_optimization` in a worker thread, and writes the plan).

The steps, in order:

1. Near-duplicates (``near_duplicates``) merge only between memories from the same author about the same person
   (so one person's forget-me never loses to a merge), and never private (sensitive or encrypted) ones. The
   stronger is kept; it takes the sum of the access counts, the higher importance, and the pin if either was
   pinned.
2. Capacity (``evict_for_capacity``).
3. Tiers (``assign_tiers``): a memory entering cold gets ``cold_since = now``, one leaving cold loses it, and a
   pinned memory still on a cold countdown loses it.
4. Expired cold memories (``expired_cold``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import NamedTuple

from bot.core.freeing import release
from bot.core.memory.config import MemoryConfig
from bot.core.memory.duplicates import near_duplicates
from bot.core.memory.items import MemoryItem
from bot.core.memory.tiers import assign_tiers, evict_for_capacity, expired_cold


class StoredText(NamedTuple):
    """A memory's text and whose it is, for the near-duplicate step. ``private``: sensitive or encrypted, so
    never merged."""

    id: int
    text: str
    author_id: int | None
    subject_id: int | None
    private: bool


@dataclass(frozen=True)
class Merged:
    """A kept near-duplicate's values after the merge."""

    access_count: int
    importance: int
    pinned: bool


@dataclass(frozen=True)
class OptimizationPlan:
    """Ids to delete (``dropped`` merged into a near-duplicate, ``evicted`` for capacity, ``expired`` cold for
    too long), the merged survivors' new values, and the tier moves (tier -> ids) of the memories that stay."""

    dropped: list[int]
    evicted: list[int]
    expired: list[int]
    merged_into: dict[int, Merged]
    moves: dict[str, list[int]]

    @property
    def retiered(self) -> int:
        """How many memories move between tiers."""
        return sum(len(ids) for ids in self.moves.values())


def _merge_near_duplicates(
    items: dict[int, MemoryItem], texts: Iterable[StoredText]
) -> tuple[list[int], dict[int, Merged]]:
    """Step 1, on ``items`` in place: the dropped ids, and the kept ones' merged values."""
    groups: dict[tuple[int | None, int | None], list[tuple[int, str, float]]] = defaultdict(list)
    for entry in texts:
        if not entry.private:
            groups[(entry.author_id, entry.subject_id)].append((entry.id, entry.text, items[entry.id].strength))
    merged_into: dict[int, Merged] = {}
    dropped: list[int] = []
    for group in groups.values():
        if len(group) < 2:
            continue
        for keep, drop in near_duplicates(group):
            kept, gone = items[keep], items[drop]
            items[keep] = replace(
                kept,
                access_count=kept.access_count + gone.access_count,
                importance=max(kept.importance, gone.importance),
                pinned=kept.pinned or gone.pinned,
            )
            merged_into[keep] = Merged(items[keep].access_count, items[keep].importance, items[keep].pinned)
            dropped.append(drop)
            del items[drop]
    release(groups)
    return dropped, merged_into


def plan_optimization(
    stored: Sequence[MemoryItem], texts: Iterable[StoredText], config: MemoryConfig, now: datetime
) -> OptimizationPlan:
    """What the optimisation of a store holding ``stored`` (with their ``texts``) changes at ``now``. Pure, and
    meant for a worker thread: 100,000 memories are seconds of work."""
    items = {item.id: item for item in stored}

    # 1. Near-duplicates, within (author, subject) groups.
    dropped, merged_into = _merge_near_duplicates(items, texts)

    # 2. Capacity.
    evicted = evict_for_capacity(list(items.values()), config, now)
    for memory_id in evicted:
        merged_into.pop(memory_id, None)
        del items[memory_id]

    # 3. Tiers.
    wanted = assign_tiers(list(items.values()), config, now)
    moves: dict[str, list[int]] = defaultdict(list)
    for memory_id, item in list(items.items()):
        tier = wanted[memory_id]
        if tier != item.tier or (item.pinned and item.cold_since is not None):
            moves[tier].append(memory_id)
            cold_since = (item.cold_since or now) if tier == "cold" else None
            items[memory_id] = replace(item, tier=tier, cold_since=cold_since)

    # 4. Expired cold memories.
    expired = expired_cold(list(items.values()), config, now)
    for memory_id in expired:
        merged_into.pop(memory_id, None)
        for tier_ids in moves.values():
            if memory_id in tier_ids:
                tier_ids.remove(memory_id)

    release(items)
    return OptimizationPlan(
        dropped=dropped, evicted=list(evicted), expired=list(expired), merged_into=merged_into, moves=dict(moves)
    )
