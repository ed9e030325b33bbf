"""One memory at a time, by its owner: look at it, pin or unpin it, forget it."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bot.core.errors import NotFound
from bot.core.ownership import Actor, require_owner
from bot.db import models
from bot.services.memories.records import TABLE, MemoryRecord, memory_select, record_of
from bot.services.memories.store import load_persona


async def _owned_memory(session: AsyncSession, actor: Actor, persona_id: int, memory_id: int, action: str) -> Any:
    """The memory's row when ``actor`` owns its persona; :class:`NotFound` for a memory of another persona."""
    require_owner(await load_persona(session, persona_id), actor, action)
    row = (
        await session.execute(memory_select().where(TABLE.c.id == memory_id, TABLE.c.persona_id == persona_id))
    ).first()
    if row is None:
        raise NotFound("That memory does not exist (it may have been forgotten).")
    return row


async def get(
    session: AsyncSession, actor: Actor, persona_id: int, memory_id: int, *, encryption_key: str | None = None
) -> MemoryRecord:
    """One memory of the persona (owner only), as it would be shown: what ``forget`` asks about before it acts."""
    row = await _owned_memory(session, actor, persona_id, memory_id, "look at its memories")
    return record_of(row, encryption_key)


async def pin(
    session: AsyncSession, actor: Actor, persona_id: int, memory_id: int, *, encryption_key: str | None = None
) -> MemoryRecord:
    """Pin a memory (owner only): pinned memories rank first for the hot tier, are never cold, never evicted and
    (with ``pinned_memories_exempt``) never decay. A cold memory comes back to warm."""
    row = await _owned_memory(session, actor, persona_id, memory_id, "pin its memories")
    tier = "warm" if row.tier == "cold" else row.tier
    await session.execute(
        update(models.Memory).where(col(models.Memory.id) == memory_id).values(pinned=True, tier=tier, cold_since=None)
    )
    return replace(record_of(row, encryption_key), pinned=True, tier=tier, cold_since=None)


async def unpin(
    session: AsyncSession, actor: Actor, persona_id: int, memory_id: int, *, encryption_key: str | None = None
) -> MemoryRecord:
    """Unpin a memory (owner only)."""
    row = await _owned_memory(session, actor, persona_id, memory_id, "unpin its memories")
    await session.execute(update(models.Memory).where(col(models.Memory.id) == memory_id).values(pinned=False))
    return replace(record_of(row, encryption_key), pinned=False)


async def forget(
    session: AsyncSession, actor: Actor, persona_id: int, memory_id: int, *, encryption_key: str | None = None
) -> MemoryRecord:
    """Delete one memory (owner only); returns what was forgotten."""
    row = await _owned_memory(session, actor, persona_id, memory_id, "make it forget")
    await session.execute(delete(models.Memory).where(col(models.Memory.id) == memory_id))
    return record_of(row, encryption_key)
