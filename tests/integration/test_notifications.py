"""Timeline events and achievements reaching followers through the outbox, on SQLite and PostgreSQL: who is told,
where, digests, frozen message groups (the same message and nonce after a crash), awards made once, privacy."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from bot.core.errors import NotFound
from bot.db import models
from bot.db.engine import Database
from bot.services import achievements, follows, guild_settings, notifications, outbox, timeline
from bot.services.follows import NotificationSettings
from bot.services.personas import Actor
from tests.integration.test_follows import GUILD, NOW, OWNER, make_persona

CHANNEL = 777
DUE = notifications.digest_due(NOW, notifications.DIGEST_WINDOW_SECONDS)


async def _quiet_persona(database: Database) -> int:
    """A published persona that has every follower achievement already (so follows announce nothing here)."""
    async with database.transaction() as session:
        persona_id = await make_persona(session)
        for key in ("first_follower", "followers_10", "followers_100"):
            session.add(models.AchievementAward(persona_id=persona_id, achievement_key=key, awarded_at=NOW))
    return persona_id


async def _set_channel(database: Database) -> None:
    async with database.transaction() as session:
        await guild_settings.set_channel(
            session, guild_id=GUILD, can_manage_guild=True, kind="notifications", channel_id=CHANNEL, now=NOW
        )


async def _follow(database: Database, persona_id: int, user_id: int, **settings: bool) -> None:
    async with database.transaction() as session:
        await follows.follow(
            session, user_id=user_id, persona_id=persona_id, now=NOW, settings=NotificationSettings(**settings)
        )


async def _timeline_rows(database: Database) -> list[models.OutboxMessage]:
    async with database.session() as session:
        query = select(models.OutboxMessage).where(models.OutboxMessage.kind == notifications.KIND_TIMELINE)
        return list((await session.execute(query.order_by(models.OutboxMessage.id))).scalars().all())


async def test_an_achievement_reaches_exactly_the_followers_who_asked_for_it(database: Database) -> None:
    await _set_channel(database)
    persona_id = await _quiet_persona(database)
    await _follow(database, persona_id, 1)  # channel, achievements on
    await _follow(database, persona_id, 2, by_dm=True)  # DM, achievements on
    await _follow(database, persona_id, 3, achievements=False)  # does not want achievements
    await _follow(database, persona_id, 4, new_posts=False)  # only achievements, channel
    async with database.transaction() as session:
        await session.execute(update(models.Persona).values(interaction_count=1))
        awards = await achievements.check(session, persona_id, NOW, inputs_changed={"conversations"})
    assert [a.key for a in awards] == ["first_conversation"]

    rows = [r for r in await _timeline_rows(database) if r.payload["event_kind"] == "achievement"]
    by_user = {r.recipient_user_id: r for r in rows}
    assert set(by_user) == {1, 2, 4}
    assert by_user[1].channel_id == CHANNEL and by_user[1].guild_id == GUILD
    assert by_user[2].channel_id is None and by_user[2].guild_id is None  # by DM (shard 0 delivers DMs)
    assert by_user[4].channel_id == CHANNEL
    assert all(r.next_attempt_at == DUE for r in rows)  # due when the digest window closes
    assert "First conversation" in by_user[1].payload["title"]

    # Awarded once: checking again (all inputs) awards, announces and queues nothing more.
    async with database.transaction() as session:
        assert await achievements.check(session, persona_id, NOW + timedelta(minutes=1)) == []
    assert len(await _timeline_rows(database)) == 3


async def test_without_a_channel_followers_are_told_by_dm_and_private_events_tell_nobody(database: Database) -> None:
    persona_id = await _quiet_persona(database)
    await _follow(database, persona_id, 1)
    async with database.transaction() as session:
        public = await timeline.record(session, persona_id, "milestone", "A milestone", is_public=True, now=NOW)
        private = await timeline.record(session, persona_id, "milestone", "Secret", is_public=False, now=NOW)
        collab = await timeline.record(session, persona_id, "collaboration", "With Atlas", is_public=True, now=NOW)
    assert public.fan_out is not None and (public.fan_out.dm, public.fan_out.channel) == (1, 0)
    assert private.fan_out is None
    assert collab.fan_out is not None and collab.fan_out.queued == 0  # collaborations are off by default
    rows = await _timeline_rows(database)
    assert [(r.recipient_user_id, r.channel_id, r.payload["title"]) for r in rows] == [(1, None, "A milestone")]


async def test_an_unpublished_persona_notifies_nobody(database: Database) -> None:
    persona_id = await _quiet_persona(database)
    await _follow(database, persona_id, 1)
    async with database.transaction() as session:
        await session.execute(update(models.Persona).values(is_public=False))
        recorded = await timeline.record(session, persona_id, "milestone", "Quietly", is_public=True, now=NOW)
    assert recorded.fan_out is not None and recorded.fan_out.queued == 0
    assert await _timeline_rows(database) == []


async def test_five_events_for_one_follower_in_a_window_are_one_digest(database: Database) -> None:
    persona_id = await _quiet_persona(database)
    await _follow(database, persona_id, 1, by_dm=True)
    for index in range(5):
        async with database.transaction() as session:
            await timeline.record(
                session, persona_id, "post", f"Post {index}", is_public=True, now=NOW + timedelta(seconds=index)
            )
    async with database.transaction() as session:
        items = await outbox.claim(session, worker="w", now=DUE, kinds=notifications.KINDS)
        messages = await notifications.prepare(session, items)
    mine = [m for m in messages if m.kind == notifications.KIND_TIMELINE]
    assert len(mine) == 1
    assert [e.title for e in mine[0].entries] == [f"Post {i}" for i in range(5)]


async def test_a_crashed_delivery_is_rebuilt_as_the_same_message_with_the_same_nonce(database: Database) -> None:
    await _set_channel(database)
    persona_id = await _quiet_persona(database)
    for user in range(10, 20):
        await _follow(database, persona_id, user)
    async with database.transaction() as session:
        await timeline.record(session, persona_id, "post", "Hello", is_public=True, now=NOW)

    kinds = [notifications.KIND_TIMELINE]
    async with database.transaction() as session:
        first = await outbox.claim(session, worker="dead", now=DUE, kinds=kinds)
        (planned,) = await notifications.prepare(session, first)
    assert planned.mentions == tuple(range(10, 20)) and planned.channel_id == CHANNEL

    # "dead" never marks anything. After its lease, another worker takes a *part* of the rows: it still sends the
    # whole frozen message, with the same nonce, so Discord returns the one it may already have created.
    later = DUE + timedelta(seconds=200)
    async with database.transaction() as session:
        part = await outbox.claim(session, worker="heir", now=later, kinds=kinds, limit=4)
        (again,) = await notifications.prepare(session, part)
    assert again.nonce == planned.nonce and again.mentions == planned.mentions
    assert set(again.row_ids) == set(planned.row_ids)

    # Releasing a dead worker's claims hands them straight back (no lease wait).
    async with database.transaction() as session:
        assert await notifications.claim_holders(session) == ["dead", "heir"]
        assert await notifications.release_claims(session, "dead", now=DUE) == 6
        rest = await outbox.claim(session, worker="heir", now=DUE, kinds=kinds)
        (third,) = await notifications.prepare(session, rest)
    assert len(rest) == 6 and third.nonce == planned.nonce
    async with database.transaction() as session:
        assert await outbox.mark_sent(session, [i.id for i in part + rest], worker="heir", now=later) == 10
    assert [r.status for r in await _timeline_rows(database)] == ["sent"] * 10


async def test_subscribers_only_events_reach_only_subscribers(database: Database) -> None:
    persona_id = await _quiet_persona(database)
    async with database.transaction() as session:
        tier = models.SubscriptionTier(persona_id=persona_id, name="Gold", is_free=True)
        session.add(tier)
        await session.flush()
        assert tier.id is not None
        session.add(models.Subscription(persona_id=persona_id, tier_id=tier.id, user_id=2, status="active"))
    await _follow(database, persona_id, 1)
    await _follow(database, persona_id, 2)
    async with database.transaction() as session:
        await timeline.record(
            session, persona_id, "post", "For subscribers", is_public=True, subscribers_only=True, now=NOW
        )
    assert [r.recipient_user_id for r in await _timeline_rows(database)] == [2]

    async with database.session() as session:
        outsider = await timeline.list_events(session, persona_id, Actor(1, GUILD), now=NOW)
        subscriber = await timeline.list_events(session, persona_id, Actor(2, GUILD), now=NOW)
    assert "For subscribers" not in [e.title for e in outsider.events] and outsider.hidden >= 1
    assert "For subscribers" in [e.title for e in subscriber.events]


async def test_the_timeline_shows_non_owners_only_public_events(database: Database) -> None:
    async with database.transaction() as session:
        persona_id = await make_persona(session)
        await timeline.record(session, persona_id, "optimization", "Memory tidied", is_public=False, now=NOW)
        await timeline.record(session, persona_id, "milestone", "Public news", is_public=True, now=NOW)
        private_id = await make_persona(session, "Hidden", publish=False)
        await session.execute(
            update(models.Persona)
            .where(models.Persona.id == private_id)
            .values(privacy_settings={"visibility": {"profile": "owner"}})
        )
    async with database.session() as session:
        owner = await timeline.list_events(session, persona_id, Actor(OWNER, GUILD), now=NOW)
        other = await timeline.list_events(session, persona_id, Actor(5, GUILD), now=NOW)
        with pytest.raises(NotFound):
            await timeline.list_events(session, private_id, Actor(5, GUILD), now=NOW)
        view = await achievements.list_awards(session, persona_id, Actor(5, GUILD))
    assert {"Memory tidied", "Public news"} <= {e.title for e in owner.events}
    assert "Memory tidied" not in {e.title for e in other.events} and "Public news" in {e.title for e in other.events}
    assert all(e.is_public for e in other.events)
    assert view.earned == [] and view.total >= 6


async def test_concurrent_checks_award_once(database: Database) -> None:
    async with database.transaction() as session:
        persona_id = await make_persona(session)
        await session.execute(update(models.Persona).values(interaction_count=150))

    async def check() -> list[str]:
        async with database.transaction() as session:
            return [a.key for a in await achievements.check(session, persona_id, NOW, {"conversations"})]

    results = await asyncio.gather(*(check() for _ in range(5)), return_exceptions=True)
    made = [key for r in results if isinstance(r, list) for key in r]
    assert sorted(made) == ["conversations_100", "first_conversation"]
    async with database.session() as session:
        count = len(
            (
                await session.execute(select(models.TimelineEvent.id).where(models.TimelineEvent.kind == "achievement"))
            ).all()
        )
    assert count == 2
