"""Migration 0015 moves the card fields an earlier import kept in legacy settings into the character columns."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from bot.db import migrate, models
from bot.db.engine import Database, make_engine
from tests.conftest import fresh_postgres_database
from tests.integration.test_migrations import _persona_at

KEPT = {
    "description": "A guardian of the forest.",
    "personality": "kind",
    "scenario": "Her glade.",
    "first_mes": "You're awake.",
    "alternate_greetings": ["Hello."],
    "nickname": "Sera",
    "tags": ["fantasy"],
    "character_book": {"entries": []},
}


async def _check(url: str) -> None:
    engine = make_engine(url)
    try:
        await migrate.upgrade(engine, "0013")
        database = Database(url)
        try:
            async with database.transaction() as session:
                merged = "A guardian of the forest.\n\nPersonality: kind\n\nScenario: Her glade."
                imported = await _persona_at(
                    session, "0013", name="Sera", owner_id=2, guild_id=1, description=merged,
                    legacy_settings={"card": KEPT, "epitaph": "kept"},
                )  # fmt: skip
                edited = await _persona_at(
                    session, "0013", name="Edited", owner_id=2, guild_id=1, description="Rewritten by the owner.",
                    legacy_settings={"card": {"description": "Old.", "scenario": "S"}},
                )  # fmt: skip
        finally:
            await database.dispose()
        await migrate.upgrade(engine)
        async with engine.connect() as connection:
            rows = {
                row.id: row
                for row in await connection.execute(
                    text("SELECT id, description, personality_text, scenario, greeting, nickname FROM personas")
                )
            }
        assert (rows[imported].description, rows[imported].personality_text, rows[imported].scenario) == (
            "A guardian of the forest.", "kind", "Her glade.",
        )  # fmt: skip
        assert (rows[imported].greeting, rows[imported].nickname) == ("You're awake.", "Sera")
        assert (rows[edited].description, rows[edited].scenario) == ("Rewritten by the owner.", "S")
        database = Database(url)
        try:
            async with database.session() as session:
                row = await session.get(models.Persona, imported)
                assert row is not None and row.alternate_greetings == ["Hello."]
                assert row.legacy_settings == {
                    "epitaph": "kept",
                    "card": {"tags": ["fantasy"], "character_book": {"entries": []}},
                }
                other = await session.get(models.Persona, edited)
                assert other is not None and other.legacy_settings is None
        finally:
            await database.dispose()
        await migrate.downgrade(engine, "0013")
    finally:
        await engine.dispose()


async def test_sqlite(sqlite_url: str) -> None:
    await _check(sqlite_url)


@pytest.mark.postgres
async def test_postgresql(postgres_url: str) -> None:
    with fresh_postgres_database(postgres_url, prefix="ph_cardmig") as url:
        await _check(url)
