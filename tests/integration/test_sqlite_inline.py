"""Plain ``sqlite3`` on a session's own connection (``bot.db.sqlite_inline.on_session``): memory retrieval reads its
candidates that way, so it must see what the session sees (its own transaction's writes included), run where the
session's statements run (inline on the loop; in a worker thread inside ``in_worker_thread``), and refuse a session
it cannot serve."""

from __future__ import annotations

import sqlite3
import threading

import pytest
from sqlalchemy import text

from bot.db.engine import Database
from bot.db.sqlite_inline import in_worker_thread, on_session


def _count_and_thread(connection: sqlite3.Connection) -> tuple[int, int]:
    (count,) = connection.execute("SELECT count(*) FROM guild_settings WHERE guild_id = 4242").fetchone()
    return int(count), threading.get_ident()


async def test_raw_reads_see_the_sessions_own_transaction_on_its_thread(sqlite_url: str) -> None:
    database = Database(sqlite_url)
    try:
        async with database.transaction() as session:
            await session.execute(text("CREATE TABLE guild_settings (guild_id INTEGER PRIMARY KEY)"))
        async with database.transaction() as session:
            await session.execute(text("INSERT INTO guild_settings (guild_id) VALUES (4242)"))
            # Not committed yet: only the session's own connection sees the row.
            inline = await on_session(session, _count_and_thread)
            with in_worker_thread():
                threaded = await on_session(session, _count_and_thread)
            other = sqlite3.connect(sqlite_url.split("///", 1)[1])
            try:
                (outside,) = other.execute("SELECT count(*) FROM guild_settings").fetchone()
            finally:
                other.close()
        assert inline == (1, threading.get_ident())
        assert threaded[0] == 1 and threaded[1] != threading.get_ident()
        assert outside == 0
    finally:
        await database.dispose()


@pytest.mark.parametrize("database", ["postgresql"], indirect=True)
async def test_a_session_of_another_database_is_refused(database: Database) -> None:
    async with database.session() as session:
        with pytest.raises(TypeError, match="SQLite"):
            await on_session(session, _count_and_thread)
