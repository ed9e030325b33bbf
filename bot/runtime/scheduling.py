"""APScheduler 3: the persistent job store and the job entry points.

Jobs are module-level functions that take ids, so the job store can persist them and any process can run them;
they reach the running bot through :func:`runtime` and call workflows (the retirement ceremony:
:mod:`bot.workflows.ceremony`) and services, never cogs. Every job has an explicit id and is added with
``replace_existing``, so registering at each start never duplicates a job. Jobs are idempotent: state transitions are
guarded in the database, so a job that fires twice changes nothing the second time.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from apscheduler.jobstores.base import JobLookupError
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.clock import utcnow
from bot.core.retirement import ceremony_job_id
from bot.llm.offline import OfflineResponder
from bot.services import achievements, memories, retirement, wizard_drafts
from bot.workflows.ceremony import ceremony_or_handoff
from bot.workflows.greeting import resume_greetings

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


def _clock(now_iso: str | None) -> datetime:
    """The time a job runs at: ``now_iso`` (an ISO 8601 time with an offset, for replays and tests), or now."""
    now = datetime.fromisoformat(now_iso) if now_iso else utcnow()
    if now.tzinfo is None:
        raise ValueError("now_iso must carry a UTC offset, such as 2026-01-01T00:00:00+00:00")
    return now


def _add_interval_job(
    scheduler: AsyncIOScheduler,
    job: Any,
    job_id: str,
    *,
    hours: float = 0,
    minutes: float = 0,
    seconds: float = 0,
    first_run_in: float | None = None,
    at_start: tuple[str, float] | None = None,
) -> None:
    """``job`` every ``hours``/``minutes``/``seconds``, as ``job_id``; and soon after this start, one of two ways:
    ``first_run_in`` (seconds) brings the interval job's own first run that close, its interval counting from there;
    ``at_start`` (a job id and a delay in seconds) adds a one-off date job under its own id beside the interval job,
    whose first run stays a whole interval away. Each replaces what the store holds under its id, so registering at
    every start never duplicates a job."""
    first: dict[str, Any] = (
        {} if first_run_in is None else {"next_run_time": utcnow() + timedelta(seconds=first_run_in)}
    )
    scheduler.add_job(
        job, "interval", hours=hours, minutes=minutes, seconds=seconds, id=job_id, replace_existing=True, **first
    )
    if at_start is not None:
        start_id, delay = at_start
        scheduler.add_job(job, "date", run_date=utcnow() + timedelta(seconds=delay), id=start_id, replace_existing=True)


def register_standing_jobs(scheduler: AsyncIOScheduler) -> None:
    """The jobs every installation runs."""
    _add_interval_job(scheduler, expire_wizard_drafts, "maintenance:expire-wizard-drafts", minutes=30)
    register_memory_jobs(scheduler)
    register_retirement_jobs(scheduler)
    register_greeting_jobs(scheduler)
    _add_interval_job(scheduler, check_achievement_ages, "achievements:ages", hours=6)


def register_wakeup_job(scheduler: AsyncIOScheduler, seconds: float = 30.0) -> None:
    """With several processes, jobs another process adds do not wake this scheduler: look at the store regularly."""
    _add_interval_job(scheduler, wakeup, "maintenance:wakeup", seconds=seconds)


# ------------------------------------------------------------------------------------------------ job entry points


async def wakeup() -> None:
    """Nothing: running it makes the scheduler read the job store again."""


async def expire_wizard_drafts() -> int:
    """Remove wizard drafts older than their expiry (24 hours after their last change)."""
    bot = runtime()
    async with bot.db.transaction() as session:
        removed = await wizard_drafts.expire(session, now=utcnow())
    if removed:
        log.info("expired %d wizard drafts", removed)
    return removed


# ------------------------------------------------------------------------------------------------ memory decay

MEMORY_DECAY_JOB_ID = "memory:decay"
MEMORY_DECAY_INTERVAL_MINUTES = 15  # the "continuous" schedule's step; daily and weekly personas wait their period
MEMORY_SUMMARY_JOB_ID = "memory:summaries"
MEMORY_SUMMARY_INTERVAL_MINUTES = 15


async def run_decay(now_iso: str | None = None) -> dict[str, Any]:
    """Decay every due persona's memories (``bot.services.memories.decay_due_personas``).

    ``now_iso`` (an ISO 8601 time with an offset) fixes the clock, for replays and tests; by default, now. Safe to
    run twice or after a crash: personas already decayed at this time are not due, and the rest are finished.
    """
    now = _clock(now_iso)
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


async def run_summaries(now_iso: str | None = None) -> dict[str, Any]:
    """Roll finished conversations up into summary memories (``bot.services.memories.summarize_due``): through the
    configured model, extractively with none (the offline responder)."""
    bot = runtime()
    now = _clock(now_iso)
    writer = None if isinstance(bot.llm, OfflineResponder) else memories.model_writer(bot.llm)
    made = await memories.summarize_due(bot.db, now=now, writer=writer)
    if made:
        log.info("memory summaries: %d conversations summarised", made)
    return {"now": now.isoformat(), "summaries": made}


MEMORY_EMBED_JOB_ID = "memory:embed-backfill"
MEMORY_EMBED_INTERVAL_MINUTES = 10
MEMORY_EMBED_FIRST_RUN_SECONDS = 30


async def run_embedding_backfill(now_iso: str | None = None) -> int:
    """Embed every memory without an embedding of the configured model (``bot.services.memories.vectors``):
    memories from before embeddings, those the bounded queue left, those of another model (the model changed).
    Batched, one transaction per batch; safe to run twice."""
    from bot.services.memories import vectors

    embedded = await vectors.backfill(runtime().db, now=_clock(now_iso))
    if embedded:
        log.info("memory embeddings: %d memories embedded", embedded)
    return embedded


def register_memory_jobs(scheduler: AsyncIOScheduler) -> None:
    """The memory jobs: decay every 15 minutes (each persona decays when its schedule says it is due);
    conversations summarised every 15 minutes; the memories that have no current embedding embedded every 10
    minutes, and once soon after start."""
    _add_interval_job(scheduler, run_decay, MEMORY_DECAY_JOB_ID, minutes=MEMORY_DECAY_INTERVAL_MINUTES)
    _add_interval_job(scheduler, run_summaries, MEMORY_SUMMARY_JOB_ID, minutes=MEMORY_SUMMARY_INTERVAL_MINUTES)
    _add_interval_job(
        scheduler,
        run_embedding_backfill,
        MEMORY_EMBED_JOB_ID,
        minutes=MEMORY_EMBED_INTERVAL_MINUTES,
        first_run_in=MEMORY_EMBED_FIRST_RUN_SECONDS,
    )


# ------------------------------------------------------------------------------------------------ retirement

RETIREMENT_SWEEP_JOB_ID = "retire:inactivity"
RETIREMENT_RETENTION_JOB_ID = "retire:retention"
RETIREMENT_RESUME_JOB_ID = "retire:resume"
RETIREMENT_SWEEP_MINUTES = 10
RETIREMENT_RETENTION_HOURS = 6
RETIREMENT_RESUME_DELAY_SECONDS = 30


def schedule_retirement_ceremony(scheduler: AsyncIOScheduler, persona_id: int, when: datetime) -> None:
    """The ceremony job of a dated plan (replaced when the plan is saved again). A ceremony missed while the bot
    was down runs when it comes back, within the scheduler's misfire grace."""
    scheduler.add_job(
        run_retirement_ceremony,
        "date",
        run_date=when,
        args=[persona_id, when.isoformat()],
        id=ceremony_job_id(persona_id),
        replace_existing=True,
    )


