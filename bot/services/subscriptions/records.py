"""What the subscription services hand out (tier and subscription views, outcomes, entitlement facts) and what
they share: the SQL for "current", a tier of a persona, whether a server enabled free tiers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, or_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bot.core import social as rules
from bot.core.errors import NotFound
from bot.db import models


@dataclass(frozen=True)
class TierView:
    id: int
    persona_id: int
    name: str
    description: str
    perks: list[str]
    sku_id: int | None
    is_free: bool
    position: int


@dataclass(frozen=True)
class SubscriptionView:
    id: int
    persona_id: int
    persona_name: str
    tier_id: int
    tier_name: str
    user_id: int
    status: str
    current: bool
    entitlement_id: int | None
    granted_by: int | None
    started_at: datetime
    renews_at: datetime | None
    ended_at: datetime | None


@dataclass(frozen=True)
class SubscribeOutcome:
    """What ``/subscribe`` leads to: ``premium`` (show Discord's purchase button for ``tier.sku_id``),
    ``subscribed`` (a free tier, held from now), or ``already`` (the person holds this tier now)."""

    kind: str
    persona_name: str
    tier: TierView
    subscription: SubscriptionView | None = None


@dataclass(frozen=True)
class EntitlementFacts:
    """A Discord entitlement as plain data (what the cog hands over from ``discord.Entitlement``)."""

    id: int
    sku_id: int
    user_id: int | None
    guild_id: int | None
    deleted: bool = False
    starts_at: datetime | None = None
    ends_at: datetime | None = None


@dataclass(frozen=True)
class EntitlementChange:
    """What an entitlement event did: the subscription it started, renewed or ended (``action``)."""

    action: str  # started | renewed | ended | unchanged
    subscription: SubscriptionView


def tier_view(row: models.SubscriptionTier) -> TierView:
    assert row.id is not None
    return TierView(
        id=row.id,
        persona_id=row.persona_id,
        name=row.name,
        description=row.description,
        perks=list(row.perks or []),
        sku_id=row.sku_id,
        is_free=row.is_free,
        position=row.position,
    )


def subscription_view(row: models.Subscription, persona_name: str, tier_name: str, now: datetime) -> SubscriptionView:
    assert row.id is not None
    return SubscriptionView(
        id=row.id,
        persona_id=row.persona_id,
        persona_name=persona_name,
        tier_id=row.tier_id,
        tier_name=tier_name,
        user_id=row.user_id,
        status=row.status,
        current=rules.subscription_current(status=row.status, renews_at=row.renews_at, ended_at=row.ended_at, now=now),
        entitlement_id=row.entitlement_id,
        granted_by=row.granted_by,
        started_at=row.started_at,
        renews_at=row.renews_at,
        ended_at=row.ended_at,
    )


def current_clause(now: datetime) -> ColumnElement[bool]:
    """SQL for :func:`bot.core.social.subscription_current` (kept in step with it; tests compare both)."""
    ended_at, renews_at = col(models.Subscription.ended_at), col(models.Subscription.renews_at)
    return and_(
        col(models.Subscription.status) == "active",
        or_(ended_at.is_(None), ended_at > now),
        or_(renews_at.is_(None), renews_at > now),
    )


async def tier_of(session: AsyncSession, persona_id: int, tier_id: int) -> models.SubscriptionTier:
    row = await session.get(models.SubscriptionTier, tier_id)
    if row is None or row.persona_id != persona_id:
        raise NotFound("That tier does not exist (it may have been removed).")
    return row


async def free_tiers_enabled(session: AsyncSession, guild_id: int | None) -> bool:
    if guild_id is None:
        return False
    settings = await session.get(models.GuildSettings, guild_id)
    return bool(settings is not None and settings.free_tiers_enabled)
