"""Shared fixtures: real databases, made by the migrations.

SQLite tests get a fresh file per test (copied from a template migrated once). PostgreSQL tests run in a fresh
database that the suite creates and drops on the server named by ``PERSONA_HUB_TEST_POSTGRES_URL``; without it they
are skipped with a visible reason.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Awaitable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from bot.db import migrate
from bot.db.engine import Database, make_engine
from bot.db.models import metadata

T = TypeVar("T")
POSTGRES_ENV = "PERSONA_HUB_TEST_POSTGRES_URL"


def run_in_thread(coro: Awaitable[T]) -> T:
    """Run a coroutine to completion on its own loop in another thread (safe inside a running loop)."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()  # type: ignore[arg-type]


async def _migrate(url: str) -> None:
    engine = make_engine(url)
    try:
        await migrate.upgrade(engine)
    finally:
        await engine.dispose()


def postgres_admin_url() -> str | None:
    return os.environ.get(POSTGRES_ENV) or None


def _libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@contextmanager
def fresh_postgres_database(admin_url: str, prefix: str = "ph_test") -> Iterator[str]:
    """Create a new, empty PostgreSQL database; yield its async URL; drop it afterwards."""
    import psycopg

    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(_libpq(admin_url), autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield (
            make_url(admin_url)
            .set(drivername="postgresql+asyncpg", database=name)
            .render_as_string(hide_password=False)
        )
    finally:
        with psycopg.connect(_libpq(admin_url), autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """The admin URL of the test PostgreSQL server (skips when it is not configured)."""
    url = postgres_admin_url()
    if url is None:
        pytest.skip(f"{POSTGRES_ENV} is not set: PostgreSQL tests skipped (.ci/run sets it)")
    return url


@pytest.fixture(scope="session")
def migrated_postgres(postgres_url: str) -> Iterator[str]:
    """One fresh, migrated PostgreSQL database for the session (tables are emptied after each test)."""
    with fresh_postgres_database(postgres_url) as url:
        run_in_thread(_migrate(url))
        yield url


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated to head once; each test copies it."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    run_in_thread(_migrate(f"sqlite+aiosqlite:///{path}"))
    return path


async def _empty_all_tables(database: Database) -> None:
    # A running bot may still be embedding the memories a test made (bot.services.memories.vectors): let that batch
    # end first, or its insert and the truncation wait on each other's locks.
    from bot.services.memories import vectors

    queue = vectors._queue
    if queue is not None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(queue.idle.wait(), 30)
    names = ", ".join(f'"{table.name}"' for table in metadata.sorted_tables)
    async with database.engine.begin() as connection:
        await connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
async def database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    """A migrated database of each kind: a private SQLite file, or the session's PostgreSQL database."""
    if request.param == "sqlite":
        path = tmp_path / "test.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        db = Database(f"sqlite+aiosqlite:///{path}")
        try:
            yield db
        finally:
            await db.dispose()
    else:
        url = request.getfixturevalue("migrated_postgres")
        db = Database(url)
        try:
            yield db
        finally:
            await _empty_all_tables(db)
            await db.dispose()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A URL for a new, empty SQLite file (not migrated)."""
    return f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"


def pytest_report_header(config: Any) -> str:
    return f"postgresql tests: {'on' if postgres_admin_url() else f'skipped ({POSTGRES_ENV} unset)'}"
