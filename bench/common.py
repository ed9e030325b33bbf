"""What every benchmark shares: figure lines, percentiles, timers, and the databases to run on."""

from __future__ import annotations

import os
import random
import shutil
import statistics
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from bot.db import migrate, models
from bot.db.engine import Database, make_engine

POSTGRES_ENV = ("PERSONA_HUB_BENCH_POSTGRES_URL", "PERSONA_HUB_TEST_POSTGRES_URL")


def report(name: str, value: float, unit: str) -> None:
    """Print one figure: ``BENCH name=value unit``."""
    print(f"BENCH {name}={value:.3f} {unit}", flush=True)


def note(text: str) -> None:
    print(f"# {text}", flush=True)


def percentile(samples: Sequence[float], fraction: float) -> float:
    """The ``fraction`` quantile (0..1) of ``samples``, by the inclusive method."""
    if len(samples) == 1:
        return samples[0]
    return statistics.quantiles(samples, n=1000, method="inclusive")[max(0, int(fraction * 1000) - 1)]


async def time_each(action: Callable[[int], Awaitable[object]], count: int) -> list[float]:
    """Run ``action(i)`` ``count`` times; the duration of each, in milliseconds."""
    durations = []
    for index in range(count):
        started = time.perf_counter()
        await action(index)
        durations.append((time.perf_counter() - started) * 1000)
    return durations


def report_latency(name: str, durations_ms: Sequence[float]) -> None:
    report(f"{name}_p50", percentile(durations_ms, 0.50), "ms")
    report(f"{name}_p99", percentile(durations_ms, 0.99), "ms")


def postgres_admin_url() -> str | None:
    for name in POSTGRES_ENV:
        if os.environ.get(name):
            return os.environ[name]
    return None


@asynccontextmanager
async def _migrated(url: str) -> AsyncIterator[Database]:
    engine = make_engine(url)
    await migrate.upgrade(engine)
    await engine.dispose()
    database = Database(url)
    try:
        yield database
    finally:
        await database.dispose()


@asynccontextmanager
async def fresh_database(kind: str) -> AsyncIterator[Database]:
    """A new, migrated database of ``kind`` ('sqlite' or 'postgresql'), removed afterwards."""
    if kind == "sqlite":
        folder = Path(tempfile.mkdtemp(prefix="ph-bench-"))
        try:
            async with _migrated(f"sqlite+aiosqlite:///{folder / 'bench.db'}") as database:
                yield database
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        return

    import psycopg
    from sqlalchemy.engine import make_url

    admin = postgres_admin_url()
    assert admin is not None
    name = f"ph_bench_{uuid.uuid4().hex[:10]}"
    libpq = make_url(admin).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(libpq, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    url = make_url(admin).set(drivername="postgresql+asyncpg", database=name).render_as_string(hide_password=False)
    try:
        async with _migrated(url) as database:
            yield database
    finally:
        with psycopg.connect(libpq, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def database_kinds() -> list[str]:
    """SQLite always; PostgreSQL when a server is configured."""
    kinds = ["sqlite"]
    if postgres_admin_url():
        kinds.append("postgresql")
    else:
        note(f"PostgreSQL figures skipped: set {POSTGRES_ENV[0]} (or {POSTGRES_ENV[1]})")
    return kinds


@asynccontextmanager
async def running_bot(sandbox: Any, database_url: str | None = None) -> AsyncIterator[Any]:
    """The real bot, ready, against ``sandbox``: on ``database_url``, or a SQLite file in a temporary folder (the
    working folder meanwhile, so no developer ``.env`` is read); no scheduler."""
    from bot.app import PersonaHubBot
    from bot.config import load_settings

    folder = Path(tempfile.mkdtemp(prefix="ph-bench-bot-"))
    here = Path.cwd()
    os.chdir(folder)
    try:
        settings = load_settings(
            database_url=database_url or f"sqlite+aiosqlite:///{folder / 'bot.db'}",
            scheduler_enabled=False,
            discord_token=sandbox.token,
        )
        bot = PersonaHubBot(settings)
        async with bot, sandbox.run_client(bot, timeout=60):
            yield bot
    finally:
        os.chdir(here)
        shutil.rmtree(folder, ignore_errors=True)


# The memory stores of the retrieval and chat benchmarks: ten words each from 5,000.
MEMORY_VOCABULARY = tuple(f"w{index:04d}" for index in range(5_000))
MEMORY_WORDS = 10


async def fill_memories(
    database: Database, persona_id: int, chooser: random.Random, *, now: datetime, count: int = 100_000, hot: int = 50
) -> None:
    """``count`` memories for the persona (``hot`` hot, the rest warm) of :data:`MEMORY_WORDS` random words from
    :data:`MEMORY_VOCABULARY`, made 60 days before ``now`` and last used within its 30 days, random importance and
    strength; then, on PostgreSQL, ``VACUUM ANALYZE memories`` (statistics and a clean GIN index, as autovacuum
    would soon leave them)."""
    from sqlalchemy import insert, text

    rows = [
        {
            "persona_id": persona_id,
            "content": " ".join(chooser.choices(MEMORY_VOCABULARY, k=MEMORY_WORDS)),
            "category": "conversation",
            "importance": chooser.randint(1, 10),
            "strength": chooser.random(),
            "stability": 1.0,
            "tier": "hot" if index < hot else "warm",
            "pinned": False,
            "sensitive": False,
            "encrypted": False,
            "created_at": now - timedelta(days=60),
            "last_accessed_at": now - timedelta(hours=chooser.uniform(0, 24 * 30)),
            "access_count": 0,
        }
        for index in range(count)
    ]
    for start in range(0, len(rows), 10_000):
        async with database.transaction() as session:
            await session.execute(insert(models.Memory), rows[start : start + 10_000])
    if database.kind == "postgresql":
        async with database.engine.connect() as connection:
            await connection.execute(text("COMMIT"))
            await connection.execute(text("VACUUM ANALYZE memories"))
