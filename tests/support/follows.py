"""What a persona's ``follower_count`` must equal: its number of follow rows, counted (the tests' check of the
invariant :mod:`bot.services.follows` keeps)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bot.db import models


async def follow_rows(session: AsyncSession, persona_id: int) -> int:
    """How many follow rows the persona has."""
    query = select(func.count()).where(col(models.Follow.persona_id) == persona_id)
    return int((await session.execute(query)).scalar_one())
