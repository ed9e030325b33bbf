"""Completing a claimed ceremony, exactly once: the persona ``retiring -> retired`` (guarded), its legacy archived per
the plan (memories, achievements, timeline, access), its channel bindings removed, the result recorded on the
timeline (and so to followers). And the result of a ceremony already completed, read back from its archive.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bot.core import retirement as rules
from bot.core.errors import DomainError
from bot.core.traits import ALL_TRAITS
from bot.db import models, presence
from bot.db.models import LegacyArchive, Persona, RetirementPlan
from bot.services import timeline
from bot.services.access import persona_or_not_found
from bot.services.retirement.farewell import life_stats
from bot.services.retirement.lease import hold_lease
from bot.services.retirement.store import (
    archive_row,
    existing_plan_row,
    plan_of,
    plan_row,
    progress_of,
    rows_changed,
)
from bot.services.retirement.views import CeremonyResult, LifeStats
from bot.templating.prompts import render_template


@dataclass(frozen=True)
class _Preserved:
    """What the legacy keeps of the persona's life, as the archive's snapshot holds it."""

    memories: list[dict[str, Any]]
    achievements: list[dict[str, Any]]
    timeline: list[dict[str, Any]]


async def complete_ceremony(
    session: AsyncSession, persona_id: int, *, now: datetime, holder: presence.Holder | None = None
) -> CeremonyResult:
    """Finish a claimed ceremony (``retiring -> retired``, guarded): archive the memories per the plan, preserve
    achievements and timeline, set the archive access, remove every channel binding (the persona speaks nowhere),
    record the result on the timeline, notify followers. Run twice, the second call changes nothing and returns
    the first result (``already_done``). Only the lease's holder completes it (:class:`LeaseLost`)."""
    persona = await persona_or_not_found(session, persona_id)
    row = await existing_plan_row(session, persona_id)
    if not await _retire(session, persona_id, row, now=now, holder=holder):
        return await result_of(session, persona_id)
    await session.refresh(persona)
    plan = plan_of(row)
    progress = progress_of(row)
    stats = await life_stats(session, persona_id, now)
    preserved = await _preserve(session, persona_id, plan)
    unbound = await session.execute(
        delete(models.ChannelBinding).where(col(models.ChannelBinding.persona_id) == persona_id)
    )
    until = rules.retention_until(now, plan.data_retention_days)
    channel_id = progress.get("channel_id", row.ceremony_channel_id)
    session.add(
        LegacyArchive(
            persona_id=persona_id,
            archive_access=plan.archive_access,
            snapshot=_snapshot(persona, stats, plan, progress, channel_id, preserved, now=now),
            archived_memory_count=len(preserved.memories),
            retired_at=now,
            retention_until=until,
        )
    )
    row.status = "executed"
    row.updated_at = now
    await _record_retired(session, persona, stats, plan, progress, channel_id, preserved, now=now)
    await session.flush()
    return CeremonyResult(
        persona_id=persona_id,
        owner_id=persona.owner_id,
        name=persona.name,
        retired_at=now,
        lifespan=stats.lifespan,
        trigger=str(progress.get("trigger") or "manual"),
        archived_memories=len(preserved.memories),
        achievements_preserved=len(preserved.achievements),
        timeline_preserved=len(preserved.timeline),
        archive_access=plan.archive_access,
        channels_unbound=rows_changed(unbound),
        retention_until=until,
        data_export=plan.data_export,
        export_sent=bool(progress.get("export_sent_at")),
        channel_id=channel_id,
        farewell_message_id=progress.get("farewell_message_id"),
        ceremony_message_id=progress.get("ceremony_message_id"),
    )


async def _retire(
    session: AsyncSession, persona_id: int, row: RetirementPlan, *, now: datetime, holder: presence.Holder | None
) -> bool:
    """``retiring -> retired``, guarded, while ``holder`` holds the lease; False when it was done already."""
    if row.status == "executing":
        await hold_lease(session, persona_id, now=now, holder=holder)
    done = await session.execute(
        update(Persona)
        .where(col(Persona.id) == persona_id, col(Persona.status) == "retiring")
        .values(status="retired", is_active=False, updated_at=now),
        execution_options={"synchronize_session": False},
    )
    return rows_changed(done) > 0


def _memory_row(row: models.Memory) -> dict[str, Any]:
    return {
        "content": row.content,
        "category": row.category,
        "importance": row.importance,
        "pinned": row.pinned,
        "encrypted": row.encrypted,
        "source_user_id": row.source_user_id,
        "subject_user_id": row.subject_user_id,
        "created_at": row.created_at.isoformat(),
    }


