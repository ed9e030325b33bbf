"""Who may read a persona's emotions (:func:`mood_access`), and its recent events (for ``/mood feedback``)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bot.core.errors import PermissionDenied
from bot.core.ownership import Actor, require_owner
from bot.db import models
from bot.services import personas
from bot.services.emotions.views import EventSummary
from bot.services.personas import PersonaRecord

EVENT_SCAN_LIMIT = 200

_EventRow = models.EmotionalEvent


async def mood_access(session: AsyncSession, actor: Actor, persona_id: int, *, owner_only: bool) -> PersonaRecord:
    """The persona, if ``actor`` may read its emotions; else :class:`NotFound` (may not know it exists) or
    :class:`PermissionDenied`.

    The present mood (``owner_only=False``): anyone who may see the persona and, by its privacy settings, its
    ``mood`` field. History, patterns and events (``owner_only=True``): the owner only."""
    record = await personas.get(session, persona_id, viewer=actor)
    is_owner = record.owner_id == actor.user_id
    if owner_only:
        require_owner(record, actor, "look into its emotional history")
        return record
    same_guild = actor.guild_id is not None and actor.guild_id == record.guild_id
    if not record.privacy_settings.can_see("mood", is_owner=is_owner, same_guild=same_guild):
        raise PermissionDenied(f"{record.name}'s owner keeps its mood private.")
    return record


async def recent_events(
    session: AsyncSession,
    actor: Actor,
    persona_id: int,
    *,
    limit: int = 25,
    text: str | None = None,
) -> list[EventSummary]:
    """The persona's newest emotional events, newest first (owner only). With ``text``, only events whose id,
    trigger, emotion or emoji contain it (among the newest :data:`EVENT_SCAN_LIMIT`)."""
    await mood_access(session, actor, persona_id, owner_only=True)
    wanted = (text or "").strip().casefold()
    query = (
        select(
            col(_EventRow.id),
            col(_EventRow.created_at),
            col(_EventRow.trigger),
            col(_EventRow.emoji),
            col(_EventRow.emotion_type),
            col(_EventRow.intensity),
            col(_EventRow.user_id),
            col(_EventRow.feedback_verdict),
        )
        .where(col(_EventRow.persona_id) == persona_id)
        .order_by(col(_EventRow.created_at).desc(), col(_EventRow.id).desc())
        .limit(EVENT_SCAN_LIMIT if wanted else max(1, limit))
    )
    out: list[EventSummary] = []
    for row in (await session.execute(query)).all():
        values: tuple[Any, ...] = tuple(row)  # the columns in EventSummary's order
        event = EventSummary(*values)
        if wanted:
            haystack = " ".join(str(part) for part in (event.id, event.trigger, event.emotion_type, event.emoji))
            if wanted not in haystack.casefold():
                continue
        out.append(event)
        if len(out) >= limit:
            break
    return out
