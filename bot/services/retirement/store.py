"""The retirement plan row as the other retirement modules read it: load it, turn it into a checked plan or a view,
read its ceremony progress; and the small SQL helpers they share (counts, rows changed, times read back).

Nothing here checks who asks; callers do (:mod:`bot.services.access`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.engine import CursorResult, Result
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bot.core import retirement as rules
from bot.core.errors import NotFound
from bot.db import models
from bot.db.models import LegacyArchive, RetirementPlan
from bot.services.retirement.views import PlanView

NO_PLAN = "There is no retirement plan for that persona."


async def plan_row(session: AsyncSession, persona_id: int) -> RetirementPlan | None:
    """The persona's plan row, or None when it never had one."""
    query = select(RetirementPlan).where(col(RetirementPlan.persona_id) == persona_id)
    return (await session.execute(query)).scalar_one_or_none()


async def existing_plan_row(session: AsyncSession, persona_id: int) -> RetirementPlan:
    """The persona's plan row, or :class:`NotFound`."""
    row = await plan_row(session, persona_id)
    if row is None:
        raise NotFound(NO_PLAN)
    return row


async def archive_row(session: AsyncSession, persona_id: int) -> LegacyArchive | None:
    """The persona's legacy archive, or None before it retired."""
    query = select(LegacyArchive).where(col(LegacyArchive.persona_id) == persona_id)
    return (await session.execute(query)).scalar_one_or_none()


def plan_of(row: RetirementPlan) -> rules.Plan:
    """The saved plan, as the rules' :class:`bot.core.retirement.Plan`."""
    return rules.Plan(
        triggers=tuple(rules.Trigger.from_dict(t) for t in row.triggers or []),
        memory_archival=row.memory_archival,
        archival_threshold=row.archival_threshold,
        achievement_preservation=row.achievement_preservation,
        timeline_preservation=row.timeline_preservation,
        archive_access=row.archive_access,
        community_access=row.community_access,
        research_access=row.research_access,
        ceremony_channel_id=row.ceremony_channel_id,
        ceremony=rules.CeremonySettings.from_dict(row.ceremony_settings),
        farewell_message=row.farewell_message,
        farewell_by_model=row.farewell_by_model,
        data_retention_days=row.data_retention_days,
        data_export=row.data_export,
        data_deletion=tuple((row.data_deletion or {}).get("delete", ())),
    )


def plan_view(persona: models.Persona, row: RetirementPlan) -> PlanView:
    """The plan and its persona, as plain data."""
    assert persona.id is not None
    return PlanView(
        persona_id=persona.id,
        persona_name=persona.name,
        persona_status=persona.status,
        guild_id=persona.guild_id,
        status=row.status,
        plan=plan_of(row),
        created_at=row.created_at,
        updated_at=row.updated_at,
        is_public=persona.is_public,
    )


def progress_of(row: RetirementPlan) -> dict[str, Any]:
    """The ceremony's progress kept on the plan (``ceremony_settings["progress"]``): a copy."""
    return dict((row.ceremony_settings or {}).get("progress") or {})


def rows_changed(result: Result[Any]) -> int:
    """How many rows an UPDATE or DELETE changed. ``AsyncSession.execute`` is typed as returning a plain
    ``Result``; for these statements it is a :class:`CursorResult`, which counts them."""
    assert isinstance(result, CursorResult)
    return int(result.rowcount or 0)


async def count_rows(session: AsyncSession, model: type[Any], *where: ColumnElement[bool]) -> int:
    """How many rows of ``model`` match ``where``."""
    return int((await session.execute(select(func.count()).select_from(model).where(*where))).scalar_one())


def aware(value: datetime | str) -> datetime:
    """A time read from SQL (aggregates come back naive or as text on SQLite) as an aware UTC datetime."""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def when_words(when: datetime | None) -> str | None:
    """A plan's date as it is written in notices ("2026-01-01 12:00 UTC")."""
    return f"{when:%Y-%m-%d %H:%M} UTC" if when is not None else None
