"""The memory store's health, from SQL aggregates and one top-N query (never every memory loaded)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import fields
from datetime import datetime

from sqlalchemy import ColumnElement, LargeBinary, cast, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bot.core import memory as rules
from bot.core.ownership import Actor
from bot.db import models
from bot.services.memories.records import HealthReport
from bot.services.memories.store import StoredPersona, check_owner, load_persona


def _size_expression(dialect: str) -> ColumnElement[int]:
    """A memory's content size in bytes, in the dialect's SQL."""
    if dialect == "sqlite":
        return func.length(cast(models.Memory.content, LargeBinary))
    return func.octet_length(models.Memory.content)


# The best ``hot + warm`` memories in ``assign_tiers`` order (pinned first, then ``memory_value``, then more recently
# accessed, then lower id): a top-N scan, not a sort of the whole store. Everything below them belongs in cold
# (pinned ones in warm), which the per-(tier, pinned) counts settle without reading those rows.
_TOP_SQL = """
SELECT id, tier, pinned FROM memories WHERE persona_id = :p
ORDER BY pinned DESC, (:w_rec * strength + :w_imp * ((importance - 1) / 9.0)) / (:w_rec + :w_imp) DESC,
         last_accessed_at DESC, id
LIMIT :limit
"""


def _health_report(
    persona_id: int,
    config: rules.MemoryConfig,
    now: datetime,
    last_optimization_at: datetime | None,
    *,
    counts: Mapping[str, int],
    total_bytes: int,
    pinned: int,
    oldest: datetime | None,
    misplaced: int,
) -> HealthReport:
    """``core.memory.health_from_counts`` over SQL aggregates, so ``/memory health`` never loads every memory."""
    hot, warm, cold = counts.get("hot", 0), counts.get("warm", 0), counts.get("cold", 0)
    total = hot + warm + cold
    found = rules.health_from_counts(
        config,
        now,
        last_optimization_at,
        hot=hot,
        warm=warm,
        cold=cold,
        total_bytes=total_bytes,
        oldest_created_at=oldest,
        fragmentation_share=misplaced / total if total else 0.0,
    )
    return HealthReport(
        persona_id=persona_id,
        total_count=total,
        pinned_count=pinned,
        total_bytes=total_bytes,
        **{field.name: getattr(found, field.name) for field in fields(found)},
    )


async def _misplaced(
    session: AsyncSession, persona: StoredPersona, total: int, by_tier_pinned: Mapping[tuple[str, bool], int]
) -> int:
    """How many memories sit in a tier other than the one ``assign_tiers`` gives them (``fragmentation`` * n)."""
    config = persona.config
    w_rec, w_imp = config.weight_recency, config.weight_importance
    if w_rec + w_imp <= 0:  # as core memory_value: relevance-only weights count both equally
        w_rec = w_imp = 1.0
    hot_end = config.hot_memory_size
    params = {"p": persona.id, "w_rec": w_rec, "w_imp": w_imp, "limit": hot_end + config.warm_memory_size}
    top = (await session.execute(text(_TOP_SQL), params)).all()
    correct = sum(1 for position, row in enumerate(top) if row.tier == ("hot" if position < hot_end else "warm"))
    # Below the top: unpinned memories belong in cold, pinned ones in warm.
    correct += by_tier_pinned.get(("cold", False), 0) - sum(1 for r in top if r.tier == "cold" and not r.pinned)
    correct += by_tier_pinned.get(("warm", True), 0) - sum(1 for r in top if r.tier == "warm" and r.pinned)
    return total - correct


async def measure_health(session: AsyncSession, persona: StoredPersona, now: datetime) -> HealthReport:
    """The health of an already loaded persona's store (no ownership check): ``health``'s work."""
    memory = models.Memory
    dialect = session.get_bind().dialect.name
    aggregates = (
        await session.execute(
            select(
                col(memory.tier),
                col(memory.pinned),
                func.count(),
                func.coalesce(func.sum(_size_expression(dialect)), 0),
                func.min(col(memory.created_at)),
            )
            .where(col(memory.persona_id) == persona.id)
            .group_by(col(memory.tier), col(memory.pinned))
        )
    ).all()
    by_tier_pinned = {(row[0], bool(row[1])): int(row[2]) for row in aggregates}
    counts: dict[str, int] = defaultdict(int)
    for (tier, _), count in by_tier_pinned.items():
        counts[tier] += count
    total = sum(counts.values())
    total_bytes = sum(int(row[3]) for row in aggregates)
    pinned = sum(count for (_, is_pinned), count in by_tier_pinned.items() if is_pinned)
    oldest_values = [row[4] for row in aggregates if row[4] is not None]
    misplaced = await _misplaced(session, persona, total, by_tier_pinned) if total else 0
    last_optimization = persona.config_row.last_optimization_at if persona.config_row is not None else None
    return _health_report(
        persona.id,
        persona.config,
        now,
        last_optimization,
        counts=counts,
        total_bytes=total_bytes,
        pinned=pinned,
        oldest=min(oldest_values) if oldest_values else None,
        misplaced=misplaced,
    )


async def health(session: AsyncSession, persona_id: int, now: datetime, *, actor: Actor | None = None) -> HealthReport:
    """The memory store's health (``core.memory.health``), from SQL aggregates and one top-N query for
    fragmentation (the best ``hot + warm`` memories' stored tiers against their ranks; the rest by counts)."""
    persona = await load_persona(session, persona_id)
    check_owner(persona, actor, "see its memory health")
    return await measure_health(session, persona, now)
