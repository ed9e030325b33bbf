"""Subscription tiers, entitlements, free tiers and perks on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bot.core.errors import DomainError, NotFound, PermissionDenied
from bot.core.social import NO_PERKS, Perks
from bot.db import models
from bot.db.engine import Database
from bot.services import personas, profiles, subscriptions
from bot.services.personas import Actor, PersonaInput
from bot.services.subscriptions import EntitlementFacts

GUILD = 333
OWNER = Actor(user_id=501, guild_id=GUILD)
FAN = Actor(user_id=502, guild_id=GUILD)
ADMIN = Actor(user_id=504, guild_id=GUILD, can_manage_guild=True)
STRANGER = Actor(user_id=505, guild_id=GUILD)
SKU, OTHER_SKU = 9_001, 9_002
NOW = datetime(2026, 11, 25, 12, tzinfo=UTC)


async def published_persona(database: Database, name: str = "Ada") -> int:
    async with database.transaction() as session:
        record = await personas.create(session, OWNER, PersonaInput(name=name), now=NOW)
        await profiles.publish(session, OWNER, record.id, profiles.PublishSettings(), now=NOW)
    return record.id


async def tier(database: Database, persona_id: int, name: str, perks: list[str], sku: int | None = None) -> int:
    async with database.transaction() as session:
        view = await subscriptions.create_tier(
            session, OWNER, persona_id, name=name, perks=perks, sku_id=sku, known_sku_ids={SKU, OTHER_SKU}, now=NOW
        )
    return view.id


async def apply(database: Database, entitlement: EntitlementFacts, event: str, now: datetime = NOW):
    async with database.transaction() as session:
        return await subscriptions.apply_entitlement(session, entitlement, event=event, now=now)


async def perks(database: Database, persona_id: int, user_id: int, now: datetime = NOW) -> Perks:
    async with database.session() as session:
        return await subscriptions.perks_for(session, persona_id, user_id, now=now)


async def test_owners_define_tiers(database: Database) -> None:
    persona_id = await published_persona(database)
    gold = await tier(database, persona_id, "Gold", ["longer_memory", "priority_replies"], SKU)
    async with database.transaction() as session:
        with pytest.raises(PermissionDenied):
            await subscriptions.create_tier(session, FAN, persona_id, name="Mine", now=NOW)
        with pytest.raises(DomainError, match="already has a tier"):
            await subscriptions.create_tier(session, OWNER, persona_id, name="gold", now=NOW)
        with pytest.raises(DomainError, match="not one of this app"):
            await subscriptions.create_tier(
                session, OWNER, persona_id, name="X", sku_id=1, known_sku_ids={SKU}, now=NOW
            )
        with pytest.raises(DomainError, match="Another tier"):
            await subscriptions.create_tier(
                session, OWNER, persona_id, name="Y", sku_id=SKU, known_sku_ids={SKU}, now=NOW
            )
        with pytest.raises(DomainError, match="Unknown perk"):
            await subscriptions.create_tier(session, OWNER, persona_id, name="Z", perks=["shoutouts"], now=NOW)
    async with database.session() as session:
        [view] = await subscriptions.list_tiers(session, persona_id)
        assert (await subscriptions.find_tier(session, persona_id, "GOLD")).id == gold
        with pytest.raises(NotFound):
            await subscriptions.find_tier(session, persona_id, "Silver")
    assert view.perks == ["priority_replies", "longer_memory"] and view.sku_id == SKU and not view.is_free


async def test_entitlements_start_renew_and_end_subscriptions(database: Database) -> None:
    persona_id = await published_persona(database)
    await tier(database, persona_id, "Gold", ["priority_replies", "longer_memory"], SKU)
    bought = EntitlementFacts(id=77, sku_id=SKU, user_id=FAN.user_id, guild_id=None, starts_at=NOW)

    assert await apply(database, EntitlementFacts(78, 12345, FAN.user_id, None), "create") is None  # not ours
    assert await apply(database, EntitlementFacts(79, SKU, None, GUILD), "create") is None  # a server's
    started = await apply(database, bought, "create")
    assert started is not None and started.action == "started" and started.subscription.current
    assert (await apply(database, bought, "create")).action == "unchanged"  # a repeated event changes nothing
    async with database.session() as session:
        assert await subscriptions.is_subscriber(session, persona_id, FAN.user_id, now=NOW)
        assert not await subscriptions.is_subscriber(session, persona_id, STRANGER.user_id, now=NOW)
    assert await perks(database, persona_id, FAN.user_id) == Perks(True, 2.0, False)

    paid_until = NOW + timedelta(days=30)
    renewed = await apply(
        database, EntitlementFacts(77, SKU, FAN.user_id, None, starts_at=NOW, ends_at=paid_until), "update"
    )
    assert renewed.action == "renewed" and renewed.subscription.renews_at == paid_until
    # Past its paid period without a renewal, it no longer counts.
    assert await perks(database, persona_id, FAN.user_id, now=paid_until + timedelta(seconds=1)) == NO_PERKS

    ended = await apply(database, bought, "delete", now=NOW + timedelta(days=1))
    assert ended.action == "ended" and ended.subscription.ended_at == NOW + timedelta(days=1)
    assert await perks(database, persona_id, FAN.user_id) == NO_PERKS
    async with database.session() as session:
        [mine] = await subscriptions.list_own(session, FAN.user_id, now=NOW + timedelta(days=2))
    assert mine.status == "ended" and not mine.current and mine.entitlement_id == 77

    # Nothing starts from an entitlement already over; an update saying it ended (cancelled, lapsed) ends it.
    over = EntitlementFacts(80, SKU, STRANGER.user_id, None, ends_at=NOW - timedelta(days=1))
    assert await apply(database, over, "create") is None
    assert (await apply(database, EntitlementFacts(81, SKU, STRANGER.user_id, None), "create")).action == "started"
    cancelled = EntitlementFacts(81, SKU, STRANGER.user_id, None, ends_at=NOW - timedelta(minutes=1))
    stopped = await apply(database, cancelled, "update")
    assert stopped.action == "ended" and stopped.subscription.ended_at == NOW - timedelta(minutes=1)


async def test_reconciliation_catches_up_with_missed_events(database: Database) -> None:
    persona_id = await published_persona(database)
    await tier(database, persona_id, "Gold", ["priority_replies"], SKU)
    await apply(database, EntitlementFacts(1, SKU, FAN.user_id, None), "create", now=NOW - timedelta(hours=1))
    late = EntitlementFacts(2, SKU, STRANGER.user_id, None)
    async with database.transaction() as session:
        counts = await subscriptions.reconcile_entitlements(
            session, [late], sku_ids={SKU}, listed_at=NOW - timedelta(minutes=1), now=NOW
        )
    assert counts == {"started": 1, "ended": 1}
    async with database.session() as session:
        assert await subscriptions.subscriber_ids(session, persona_id, [FAN.user_id, STRANGER.user_id], now=NOW) == {
            STRANGER.user_id
        }


async def test_free_tiers_only_where_the_server_enables_them(database: Database) -> None:
    persona_id = await published_persona(database)
    free = await tier(database, persona_id, "Friends", ["subscriber_posts"])
    paid = await tier(database, persona_id, "Gold", ["priority_replies"], SKU)

    async with database.transaction() as session:
        with pytest.raises(DomainError, match="not enabled"):
            await subscriptions.grant_free(session, ADMIN, persona_id, free, FAN.user_id, now=NOW)
        with pytest.raises(DomainError, match="not enabled"):
            await subscriptions.subscribe(session, FAN, persona_id, free, now=NOW)
        with pytest.raises(PermissionDenied):
            await subscriptions.set_free_tiers(session, guild_id=GUILD, can_manage_guild=False, enabled=True, now=NOW)
    async with database.transaction() as session:
        assert await subscriptions.set_free_tiers(session, guild_id=GUILD, can_manage_guild=True, enabled=True, now=NOW)

    async with database.transaction() as session:
        with pytest.raises(PermissionDenied):
            await subscriptions.grant_free(session, STRANGER, persona_id, free, FAN.user_id, now=NOW)
        with pytest.raises(DomainError, match="bought through Discord"):
            await subscriptions.grant_free(session, ADMIN, persona_id, paid, FAN.user_id, now=NOW)
    async with database.transaction() as session:
        new, granted = await subscriptions.grant_free(session, ADMIN, persona_id, free, FAN.user_id, now=NOW)
    assert new and granted.current and granted.granted_by == ADMIN.user_id
    async with database.transaction() as session:
        again, _ = await subscriptions.grant_free(session, OWNER, persona_id, free, FAN.user_id, now=NOW)
        mine = await subscriptions.subscribe(session, STRANGER, persona_id, free, now=NOW)
        offer = await subscriptions.subscribe(session, STRANGER, persona_id, paid, now=NOW)
    assert not again and mine.kind == "subscribed" and offer.kind == "premium" and offer.tier.sku_id == SKU
    assert await perks(database, persona_id, FAN.user_id) == Perks(False, 1.0, True)

    async with database.transaction() as session:
        with pytest.raises(DomainError, match="hold"):
            await subscriptions.delete_tier(session, OWNER, persona_id, free, now=NOW)
        with pytest.raises(PermissionDenied):
            await subscriptions.end_free(session, STRANGER, persona_id, free, FAN.user_id, now=NOW)
        await subscriptions.end_free(session, FAN, persona_id, free, FAN.user_id, now=NOW)
    assert await perks(database, persona_id, FAN.user_id) == NO_PERKS

    # Disabled again: nothing new is granted.
    async with database.transaction() as session:
        await subscriptions.set_free_tiers(session, guild_id=GUILD, can_manage_guild=True, enabled=False, now=NOW)
    async with database.transaction() as session:
        with pytest.raises(DomainError, match="not enabled"):
            await subscriptions.grant_free(session, ADMIN, persona_id, free, FAN.user_id, now=NOW)


async def test_perks_combine_tiers_and_are_per_persona(database: Database) -> None:
    ada = await published_persona(database)
    bea = await published_persona(database, "Bea")
    fast = await tier(database, ada, "Fast", ["priority_replies"])
    deep = await tier(database, ada, "Deep", ["longer_memory", "subscriber_posts"])
    async with database.transaction() as session:
        await subscriptions.set_free_tiers(session, guild_id=GUILD, can_manage_guild=True, enabled=True, now=NOW)
        await subscriptions.grant_free(session, OWNER, ada, fast, FAN.user_id, now=NOW)
        await subscriptions.grant_free(session, OWNER, ada, deep, FAN.user_id, now=NOW)
        await subscriptions.grant_free(session, OWNER, ada, fast, STRANGER.user_id, now=NOW)
    assert await perks(database, ada, FAN.user_id) == Perks(True, 2.0, True)
    assert await perks(database, bea, FAN.user_id) == NO_PERKS
    async with database.session() as session:
        many = await subscriptions.perks_for_many(session, ada, [FAN.user_id, STRANGER.user_id, OWNER.user_id], now=NOW)
    assert many == {
        FAN.user_id: Perks(True, 2.0, True),
        STRANGER.user_id: Perks(True, 1.0, False),
        OWNER.user_id: NO_PERKS,
    }


async def test_unpublished_personas_take_no_subscriptions(database: Database) -> None:
    async with database.transaction() as session:
        record = await personas.create(session, OWNER, PersonaInput(name="Quiet"), now=NOW)
        view = await subscriptions.create_tier(session, OWNER, record.id, name="Gold", sku_id=SKU, now=NOW)
    async with database.transaction() as session:
        with pytest.raises(NotFound):
            await subscriptions.subscribe(session, FAN, record.id, view.id, now=NOW)
    async with database.session() as session:
        rows = (await session.execute(select(models.Subscription))).scalars().all()
    assert rows == []
