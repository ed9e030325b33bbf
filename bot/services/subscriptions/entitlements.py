"""Paid subscriptions, which are Discord's: an entitlement event starts, renews or ends one
(:func:`apply_entitlement`), and on start-up the live entitlements Discord lists catch up with events missed while
the bot was away (:func:`reconcile_entitlements`). The bot never sees card data."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bot.core import social as rules
from bot.db import models
from bot.services.subscriptions.records import EntitlementChange, EntitlementFacts, subscription_view


async def apply_entitlement(
    session: AsyncSession, entitlement: EntitlementFacts, *, event: str, now: datetime
) -> EntitlementChange | None:
    """An entitlement event (``create`` / ``update`` / ``delete``) for a tier's SKU: start the subscription (keyed
    by the entitlement, so a repeated event changes nothing), renew it (a new ``ends_at``), or end it (deleted, or
    its ``ends_at`` passed). None when no tier sells the SKU or the entitlement is not a person's."""
    if entitlement.user_id is None:
        return None  # a server-wide entitlement: tiers are for people
    tier = (
        await session.execute(
            select(models.SubscriptionTier).where(col(models.SubscriptionTier.sku_id) == entitlement.sku_id).limit(1)
        )
    ).scalar_one_or_none()
    if tier is None:
        return None
    persona = await session.get(models.Persona, tier.persona_id)
    if persona is None:  # pragma: no cover - the cascade removes tiers with their persona
        return None
    active = event != "delete" and rules.entitlement_active(
        deleted=entitlement.deleted, starts_at=entitlement.starts_at, ends_at=entitlement.ends_at, now=now
    )
    row = (
        await session.execute(
            select(models.Subscription).where(col(models.Subscription.entitlement_id) == entitlement.id)
        )
    ).scalar_one_or_none()
    if row is None:
        if not active:
            return None
        row = models.Subscription(
            persona_id=tier.persona_id,
            tier_id=tier.id or 0,
            user_id=entitlement.user_id,
            status="active",
            entitlement_id=entitlement.id,
            started_at=entitlement.starts_at or now,
            renews_at=entitlement.ends_at,
        )
        session.add(row)
        await session.flush()
        return EntitlementChange("started", subscription_view(row, persona.name, tier.name, now))
    if not active:
        if row.status == "ended":
            return EntitlementChange("unchanged", subscription_view(row, persona.name, tier.name, now))
        row.status = "ended"
        ends = entitlement.ends_at
        row.ended_at = ends if event != "delete" and ends is not None and ends <= now else now
        await session.flush()
        return EntitlementChange("ended", subscription_view(row, persona.name, tier.name, now))
    action = "unchanged"
    if row.status != "active":
        row.status, row.ended_at, action = "active", None, "started"
    if row.renews_at != entitlement.ends_at:
        row.renews_at = entitlement.ends_at
        action = "renewed" if action == "unchanged" else action
    await session.flush()
    return EntitlementChange(action, subscription_view(row, persona.name, tier.name, now))


async def sellable_sku_ids(session: AsyncSession) -> set[int]:
    """The SKUs some tier sells (what an entitlement sync needs to look at)."""
    rows = await session.execute(
        select(col(models.SubscriptionTier.sku_id)).where(col(models.SubscriptionTier.sku_id).is_not(None))
    )
    return {int(sku) for sku in rows.scalars() if sku is not None}


async def reconcile_entitlements(
    session: AsyncSession,
    entitlements: Sequence[EntitlementFacts],
    *,
    sku_ids: Collection[int],
    listed_at: datetime,
    now: datetime,
) -> dict[str, int]:
    """Catch up with entitlement events missed while the bot was away: ``entitlements`` is every live entitlement of
    ``sku_ids`` as Discord listed it at ``listed_at``. Listed ones start or renew their subscriptions; paid
    subscriptions of those SKUs that started before ``listed_at`` and are no longer listed end. Returns counts."""
    counts: dict[str, int] = {}
    listed = set()
    for entitlement in entitlements:
        if entitlement.sku_id not in sku_ids:
            continue
        listed.add(entitlement.id)
        change = await apply_entitlement(session, entitlement, event="update", now=now)
        if change is not None:
            counts[change.action] = counts.get(change.action, 0) + 1
    if not sku_ids:
        return counts
    stale = (
        await session.execute(
            select(models.Subscription)
            .join(models.SubscriptionTier, col(models.SubscriptionTier.id) == col(models.Subscription.tier_id))
            .where(
                col(models.SubscriptionTier.sku_id).in_(list(sku_ids)),
                col(models.Subscription.entitlement_id).is_not(None),
                col(models.Subscription.status) == "active",
                col(models.Subscription.started_at) < listed_at,
            )
        )
    ).scalars()
    for row in stale:
        if row.entitlement_id not in listed:
            row.status, row.ended_at = "ended", now
            counts["ended"] = counts.get("ended", 0) + 1
    await session.flush()
    return counts
