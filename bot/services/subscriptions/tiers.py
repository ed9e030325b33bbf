"""Subscription tiers and free subscriptions: an owner defines their persona's tiers (:func:`create_tier`,
:func:`delete_tier`); a person subscribes (:func:`subscribe`: Discord's purchase button for a paid tier, held from
now for a free one); where a server's admins enabled free tiers (:func:`set_free_tiers`) they, or the persona's
owner, grant and end free ones (:func:`grant_free`, :func:`end_free`). Paid subscriptions start and end in
:mod:`bot.services.subscriptions.entitlements`.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bot.core import social as rules
from bot.core.errors import DomainError, NotFound, PermissionDenied
from bot.core.inputs import parse_id
from bot.core.ownership import Actor
from bot.core.personas import PrivacySettings
from bot.core.text import counted
from bot.db import models
from bot.services.access import owned_persona, persona_or_not_found
from bot.services.subscriptions.records import (
    SubscribeOutcome,
    SubscriptionView,
    TierView,
    current_clause,
    free_tiers_enabled,
    subscription_view,
    tier_of,
    tier_view,
)

# ----------------------------------------------------------------------------------------------------- tiers


async def create_tier(
    session: AsyncSession,
    actor: Actor,
    persona_id: int,
    *,
    name: str,
    description: str | None = None,
    perks: Iterable[str] = (),
    sku_id: int | None = None,
    known_sku_ids: Collection[int] | None = None,
    now: datetime,
) -> TierView:
    """A new tier of ``persona_id`` (owner only). With ``sku_id`` it is a paid tier bought through Discord; the SKU
    must be one of the application's subscription SKUs (``known_sku_ids``, as the cog fetched them) and no other
    tier's. Without one it is free."""
    persona = await owned_persona(session, persona_id, actor, "define its subscription tiers")
    clean_name = rules.validate_tier_name(name)
    clean_description = rules.validate_tier_description(description)
    clean_perks = rules.validate_perks(perks)
    existing = (
        await session.execute(
            select(col(models.SubscriptionTier.name), col(models.SubscriptionTier.position)).where(
                col(models.SubscriptionTier.persona_id) == persona_id
            )
        )
    ).all()
    if len(existing) >= rules.MAX_TIERS_PER_PERSONA:
        raise DomainError(f"A persona can have at most {rules.MAX_TIERS_PER_PERSONA} tiers.")
    if any(row.name.lower() == clean_name.lower() for row in existing):
        raise DomainError(f"{persona.name} already has a tier called '{clean_name}'.")
    if sku_id is not None:
        if known_sku_ids is not None and sku_id not in known_sku_ids:
            raise DomainError("That is not one of this app's subscription SKUs.")
        taken = await session.scalar(
            select(col(models.SubscriptionTier.id)).where(col(models.SubscriptionTier.sku_id) == sku_id).limit(1)
        )
        if taken is not None:
            raise DomainError("Another tier already sells that SKU; each SKU belongs to one tier.")
    row = models.SubscriptionTier(
        persona_id=persona_id,
        name=clean_name,
        description=clean_description,
        perks=clean_perks,
        sku_id=sku_id,
        is_free=sku_id is None,
        position=max((r.position for r in existing), default=-1) + 1,
        created_at=now,
    )
    session.add(row)
    await session.flush()
    return tier_view(row)


async def list_tiers(session: AsyncSession, persona_id: int) -> list[TierView]:
    rows = (
        await session.execute(
            select(models.SubscriptionTier)
            .where(col(models.SubscriptionTier.persona_id) == persona_id)
            .order_by(col(models.SubscriptionTier.position), col(models.SubscriptionTier.id))
        )
    ).scalars()
    return [tier_view(row) for row in rows]


async def delete_tier(session: AsyncSession, actor: Actor, persona_id: int, tier_id: int, *, now: datetime) -> TierView:
    """Remove a tier (owner only); refused while someone holds it."""
    await owned_persona(session, persona_id, actor, "remove its tiers")
    tier = await tier_of(session, persona_id, tier_id)
    holders = await session.scalar(
        select(func.count())
        .select_from(models.Subscription)
        .where(col(models.Subscription.tier_id) == tier_id, current_clause(now))
    )
    if holders:
        verb = "holds" if holders == 1 else "hold"
        raise DomainError(
            f"{counted(holders, 'person', 'people')} {verb} the tier '{tier.name}'; it can be removed when no one does."
        )
    view = tier_view(tier)
    await session.delete(tier)
    await session.flush()
    return view


async def find_tier(session: AsyncSession, persona_id: int, value: str) -> TierView:
    """A tier option's value: an id from autocomplete, or a name typed exactly (ignoring case)."""
    text = value.strip()
    tiers = await list_tiers(session, persona_id)
    typed_id = parse_id(text)
    for tier in tiers:
        if typed_id is not None and tier.id == typed_id:
            return tier
    for tier in tiers:
        if tier.name.lower() == text.lower():
            return tier
    raise NotFound(f"This persona has no tier called '{text[:80]}'.")


# ----------------------------------------------------------------------------------------------- free tiers


