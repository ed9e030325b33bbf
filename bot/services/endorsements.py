"""Endorsements: one per person per persona, with optional text, removable; shown on the public profile.

A person may endorse a published persona whose profile they can see (the visibility rule of ``bot.core.social``),
and not their own. Endorsing again replaces the text of their one endorsement.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bot.core import social as rules
from bot.core.errors import DomainError, NotFound
from bot.core.ownership import Actor
from bot.core.personas import PrivacySettings
from bot.db import models
from bot.services import achievements

NOT_PUBLIC = "That persona has no public profile here."


@dataclass(frozen=True)
class EndorsementResult:
    persona_id: int
    persona_name: str
    action: str  # created | updated | removed
    text: str | None


async def _endorsable(session: AsyncSession, actor: Actor, persona_id: int) -> models.Persona:
    persona = await session.get(models.Persona, persona_id)
    if persona is None:
        raise NotFound(NOT_PUBLIC)
    privacy = PrivacySettings.from_dict(persona.privacy_settings)
    is_owner = persona.owner_id == actor.user_id
    same_guild = actor.guild_id is not None and actor.guild_id == persona.guild_id
    if not persona.is_public or not rules.can_view_profile(
        privacy, published=True, is_owner=is_owner, same_guild=same_guild
    ):
        raise NotFound(NOT_PUBLIC)
    if is_owner:
        raise DomainError("You cannot endorse your own persona.")
    return persona


async def endorse(
    session: AsyncSession, actor: Actor, persona_id: int, text: str | None = None, *, now: datetime
) -> EndorsementResult:
    """Endorse a published persona (once; a second endorsement replaces the text of the first)."""
    clean = rules.validate_endorsement_text(text)
    persona = await _endorsable(session, actor, persona_id)
    row = (
        await session.execute(
            select(models.Endorsement).where(
                col(models.Endorsement.persona_id) == persona_id, col(models.Endorsement.user_id) == actor.user_id
            )
        )
    ).scalar_one_or_none()
    if row is not None:
        row.text = clean
        await session.flush()
        return EndorsementResult(persona_id, persona.name, "updated", clean)
    session.add(models.Endorsement(persona_id=persona_id, user_id=actor.user_id, text=clean, created_at=now))
    await session.flush()
    await achievements.check(session, persona_id, now, inputs_changed={"endorsements"})
    return EndorsementResult(persona_id, persona.name, "created", clean)


async def remove(session: AsyncSession, actor: Actor, persona_id: int) -> EndorsementResult:
    """Withdraw one's endorsement."""
    persona = await session.get(models.Persona, persona_id)
    if persona is None:
        raise NotFound(NOT_PUBLIC)
    result = await session.execute(
        delete(models.Endorsement)
        .where(col(models.Endorsement.persona_id) == persona_id, col(models.Endorsement.user_id) == actor.user_id)
        .returning(col(models.Endorsement.id))
    )
    if not result.all():
        raise DomainError(f"You have not endorsed {persona.name}.")
    return EndorsementResult(persona_id, persona.name, "removed", None)
