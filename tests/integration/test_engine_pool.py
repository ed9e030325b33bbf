"""The PostgreSQL pool replaces connections the server closed, without a query per checkout."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.engine import Database

pytestmark = pytest.mark.postgres


async def _backend_pids(database: Database) -> set[int]:
    pids = set()
    async with database.engine.connect() as first, database.engine.connect() as second:
        for connection in (first, second):
            pids.add(int((await connection.execute(text("SELECT pg_backend_pid()"))).scalar_one()))
    return pids


async def test_a_connection_the_server_closed_is_replaced_at_checkout(migrated_postgres: str) -> None:
    database = Database(migrated_postgres)
    statements: list[str] = []
    try:
        pooled = await _backend_pids(database)  # two connections now wait in the pool
        assert len(pooled) == 2
        admin = Database(migrated_postgres)  # the server ends both (as a restart would)
        try:
            async with admin.session() as session:
                query = text("SELECT pg_terminate_backend(pid) FROM unnest(CAST(:p AS int[])) AS pid")
                await session.execute(query, {"p": list(pooled)})
        finally:
            await admin.dispose()
        await asyncio.sleep(0.5)  # the client sees the sockets close (loopback: at once)

        event.listen(database.engine.sync_engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
        fresh = await _backend_pids(database)  # no error: closed connections were swapped for new ones
        assert fresh and not (fresh & pooled)
        async with database.session() as session:
            assert (await session.execute(text("SELECT 41 + 1"))).scalar_one() == 42
        # No liveness query at checkout (pool_pre_ping would add a "SELECT 1" before each of these).
        assert [s for s in statements if s.strip().upper() == "SELECT 1"] == []
    finally:
        await database.dispose()


async def test_reads_run_outside_a_transaction_and_transactions_still_do_not(migrated_postgres: str) -> None:
    """``Database.reads`` costs no BEGIN/ROLLBACK: each statement is its own transaction (``now()`` moves between
    two statements), while a transaction's statements share one (``now()`` stands still). A reads session hands
    its connection back in the default mode."""
    database = Database(migrated_postgres)
    try:

        async def two_nows(session: AsyncSession) -> tuple[object, object]:
            first = (await session.execute(text("SELECT now()"))).scalar_one()
            await asyncio.sleep(0.02)
            return first, (await session.execute(text("SELECT now()"))).scalar_one()

        async with database.reads() as session:
            first, second = await two_nows(session)
        assert first != second
        async with database.transaction() as session:
            first, second = await two_nows(session)
        assert first == second
        async with database.session() as session:
            first, second = await two_nows(session)
        assert first == second
    finally:
        await database.dispose()
