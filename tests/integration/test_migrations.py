"""Migrations are the only way the schema is made: up, down, up again, and no difference from the models."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import column as sa_column
from sqlalchemy import insert as sa_insert
from sqlalchemy import inspect
from sqlalchemy import table as sa_table

from bot.clock import utcnow
from bot.db import migrate, models
from bot.db.engine import Database, make_engine
from bot.db.models import metadata
from tests.conftest import fresh_postgres_database

# Persona columns added after a revision: a test that writes rows at that revision leaves them out.
PERSONA_COLUMNS_SINCE = {
    "0013": (
        "personality_text",
        "scenario",
        "example_dialogue",
        "greeting",
        "alternate_greetings",
        "system_prompt",
        "post_history_instructions",
        "creator_notes",
        "nickname",
    ),
}


async def _persona_at(session: Any, revision: str, **values: Any) -> int:
    """Insert a persona row as the schema at ``revision`` has it (the model's defaults for the rest)."""
    later = {name for since, names in PERSONA_COLUMNS_SINCE.items() if since > revision for name in names}
    full = models.Persona.__table__
    kept = [c for c in full.columns if c.name not in later and c.name != "id"]
    row: dict[str, Any] = {}
    for c in kept:
        if c.default is not None:
            arg = c.default.arg  # type: ignore[attr-defined]
            row[c.name] = arg(None) if callable(arg) else arg
    row.update(values)
    old = sa_table("personas", sa_column("id"), *(sa_column(c.name, c.type) for c in kept))
    result = await session.execute(sa_insert(old).values(**row).returning(old.c.id))
    return int(result.scalar_one())


async def _table_names(engine) -> set[str]:
    async with engine.connect() as connection:
        return set(await connection.run_sync(lambda c: inspect(c).get_table_names()))


async def _round_trip(url: str) -> None:
    engine = make_engine(url)
    try:
        assert await migrate.current(engine) is None
        await migrate.upgrade(engine)
        assert await migrate.current(engine) == migrate.head()
        assert {t.name for t in metadata.sorted_tables} <= await _table_names(engine)
        assert await migrate.schema_differences(engine) == []

        await migrate.downgrade(engine, "base")
        assert await migrate.current(engine) is None
        assert not ({t.name for t in metadata.sorted_tables} & await _table_names(engine))

        await migrate.upgrade(engine)
        assert await migrate.current(engine) == migrate.head()
        assert await migrate.schema_differences(engine) == []
    finally:
        await engine.dispose()


async def test_sqlite_upgrade_downgrade_upgrade_without_diff(sqlite_url: str) -> None:
    await _round_trip(sqlite_url)


@pytest.mark.postgres
async def test_postgresql_upgrade_downgrade_upgrade_without_diff(postgres_url: str) -> None:
    with fresh_postgres_database(postgres_url, prefix="ph_migrations") as url:
        await _round_trip(url)


async def test_a_model_change_without_a_migration_is_detected(sqlite_url: str) -> None:
    """The no-diff check can fail: a column added to the models alone shows up as a difference."""
    from sqlalchemy import Column, Integer

    engine = make_engine(sqlite_url)
    table = metadata.tables["guild_settings"]
    column = Column("not_migrated", Integer, nullable=True)
    try:
        await migrate.upgrade(engine)
        table.append_column(column)
        differences = await migrate.schema_differences(engine)
        assert any(d[0] == "add_column" and d[3].name == "not_migrated" for d in differences)
    finally:
        table._columns.remove(column)  # leave the shared metadata as it was
        await engine.dispose()


@pytest.mark.postgres
async def test_postgresql_search_vector_is_backfilled_and_follows_content_only(postgres_url: str) -> None:
    """0007 fills ``content_search`` for memories made before it; afterwards the trigger sets it on insert and on a
    change of content, and leaves it alone when only the strength changes (the decay job's update)."""
    from sqlalchemy import text

    with fresh_postgres_database(postgres_url, prefix="ph_migrations") as url:
        engine = make_engine(url)
        try:
            await migrate.upgrade(engine, "0006")
            database = Database(url)  # memories are the same at 0006 (0007 adds what the model does not name)
            try:
                async with database.transaction() as session:
                    persona_id = await _persona_at(session, "0006", name="Ada", owner_id=2, guild_id=1)
                    now = utcnow()
                    session.add(
                        models.Memory(persona_id=persona_id, content="the lighthouse keeper", category="conversation",
                                      importance=5, created_at=now, last_accessed_at=now)
                    )  # fmt: skip
            finally:
                await database.dispose()
            await migrate.upgrade(engine)

            async def matches(word: str) -> int:
                async with engine.connect() as connection:
                    query = text(
                        "SELECT count(*) FROM memories WHERE content_search @@ memory_search_query(persona_id, :w)"
                    )
                    return int((await connection.execute(query, {"w": word})).scalar_one())

            async def run(sql: str) -> None:
                async with engine.begin() as connection:
                    await connection.execute(text(sql))

            assert await matches("lighthouse") == 1  # backfilled
            await run(
                "INSERT INTO memories (persona_id, content, category, importance, strength, stability, tier, pinned, "
                "sensitive, encrypted, created_at, last_accessed_at, access_count) SELECT persona_id, 'a harbour "
                "at night', category, 5, 1, 1, 'warm', false, false, false, now(), now(), 0 FROM memories"
            )
            assert (await matches("harbour"), await matches("lighthouse")) == (1, 1)  # set on insert
            await run("UPDATE memories SET content = 'the lamp room' WHERE content LIKE 'the lighthouse%'")
            assert (await matches("lighthouse"), await matches("lamp")) == (0, 1)  # follows a change of content
            await run("UPDATE memories SET content_search = NULL WHERE content = 'the lamp room'")
            await run("UPDATE memories SET strength = 0.5")
            assert await matches("lamp") == 0  # a strength update does not run the trigger
            await migrate.downgrade(engine, "0006")
            async with engine.connect() as connection:
                columns = await connection.run_sync(lambda c: {x["name"] for x in inspect(c).get_columns("memories")})
            assert "content_search" not in columns
        finally:
            await engine.dispose()


@pytest.mark.postgres
async def test_postgresql_search_words_are_keyed_by_their_persona(postgres_url: str) -> None:
    """0027 keys every stored stem by the memory's persona: memories made before it are keyed by the upgrade, a word
    matches one persona's memories only, and moving a memory to another persona or changing its text keys it again.
    A stop word matches nothing; quotes and backslashes in a word cannot break out of the query."""
    from sqlalchemy import text

    with fresh_postgres_database(postgres_url, prefix="ph_migrations") as url:
        engine = make_engine(url)
        try:
            await migrate.upgrade(engine, "0026")
            database = Database(url)
            try:
                async with database.transaction() as session:
                    ada = await _persona_at(session, "0026", name="Ada", owner_id=2, guild_id=1)
                    bob = await _persona_at(session, "0026", name="Bob", owner_id=2, guild_id=1)
                    now = utcnow()
                    for persona_id, content in ((ada, "the lighthouses at dusk"), (bob, "a lighthouse keeper")):
                        session.add(
                            models.Memory(persona_id=persona_id, content=content, category="conversation",
                                          importance=5, created_at=now, last_accessed_at=now)
                        )  # fmt: skip
            finally:
                await database.dispose()
            await migrate.upgrade(engine)

            async def contents(persona_id: int, word: str) -> list[str]:
                sql = "SELECT content FROM memories WHERE content_search @@ memory_search_query(:p, :w) ORDER BY id"
                async with engine.connect() as connection:
                    return list((await connection.execute(text(sql), {"p": persona_id, "w": word})).scalars())

            async def run(sql: str, **params: Any) -> None:
                async with engine.begin() as connection:
                    await connection.execute(text(sql), params)

            assert await contents(ada, "lighthouse") == ["the lighthouses at dusk"]  # keyed by the upgrade, stemmed
            assert await contents(bob, "Lighthouses") == ["a lighthouse keeper"]
            assert await contents(ada, "keeper") == []  # Bob's word
            await run("UPDATE memories SET persona_id = :p WHERE content = 'a lighthouse keeper'", p=ada)
            assert (await contents(ada, "keeper"), await contents(bob, "keeper")) == (["a lighthouse keeper"], [])
            await run("UPDATE memories SET content = 'the harbour at dusk' WHERE content LIKE 'the lighthouses%'")
            assert await contents(ada, "harbour") == ["the harbour at dusk"]
            assert await contents(ada, "lighthouse") == ["a lighthouse keeper"]
            assert await contents(ada, "the") == []  # a stop word: no query, no match
            # Bob has no memory left: a word that broke out of its quotes would reach Ada's "harbour".
            for hostile in (f"x' | '{ada}:harbour", f"x\\' | '{ada}:harbour", f"x'' | ''{ada}:harbour"):
                assert await contents(bob, hostile) == []
        finally:
            await engine.dispose()


async def test_postgresql_change_triggers_and_the_persona_search_index_come_and_go(postgres_url: str) -> None:
    """0008's NOTIFY triggers; 0027's index over the persona-keyed search vector alone, 0009's (persona, search vector)
    index in its place below 0027, 0007's below 0009. That a persona's search uses the index is measured by
    ``bench_chat``."""
    from sqlalchemy import text

    async def names(sql: str) -> set[str]:
        async with engine.connect() as connection:
            return {row[0] for row in (await connection.execute(text(sql))).all()}

    indexes = "SELECT indexname FROM pg_indexes WHERE tablename = 'memories'"
    triggers = "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal"
    with fresh_postgres_database(postgres_url, prefix="ph_migrations") as url:
        engine = make_engine(url)
        try:
            await migrate.upgrade(engine)
            assert {"channel_bindings_notify_change", "custom_behaviors_notify_change", "personas_notify_change"} <= (
                await names(triggers)
            )
            definitions = "SELECT indexdef FROM pg_indexes WHERE tablename = 'memories'"
            found = await names(indexes)
            assert "ix_memories_content_search" in found and "ix_memories_persona_content_search" not in found
            assert any("USING gin (content_search)" in d for d in await names(definitions))

            await migrate.downgrade(engine, "0026")
            found = await names(indexes)
            assert "ix_memories_persona_content_search" in found and "ix_memories_content_search" not in found
            assert any("USING gin (persona_id, content_search)" in d for d in await names(definitions))
            assert not await names("SELECT proname FROM pg_proc WHERE proname LIKE 'memory_search_%'")

            await migrate.downgrade(engine, "0007")
            found = await names(indexes)
            assert "ix_memories_content_search" in found and "ix_memories_persona_content_search" not in found
            assert not {t for t in await names(triggers) if t.endswith("_notify_change")}
            assert not await names("SELECT proname FROM pg_proc WHERE proname = 'persona_hub_notify_change'")
        finally:
            await engine.dispose()


async def test_postgresql_change_counter_comes_and_goes(postgres_url: str) -> None:
    """0012's change counter: its table, and row triggers deferred to commit (a TRUNCATE trigger besides) after
    upgrading; 0008's statement triggers and no counter after downgrading. What it does: tests/integration/
    test_changes.py."""
    from sqlalchemy import text

    async def rows(sql: str) -> set[tuple[object, ...]]:
        async with engine.connect() as connection:
            return {tuple(row) for row in (await connection.execute(text(sql))).all()}

    triggers = "SELECT tgname, tgdeferrable FROM pg_trigger WHERE NOT tgisinternal AND tgname LIKE 'personas_%'"
    with fresh_postgres_database(postgres_url, prefix="ph_migrations") as url:
        engine = make_engine(url)
        try:
            await migrate.upgrade(engine)
            assert await rows("SELECT id, value FROM change_sequence") == {(1, 0)}
            assert await rows(triggers) == {("personas_notify_change", True), ("personas_notify_truncate", False)}
            await migrate.downgrade(engine, "0011")
            assert "change_sequence" not in await _table_names(engine)
            assert await rows(triggers) == {("personas_notify_change", False)}
            await migrate.upgrade(engine)
            assert await migrate.schema_differences(engine) == []
        finally:
            await engine.dispose()
