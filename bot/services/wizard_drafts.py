"""Wizard drafts: stored per user so a restart mid-wizard loses nothing; they expire after 24 hours."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bot.db import models


async def expire(session: AsyncSession, now: datetime) -> int:
    """Delete drafts whose expiry has passed; returns how many."""
    result = await session.execute(delete(models.WizardDraft).where(col(models.WizardDraft.expires_at) <= now))
    assert isinstance(result, CursorResult)  # a DELETE's result: it counts the rows removed
    return int(result.rowcount or 0)