async def _preserve(session: AsyncSession, persona_id: int, plan: rules.Plan) -> _Preserved:
    """The memories the plan archives, and the achievements and timeline it preserves (empty when it does not)."""
    memory, award, event = models.Memory, models.AchievementAward, models.TimelineEvent
    memory_rows = list(
        (
            await session.execute(select(memory).where(col(memory.persona_id) == persona_id).order_by(col(memory.id)))
        ).scalars()
    )
    keep = set(
        rules.select_for_archive(
            (rules.MemoryFacts(m.id or 0, m.importance) for m in memory_rows),
            plan.memory_archival,
            plan.archival_threshold,
        )
    )
    achievements: list[dict[str, Any]] = []
    if plan.achievement_preservation:
        awards = select(award).where(col(award.persona_id) == persona_id).order_by(col(award.id))
        achievements = [
            {"key": a.achievement_key, "awarded_at": a.awarded_at.isoformat(), "is_public": a.is_public}
            for a in (await session.execute(awards)).scalars()
        ]
    timeline_rows: list[dict[str, Any]] = []
    if plan.timeline_preservation:
        events = select(event).where(col(event.persona_id) == persona_id).order_by(col(event.created_at), col(event.id))
        timeline_rows = [
            {"kind": e.kind, "title": e.title, "description": e.description, "created_at": e.created_at.isoformat()}
            for e in (await session.execute(events)).scalars()
        ]
    return _Preserved([_memory_row(m) for m in memory_rows if m.id in keep], achievements, timeline_rows)


def _snapshot(
    persona: Persona,
    stats: LifeStats,
    plan: rules.Plan,
    progress: Mapping[str, Any],
    channel_id: int | None,
    preserved: _Preserved,
    *,
    now: datetime,
) -> dict[str, Any]:
    """The legacy archive's snapshot: the profile, the life in numbers, what is preserved, the ceremony, access."""
    return {
        "profile": {
            "name": persona.name,
            "description": persona.description,
            "avatar_url": persona.avatar_url,
            "owner_id": persona.owner_id,
            "guild_id": persona.guild_id,
            "traits": {name: float(getattr(persona, name)) for name in ALL_TRAITS},
            "born": persona.created_at.isoformat(),
            "retired": now.isoformat(),
            "lifespan": stats.lifespan,
        },
        "stats": {
            "conversations": stats.conversations,
            "messages": stats.messages,
            "followers": stats.followers,
            "achievements": stats.achievements,
            "memories": stats.memories,
        },
        "memories": preserved.memories,
        "achievements": preserved.achievements,
        "timeline": preserved.timeline,
        "ceremony": {
            "trigger": progress.get("trigger"),
            "channel_id": channel_id,
            "farewell": progress.get("farewell_text"),
            "farewell_message_id": progress.get("farewell_message_id"),
            "ceremony_message_id": progress.get("ceremony_message_id"),
        },
        "access": {
            "archive": plan.archive_access,
            "community": plan.community_access,
            "research": plan.research_access,
        },
    }


async def _record_retired(
    session: AsyncSession,
    persona: Persona,
    stats: LifeStats,
    plan: rules.Plan,
    progress: Mapping[str, Any],
    channel_id: int | None,
    preserved: _Preserved,
    *,
    now: datetime,
) -> None:
    """The ``retired`` timeline event; a public one reaches the followers through the outbox."""
    assert persona.id is not None
    await timeline.record(
        session,
        persona.id,
        "retired",
        f"{persona.name} retired after {stats.lifespan}",
        render_template(
            "retirement/notify_ceremony.j2", name=persona.name, channel_id=channel_id, lifespan=stats.lifespan
        ),
        {
            "archived_memories": len(preserved.memories),
            "achievements_preserved": len(preserved.achievements),
            "timeline_preserved": len(preserved.timeline),
            "archive_access": plan.archive_access,
            "trigger": progress.get("trigger"),
            "farewell_message_id": progress.get("farewell_message_id"),
        },
        is_public=persona.is_public,
        now=now,
    )


async def result_of(session: AsyncSession, persona_id: int) -> CeremonyResult:
    """The result of a finished ceremony (from its archive)."""
    persona = await persona_or_not_found(session, persona_id)
    archive = await archive_row(session, persona_id)
    row = await plan_row(session, persona_id)
    if archive is None or row is None:
        raise DomainError(f"{persona.name} has not retired.")
    snapshot = archive.snapshot or {}
    ceremony = snapshot.get("ceremony") or {}
    progress = progress_of(row)
    return CeremonyResult(
        persona_id=persona_id,
        owner_id=persona.owner_id,
        name=persona.name,
        retired_at=archive.retired_at,
        lifespan=str((snapshot.get("profile") or {}).get("lifespan", "")),
        trigger=str(ceremony.get("trigger") or "manual"),
        archived_memories=archive.archived_memory_count,
        achievements_preserved=len(snapshot.get("achievements") or []),
        timeline_preserved=len(snapshot.get("timeline") or []),
        archive_access=archive.archive_access,
        channels_unbound=0,
        retention_until=archive.retention_until or archive.retired_at,
        data_export=row.data_export,
        export_sent=bool(progress.get("export_sent_at")),
        channel_id=ceremony.get("channel_id"),
        farewell_message_id=ceremony.get("farewell_message_id"),
        ceremony_message_id=ceremony.get("ceremony_message_id"),
        already_done=True,
    )