def has_retirement_ceremony(scheduler: AsyncIOScheduler, persona_id: int) -> bool:
    """Whether the persona's ceremony job is in the store and runnable. A job stored by an earlier version under a
    function path that has moved since (the job entry points lived in ``bot/scheduling.py``) cannot be loaded: it
    counts as missing, so the sweep schedules it again, which replaces the stored one."""
    try:
        return scheduler.get_job(ceremony_job_id(persona_id)) is not None
    except LookupError:
        log.warning(
            "the stored ceremony job of persona %d names a function that moved; scheduling it again", persona_id
        )
        return False


def unschedule_retirement_ceremony(scheduler: AsyncIOScheduler, persona_id: int) -> bool:
    """Remove the ceremony job; False when there was none."""
    try:
        scheduler.remove_job(ceremony_job_id(persona_id))
    except JobLookupError:
        return False
    return True


async def run_retirement_ceremony(persona_id: int, at_iso: str | None = None) -> dict[str, Any]:
    """A dated plan's ceremony (:func:`bot.workflows.ceremony.ceremony_or_handoff`). ``at_iso`` is the time the plan
    named: a job left over from an earlier version of the plan does nothing. Safe to fire twice: the ceremony is claimed
    with a guarded update, so the second firing changes nothing."""
    scheduled = datetime.fromisoformat(at_iso) if at_iso else None
    result = await ceremony_or_handoff(runtime(), persona_id, trigger="date", now=utcnow(), scheduled_for=scheduled)
    if result is None:
        return {"persona_id": persona_id, "ran": False}
    if isinstance(result, str):
        return {"persona_id": persona_id, "ran": False, "handed_over": True}
    log.info("retirement ceremony of persona %d done", persona_id)
    return {"persona_id": persona_id, "ran": True, "retired_at": result.retired_at.isoformat()}


