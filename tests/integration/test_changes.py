"""In-process caches and the changes that drop them (bot/db/changes.py), on SQLite and on PostgreSQL.

A write made in this process drops the copies at once; on PostgreSQL a write made by another process (here: a plain
asyncpg connection that SQLAlchemy never sees) arrives by LISTEN/NOTIFY; a persona's counters notify nobody; a
read that raced a change is not kept; while notifications cannot be heard, every read goes to the database.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
from sqlalchemy import text

from bot.clock import utcnow
from bot.db import changes
from bot.db.engine import Database
from bot.services import behaviors, bindings, conversation, lore, personas
from bot.services.personas import Actor, PersonaInput
from tests.conftest import _empty_all_tables, _libpq, _migrate, fresh_postgres_database
from tests.support.waiting import eventually

ALICE = Actor(user_id=1001, guild_id=555)
CHANNEL = 9001


class Loads:
    """A loader that counts its reads."""

    def __init__(self) -> None:
        self.count = 0

    async def __call__(self) -> int:
        self.count += 1
        return self.count


async def _persona(database: Database, name: str = "Ada") -> int:
    """A new persona, once its own notification (PostgreSQL) has come back, so that it cannot drop what a test
    caches next."""
    heard = database.changes.notifications
    async with database.transaction() as session:
        made = (await personas.create(session, ALICE, PersonaInput(name=name), now=utcnow())).id
    if database.changes.live and database.kind == "postgresql":
        await eventually(lambda: database.changes.notifications > heard, "the new persona's notification")
    return made


# ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("statement", "tables"),
    [
        ("INSERT INTO channel_bindings (persona_id) VALUES ($1)", {"channel_bindings"}),
        ('insert into "personas" (name) values (?)', {"personas"}),
        ("INSERT OR REPLACE INTO custom_behaviors (id) VALUES (1)", {"custom_behaviors"}),
        ("DELETE FROM custom_behaviors WHERE custom_behaviors.id = $1", {"custom_behaviors"}),
        ("UPDATE personas SET name=$1, updated_at=$2 WHERE personas.id = $3", {"personas"}),
        ("UPDATE personas SET status=$1 WHERE personas.id = $2 AND personas.status = $3", {"personas"}),
        ("UPDATE personas SET interaction_count=(personas.interaction_count + $1) WHERE personas.id = $2", set()),
        ("UPDATE personas SET follower_count=personas.follower_count + 1, updated_at=$1 WHERE id = $2", set()),
        ('TRUNCATE "achievements", "personas", "channel_bindings" CASCADE', {"personas", "channel_bindings"}),
        ("UPDATE memories SET strength=$1 WHERE memories.id = $2", set()),
        ("UPDATE memory_configs SET weight_recency=$1 WHERE memory_configs.persona_id = $2", {"memory_configs"}),
        ("UPDATE memory_configs SET decay_rate=$1 WHERE memory_configs.persona_id = $2", set()),
        ("INSERT INTO subscription_tiers (persona_id, name) VALUES ($1, $2)", {"subscription_tiers"}),
        ("SELECT personas.name FROM personas JOIN channel_bindings ON true", set()),
    ],
)  # fmt: skip
def test_written_tables_names_the_watched_tables_a_statement_changes(statement: str, tables: set[str]) -> None:
    assert changes.written_tables(statement) == tables


async def test_a_write_in_this_process_drops_the_copies_of_its_tables_only(database: Database) -> None:
    feed = database.changes
    await feed.start()
    assert feed.live
    casts, rules = feed.cache(["channel_bindings"]), feed.cache(["custom_behaviors"])
    loads = Loads()
    assert await casts.get("general", loads) == 1
    assert await casts.get("general", loads) == 1  # a copy: not read again
    await rules.get("ada", loads)
    ada = await _persona(database)
    assert len(casts) == 1  # a new persona is not a binding
    async with database.transaction() as session:
        await bindings.activate(session, ALICE, ada, CHANNEL, channel_guild_id=ALICE.guild_id, now=utcnow())
    assert len(casts) == 0 and casts.hits == 1
    assert len(rules) == 1
    async with database.transaction() as session:
        await behaviors.add(
            session, ALICE, ada, name="Wave", trigger_kind="keywords",
            trigger_config=behaviors.parse_trigger("keywords", "hello"), action_kind="instruction",
            action_config=behaviors.parse_action("instruction", "Wave back."), now=utcnow(),
        )  # fmt: skip
    assert len(rules) == 0


async def test_a_personas_counters_drop_nothing_but_its_name_does(database: Database) -> None:
    feed = database.changes
    await feed.start()
    ada = await _persona(database)
    cast = feed.cache(["personas"])
    await cast.get("general", Loads())
    async with database.transaction() as session:
        await session.execute(
            text("UPDATE personas SET interaction_count = interaction_count + 1 WHERE id = :id"), {"id": ada}
        )
    assert len(cast) == 1
    async with database.transaction() as session:
        await personas.update(session, ALICE, ada, PersonaInput(name="Ada Two"), now=utcnow())
    assert len(cast) == 0


async def test_a_read_that_raced_a_change_is_not_kept(database: Database) -> None:
    feed = database.changes
    await feed.start()
    ada = await _persona(database)
    cast = feed.cache(["personas"])

    async def read_while_renamed() -> str:
        async with database.session() as session:
            name = (await personas.get(session, ada)).name
        async with database.transaction() as session:  # the change lands while the read is on its way back
            await personas.update(session, ALICE, ada, PersonaInput(name="Renamed"), now=utcnow())
        return name

    assert await cast.get("ada", read_while_renamed) == "Ada"
    assert len(cast) == 0  # the stale name was not kept


async def test_the_cache_is_bounded(database: Database) -> None:
    await database.changes.start()
    cache = database.changes.cache(["personas"], size=3)
    for key in range(5):
        await cache.get(key, Loads())
    assert len(cache) == 3 and cache.misses == 5


# ---------------------------------------------------------------------------------------------------- PostgreSQL


@pytest.fixture
async def listening(migrated_postgres: str) -> AsyncIterator[tuple[Database, asyncpg.Connection]]:
    """A database whose feed listens, and a plain asyncpg connection: not SQLAlchemy, so writes made through it
    reach this process only as another process's would, by NOTIFY."""
    database = Database(migrated_postgres)
    other = await asyncpg.connect(_libpq(migrated_postgres))
    try:
        await database.changes.start()
        assert database.changes.live
        yield database, other
    finally:
        await other.close()
        await _empty_all_tables(database)
        await database.dispose()