async def set_free_tiers(
    session: AsyncSession, *, guild_id: int, can_manage_guild: bool, enabled: bool, now: datetime
) -> bool:
    """Enable or disable free tiers on a server (Manage Server). Returns the new setting."""
    if not can_manage_guild:
        raise PermissionDenied("Only members with Manage Server can enable or disable free tiers.")
    settings = await session.get(models.GuildSettings, guild_id)
    if settings is None:
        settings = models.GuildSettings(guild_id=guild_id)
        session.add(settings)
    settings.free_tiers_enabled = enabled
    settings.updated_at = now
    await session.flush()
    return enabled


async def _active_of(session: AsyncSession, tier_id: int, user_id: int, now: datetime) -> models.Subscription | None:
    return (
        await session.execute(
            select(models.Subscription)
            .where(col(models.Subscription.tier_id) == tier_id, col(models.Subscription.user_id) == user_id)
            .where(current_clause(now))
            .limit(1)
        )
    ).scalar_one_or_none()


async def _grant(
    session: AsyncSession,
    persona: models.Persona,
    tier: models.SubscriptionTier,
    user_id: int,
    granted_by: int,
    now: datetime,
) -> tuple[bool, SubscriptionView]:
    if not tier.is_free or tier.sku_id is not None:
        raise DomainError(f"'{tier.name}' is bought through Discord; it cannot be granted by command.")
    if not await free_tiers_enabled(session, persona.guild_id):
        raise DomainError("Free tiers are not enabled on this server (an admin can enable them with /tiers free).")
    held = await _active_of(session, tier.id or 0, user_id, now)
    if held is not None:
        return False, subscription_view(held, persona.name, tier.name, now)
    row = models.Subscription(
        persona_id=persona.id or 0,
        tier_id=tier.id or 0,
        user_id=user_id,
        status="active",
        granted_by=granted_by,
        started_at=now,
    )
    session.add(row)
    await session.flush()
    return True, subscription_view(row, persona.name, tier.name, now)


def _visible(persona: models.Persona, actor: Actor) -> bool:
    privacy = PrivacySettings.from_dict(persona.privacy_settings)
    same_guild = actor.guild_id is not None and actor.guild_id == persona.guild_id
    return rules.can_view_profile(
        privacy, published=persona.is_public, is_owner=actor.user_id == persona.owner_id, same_guild=same_guild
    )


async def subscribe(
    session: AsyncSession, actor: Actor, persona_id: int, tier_id: int, *, now: datetime
) -> SubscribeOutcome:
    """``/subscribe``: a paid tier leads to Discord's purchase button (the entitlement event does the rest); a free
    tier is held from now, where the server enabled free tiers. The persona must be published and visible."""
    persona = await persona_or_not_found(session, persona_id)
    if not persona.is_public or not _visible(persona, actor):
        raise NotFound("That persona has no public profile here, so it takes no subscriptions.")
    tier = await tier_of(session, persona_id, tier_id)
    held = await _active_of(session, tier_id, actor.user_id, now)
    if held is not None:
        view = subscription_view(held, persona.name, tier.name, now)
        return SubscribeOutcome("already", persona.name, tier_view(tier), view)
    if tier.sku_id is not None:
        return SubscribeOutcome("premium", persona.name, tier_view(tier))
    _, view = await _grant(session, persona, tier, actor.user_id, actor.user_id, now)
    return SubscribeOutcome("subscribed", persona.name, tier_view(tier), view)


async def grant_free(
    session: AsyncSession,
    actor: Actor,
    persona_id: int,
    tier_id: int,
    user_id: int,
    *,
    now: datetime,
) -> tuple[bool, SubscriptionView]:
    """Grant a free tier to ``user_id``: a member with Manage Server on the persona's server, or its owner, where
    the server enabled free tiers. Returns (new, subscription)."""
    persona = await persona_or_not_found(session, persona_id)
    admin = actor.can_manage_guild and actor.guild_id is not None and actor.guild_id == persona.guild_id
    if not admin and actor.user_id != persona.owner_id:
        raise PermissionDenied("Only the persona's owner or a server manager can grant its tiers.")
    tier = await tier_of(session, persona_id, tier_id)
    return await _grant(session, persona, tier, user_id, actor.user_id, now)


async def end_free(
    session: AsyncSession,
    actor: Actor,
    persona_id: int,
    tier_id: int,
    user_id: int,
    *,
    now: datetime,
) -> SubscriptionView:
    """End a free subscription: the holder, the persona's owner, or a server manager may. (Paid ones end through
    Discord.)"""
    persona = await persona_or_not_found(session, persona_id)
    admin = actor.can_manage_guild and actor.guild_id is not None and actor.guild_id == persona.guild_id
    if not admin and actor.user_id not in (persona.owner_id, user_id):
        raise PermissionDenied("Only the subscriber, the persona's owner or a server manager can end this.")
    tier = await tier_of(session, persona_id, tier_id)
    held = await _active_of(session, tier_id, user_id, now)
    if held is None:
        raise NotFound(f"<@{user_id}> does not hold '{tier.name}'.")
    if held.entitlement_id is not None:
        raise DomainError("That subscription was bought through Discord; it ends there.")
    held.status = "ended"
    held.ended_at = now
    await session.flush()
    return subscription_view(held, persona.name, tier.name, now)
