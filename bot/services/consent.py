"""Consent records (who agreed to be remembered, or refused, when, and who recorded it) and the decision for
capture. Records are never updated: a change of mind is a new record, so the history stays."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.errors import DomainError
from bot.core.personas import PrivacySettings
from bot.core.privacy import ConsentDecision, ConsentFact, may_remember
from bot.db import models

MEMORY_SCOPE = "memory"


@dataclass(frozen=True)
class ConsentRecordView:
    id: int
    user_id: int
    guild_id: int | None
    persona_id: int | None
    scope: str
    granted: bool
    recorded_by: int
    recorded_at: datetime
    note: str | None


def _view(row: models.ConsentRecord) -> ConsentRecordView:
    assert row.id is not None
    return ConsentRecordView(
        id=row.id,
        user_id=row.user_id,
        guild_id=row.guild_id,
        persona_id=row.persona_id,
        scope=row.scope,
        granted=row.granted,
        recorded_by=row.recorded_by,
        recorded_at=row.recorded_at,
        note=row.note,
    )


async def record(
    session: AsyncSession,
    *,
    user_id: int,
    guild_id: int | None,
    granted: bool,
    recorded_by: int,
    now: datetime,
    persona_id: int | None = None,
    scope: str = MEMORY_SCOPE,
    note: str | None = None,
) -> ConsentRecordView:
    """Record an answer. People answer for themselves: ``recorded_by`` must be ``user_id`` for memory consent."""
    if scope == MEMORY_SCOPE and recorded_by != user_id:
        raise DomainError("Only you can give or refuse consent to be remembered.")
    if persona_id is not None:
        persona = await session.get(models.Persona, persona_id)
        if persona is None or (guild_id is not None and persona.guild_id not in (guild_id, None)):
            raise DomainError("That persona does not exist here.")
    row = models.ConsentRecord(
        user_id=user_id,
        guild_id=guild_id,
        persona_id=persona_id,
        scope=scope,
        granted=granted,
        recorded_by=recorded_by,
        recorded_at=now,
        note=note,
    )
    session.add(row)
    await session.flush()
    return _view(row)


async def decide(
    session: AsyncSession, *, user_id: int, guild_id: int | None, persona_id: int, privacy: PrivacySettings
) -> ConsentDecision:
    """May ``persona_id`` remember what ``user_id`` says in ``guild_id``? (``bot.core.privacy.may_remember``)"""
    rows = (
        await session.execute(
            select(
                models.ConsentRecord.granted, models.ConsentRecord.persona_id, models.ConsentRecord.recorded_at
            ).where(
                models.ConsentRecord.user_id == user_id,
                models.ConsentRecord.scope == MEMORY_SCOPE,
                models.ConsentRecord.guild_id.is_(None)
                if guild_id is None
                else models.ConsentRecord.guild_id == guild_id,
                or_(models.ConsentRecord.persona_id == persona_id, models.ConsentRecord.persona_id.is_(None)),
            )
        )
    ).all()
    default = "opt-in"
    if guild_id is not None:
        settings = await session.get(models.GuildSettings, guild_id)
        if settings is not None:
            default = settings.memory_consent_default
    return may_remember(
        persona_id=persona_id,
        persona_remembers=privacy.remember_people,
        persona_asks_first=privacy.ask_before_remembering,
        server_default=default,
        facts=[ConsentFact(granted=r.granted, persona_id=r.persona_id, recorded_at=r.recorded_at) for r in rows],
    )


async def history(session: AsyncSession, *, user_id: int, guild_id: int | None = None) -> list[ConsentRecordView]:
    """Every consent record of ``user_id`` (in one guild, when given), newest first."""
    query = select(models.ConsentRecord).where(models.ConsentRecord.user_id == user_id)
    if guild_id is not None:
        query = query.where(models.ConsentRecord.guild_id == guild_id)
    rows = (await session.execute(query.order_by(models.ConsentRecord.recorded_at.desc()))).scalars()
    return [_view(row) for row in rows]