@pytest.mark.postgres
async def test_another_process_change_arrives_by_notify_and_counters_send_nothing(
    listening: tuple[Database, asyncpg.Connection],
) -> None:
    database, other = listening
    feed = database.changes
    ada = await _persona(database)
    cast, rules = feed.cache(["personas", "channel_bindings"]), feed.cache(["custom_behaviors"])
    await cast.get("general", Loads())
    await rules.get("ada", Loads())
    heard = feed.notifications

    await other.execute("UPDATE personas SET interaction_count = interaction_count + 1 WHERE id = $1", ada)
    await other.execute("UPDATE personas SET name = 'Ada Two' WHERE id = $1", ada)
    await eventually(lambda: len(cast) == 0, "the rename to reach this process")
    # Notifications arrive in commit order: the counter's update, first, sent none.
    assert feed.notifications == heard + 1
    assert len(rules) == 1  # behaviours did not change

    await cast.get("general", Loads())  # read after the rename: kept
    assert len(cast) == 1
    await other.execute(
        "INSERT INTO channel_bindings (persona_id, guild_id, channel_id, activated_by, created_at) "
        "VALUES ($1, $2, $3, $4, now())",
        ada, ALICE.guild_id, CHANNEL, ALICE.user_id,
    )  # fmt: skip
    await eventually(lambda: len(cast) == 0, "the binding to drop the cast")


