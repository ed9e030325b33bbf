"""Loading a persona for someone: "it does not exist" and "only its owner may" said one way everywhere."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.errors import NotFound
from bot.core.ownership import PERSONA_NOT_FOUND, Actor, require_owner
from bot.db import models


async def persona_or_not_found(session: AsyncSession, persona_id: int) -> models.Persona:
    """The persona row, or :class:`NotFound` with the one sentence for a missing persona."""
    persona = await session.get(models.Persona, persona_id)
    if persona is None:
        raise NotFound(PERSONA_NOT_FOUND)
    return persona


async def owned_persona(session: AsyncSession, persona_id: int, actor: Actor, action: str) -> models.Persona:
    """The persona row when ``actor`` owns it; :class:`NotFound` or :class:`PermissionDenied` otherwise.
    ``action`` completes "Only the persona's owner can ..." (see :func:`bot.core.ownership.require_owner`)."""
    persona = await persona_or_not_found(session, persona_id)
    require_owner(persona, actor, action)
    return persona
