"""APScheduler 3: the persistent job store and the job entry points.

Jobs are module-level functions that take ids, so the job store can persist them and any process can run them;
they reach the running bot's services through :func:`runtime`. Every job has an explicit id and is added with
``replace_existing``, so registering at each start never duplicates a job. Jobs are idempotent: state transitions are
guarded in the database, so a job that fires twice changes nothing the second time.
"""

from __future__ import annotations

import logging
from datetime import UTC, timedelta
from typing import TYPE_CHECKING, Any

from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.asyncio import AsyncIOScheduler

if TYPE_CHECKING:
    from bot.app import PersonaHubBot

log = logging.getLogger(__name__)

JOB_TABLE = "apscheduler_jobs"
_runtime: PersonaHubBot | None = None


def sync_database_url(database_url: str) -> str:
    """APScheduler 3's job store is synchronous: the same database through a sync driver."""
    if database_url.startswith("sqlite+aiosqlite"):
        return database_url.replace("sqlite+aiosqlite", "sqlite", 1)
    if database_url.startswith("postgresql+asyncpg"):
        return database_url.replace("postgresql+asyncpg", "postgresql+psycopg", 1)
    return database_url


def build_scheduler(database_url: str) -> AsyncIOScheduler:
    """A scheduler whose jobs live in the bot's own database (they survive restarts)."""
    return AsyncIOScheduler(
        jobstores={"default": SQLAlchemyJobStore(url=sync_database_url(database_url), tablename=JOB_TABLE)},
        job_defaults={
            # A job missed while the bot was down runs once when it comes back (within a day), not once per miss.
            "coalesce": True,
            "misfire_grace_time": int(timedelta(days=1).total_seconds()),
            "max_instances": 1,
        },
        timezone=UTC,
    )


def set_runtime(bot: PersonaHubBot | None) -> None:
    global _runtime
    _runtime = bot


def runtime() -> PersonaHubBot:
    if _runtime is None:
        raise RuntimeError("no bot is running in this process")
    return _runtime


def register_standing_jobs(scheduler: AsyncIOScheduler) -> None:
    """The jobs every installation runs."""
    scheduler.add_job(
        expire_wizard_drafts,
        "interval",
        minutes=30,
        id="maintenance:expire-wizard-drafts",
        replace_existing=True,
    )
    register_memory_jobs(scheduler)


def register_wakeup_job(scheduler: AsyncIOScheduler) -> None:
    """With several processes, jobs another process adds do not wake this scheduler: look at the store every 30 s."""
    scheduler.add_job(wakeup, "interval", seconds=30, id="maintenance:wakeup", replace_existing=True)


# ------------------------------------------------------------------------------------------------ job entry points


async def wakeup() -> None:
    """Nothing: running it makes the scheduler read the job store again."""


async def expire_wizard_drafts() -> int:
    """Remove wizard drafts older than their expiry (24 hours after their last change)."""
    from bot.services import wizard_drafts

    bot = runtime()
    async with bot.db.transaction() as session:
        removed = await wizard_drafts.expire(session)
    if removed:
        log.info("expired %d wizard drafts", removed)
    return removed


def job_summary(scheduler: AsyncIOScheduler) -> list[dict[str, Any]]:
    return [{"id": job.id, "next_run_time": job.next_run_time} for job in scheduler.get_jobs()]


# ------------------------------------------------------------------------------------------------ memory decay

MEMORY_DECAY_JOB_ID = "memory:decay"
MEMORY_DECAY_INTERVAL_MINUTES = 15  # the "continuous" schedule's step; daily and weekly personas wait their period


async def run_decay(now_iso: str | None = None) -> dict[str, Any]:
    """Decay every due persona's memories (``bot.services.memories.decay_due_personas``).

    ``now_iso`` (an ISO 8601 time with an offset) fixes the clock, for replays and tests; by default, now. Safe to
    run twice or after a crash: personas already decayed at this time are not due, and the rest are finished.
    """
    from datetime import datetime

    from bot.db.types import utcnow
    from bot.services import memories

    now = datetime.fromisoformat(now_iso) if now_iso else utcnow()
    if now.tzinfo is None:
        raise ValueError("now_iso must carry a UTC offset, such as 2026-01-01T00:00:00+00:00")
    report = await memories.decay_due_personas(runtime().db, now)
    if report.personas:
        log.info(
            "memory decay: %d personas, %d memories decayed, %d to cold, %d expired",
            report.personas,
            report.decayed,
            report.moved_to_cold,
            report.expired,
        )
    return {
        "now": report.now.isoformat(),
        "personas": report.personas,
        "chunks": report.chunks,
        "decayed": report.decayed,
        "moved_to_cold": report.moved_to_cold,
        "expired": report.expired,
    }


def register_memory_jobs(scheduler: AsyncIOScheduler) -> None:
    """The memory jobs: decay every 15 minutes (each persona decays when its schedule says it is due)."""
    scheduler.add_job(
        run_decay,
        "interval",
        minutes=MEMORY_DECAY_INTERVAL_MINUTES,
        id=MEMORY_DECAY_JOB_ID,
        replace_existing=True,
    )
