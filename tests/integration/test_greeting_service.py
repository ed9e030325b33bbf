"""A persona's greeting on real databases (SQLite and PostgreSQL): claimed once per channel, surviving a switch off
and on, recorded as the persona's messages, released when it could not be posted, and backfilled by 0019 for
personas already speaking somewhere."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, update

from bot.core.errors import NotFound
from bot.db import migrate, models, presence
from bot.db.engine import Database, make_engine
from bot.services import bindings, greetings, persona_messages, personas
from bot.services.personas import Actor, PersonaInput
from tests.integration.test_migrations import _persona_at

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
GUILD, CHANNEL, OTHER = 100, 200, 201
ALICE = 11


async def make(database: Database, name: str = "Ada", **card: Any) -> int:
    actor = Actor(ALICE, GUILD)
    async with database.transaction() as session:
        record = await personas.create(session, actor, PersonaInput(name=name), now=NOW)
        if card:
            await session.execute(update(models.Persona).where(models.Persona.id == record.id).values(**card))
    return record.id


async def claim(database: Database, persona_id: int, channel: int = CHANNEL, draw: float = 0.0) -> Any:
    async with database.transaction() as session:
        return await greetings.claim(
            session, persona_id, channel, guild_id=GUILD, user_name="Alice", draw=draw, now=NOW
        )


async def rows(database: Database) -> int:
    async with database.session() as session:
        return int((await session.execute(select(func.count()).select_from(models.PersonaGreeting))).scalar_one())


async def test_a_persona_greets_a_channel_once_even_when_switched_off_and_on(database: Database) -> None:
    ada = await make(database, greeting="Hello {{user}}, I am {{char}}.", nickname="Addy")
    actor = Actor(ALICE, GUILD)
    async with database.transaction() as session:
        await bindings.activate(session, actor, ada, CHANNEL, channel_guild_id=GUILD, now=NOW)
    first = await claim(database, ada)
    assert first is not None
    assert first.parts == ("Hello Alice, I am Addy.",) and first.name == "Ada" and first.channel_id == CHANNEL
    assert await claim(database, ada) is None  # claimed: never twice
    async with database.transaction() as session:
        await bindings.deactivate(session, actor, ada, CHANNEL, channel_guild_id=GUILD, now=NOW)
        await bindings.activate(session, actor, ada, CHANNEL, channel_guild_id=GUILD, now=NOW)
    assert await claim(database, ada) is None  # the binding went and came back; the greeting is remembered
    assert await claim(database, ada, OTHER) is not None  # another channel is greeted once too


async def test_a_persona_without_a_greeting_claims_nothing_until_it_has_one(database: Database) -> None:
    ada = await make(database, greeting="  ", alternate_greetings=["", " "])
    assert await claim(database, ada) is None
    assert await rows(database) == 0
    async with database.transaction() as session:
        await session.execute(update(models.Persona).values(alternate_greetings=["", "Hi {{user}}!"]))
    chosen = await claim(database, ada, draw=0.9)
    assert chosen is not None and chosen.parts == ("Hi Alice!",)


async def test_comments_and_hidden_keys_are_never_posted_and_random_picks_one(database: Database) -> None:
    ada = await make(database, greeting="{{// note}}Hi {{user}}{{comment:x}}{{hidden_key:k}}, {{random:one,two}}.")
    said = [await claim(database, ada, channel) for channel in range(1, 21)]
    assert {g.parts for g in said} == {("Hi Alice, one.",), ("Hi Alice, two.",)}
    assert not any("{{" in g.parts[0] or "note" in g.parts[0] for g in said)


async def test_alternates_are_chosen_by_the_draw(database: Database) -> None:
    ada = await make(database, greeting="One.", alternate_greetings=["Two.", "Three."])
    said = [await claim(database, ada, channel, draw) for channel, draw in ((1, 0.1), (2, 0.5), (3, 0.9))]
    assert [g.parts[0] for g in said] == ["One.", "Two.", "Three."]


async def test_a_posted_greeting_is_the_personas_message_and_a_failed_one_is_released(database: Database) -> None:
    ada = await make(database, greeting="Good evening. " * 300)  # ~4,200 characters: three messages
    greeting = await claim(database, ada)
    assert greeting is not None and len(greeting.parts) == 3
    async with database.transaction() as session:
        await greetings.posted(session, greeting, [5001, 5002, 5003], via_webhook=True, now=NOW)
    async with database.session() as session:
        assert await persona_messages.persona_for_message(session, 5002) == ada
        row = await _greeting_row(session, ada, CHANNEL)
        assert row is not None and row.message_id == 5001 and row.greeted_at == NOW and row.guild_id == GUILD
    # Posting in another channel failed: released, so the next activation there greets.
    assert await claim(database, ada, OTHER) is not None
    async with database.transaction() as session:
        await greetings.release(session, ada, OTHER)
    assert await claim(database, ada, OTHER) is not None


async def test_the_greetings_go_with_their_persona_and_a_missing_persona_is_not_found(database: Database) -> None:
    ada = await make(database, greeting="Hi.")
    assert await claim(database, ada) is not None
    async with database.transaction() as session:
        await personas.delete_persona(session, Actor(ALICE, GUILD), ada)
    assert await rows(database) == 0
    with pytest.raises(NotFound):
        await claim(database, ada)


async def _backfill(url: str) -> None:
    engine = make_engine(url)
    try:
        await migrate.upgrade(engine, "0018")
        database = Database(url)
        try:
            async with database.transaction() as session:
                bound = await _persona_at(session, "0018", name="Ada", owner_id=ALICE, guild_id=GUILD)
                spoke = await _persona_at(session, "0013", name="Grace", owner_id=ALICE, guild_id=GUILD)
                quiet = await _persona_at(session, "0013", name="Hedy", owner_id=ALICE, guild_id=GUILD)
                session.add(
                    models.ChannelBinding(
                        persona_id=bound, guild_id=GUILD, channel_id=CHANNEL, activated_by=ALICE, created_at=NOW
                    )
                )
                for message_id in (1, 2):  # two messages in one channel: one greeting row
                    session.add(
                        models.PersonaMessage(
                            message_id=message_id, persona_id=spoke, guild_id=GUILD, channel_id=OTHER, created_at=NOW
                        )
                    )
        finally:
            await database.dispose()
        await migrate.upgrade(engine)
        database = Database(url)
        try:
            async with database.session() as session:
                found = (await session.execute(select(models.PersonaGreeting))).scalars().all()
            assert sorted((g.persona_id, g.channel_id, g.guild_id) for g in found) == [
                (bound, CHANNEL, GUILD),
                (spoke, OTHER, GUILD),
            ]
            assert all(g.greeted_at == NOW and g.message_id is None for g in found)
            assert all(g.claimed_at is None and g.claim_holder is None for g in found)  # 0021: met, never re-claimed
            assert quiet not in {g.persona_id for g in found}  # never spoke anywhere: it will greet
        finally:
            await database.dispose()
    finally:
        await engine.dispose()


async def test_0019_counts_personas_already_speaking_as_having_greeted_sqlite(sqlite_url: str) -> None:
    await _backfill(sqlite_url)


@pytest.mark.postgres
async def test_0019_counts_personas_already_speaking_as_having_greeted_postgresql(postgres_url: str) -> None:
    from tests.conftest import fresh_postgres_database

    with fresh_postgres_database(postgres_url, prefix="ph_greetings") as url:
        await _backfill(url)


async def _greeting_row(session: Any, persona_id: int, channel_id: int) -> models.PersonaGreeting | None:
    query = select(models.PersonaGreeting).where(
        models.PersonaGreeting.persona_id == persona_id, models.PersonaGreeting.channel_id == channel_id
    )
    return (await session.execute(query)).scalar_one_or_none()


# ------------------------------------------------------------------------------------------- a crash (0021)

DEAD = presence.Holder(value=1_234_567)  # a process that claimed and died: it holds no lock, it is no one now
ME = presence.Holder(value=7_654_321, spared=frozenset())


async def claim_as(
    database: Database, persona_id: int, holder: presence.Holder | None, now: datetime = NOW, **options: Any
) -> Any:
    async with database.transaction() as session:
        return await greetings.claim(
            session, persona_id, CHANNEL, guild_id=GUILD, user_name="Alice", draw=0.0, now=now, holder=holder, **options
        )


async def test_a_claim_left_unposted_is_taken_again_once_and_a_posted_one_never(database: Database) -> None:
    ada = await make(database, greeting="Hello.")
    assert await claim_as(database, ada, ME) is not None  # claimed by this live process: its greeting is on its way
    assert await claim_as(database, ada, ME, NOW + greetings.LEASE / 2) is None  # within the lease: nobody else
    late = NOW + greetings.LEASE + timedelta(seconds=1)
    taken = await claim_as(database, ada, ME, late)  # the lease ran out unposted (a stuck or dead process)
    assert taken is not None and taken.parts == ("Hello.",)
    assert await claim_as(database, ada, ME, late) is None  # taken once: a second sweep gets nothing
    async with database.transaction() as session:
        await greetings.posted(session, taken, [7001], via_webhook=True, now=late)
        await greetings.release(session, ada, CHANNEL)  # a posted greeting is never forgotten
    far = late + timedelta(days=30)
    assert await claim_as(database, ada, ME, far) is None
    async with database.session() as session:
        assert await greetings.stale_claims(session, far, ME) == []
        row = await _greeting_row(session, ada, CHANNEL)
    assert row is not None and (row.message_id, row.claimed_at, row.claim_holder) == (7001, None, None)


async def test_a_dead_process_claim_is_taken_at_once_and_listed_for_the_sweep(database: Database) -> None:
    ada = await make(database, greeting="Hello.")
    actor = Actor(ALICE, GUILD)
    async with database.transaction() as session:
        await bindings.activate(session, actor, ada, CHANNEL, channel_guild_id=GUILD, now=NOW)
    assert await claim_as(database, ada, DEAD) is not None
    async with database.session() as session:
        assert await greetings.stale_claims(session, NOW, None) == []  # no identity: only the lease decides
        stale = await greetings.stale_claims(session, NOW, ME)  # a restarted process: the old claim is dead
    assert stale == [greetings.StaleClaim(ada, CHANNEL, GUILD, bound=True, activated_by=ALICE)]
    assert await claim_as(database, ada, ME, unposted_only=True) is not None
    assert await claim_as(database, ada, ME, NOW + timedelta(seconds=5)) is None  # now this live process's


async def test_unposted_only_never_greets_anew_and_an_unbound_claim_is_listed_as_such(database: Database) -> None:
    ada = await make(database, greeting="Hello.")
    assert await claim_as(database, ada, ME, unposted_only=True) is None
    assert await rows(database) == 0  # nothing claimed: an activation where it was active already never greets
    assert await claim_as(database, ada, DEAD) is not None
    async with database.session() as session:
        stale = await greetings.stale_claims(session, NOW, ME)
    assert [(s.persona_id, s.bound, s.activated_by) for s in stale] == [(ada, False, None)]
