"""Migrations are the only way the schema is made: up, down, up again, and no difference from the models."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect

from bot.db import migrate
from bot.db.engine import make_engine
from bot.db.models import metadata
from tests.conftest import fresh_postgres_database


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
