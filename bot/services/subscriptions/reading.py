"""Reading subscriptions: a person's own list (:func:`list_own`), who subscribes now (:func:`is_subscriber`,
:func:`subscriber_ids`: subscriber-only timeline posts), and the perks a subscription gives
(:func:`perks_for`, :func:`perks_for_many`, :func:`perks_by_persona`: conversation and memory call them)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bot.core import social as rules
from bot.core.social import NO_PERKS, Perks
from bot.db import models
from bot.services.subscriptions.records import SubscriptionView, current_clause, subscription_view

ID_BATCH = 1000  # user ids per IN (...) list


async def list_own(session: AsyncSession, user_id: int, *, now: datetime, limit: int = 50) -> list[SubscriptionView]:
    """``user_id``'s subscriptions, current ones first, newest first."""
    rows = await session.execute(
        select(models.Subscription, col(models.Persona.name), col(models.SubscriptionTier.name))
        .join(models.Persona, col(models.Persona.id) == col(models.Subscription.persona_id))
        .join(models.SubscriptionTier, col(models.SubscriptionTier.id) == col(models.Subscription.tier_id))
        .where(col(models.Subscription.user_id) == user_id)
        .order_by(col(models.Subscription.started_at).desc(), col(models.Subscription.id).desc())
        .limit(limit)
    )
    views = [subscription_view(sub, persona_name, tier_name, now) for sub, persona_name, tier_name in rows.all()]
    return sorted(views, key=lambda v: not v.current)  # stable: keeps newest first within each group


async def is_subscriber(session: AsyncSession, persona_id: int, user_id: int, *, now: datetime) -> bool:
    """Whether ``user_id`` holds any tier of ``persona_id`` now (paid or free)."""
    found = await session.scalar(
        select(col(models.Subscription.id))
        .where(col(models.Subscription.persona_id) == persona_id, col(models.Subscription.user_id) == user_id)
        .where(current_clause(now))
        .limit(1)
    )
    return found is not None


async def subscriber_ids(session: AsyncSession, persona_id: int, user_ids: Sequence[int], *, now: datetime) -> set[int]:
    """Which of ``user_ids`` hold a tier of ``persona_id`` now (one query; for fan-outs of subscriber-only posts)."""
    wanted = sorted(set(user_ids))
    found: set[int] = set()
    for start in range(0, len(wanted), ID_BATCH):  # bounded statements, well under parameter limits
        rows = await session.execute(
            select(col(models.Subscription.user_id))
            .where(
                col(models.Subscription.persona_id) == persona_id,
                col(models.Subscription.user_id).in_(wanted[start : start + ID_BATCH]),
            )
            .where(current_clause(now))
        )
        found.update(int(user_id) for user_id in rows.scalars())
    return found


async def _perks_by(
    session: AsyncSession, key: Any, where: ColumnElement[bool], wanted: Sequence[int], now: datetime
) -> dict[int, Perks]:
    """Current perks keyed by ``key`` (a Subscription column) over ``wanted`` values of it, one query."""
    out = dict.fromkeys(wanted, NO_PERKS)
    if not wanted:
        return out
    rows = await session.execute(
        select(key, col(models.SubscriptionTier.perks))
        .join(models.SubscriptionTier, col(models.SubscriptionTier.id) == col(models.Subscription.tier_id))
        .where(where, key.in_(wanted))
        .where(current_clause(now))
    )
    held: dict[int, list[list[str]]] = {}
    for value, perks in rows.all():
        held.setdefault(int(value), []).append(list(perks or []))
    for value, perk_lists in held.items():
        out[value] = rules.perks_of(perk_lists)
    return out


async def perks_for_many(
    session: AsyncSession, persona_id: int, user_ids: Sequence[int], *, now: datetime
) -> dict[int, Perks]:
    """The perks each of ``user_ids`` has with ``persona_id`` now (``NO_PERKS`` for non-subscribers), one query."""
    return await _perks_by(
        session,
        col(models.Subscription.user_id),
        col(models.Subscription.persona_id) == persona_id,
        sorted(set(user_ids)),
        now,
    )


async def perks_by_persona(
    session: AsyncSession, persona_ids: Sequence[int], user_id: int, *, now: datetime
) -> dict[int, Perks]:
    """The perks ``user_id`` has with each of ``persona_ids`` now (``NO_PERKS`` where none), one query."""
    return await _perks_by(
        session,
        col(models.Subscription.persona_id),
        col(models.Subscription.user_id) == user_id,
        sorted(set(persona_ids)),
        now,
    )


async def personas_with_tiers(session: AsyncSession, persona_ids: Sequence[int]) -> frozenset[int]:
    """Which of ``persona_ids`` offer any subscription tier (only their subscribers can have perks); one query."""
    if not persona_ids:
        return frozenset()
    persona_id = col(models.SubscriptionTier.persona_id)
    query = select(persona_id).where(persona_id.in_(sorted(set(persona_ids)))).distinct()
    return frozenset(int(pid) for pid in (await session.execute(query)).scalars())


async def perks_for(session: AsyncSession, persona_id: int, user_id: int, *, now: datetime) -> Perks:
    """What ``user_id``'s subscriptions to ``persona_id`` give them now: priority replies, a memory multiplier
    (the stability their new memories start with: 2.0 decays half as fast) and subscriber-only posts."""
    return (await perks_for_many(session, persona_id, [user_id], now=now))[user_id]
