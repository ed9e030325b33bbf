"""``/memory optimize``: tidy a persona's store in short sessions (read in pages, planned in a worker thread by
``core.memory.plan_optimization``, written a batch at a time), and keep a timeline event of it."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, delete, func, text, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bot.core import memory as rules
from bot.core.ownership import Actor
from bot.db import models, offload
from bot.services import timeline
from bot.services.memories.health_check import measure_health
from bot.services.memories.records import TABLE, HealthReport, OptimizationReport, memory_item, memory_select
from bot.services.memories.store import ID_BATCH, StoredPersona, batches, check_owner, load_persona

if TYPE_CHECKING:
    from bot.db.engine import Database

READ_PAGE = 2_000  # memories per read when a whole store is loaded


async def optimize_store(
    database: Database, persona_id: int, now: datetime, *, actor: Actor | None = None
) -> OptimizationReport:
    """Tidy the store (``core.memory.plan_optimization``: merge near-duplicates, enforce capacity, re-tier, delete
    expired cold memories); record a timeline event ("optimization") with the before/after health and set
    ``last_optimization_at``. With ``actor``, only the persona's owner may.

    In short sessions (each page read, each batch written, its own), with none open while the plan is made: on
    SQLite the process has one connection, and one transaction over 100,000 memories would keep every other
    command waiting for it for seconds. 100,000 memories are seconds of work: the rows are read in pages and the
    planning (pure) runs in a thread, inside ``bulk_work``, so the event loop keeps serving meanwhile. Memories
    pinned meanwhile are not evicted or expired.

    SQLite: ``PRAGMA optimize`` refreshes the planner statistics the changes may have staled. No vacuum: the
    database runs with ``auto_vacuum = NONE``, where ``incremental_vacuum`` does nothing, and the pages freed here
    are reused by the next inserts; a full ``VACUUM`` would rewrite the whole file while blocking the bot.
    """
    async with database.session() as session:
        persona = await load_persona(session, persona_id)
    check_owner(persona, actor, "optimise its memory")
    with offload.bulk_work():
        async with database.session() as session:
            before = await measure_health(session, persona, now)
        rows = await _read_memories(database, persona_id)
        plan = await asyncio.to_thread(_plan, rows, persona.config, now)
        await asyncio.to_thread(offload.release, rows)
        await _write_plan(database, plan, now)
        async with database.transaction() as session:
            return await _record_optimization(session, persona, now, before, plan)


async def _read_memories(database: Database, persona_id: int) -> list[Any]:
    """Every memory of the persona, read in pages by id (each page a short statement and a short conversion)."""
    rows: list[Any] = []
    after = 0
    while True:
        async with database.session() as session:
            page = (
                await session.execute(
                    memory_select()
                    .where(TABLE.c.persona_id == persona_id, TABLE.c.id > after)
                    .order_by(TABLE.c.id)
                    .limit(READ_PAGE)
                )
            ).all()
        rows.extend(page)
        if len(page) < READ_PAGE:
            return rows
        after = page[-1].id
        await asyncio.sleep(0)  # on PostgreSQL a page may arrive at once: the loop's turn between conversions


def _plan(rows: Sequence[Any], config: rules.MemoryConfig, now: datetime) -> rules.OptimizationPlan:
    """The rows as the rules see them, and the plan (run in a worker thread)."""
    items = [memory_item(row) for row in rows]
    texts = [
        rules.StoredText(
            row.id, row.content, row.source_user_id, row.subject_user_id, bool(row.sensitive or row.encrypted)
        )
        for row in rows
    ]
    plan = rules.plan_optimization(items, texts, config, now)
    offload.release(items, texts)
    return plan


async def _write_plan(database: Database, plan: rules.OptimizationPlan, now: datetime) -> None:
    """Deletions, merged survivors, tier moves; a batch at a time, each batch its own transaction."""
    memory = models.Memory
    for batch in batches(sorted(plan.dropped)):
        async with database.transaction() as session:
            await session.execute(delete(memory).where(col(memory.id).in_(batch)))
    for batch in batches(sorted([*plan.evicted, *plan.expired])):
        async with database.transaction() as session:
            # Never pinned when planned; a memory pinned since stays.
            await session.execute(delete(memory).where(col(memory.id).in_(batch), col(memory.pinned).is_(False)))
    survivors = sorted(plan.merged_into.items())
    for start in range(0, len(survivors), ID_BATCH):
        async with database.transaction() as session:
            # One statement, executed for each survivor (Core executemany).
            await session.execute(
                update(TABLE)
                .where(TABLE.c.id == bindparam("memory_id"))
                .values(
                    access_count=bindparam("new_access_count"),
                    importance=bindparam("new_importance"),
                    pinned=bindparam("new_pinned"),
                ),
                [
                    {
                        "memory_id": memory_id,
                        "new_access_count": merged.access_count,
                        "new_importance": merged.importance,
                        "new_pinned": merged.pinned,
                    }
                    for memory_id, merged in survivors[start : start + ID_BATCH]
                ],
            )
    for tier, ids in plan.moves.items():
        for batch in batches(sorted(ids)):
            if tier == "cold":
                # Keep an existing countdown; start one for memories entering cold now.
                values: dict[str, Any] = {"tier": tier, "cold_since": func.coalesce(col(memory.cold_since), now)}
            else:
                values = {"tier": tier, "cold_since": None}
            async with database.transaction() as session:
                await session.execute(update(memory).where(col(memory.id).in_(batch)).values(**values))


async def _record_optimization(
    session: AsyncSession,
    persona: StoredPersona,
    now: datetime,
    before: HealthReport,
    plan: rules.OptimizationPlan,
) -> OptimizationReport:
    """Set ``last_optimization_at``, measure the health after, and keep a timeline event of the run."""
    persona_id = persona.id
    dropped, evicted, expired, retiered = plan.dropped, plan.evicted, plan.expired, plan.retiered
    await session.execute(
        update(models.MemoryConfig)
        .where(col(models.MemoryConfig.persona_id) == persona_id)
        .values(last_optimization_at=now)
    )
    if persona.config_row is not None:
        persona.config_row.last_optimization_at = now
    after = await measure_health(session, persona, now)
    await timeline.record(
        session,
        persona_id,
        "optimization",
        title="Memory optimised",
        description=(
            f"Health {before.score:.0f} -> {after.score:.0f}; {len(dropped)} merged, {len(evicted)} removed "
            f"for capacity, {len(expired)} expired, {retiered} moved between tiers."
        ),
        details={
            "before": before.summary(),
            "after": after.summary(),
            "merged": len(dropped),
            "evicted": len(evicted),
            "expired": len(expired),
            "retiered": retiered,
        },
        is_public=False,
        now=now,
    )
    await session.flush()
    optimized = False
    if session.get_bind().dialect.name == "sqlite":
        await session.execute(text("PRAGMA optimize"))
        optimized = True
    return OptimizationReport(
        persona_id=persona_id,
        before=before,
        after=after,
        merged=len(dropped),
        evicted=len(evicted),
        expired=len(expired),
        retiered=retiered,
        database_optimized=optimized,
    )
