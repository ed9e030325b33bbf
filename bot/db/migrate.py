"""Running migrations from code: at start, from the command line, and in tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


FULL_TEXT_INDEXES = frozenset(
    {"ix_memories_content_fts", "ix_memories_content_search", "ix_memories_persona_content_search"}
)
FULL_TEXT_COLUMNS = frozenset({("memories", "content_search")})  # PostgreSQL's stored search vector (0007)
HAND_MADE_TABLES = frozenset({"apscheduler_jobs", "change_sequence"})  # APScheduler's; the change counter (0012)


def include_object(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    """What migrations and the schema comparison look at: our tables, not APScheduler's, and not the full-text
    search structures that migrations 0003, 0007 and 0009 make by hand (SQLite's FTS5 table, PostgreSQL's search
    vector column and its indexes), nor PostgreSQL's change counter (0012)."""
    if type_ == "table" and (name in HAND_MADE_TABLES or (name or "").startswith("memories_fts")):
        return False
    if type_ == "index" and name in FULL_TEXT_INDEXES:
        return False
    if type_ == "column" and (getattr(getattr(obj, "table", None), "name", None), name) in FULL_TEXT_COLUMNS:
        return False
    return True


def alembic_config(database_url: str | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if database_url:
        config.set_main_option("sqlalchemy.url", database_url)
    return config


async def _with_connection(engine: AsyncEngine, action: Any) -> Any:
    async with engine.connect() as connection:
        result = await connection.run_sync(action)
        await connection.commit()
    return result


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Bring the schema up to ``revision``."""

    def run(connection: Connection) -> None:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.upgrade(config, revision)

    await _with_connection(engine, run)


async def downgrade(engine: AsyncEngine, revision: str = "-1") -> None:
    """Step the schema down to ``revision`` (``base`` removes every table)."""

    def run(connection: Connection) -> None:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.downgrade(config, revision)

    await _with_connection(engine, run)


async def current(engine: AsyncEngine) -> str | None:
    """The revision the database is at, or None when it has never been migrated."""

    def run(connection: Connection) -> str | None:
        return MigrationContext.configure(connection).get_current_revision()

    async with engine.connect() as connection:
        return await connection.run_sync(run)


def head() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


async def schema_differences(engine: AsyncEngine) -> list[Any]:
    """What autogenerate would change between the models and the live schema ([] when they agree)."""

    def run(connection: Connection) -> list[Any]:
        context = MigrationContext.configure(connection, opts={"compare_type": True, "include_object": include_object})
        from bot.db.models import metadata

        return list(compare_metadata(context, metadata))

    async with engine.connect() as connection:
        return await connection.run_sync(run)
