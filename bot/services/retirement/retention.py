"""The end of a legacy's retention: delete what the plan's deletion policy names, once, and say what went."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bot.core import retirement as rules
from bot.db import models
from bot.db.models import LegacyArchive, Persona
from bot.services.access import persona_or_not_found
from bot.services.personas import count_owned_rows
from bot.services.retirement.store import plan_of, plan_row, rows_changed
from bot.services.retirement.views import RetentionReport

# What each deletion kind removes from the live tables (``persona`` and the archive's own parts are handled apart).
_TABLES: dict[str, tuple[type[Any], ...]] = {
    "memories": (models.Memory,),
    "emotional_history": (models.EmotionalEvent, models.ActiveEmotion, models.LearnedResponse),
    "relationships": (models.PersonRelationship,),
    "messages": (models.PersonaMessage,),
    "follows": (models.Follow,),
    "timeline": (models.TimelineEvent,),
    "achievements": (models.AchievementAward,),
}


async def due_retention(session: AsyncSession, now: datetime) -> list[int]:
    """Personas whose legacy's retention has ended and whose data has not been deleted yet."""
    query = (
        select(col(LegacyArchive.persona_id))
        .where(col(LegacyArchive.deleted_at).is_(None), col(LegacyArchive.retention_until) <= now)
        .order_by(col(LegacyArchive.id))
    )
    return [int(p) for p in (await session.execute(query)).scalars()]


async def apply_retention(session: AsyncSession, persona_id: int, *, now: datetime) -> RetentionReport | None:
    """Delete what the plan's deletion policy names, once (the archive is claimed with a guarded update), and
    record what was deleted on the archive (or, when the persona itself goes, in ``app_state``)."""
    claimed = await session.execute(
        update(LegacyArchive)
        .where(
            col(LegacyArchive.persona_id) == persona_id,
            col(LegacyArchive.deleted_at).is_(None),
            col(LegacyArchive.retention_until) <= now,
        )
        .values(deleted_at=now),
        execution_options={"synchronize_session": False},
    )
    if not rows_changed(claimed):
        return None
    persona = await persona_or_not_found(session, persona_id)
    row = await plan_row(session, persona_id)
    policy = plan_of(row).data_deletion if row is not None else rules.DEFAULT_DELETION
    if "persona" in policy:
        return await _delete_persona(session, persona, now=now)
    deleted = await _delete_rows(session, persona_id, policy)
    if "follows" in policy:
        persona.follower_count = 0
    archive = (
        await session.execute(select(LegacyArchive).where(col(LegacyArchive.persona_id) == persona_id))
    ).scalar_one()
    _thin_archive(archive, policy, deleted)
    archive.deletion_report = {"at": now.isoformat(), "policy": list(policy), "deleted": deleted}
    await session.flush()
    return RetentionReport(persona_id, persona.name, deleted, False)


async def _delete_persona(session: AsyncSession, persona: Persona, *, now: datetime) -> RetentionReport:
    """The persona and everything of it goes; what went is kept in ``app_state`` (the archive goes with it)."""
    assert persona.id is not None
    persona_id, name = persona.id, persona.name
    deleted = await count_owned_rows(session, persona_id)
    await session.execute(delete(Persona).where(col(Persona.id) == persona_id))
    session.add(
        models.AppState(
            key=f"retire:deleted:{persona_id}",
            value={"persona_id": persona_id, "name": name, "deleted": deleted, "at": now.isoformat()},
            updated_at=now,
        )
    )
    await session.flush()
    return RetentionReport(persona_id, name, deleted, True)


async def _delete_rows(session: AsyncSession, persona_id: int, policy: tuple[str, ...]) -> dict[str, int]:
    """Delete the persona's rows of each kind the policy names; how many went, by kind."""
    deleted: dict[str, int] = {}
    for kind, tables in _TABLES.items():
        if kind not in policy:
            continue
        total = 0
        for model in tables:
            result = await session.execute(delete(model).where(model.persona_id == persona_id))
            total += rows_changed(result)
        deleted[kind] = total
    return deleted


def _thin_archive(archive: LegacyArchive, policy: tuple[str, ...], deleted: dict[str, int]) -> None:
    """Remove from the archive's snapshot what the policy names (its timeline, achievements, memories), counting
    them into ``deleted``."""
    snapshot = dict(archive.snapshot or {})
    if "timeline" in policy:
        deleted["timeline"] += len(snapshot.get("timeline") or [])
        snapshot["timeline"] = []
    if "achievements" in policy:
        deleted["achievements"] += len(snapshot.get("achievements") or [])
        snapshot["achievements"] = []
    if "archived_memories" in policy:
        deleted["archived_memories"] = len(snapshot.get("memories") or [])
        snapshot["memories"] = []
        archive.archived_memory_count = 0
    archive.snapshot = snapshot
