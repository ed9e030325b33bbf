"""Facts about this installation, for /about."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bot.db import models


@dataclass(frozen=True)
class AboutInfo:
    version: str
    database_kind: str
    model_provider: str
    uptime_seconds: float
    persona_count: int
    active_persona_count: int
    own_model_count: int = 0  # personas here with model settings of their own


async def about(
    session: AsyncSession,
    *,
    version: str,
    database_kind: str,
    model_provider: str,
    started_at: datetime,
    now: datetime,
    guild_id: int | None = None,
) -> AboutInfo:
    """Version, database, model provider, uptime, and how many personas live here (in ``guild_id`` if given)."""
    where: list[ColumnElement[bool]] = [col(models.Persona.status) != "retired"]
    if guild_id is not None:
        where.append(col(models.Persona.guild_id) == guild_id)
    total = (await session.execute(select(func.count()).select_from(models.Persona).where(*where))).scalar_one()
    active = (
        await session.execute(
            select(func.count()).select_from(models.Persona).where(*where, col(models.Persona.is_active).is_(True))
        )
    ).scalar_one()
    own = (
        await session.execute(
            select(func.count())
            .select_from(models.PersonaModel)
            .join(models.Persona, col(models.Persona.id) == col(models.PersonaModel.persona_id))
            .where(*where)
        )
    ).scalar_one()
    return AboutInfo(
        version=version,
        database_kind=database_kind,
        model_provider=model_provider,
        uptime_seconds=max(0.0, (now - started_at).total_seconds()),
        persona_count=int(total),
        active_persona_count=int(active),
        own_model_count=int(own),
    )
