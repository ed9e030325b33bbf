"""Wizard drafts: stored per user so a restart mid-wizard loses nothing; they expire after 24 hours."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import models


async def expire(session: AsyncSession, now: datetime) -> int:
    """Delete drafts whose expiry has passed; returns how many."""
    result = await session.execute(delete(models.WizardDraft).where(models.WizardDraft.expires_at <= now))
    return int(result.rowcount or 0)
