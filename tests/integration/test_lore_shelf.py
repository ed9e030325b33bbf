"""The lore books the conversation keeps prepared (a shelf: ``bot.db.changes`` cache of ``lore.LORE_TABLES``), on
SQLite and PostgreSQL: a second reply takes them from the shelf, and an entry added, edited or removed (in this
process, or on PostgreSQL by another one), or a book replaced by a card, is seen by the very next reply."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import asyncpg
import pytest

from bot.core.lore import BookRules, LoreEntry, ScanMessage
from bot.db.engine import Database
from bot.services import lore, personas
from bot.services.personas import Actor, PersonaInput
from tests.conftest import _empty_all_tables, _libpq

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
GUILD, CHANNEL = 100, 200
ALICE = 11
MANAGER = Actor(13, GUILD, can_manage_guild=True)


def draft(*keys: str, content: str = "Dragons hoard gold.") -> LoreEntry:
    return LoreEntry(id=0, keys=keys or ("dragon",), content=content)


async def _persona(database: Database) -> int:
    async with database.transaction() as session:
        record = await personas.create(session, Actor(ALICE, GUILD), PersonaInput(name="Ada"), now=NOW)
    return record.id


async def _texts(database: Database, shelf: lore.LoreShelf, persona_id: int, text: str = "a dragon!") -> list[str]:
    async with database.reads() as session:
        found = await lore.activated_lore(session, persona_id, GUILD, CHANNEL, [ScanMessage(text, 5)], NOW, shelf=shelf)
    return [t.text for t in found.texts]


async def test_prepared_books_are_kept_and_every_change_is_seen_by_the_next_reply(database: Database) -> None:
    await database.changes.start()  # PostgreSQL: listen for changes (the bot does this when it starts)
    shelf: lore.LoreShelf = database.changes.cache(lore.LORE_TABLES, size=10)
    ada = await _persona(database)
    mine = lore.Where("persona", persona_id=ada)
    assert await _texts(database, shelf, ada) == []
    async with database.transaction() as session:
        added = await lore.add_entry(session, Actor(ALICE, GUILD), mine, draft(), now=NOW)
    assert await _texts(database, shelf, ada) == ["Dragons hoard gold."]
    misses = shelf.misses
    assert await _texts(database, shelf, ada) == ["Dragons hoard gold."]
    assert (shelf.misses, shelf.hits > 0) == (misses, True)  # the second reply read no book

    async with database.transaction() as session:
        await lore.edit_entry(
            session, Actor(ALICE, GUILD), mine, added.id, {"content": "Dragons sleep on gold."}, now=NOW
        )
    assert await _texts(database, shelf, ada) == ["Dragons sleep on gold."]
    async with database.transaction() as session:
        await lore.edit_entry(session, Actor(ALICE, GUILD), mine, added.id, {"enabled": False}, now=NOW)
    assert await _texts(database, shelf, ada) == []
    async with database.transaction() as session:
        await lore.edit_entry(session, Actor(ALICE, GUILD), mine, added.id, {"enabled": True}, now=NOW)
        await lore.add_entry(session, MANAGER, lore.Where("server"), draft(content="Server lore."), now=NOW)
    assert sorted(await _texts(database, shelf, ada)) == ["Dragons sleep on gold.", "Server lore."]
    async with database.transaction() as session:
        await lore.remove_entry(session, Actor(ALICE, GUILD), mine, added.id)
    assert await _texts(database, shelf, ada) == ["Server lore."]


@pytest.fixture
async def listening(migrated_postgres: str) -> AsyncIterator[tuple[Database, asyncpg.Connection]]:
    """A database whose feed listens, and a plain asyncpg connection: not SQLAlchemy, so its writes reach this
    process only as another process's would, by NOTIFY (migration 0020's triggers on the lore tables)."""
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
async def test_a_change_made_by_another_process_is_seen_by_the_next_reply(
    listening: tuple[Database, asyncpg.Connection],
) -> None:
    """Another process's commit reaches the shelf by notification, or by the change counter when the notification
    is late: either way the next reply sees it."""
    database, other = listening
    shelf: lore.LoreShelf = database.changes.cache(lore.LORE_TABLES, size=10)
    ada = await _persona(database)
    mine = lore.Where("persona", persona_id=ada)
    async with database.transaction() as session:
        added = await lore.add_entry(session, Actor(ALICE, GUILD), mine, draft(), now=NOW)
    assert await _texts(database, shelf, ada) == ["Dragons hoard gold."]
    await other.execute("UPDATE lore_entries SET content = 'Dragons sleep on gold.' WHERE id = $1", added.id)
    assert await _texts(database, shelf, ada) == ["Dragons sleep on gold."]
    await other.execute("UPDATE lore_books SET token_budget = 1 WHERE persona_id = $1", ada)
    assert await _texts(database, shelf, ada) == []  # over the book's budget now
    await other.execute("UPDATE lore_books SET token_budget = 600 WHERE persona_id = $1", ada)
    assert await _texts(database, shelf, ada) == ["Dragons sleep on gold."]
    await other.execute("DELETE FROM lore_books WHERE persona_id = $1", ada)
    assert await _texts(database, shelf, ada) == []
    async with database.transaction() as session:  # a card's book replaces the persona's
        entry = draft("wyrm", content="Wyrms are old.")
        await lore.replace_persona_book(session, ada, GUILD, BookRules(), [(entry, {})], {}, now=NOW)
    assert await _texts(database, shelf, ada, "the wyrm!") == ["Wyrms are old."]
