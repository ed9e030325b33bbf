"""Subscription tiers, subscriptions and their perks.

Payment is Discord's own (premium app subscriptions): a tier may name a Discord SKU; ``/subscribe`` then shows
Discord's purchase button, and the entitlement events Discord sends (create / update / delete) start, renew and end
the subscription here (:func:`apply_entitlement`). The bot never sees card data. A tier without a SKU is free: it
can be held only where the server's admins enabled free tiers (``guild_settings.free_tiers_enabled``), and is granted
by command (the person themselves with ``/subscribe``, or an admin or the persona's owner for someone).

Perks take effect through :func:`perks_for` / :func:`perks_for_many` (conversation and memory call them) and
:func:`is_subscriber` (subscriber-only timeline posts).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import utcnow
from bot.core import social as rules
from bot.core.errors import DomainError, NotFound, PermissionDenied
from bot.core.inputs import parse_id
from bot.core.personas import PrivacySettings
from bot.core.social import NO_PERKS, Perks
from bot.db import models
from bot.services.personas import Actor

NOT_FOUND = "That persona does not exist (it may have been deleted)."
ID_BATCH = 1000


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


def _tier_view(row: models.SubscriptionTier) -> TierView:
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


def _subscription_view(row: models.Subscription, persona_name: str, tier_name: str, now: datetime) -> SubscriptionView:
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


def _current_clause(now: datetime) -> object:
    """SQL for :func:`bot.core.social.subscription_current` (kept in step with it; tests compare both)."""
    table = models.Subscription
    return and_(
        table.status == "active",
        or_(table.ended_at.is_(None), table.ended_at > now),
        or_(table.renews_at.is_(None), table.renews_at > now),
    )


async def _persona(session: AsyncSession, persona_id: int) -> models.Persona:
    row = await session.get(models.Persona, persona_id)
    if row is None:
        raise NotFound(NOT_FOUND)
    return row


def _require_owner(persona: models.Persona, actor: Actor, action: str) -> None:
    if persona.owner_id != actor.user_id:
        raise PermissionDenied(f"Only the persona's owner can {action}.")


async def _tier(session: AsyncSession, persona_id: int, tier_id: int) -> models.SubscriptionTier:
    row = await session.get(models.SubscriptionTier, tier_id)
    if row is None or row.persona_id != persona_id:
        raise NotFound("That tier does not exist (it may have been removed).")
    return row


async def free_tiers_enabled(session: AsyncSession, guild_id: int | None) -> bool:
    if guild_id is None:
        return False
    settings = await session.get(models.GuildSettings, guild_id)
    return bool(settings is not None and settings.free_tiers_enabled)


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
    now: datetime | None = None,
) -> TierView:
    """A new tier of ``persona_id`` (owner only). With ``sku_id`` it is a paid tier bought through Discord; the SKU
    must be one of the application's subscription SKUs (``known_sku_ids``, as the cog fetched them) and no other
    tier's. Without one it is free."""
    persona = await _persona(session, persona_id)
    _require_owner(persona, actor, "define its subscription tiers")
    clean_name = rules.validate_tier_name(name)
    clean_description = rules.validate_tier_description(description)
    clean_perks = rules.validate_perks(perks)
    existing = (
        await session.execute(
            select(models.SubscriptionTier.name, models.SubscriptionTier.position).where(
                models.SubscriptionTier.persona_id == persona_id
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
            select(models.SubscriptionTier.id).where(models.SubscriptionTier.sku_id == sku_id).limit(1)
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
        created_at=now or utcnow(),
    )
    session.add(row)
    await session.flush()
    return _tier_view(row)


async def list_tiers(session: AsyncSession, persona_id: int) -> list[TierView]:
    rows = (
        await session.execute(
            select(models.SubscriptionTier)
            .where(models.SubscriptionTier.persona_id == persona_id)
            .order_by(models.SubscriptionTier.position, models.SubscriptionTier.id)
        )
    ).scalars()
    return [_tier_view(row) for row in rows]


async def delete_tier(
    session: AsyncSession, actor: Actor, persona_id: int, tier_id: int, *, now: datetime | None = None
) -> TierView:
    """Remove a tier (owner only); refused while someone holds it."""
    persona = await _persona(session, persona_id)
    _require_owner(persona, actor, "remove its tiers")
    tier = await _tier(session, persona_id, tier_id)
    holders = await session.scalar(
        select(func.count())
        .select_from(models.Subscription)
        .where(models.Subscription.tier_id == tier_id, _current_clause(now or utcnow()))
    )
    if holders:
        raise DomainError(f"{holders} people hold the tier '{tier.name}'; it can be removed when no one does.")
    view = _tier_view(tier)
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
    session: AsyncSession, *, guild_id: int, can_manage_guild: bool, enabled: bool, now: datetime | None = None
) -> bool:
    """Enable or disable free tiers on a server (Manage Server). Returns the new setting."""
    if not can_manage_guild:
        raise PermissionDenied("Only members with Manage Server can enable or disable free tiers.")
    settings = await session.get(models.GuildSettings, guild_id)
    if settings is None:
        settings = models.GuildSettings(guild_id=guild_id)
        session.add(settings)
    settings.free_tiers_enabled = enabled
    settings.updated_at = now or utcnow()
    await session.flush()
    return enabled


async def _active_of(session: AsyncSession, tier_id: int, user_id: int, now: datetime) -> models.Subscription | None:
    return (
        await session.execute(
            select(models.Subscription)
            .where(models.Subscription.tier_id == tier_id, models.Subscription.user_id == user_id)
            .where(_current_clause(now))
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
        return False, _subscription_view(held, persona.name, tier.name, now)
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
    return True, _subscription_view(row, persona.name, tier.name, now)


def _visible(persona: models.Persona, actor: Actor) -> bool:
    privacy = PrivacySettings.from_dict(persona.privacy_settings)
    same_guild = actor.guild_id is not None and actor.guild_id == persona.guild_id
    return rules.can_view_profile(
        privacy, published=persona.is_public, is_owner=actor.user_id == persona.owner_id, same_guild=same_guild
    )


async def subscribe(
    session: AsyncSession, actor: Actor, persona_id: int, tier_id: int, *, now: datetime | None = None
) -> SubscribeOutcome:
    """``/subscribe``: a paid tier leads to Discord's purchase button (the entitlement event does the rest); a free
    tier is held from now, where the server enabled free tiers. The persona must be published and visible."""
    now = now or utcnow()
    persona = await _persona(session, persona_id)
    if not persona.is_public or not _visible(persona, actor):
        raise NotFound("That persona has no public profile here, so it takes no subscriptions.")
    tier = await _tier(session, persona_id, tier_id)
    held = await _active_of(session, tier_id, actor.user_id, now)
    if held is not None:
        view = _subscription_view(held, persona.name, tier.name, now)
        return SubscribeOutcome("already", persona.name, _tier_view(tier), view)
    if tier.sku_id is not None:
        return SubscribeOutcome("premium", persona.name, _tier_view(tier))
    _, view = await _grant(session, persona, tier, actor.user_id, actor.user_id, now)
    return SubscribeOutcome("subscribed", persona.name, _tier_view(tier), view)


async def grant_free(
    session: AsyncSession,
    actor: Actor,
    persona_id: int,
    tier_id: int,
    user_id: int,
    *,
    now: datetime | None = None,
) -> tuple[bool, SubscriptionView]:
    """Grant a free tier to ``user_id``: a member with Manage Server on the persona's server, or its owner, where
    the server enabled free tiers. Returns (new, subscription)."""
    now = now or utcnow()
    persona = await _persona(session, persona_id)
    admin = actor.can_manage_guild and actor.guild_id is not None and actor.guild_id == persona.guild_id
    if not admin and actor.user_id != persona.owner_id:
        raise PermissionDenied("Only the persona's owner or a server manager can grant its tiers.")
    tier = await _tier(session, persona_id, tier_id)
    return await _grant(session, persona, tier, user_id, actor.user_id, now)


async def end_free(
    session: AsyncSession,
    actor: Actor,
    persona_id: int,
    tier_id: int,
    user_id: int,
    *,
    now: datetime | None = None,
) -> SubscriptionView:
    """End a free subscription: the holder, the persona's owner, or a server manager may. (Paid ones end through
    Discord.)"""
    now = now or utcnow()
    persona = await _persona(session, persona_id)
    admin = actor.can_manage_guild and actor.guild_id is not None and actor.guild_id == persona.guild_id
    if not admin and actor.user_id not in (persona.owner_id, user_id):
        raise PermissionDenied("Only the subscriber, the persona's owner or a server manager can end this.")
    tier = await _tier(session, persona_id, tier_id)
    held = await _active_of(session, tier_id, user_id, now)
    if held is None:
        raise NotFound(f"<@{user_id}> does not hold '{tier.name}'.")
    if held.entitlement_id is not None:
        raise DomainError("That subscription was bought through Discord; it ends there.")
    held.status = "ended"
    held.ended_at = now
    await session.flush()
    return _subscription_view(held, persona.name, tier.name, now)


# ----------------------------------------------------------------------------------------------- entitlements


async def apply_entitlement(
    session: AsyncSession, entitlement: EntitlementFacts, *, event: str, now: datetime | None = None
) -> EntitlementChange | None:
    """An entitlement event (``create`` / ``update`` / ``delete``) for a tier's SKU: start the subscription (keyed
    by the entitlement, so a repeated event changes nothing), renew it (a new ``ends_at``), or end it (deleted, or
    its ``ends_at`` passed). None when no tier sells the SKU or the entitlement is not a person's."""
    now = now or utcnow()
    if entitlement.user_id is None:
        return None  # a server-wide entitlement: tiers are for people
    tier = (
        await session.execute(
            select(models.SubscriptionTier).where(models.SubscriptionTier.sku_id == entitlement.sku_id).limit(1)
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
        await session.execute(select(models.Subscription).where(models.Subscription.entitlement_id == entitlement.id))
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
        return EntitlementChange("started", _subscription_view(row, persona.name, tier.name, now))
    if not active:
        if row.status == "ended":
            return EntitlementChange("unchanged", _subscription_view(row, persona.name, tier.name, now))
        row.status = "ended"
        ends = entitlement.ends_at
        row.ended_at = ends if event != "delete" and ends is not None and ends <= now else now
        await session.flush()
        return EntitlementChange("ended", _subscription_view(row, persona.name, tier.name, now))
    action = "unchanged"
    if row.status != "active":
        row.status, row.ended_at, action = "active", None, "started"
    if row.renews_at != entitlement.ends_at:
        row.renews_at = entitlement.ends_at
        action = "renewed" if action == "unchanged" else action
    await session.flush()
    return EntitlementChange(action, _subscription_view(row, persona.name, tier.name, now))


async def sellable_sku_ids(session: AsyncSession) -> set[int]:
    """The SKUs some tier sells (what an entitlement sync needs to look at)."""
    rows = await session.execute(
        select(models.SubscriptionTier.sku_id).where(models.SubscriptionTier.sku_id.is_not(None))
    )
    return {int(sku) for sku in rows.scalars()}


async def reconcile_entitlements(
    session: AsyncSession,
    entitlements: Sequence[EntitlementFacts],
    *,
    sku_ids: Collection[int],
    listed_at: datetime,
    now: datetime | None = None,
) -> dict[str, int]:
    """Catch up with entitlement events missed while the bot was away: ``entitlements`` is every live entitlement of
    ``sku_ids`` as Discord listed it at ``listed_at``. Listed ones start or renew their subscriptions; paid
    subscriptions of those SKUs that started before ``listed_at`` and are no longer listed end. Returns counts."""
    now = now or utcnow()
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
            .join(models.SubscriptionTier, models.SubscriptionTier.id == models.Subscription.tier_id)
            .where(
                models.SubscriptionTier.sku_id.in_(list(sku_ids)),
                models.Subscription.entitlement_id.is_not(None),
                models.Subscription.status == "active",
                models.Subscription.started_at < listed_at,
            )
        )
    ).scalars()
    for row in stale:
        if row.entitlement_id not in listed:
            row.status, row.ended_at = "ended", now
            counts["ended"] = counts.get("ended", 0) + 1
    await session.flush()
    return counts


# ----------------------------------------------------------------------------------------------- reading


async def list_own(
    session: AsyncSession, user_id: int, *, now: datetime | None = None, limit: int = 50
) -> list[SubscriptionView]:
    """``user_id``'s subscriptions, current ones first, newest first."""
    now = now or utcnow()
    rows = await session.execute(
        select(models.Subscription, models.Persona.name, models.SubscriptionTier.name)
        .join(models.Persona, models.Persona.id == models.Subscription.persona_id)
        .join(models.SubscriptionTier, models.SubscriptionTier.id == models.Subscription.tier_id)
        .where(models.Subscription.user_id == user_id)
        .order_by(models.Subscription.started_at.desc(), models.Subscription.id.desc())
        .limit(limit)
    )
    views = [_subscription_view(sub, persona_name, tier_name, now) for sub, persona_name, tier_name in rows.all()]
    return sorted(views, key=lambda v: not v.current)  # stable: keeps newest first within each group


async def is_subscriber(session: AsyncSession, persona_id: int, user_id: int, *, now: datetime | None = None) -> bool:
    """Whether ``user_id`` holds any tier of ``persona_id`` now (paid or free)."""
    found = await session.scalar(
        select(models.Subscription.id)
        .where(models.Subscription.persona_id == persona_id, models.Subscription.user_id == user_id)
        .where(_current_clause(now or utcnow()))
        .limit(1)
    )
    return found is not None


async def subscriber_ids(
    session: AsyncSession, persona_id: int, user_ids: Sequence[int], *, now: datetime | None = None
) -> set[int]:
    """Which of ``user_ids`` hold a tier of ``persona_id`` now (one query; for fan-outs of subscriber-only posts)."""
    wanted = sorted(set(user_ids))
    found: set[int] = set()
    for start in range(0, len(wanted), ID_BATCH):  # bounded statements, well under parameter limits
        rows = await session.execute(
            select(models.Subscription.user_id)
            .where(
                models.Subscription.persona_id == persona_id,
                models.Subscription.user_id.in_(wanted[start : start + ID_BATCH]),
            )
            .where(_current_clause(now or utcnow()))
        )
        found.update(int(user_id) for user_id in rows.scalars())
    return found


async def _perks_by(
    session: AsyncSession, key: Any, where: Any, wanted: Sequence[int], now: datetime | None
) -> dict[int, Perks]:
    """Current perks keyed by ``key`` (a Subscription column) over ``wanted`` values of it, one query."""
    out = dict.fromkeys(wanted, NO_PERKS)
    if not wanted:
        return out
    rows = await session.execute(
        select(key, models.SubscriptionTier.perks)
        .join(models.SubscriptionTier, models.SubscriptionTier.id == models.Subscription.tier_id)
        .where(where, key.in_(wanted))
        .where(_current_clause(now or utcnow()))
    )
    held: dict[int, list[list[str]]] = {}
    for value, perks in rows.all():
        held.setdefault(int(value), []).append(list(perks or []))
    for value, perk_lists in held.items():
        out[value] = rules.perks_of(perk_lists)
    return out


async def perks_for_many(
    session: AsyncSession, persona_id: int, user_ids: Sequence[int], *, now: datetime | None = None
) -> dict[int, Perks]:
    """The perks each of ``user_ids`` has with ``persona_id`` now (``NO_PERKS`` for non-subscribers), one query."""
    subscription = models.Subscription
    return await _perks_by(
        session, subscription.user_id, subscription.persona_id == persona_id, sorted(set(user_ids)), now
    )


async def perks_by_persona(
    session: AsyncSession, persona_ids: Sequence[int], user_id: int, *, now: datetime | None = None
) -> dict[int, Perks]:
    """The perks ``user_id`` has with each of ``persona_ids`` now (``NO_PERKS`` where none), one query."""
    subscription = models.Subscription
    return await _perks_by(
        session, subscription.persona_id, subscription.user_id == user_id, sorted(set(persona_ids)), now
    )


async def personas_with_tiers(session: AsyncSession, persona_ids: Sequence[int]) -> frozenset[int]:
    """Which of ``persona_ids`` offer any subscription tier (only their subscribers can have perks); one query."""
    if not persona_ids:
        return frozenset()
    tier = models.SubscriptionTier
    query = select(tier.persona_id).where(tier.persona_id.in_(sorted(set(persona_ids)))).distinct()  # type: ignore[attr-defined]
    return frozenset(int(pid) for pid in (await session.execute(query)).scalars())


async def perks_for(session: AsyncSession, persona_id: int, user_id: int, *, now: datetime | None = None) -> Perks:
    """What ``user_id``'s subscriptions to ``persona_id`` give them now: priority replies, a memory multiplier
    (the stability their new memories start with: 2.0 decays half as fast) and subscriber-only posts."""
    return (await perks_for_many(session, persona_id, [user_id], now=now))[user_id]