@pytest.mark.postgres
async def test_a_lost_listener_means_read_through_until_it_is_back(
    listening: tuple[Database, asyncpg.Connection],
) -> None:
    database, other = listening
    feed = database.changes
    first = feed.backend_pid
    assert first is not None
    cast = feed.cache(["personas"])
    await cast.get("general", Loads())
    generation = cast.generation

    await other.execute("SELECT pg_terminate_backend($1)", first)
    await eventually(lambda: not feed.live or feed.backend_pid != first, "the listener to notice it was cut off")
    # Whatever was kept while notifications could be missed is gone, and it listens again on a new connection.
    await eventually(lambda: feed.live and feed.backend_pid != first, "the listener to come back")
    assert len(cast) == 0 and cast.generation > generation
    heard = feed.notifications
    await _persona(database, "Bea")  # and the new listener hears changes
    await eventually(lambda: feed.notifications > heard, "a notification on the new connection")


@pytest.mark.postgres
async def test_without_the_triggers_every_read_goes_to_the_database(postgres_url: str) -> None:
    with fresh_postgres_database(postgres_url, prefix="ph_test_nochanges") as url:
        await _migrate(url)
        database = Database(url)
        try:
            async with database.engine.begin() as connection:  # a database left at migration 0007
                await connection.execute(text("DROP FUNCTION persona_hub_notify_change() CASCADE"))
            await database.changes.start()
            assert not database.changes.live
            cache = database.changes.cache(["personas"])
            loads = Loads()
            assert [await cache.get("general", loads) for _ in range(3)] == [1, 2, 3]
            assert len(cache) == 0
        finally:
            await database.dispose()


# ---------------------------------------------------------------------------------------------------- late notices


class HeldNotices:
    """Holds back the notifications that reach a database's listening connection (received, not yet handed to the
    feed): a notice still on its way, as when a Discord message overtakes it."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, database: Database) -> None:
        self.notices: list[tuple[Any, ...]] = []
        self.original = asyncpg.Connection._process_notification
        original, notices = self.original, self.notices

        def process(connection: asyncpg.Connection, pid: int, channel: str, payload: str) -> None:
            if connection.get_server_pid() == database.changes.backend_pid:
                notices.append((connection, pid, channel, payload))
            else:
                original(connection, pid, channel, payload)

        monkeypatch.setattr(asyncpg.Connection, "_process_notification", process)

    def release(self) -> None:
        for connection, pid, channel, payload in self.notices:
            self.original(connection, pid, channel, payload)
        self.notices.clear()


@pytest.mark.postgres
async def test_a_message_sees_a_binding_committed_before_it_while_the_notice_is_late(
    listening: tuple[Database, asyncpg.Connection], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The race of the scale-out test, made certain: a channel's cast is kept (nobody speaks there), another process
    binds a persona and commits, and a message naming it is looked up and planned before the notice is handled."""
    database, other = listening
    feed = database.changes
    ada = await _persona(database)
    casts = feed.cache(conversation.CAST_TABLES)

    async def read_cast() -> conversation.Cast:
        async with database.session() as session:
            return await conversation.cast(session, CHANNEL)

    assert (await casts.get(CHANNEL, read_cast)).speakers == ()
    assert len(casts) == 1
    held = HeldNotices(monkeypatch, database)
    async with other.transaction():  # what /persona activate writes
        await other.execute(
            "INSERT INTO channel_bindings (persona_id, guild_id, channel_id, activated_by, created_at) "
            "VALUES ($1, $2, $3, $4, now())",
            ada, ALICE.guild_id, CHANNEL, ALICE.user_id,
        )  # fmt: skip
        await other.execute("UPDATE personas SET is_active = true WHERE id = $1", ada)
    await eventually(
        lambda: len(held.notices) == 2, "the notices to reach the listening connection (and be held there)"
    )

    cast = await casts.get(CHANNEL, read_cast)  # the message arrives now
    assert [s.name for s in cast.speakers] == ["Ada"]
    incoming = conversation.Incoming(
        message_id=1, guild_id=ALICE.guild_id, channel_id=CHANNEL, author_id=2002, author_name="Bob",
        content="Ada, are you there?", created_at=utcnow(),
    )  # fmt: skip
    async with database.reads() as session:
        plan = await conversation.plan(
            session, incoming, cast.speakers, history=[], exchange_depth=0, random_value=0.5, now=utcnow(), cast=cast
        )
    assert [job.speaker.persona_id for job in plan.jobs] == [ada]

    held.release()  # the late notice changes nothing more: the next message reads what is kept
    await asyncio.sleep(0.05)
    misses = casts.misses
    assert [s.name for s in (await casts.get(CHANNEL, read_cast)).speakers] == ["Ada"]
    assert [s.name for s in (await casts.get(CHANNEL, read_cast)).speakers] == ["Ada"]
    assert casts.misses <= misses + 1


