"""Exactly one scheduler per PostgreSQL database; a standby takes over when the leader dies."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import text

from bot.app import PersonaHubBot
from bot.config import load_settings
from bot.db.engine import Database
from bot.runtime.leadership import SchedulerLeadership

pytestmark = pytest.mark.postgres


async def _wait_for(predicate, timeout: float, what: str) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def test_one_leader_and_a_standby_that_takes_over_when_the_leader_dies(migrated_postgres: str) -> None:
    first_db, second_db, admin = Database(migrated_postgres), Database(migrated_postgres), Database(migrated_postgres)
    first = SchedulerLeadership(first_db, key=4242, retry_seconds=0.1)
    second = SchedulerLeadership(second_db, key=4242, retry_seconds=0.1)
    took_over = asyncio.Event()

    async def on_leading() -> None:
        took_over.set()

    try:
        assert await first.try_acquire() and first.is_leader
        assert not await second.try_acquire() and not second.is_leader
        second.stand_by(on_leading)
        await asyncio.sleep(0.3)
        assert not took_over.is_set()  # the leader is alive: the standby waits

        # The leader's process dies: PostgreSQL ends its session, and the lock goes with it.
        async with admin.engine.connect() as connection:
            killed = await connection.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_locks "
                    "WHERE locktype = 'advisory' AND objid = 4242 AND granted"
                )
            )
            assert killed.scalars().all() == [True]
        await asyncio.wait_for(took_over.wait(), timeout=5)
        assert second.is_leader
    finally:
        await second.release()
        await first.release()  # its session was terminated above: release copes with a dead connection
        for database in (first_db, second_db, admin):
            await database.dispose()


async def test_two_bots_on_one_database_run_one_scheduler(
    migrated_postgres: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    settings = load_settings(database_url=migrated_postgres, scheduler_enabled=True, auto_migrate=False)
    first, second = PersonaHubBot(settings), PersonaHubBot(settings)
    for bot in (first, second):
        await bot.__aenter__()
        await bot.setup_hook()
    try:
        assert first.runs_scheduler and not second.runs_scheduler
        second.leadership.retry_seconds = 0.1  # the next look comes after the current 5 s wait at most
        await first.close()
        await _wait_for(lambda: second.runs_scheduler, 10, "the standby to take over")
    finally:
        await second.close()
