"""Following on SQLite and PostgreSQL: the seed's rules and errors, settings, an exact follower count under races,
and the owner's new-follower digest."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.core.errors import DomainError
from bot.db import models
from bot.db.engine import Database, make_engine
from bot.services import follows, notifications, outbox, personas, profiles
from bot.services.follows import NotificationSettings
from bot.services.personas import Actor, PersonaInput
from tests.support.follows import follow_rows

NOW = datetime(2026, 11, 25, 12, 0, 30, tzinfo=UTC)
GUILD = 4242 << 22
OWNER = 1001


async def make_persona(session: AsyncSession, name: str = "Nova", *, publish: bool = True) -> int:
    """A persona on GUILD owned by OWNER, published through the profiles service (the owner's consent recorded)."""
    owner = Actor(user_id=OWNER, guild_id=GUILD)
    record = await personas.create(session, owner, PersonaInput(name=name), now=NOW)
    if publish:
        await profiles.publish(session, owner, record.id, profiles.PublishSettings(), now=NOW)
    return record.id


async def count_of(database: Database, persona_id: int) -> tuple[int, int]:
    async with database.session() as session:
        stored = (
            await session.execute(select(models.Persona.follower_count).where(models.Persona.id == persona_id))
        ).scalar_one()
        return int(stored), await follow_rows(session, persona_id)


async def test_follow_unfollow_and_the_seed_errors(database: Database) -> None:
    async with database.transaction() as session:
        public = await make_persona(session, "Nova")
        private = await make_persona(session, "Quiet", publish=False)

    async with database.transaction() as session:
        record = await follows.follow(session, user_id=7, persona_id=public, guild_id=GUILD, now=NOW)
    assert record.follower_count == 1
    # The seed's defaults: new posts and achievements, not collaborations; in the channel.
    assert record.settings == NotificationSettings(new_posts=True, achievements=True, collaborations=False, by_dm=False)

    with pytest.raises(DomainError, match="You already follow this persona"):
        async with database.transaction() as session:
            await follows.follow(session, user_id=7, persona_id=public, now=NOW)
    with pytest.raises(DomainError, match="This persona is not public"):
        async with database.transaction() as session:
            await follows.follow(session, user_id=7, persona_id=private, now=NOW)
    assert await count_of(database, private) == (0, 0)

    # Unpublished: no new followers (existing ones may still leave).
    async with database.transaction() as session:
        await profiles.unpublish(session, Actor(OWNER, GUILD), public, now=NOW)
    with pytest.raises(DomainError, match="This persona is not public"):
        async with database.transaction() as session:
            await follows.follow(session, user_id=8, persona_id=public, now=NOW)
    async with database.transaction() as session:
        gone = await follows.unfollow(session, user_id=7, persona_id=public)
    assert gone.follower_count == 0
    with pytest.raises(DomainError, match="You do not follow this persona"):
        async with database.transaction() as session:
            await follows.unfollow(session, user_id=7, persona_id=public)
    assert await count_of(database, public) == (0, 0)


async def test_settings_change_later_and_following_lists_them(database: Database) -> None:
    async with database.transaction() as session:
        nova = await make_persona(session, "Nova")
        atlas = await make_persona(session, "Atlas")
        await follows.follow(session, user_id=7, persona_id=nova, now=NOW)
        await follows.follow(
            session, user_id=7, persona_id=atlas, now=NOW, settings=NotificationSettings(achievements=False)
        )
    async with database.transaction() as session:
        changed = await follows.update_settings(
            session, user_id=7, persona_id=nova, changes={"collaborations": True, "by_dm": True, "new_posts": None}
        )
    assert changed.settings == NotificationSettings(new_posts=True, achievements=True, collaborations=True, by_dm=True)
    async with database.session() as session:
        listed = await follows.list_following(session, 7, guild_id=GUILD)
        stored = await follows.get_follow(session, user_id=7, persona_id=nova)
    assert [r.persona_name for r in listed] == ["Atlas", "Nova"]
    assert listed[0].settings.achievements is False
    assert stored is not None and stored.settings == changed.settings
    with pytest.raises(DomainError, match="do not follow"):
        async with database.transaction() as session:
            await follows.update_settings(session, user_id=99, persona_id=nova, changes={"by_dm": True})


async def _race(sessions: async_sessionmaker[AsyncSession], persona_id: int, users: list[int]) -> list[object]:
    async def one(user_id: int) -> object:
        try:
            async with sessions() as session, session.begin():
                return await follows.follow(session, user_id=user_id, persona_id=persona_id, now=NOW)
        except DomainError as error:
            return error

    return await asyncio.gather(*(one(u) for u in users))


async def test_fifty_concurrent_follows_keep_the_count_exact_on_sqlite(database: Database) -> None:
    if database.kind != "sqlite":
        pytest.skip("the PostgreSQL race uses 50 connections (below)")
    async with database.transaction() as session:
        persona_id = await make_persona(session)
    users = [*range(500, 545), 500, 501, 502, 503, 504]  # 45 people, 5 of them twice
    results = await _race(database.sessions, persona_id, users)
    assert sum(isinstance(r, follows.FollowRecord) for r in results) == 45
    assert all("already follow" in str(r) for r in results if isinstance(r, DomainError))
    assert await count_of(database, persona_id) == (45, 45)


@pytest.mark.postgres
async def test_fifty_concurrent_follows_keep_the_count_exact_on_postgresql(migrated_postgres: str) -> None:
    database = Database(migrated_postgres)
    engine = make_engine(migrated_postgres, pool_size=50)  # 50 sessions really at once, each its own connection
    try:
        async with database.transaction() as session:
            persona_id = await make_persona(session)
        sessions = async_sessionmaker(engine, expire_on_commit=False)
        users = [*range(500, 545), 500, 501, 502, 503, 504]
        results = await _race(sessions, persona_id, users)
        assert sum(isinstance(r, follows.FollowRecord) for r in results) == 45
        assert sorted(r.follower_count for r in results if isinstance(r, follows.FollowRecord)) == list(range(1, 46))
        assert await count_of(database, persona_id) == (45, 45)

        # And 50 concurrent unfollows/follows mixed: still exact.
        async def leave(user_id: int) -> None:
            async with sessions() as session, session.begin():
                await follows.unfollow(session, user_id=user_id, persona_id=persona_id)

        await asyncio.gather(*(leave(u) for u in range(500, 525)), _race(sessions, persona_id, list(range(600, 625))))
        assert await count_of(database, persona_id) == (45, 45)
    finally:
        from tests.conftest import _empty_all_tables

        await engine.dispose()
        await _empty_all_tables(database)
        await database.dispose()


async def test_the_owner_hears_of_new_followers_in_one_digest(database: Database) -> None:
    async with database.transaction() as session:
        persona_id = await make_persona(session)
    for offset, user in enumerate((11, 12, 13, 14, 15)):
        async with database.transaction() as session:
            await follows.follow(session, user_id=user, persona_id=persona_id, now=NOW + timedelta(seconds=offset))
    async with database.transaction() as session:  # the owner following their own persona is no news
        await follows.follow(session, user_id=OWNER, persona_id=persona_id, now=NOW)

    window_end = notifications.digest_due(NOW, notifications.NEW_FOLLOWER_DIGEST_SECONDS)
    async with database.transaction() as session:
        early = await outbox.claim(
            session, worker="w", now=window_end - timedelta(seconds=1), kinds=[notifications.KIND_NEW_FOLLOWER]
        )
        items = await outbox.claim(session, worker="w", now=window_end, kinds=[notifications.KIND_NEW_FOLLOWER])
        messages = await notifications.prepare(session, items)
    assert early == []  # nothing before the window closes
    assert len(items) == 5 and {i.recipient_user_id for i in items} == {OWNER}
    (message,) = messages
    assert message.is_dm and message.user_id == OWNER
    assert [e.follower_id for e in message.entries] == [11, 12, 13, 14, 15]


async def test_follows_award_follower_achievements_once(database: Database) -> None:
    async with database.transaction() as session:
        persona_id = await make_persona(session)
    for user in range(100, 111):
        async with database.transaction() as session:
            await follows.follow(session, user_id=user, persona_id=persona_id, now=NOW)
    async with database.session() as session:
        keys = (
            await session.execute(
                select(models.AchievementAward.achievement_key).where(models.AchievementAward.persona_id == persona_id)
            )
        ).scalars()
        events = (
            await session.execute(
                select(models.TimelineEvent.title).where(
                    models.TimelineEvent.persona_id == persona_id, models.TimelineEvent.kind == "achievement"
                )
            )
        ).scalars()
        assert sorted(keys.all()) == ["first_follower", "followers_10"]
        assert len(events.all()) == 2