@pytest.mark.postgres
async def test_lookups_waiting_together_share_one_counter_read(listening: tuple[Database, asyncpg.Connection]) -> None:
    database, _other = listening
    feed = database.changes
    cache = feed.cache(["personas"])
    await cache.get("general", Loads())
    before = feed.syncs
    values = await asyncio.gather(*(cache.get("general", Loads()) for _ in range(20)))
    assert values == [1] * 20 and cache.hits == 20
    assert 1 <= feed.syncs - before <= 2  # one read, or one more for those that came while it was on its way


@pytest.mark.postgres
async def test_one_messages_lookups_share_the_counter_read_made_since_it_arrived_and_no_older_one(
    listening: tuple[Database, asyncpg.Connection], monkeypatch: pytest.MonkeyPatch
) -> None:
    database, other = listening
    feed = database.changes
    ada = await _persona(database)
    casts, books = feed.cache(["personas"]), feed.cache(lore.LORE_TABLES)
    await casts.get("general", Loads())
    kept = Loads()
    await books.get(("persona",), kept)
    loop = asyncio.get_running_loop()

    arrived = loop.time()  # a message: the cast's lookup reads the counter, the lore's needs no read of its own
    await casts.get("general", Loads())
    syncs = feed.syncs
    assert await books.as_of(arrived).get(("persona",), kept) == 1
    assert feed.syncs == syncs and kept.count == 1

    held = HeldNotices(monkeypatch, database)  # another process changes what lore reads; its notice is late
    try:
        await other.execute("UPDATE personas SET name = 'Ada Two' WHERE id = $1", ada)
        await eventually(lambda: len(held.notices) == 1, "the notice to reach the listening connection (and be held)")
        later = loop.time()  # the next message: the read made for the last one is older than it, so it reads again
        assert await books.as_of(later).get(("persona",), kept) == 2
        assert feed.syncs >= syncs + 1 and kept.count == 2
    finally:
        held.release()


@pytest.mark.postgres
async def test_one_transaction_counts_once_at_commit_and_a_rollback_not_at_all(
    listening: tuple[Database, asyncpg.Connection],
) -> None:
    database, other = listening
    feed = database.changes
    ada = await _persona(database)
    start = await other.fetchval("SELECT value FROM change_sequence")
    heard = feed.notifications
    async with other.transaction():
        await other.execute("UPDATE personas SET name = 'Ada Two' WHERE id = $1", ada)
        await other.execute("UPDATE personas SET description = 'x' WHERE id = $1", ada)
        await other.execute(
            "INSERT INTO custom_behaviors (persona_id, name, trigger_kind, trigger_config, action_kind, "
            "action_config, enabled, created_at) VALUES ($1, 'wave', 'keywords', '{}', 'reaction', '{}', true, now())",
            ada,
        )
        # Counted at commit (deferred), so the row is not locked while the transaction works.
        assert await other.fetchval("SELECT value FROM change_sequence") == start
    assert await other.fetchval("SELECT value FROM change_sequence") == start + 1
    await eventually(lambda: feed.notifications >= heard + 2, "a notice per table")
    assert feed.heard == start + 1 and feed.notifications == heard + 2
    try:
        async with other.transaction():
            await other.execute("UPDATE personas SET name = 'Ada Three' WHERE id = $1", ada)
            raise RuntimeError("rolled back")
    except RuntimeError:
        pass
    assert await other.fetchval("SELECT value FROM change_sequence") == start + 1
    assert await feed.sync() and feed.heard == start + 1
