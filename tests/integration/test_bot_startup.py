"""The bot's setup_hook against a temporary database, without Discord: migrations, cogs, scheduler, shutdown."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest
from apscheduler.schedulers.base import STATE_PAUSED
from sqlalchemy import select, text

from bot.app import PersonaHubBot, cog_modules
from bot.clock import utcnow
from bot.config import load_settings
from bot.db import migrate, models
from bot.llm import embeddings
from bot.llm.embeddings import WordLlamaEmbedder
from bot.runtime import scheduling
from bot.services.memories import vectors


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)  # no developer .env
    return load_settings(database_url=f"sqlite+aiosqlite:///{tmp_path}/bot.db", scheduler_enabled=True)


async def test_setup_hook_migrates_loads_cogs_and_runs_the_scheduler(settings) -> None:
    bot = PersonaHubBot(settings)
    await bot.__aenter__()  # what `async with bot` does before login: the loop-bound parts
    embeddings._wordllama.cache_clear()  # as in a new process: nothing loaded
    await bot.setup_hook()
    try:
        assert await migrate.current(bot.db.engine) == migrate.head()
        assert set(cog_modules()) <= set(bot.extensions)
        assert bot.tree.get_command("about") is not None
        assert bot.scheduler is not None and bot.scheduler.running
        # The embedded model is loaded before the gateway connection, not by the first member's message.
        assert isinstance(vectors.embedder(), WordLlamaEmbedder) and vectors.embedder().ready
        assert {"maintenance:expire-wizard-drafts", "memory:decay", "memory:summaries", "memory:embed-backfill"} <= {
            job.id for job in bot.scheduler.get_jobs()
        }
        # The job store is the bot's own database.
        async with bot.db.session() as session:
            stored = (await session.execute(text("SELECT id FROM apscheduler_jobs"))).scalars().all()
        assert "maintenance:expire-wizard-drafts" in stored
    finally:
        await bot.close()
    assert not bot.scheduler.running
    with pytest.raises(RuntimeError):
        scheduling.runtime()


async def test_a_restart_keeps_one_copy_of_each_job(settings) -> None:
    for _ in range(2):
        bot = PersonaHubBot(settings)
        await bot.__aenter__()
        await bot.setup_hook()
        await bot.close()
    bot = PersonaHubBot(settings)
    await bot.__aenter__()  # what `async with bot` does before login: the loop-bound parts
    await bot.setup_hook()
    try:
        async with bot.db.session() as session:
            count = (
                await session.execute(
                    text("SELECT count(*) FROM apscheduler_jobs WHERE id = 'maintenance:expire-wizard-drafts'")
                )
            ).scalar_one()
        assert count == 1
    finally:
        await bot.close()


async def test_the_drafts_job_removes_only_expired_drafts(settings) -> None:
    bot = PersonaHubBot(settings)
    await bot.__aenter__()  # what `async with bot` does before login: the loop-bound parts
    await bot.setup_hook()
    try:
        now = utcnow()
        async with bot.db.transaction() as session:
            session.add_all(
                [
                    models.WizardDraft(user_id=1, expires_at=now - timedelta(minutes=1)),
                    models.WizardDraft(user_id=2, expires_at=now + timedelta(hours=23)),
                ]
            )
        assert await scheduling.expire_wizard_drafts() == 1
        assert await scheduling.expire_wizard_drafts() == 0  # idempotent
        async with bot.db.session() as session:
            left = (await session.execute(select(models.WizardDraft.user_id))).scalars().all()
        assert left == [2]
    finally:
        await bot.close()


async def test_without_the_scheduler_setting_jobs_are_stored_but_not_run(settings) -> None:
    bot = PersonaHubBot(settings.model_copy(update={"scheduler_enabled": False}))
    await bot.__aenter__()
    await bot.setup_hook()
    try:
        assert bot.scheduler is not None and bot.scheduler.state == STATE_PAUSED and not bot.runs_scheduler
        # It can still schedule work for whichever process runs the scheduler: the job lands in the shared store.
        bot.scheduler.add_job(scheduling.wakeup, "date", run_date=utcnow(), id="test:due-now")
        async with bot.db.session() as session:
            stored = (await session.execute(text("SELECT id FROM apscheduler_jobs"))).scalars().all()
        assert "test:due-now" in stored
        await asyncio.sleep(0.2)
        assert bot.scheduler.get_job("test:due-now") is not None  # due, but nobody here runs it
    finally:
        await bot.close()