async def check_retirement_triggers(now_iso: str | None = None) -> dict[str, Any]:
    """The sweep: run ceremonies whose date passed or whose inactivity trigger is due at ``now_iso`` (default now),
    resume ceremonies interrupted by a crash (their lease ran out, or the process holding it is gone: after a
    restart, the sweep shortly after start resumes the previous life's ceremony), and re-create missing ceremony
    jobs (a plan saved by a process that runs no scheduler)."""
    bot = runtime()
    now = _clock(now_iso)
    async with bot.db.session() as session:
        due = await retirement.due_ceremonies(session, now, holder=bot.lease_holder)
        dated = await retirement.scheduled_ceremonies(session)
    scheduler = bot.scheduler
    if scheduler is not None:
        for persona_id, when in dated:
            if when > now and not has_retirement_ceremony(scheduler, persona_id):
                schedule_retirement_ceremony(scheduler, persona_id, when)
    ran = []
    for persona_id, trigger in due:
        try:
            if await ceremony_or_handoff(bot, persona_id, trigger=trigger, now=now) is not None:
                ran.append(persona_id)
        except Exception:
            log.exception("retirement ceremony of persona %d failed; the next sweep tries again", persona_id)
    return {"now": now.isoformat(), "due": [p for p, _ in due], "ran": ran}


async def run_retirement_retention(now_iso: str | None = None) -> dict[str, Any]:
    """Delete what each ended retention's policy names (one transaction per persona; each done once)."""
    bot = runtime()
    now = _clock(now_iso)
    async with bot.db.session() as session:
        due = await retirement.due_retention(session, now)
    reports = []
    for persona_id in due:
        async with bot.db.transaction() as session:
            report = await retirement.apply_retention(session, persona_id, now=now)
        if report is not None:
            log.info("retention ended for persona %d: deleted %s", persona_id, report.deleted)
            reports.append({"persona_id": persona_id, "deleted": report.deleted, "persona": report.persona_deleted})
    return {"now": now.isoformat(), "reports": reports}


def register_retirement_jobs(scheduler: AsyncIOScheduler) -> None:
    """The retirement jobs: the trigger sweep every 10 minutes, retention every 6 hours, and one sweep shortly
    after each start (a ceremony interrupted by a crash is resumed, not repeated)."""
    _add_interval_job(
        scheduler,
        check_retirement_triggers,
        RETIREMENT_SWEEP_JOB_ID,
        minutes=RETIREMENT_SWEEP_MINUTES,
        at_start=(RETIREMENT_RESUME_JOB_ID, RETIREMENT_RESUME_DELAY_SECONDS),
    )
    _add_interval_job(
        scheduler, run_retirement_retention, RETIREMENT_RETENTION_JOB_ID, hours=RETIREMENT_RETENTION_HOURS
    )


async def check_achievement_ages() -> int:
    """Award age achievements (one week old, one year old): age changes with the clock, not with an event."""
    async with runtime().db.transaction() as session:
        return await achievements.check_ages(session, utcnow())


# ------------------------------------------------------------------------------------------------ greetings

GREETING_SWEEP_JOB_ID = "greetings:resume"
GREETING_RESUME_JOB_ID = "greetings:resume-at-start"
GREETING_SWEEP_MINUTES = 5
GREETING_RESUME_DELAY_SECONDS = 30  # as the ceremonies': a previous life's claims are known dead by then


async def resume_unposted_greetings(now_iso: str | None = None) -> dict[str, Any]:
    """Post the greetings a crash left claimed and unposted (:func:`bot.workflows.greeting.resume_greetings`)."""
    now = _clock(now_iso)
    greeted = await resume_greetings(runtime(), now=now)
    if greeted:
        log.info("resumed the greetings of personas %s", greeted)
    return {"now": now.isoformat(), "greeted": greeted}


def register_greeting_jobs(scheduler: AsyncIOScheduler) -> None:
    """The sweep of greetings left unposted: every few minutes, and once shortly after each start."""
    _add_interval_job(
        scheduler,
        resume_unposted_greetings,
        GREETING_SWEEP_JOB_ID,
        minutes=GREETING_SWEEP_MINUTES,
        at_start=(GREETING_RESUME_JOB_ID, GREETING_RESUME_DELAY_SECONDS),
    )
