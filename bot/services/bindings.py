"""Where a persona speaks: activating and deactivating it in channels (ChannelBinding rows).

Allowed: the persona's owner, or a member who may manage the channel in question (the cog reads Discord's
permission and passes it as ``can_manage_channel``; the rule is enforced here). The persona must live in the
channel's guild and must not be retiring or retired. ``Persona.is_active`` (the master switch) is on while the
persona is bound to at least one channel.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bot.core.errors import DomainError, PermissionDenied
from bot.core.ownership import Actor
from bot.db import models
from bot.services.access import persona_or_not_found
from bot.services.personas import READ_ONLY_STATUSES


@dataclass(frozen=True)
class BindingResult:
    """What changed: the persona, the channel, whether the call changed anything, and where it is active now."""

    persona_id: int
    persona_name: str
    channel_id: int
    changed: bool
    is_active: bool
    channel_ids: tuple[int, ...]


async def _persona_for(
    session: AsyncSession, actor: Actor, persona_id: int, channel_guild_id: int | None, can_manage_channel: bool
) -> models.Persona:
    row = await persona_or_not_found(session, persona_id)
    if channel_guild_id is None:
        raise DomainError("Personas speak in server channels, not in direct messages.")
    if row.guild_id != channel_guild_id:
        raise DomainError(f"{row.name} does not live on this server, so it cannot speak here.")
    if row.owner_id != actor.user_id and not can_manage_channel:
        raise PermissionDenied(
            f"Only {row.name}'s owner, or someone who can manage that channel, can switch it on or off there."
        )
    return row


async def channels_of(session: AsyncSession, persona_id: int) -> tuple[int, ...]:
    """The channels the persona is bound to."""
    binding = models.ChannelBinding
    query = select(col(binding.channel_id)).where(col(binding.persona_id) == persona_id).order_by(col(binding.id))
    return tuple(int(c) for c in (await session.execute(query)).scalars())


async def activate(
    session: AsyncSession,
    actor: Actor,
    persona_id: int,
    channel_id: int,
    *,
    channel_guild_id: int | None,
    can_manage_channel: bool = False,
    now: datetime,
) -> BindingResult:
    """Bind the persona to the channel and switch it on (idempotent)."""
    row = await _persona_for(session, actor, persona_id, channel_guild_id, can_manage_channel)
    if row.status in READ_ONLY_STATUSES:
        raise DomainError(f"{row.name} is {row.status} and cannot be activated.")
    existing = (
        await session.execute(
            select(col(models.ChannelBinding.id)).where(
                col(models.ChannelBinding.persona_id) == persona_id, col(models.ChannelBinding.channel_id) == channel_id
            )
        )
    ).first()
    changed = existing is None or not row.is_active
    if existing is None:
        assert channel_guild_id is not None
        session.add(
            models.ChannelBinding(
                persona_id=persona_id,
                guild_id=channel_guild_id,
                channel_id=channel_id,
                activated_by=actor.user_id,
                created_at=now,
            )
        )
    row.is_active = True
    row.updated_at = now
    await session.flush()
    return BindingResult(persona_id, row.name, channel_id, changed, True, await channels_of(session, persona_id))


async def deactivate(
    session: AsyncSession,
    actor: Actor,
    persona_id: int,
    channel_id: int,
    *,
    channel_guild_id: int | None,
    can_manage_channel: bool = False,
    now: datetime,
) -> BindingResult:
    """Unbind the persona from the channel; with no channel left, switch it off."""
    row = await _persona_for(session, actor, persona_id, channel_guild_id, can_manage_channel)
    result = await session.execute(
        delete(models.ChannelBinding).where(
            col(models.ChannelBinding.persona_id) == persona_id, col(models.ChannelBinding.channel_id) == channel_id
        )
    )
    assert isinstance(result, CursorResult)  # a DELETE's result: it counts the rows
    changed = bool(result.rowcount)
    remaining = (
        await session.execute(
            select(func.count())
            .select_from(models.ChannelBinding)
            .where(col(models.ChannelBinding.persona_id) == persona_id)
        )
    ).scalar_one()
    if not remaining and row.is_active:
        row.is_active = False
        changed = True
    row.updated_at = now
    await session.flush()
    return BindingResult(
        persona_id, row.name, channel_id, changed, row.is_active, await channels_of(session, persona_id)
    )
