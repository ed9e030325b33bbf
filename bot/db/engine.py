"""The async engine and sessions for SQLite (aiosqlite) and PostgreSQL (asyncpg), from one ``DATABASE_URL``."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.pool import AsyncAdaptedQueuePool

from bot.config import sqlite_path
from bot.db import changes, sqlite_inline

log = logging.getLogger(__name__)


class DatabaseUnavailable(Exception):
    """The database cannot be reached or opened; the message says which and why."""


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers work while one writer writes; NORMAL is durable with WAL and much faster than FULL;
    # foreign keys are off by default in SQLite and our cascades rely on them.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def make_engine(database_url: str, *, echo: bool = False, pool_size: int = 10) -> AsyncEngine:
    """An engine configured for the database kind behind ``database_url``."""
    if database_url.startswith("sqlite"):
        path = sqlite_path(database_url)
        if path is not None and path.parent != Path(""):
            # A folder that cannot be made is reported by check(), which cannot open the file then.
            with contextlib.suppress(OSError):
                path.parent.mkdir(parents=True, exist_ok=True)
        # One inline connection per process: see bot/db/sqlite_inline.py for why, and the rule it implies.
        engine = create_async_engine(
            database_url,
            echo=echo,
            connect_args={"timeout": 30, "async_creator_fn": sqlite_inline.connect},
            poolclass=AsyncAdaptedQueuePool,
            pool_size=1,
            max_overflow=0,
            pool_timeout=30,
            # Sessions always end their transaction; a second rollback at check-in would be a wasted call.
            pool_reset_on_return=None,
        )
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        changes.watch(engine)
        return engine
    engine = create_async_engine(database_url, echo=echo, pool_size=pool_size, max_overflow=pool_size)
    event.listen(engine.sync_engine.pool, "checkout", _refuse_closed_connection)
    changes.watch(engine)
    return engine


def _refuse_closed_connection(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    """A pooled PostgreSQL connection whose socket the server closed (a restart, an idle timeout, a terminated
    backend) is replaced at checkout, so the next session just works. This looks at asyncpg's own state, with no
    round trip: SQLAlchemy's ``pool_pre_ping`` would send a query at every checkout, about half a millisecond
    that every session paid (several per chat reply). A connection lost silently (no FIN from the other side) is
    not seen here; its first statement fails as a disconnect, and SQLAlchemy then replaces every pooled
    connection."""
    if dbapi_connection.driver_connection.is_closed():
        raise DisconnectionError("the server closed this pooled connection")


class Database:
    """The engine and its session factory. One per process."""

    def __init__(self, database_url: str, *, echo: bool = False) -> None:
        self.url = database_url
        self.kind = "sqlite" if database_url.startswith("sqlite") else "postgresql"
        self.engine = make_engine(database_url, echo=echo)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False, class_=AsyncSession)
        # PostgreSQL reads without BEGIN and ROLLBACK: two round trips fewer per session (see reads()).
        self._read_sessions = (
            self.sessions
            if self.kind == "sqlite"
            else async_sessionmaker(
                self.engine.execution_options(isolation_level="AUTOCOMMIT"),
                expire_on_commit=False,
                class_=AsyncSession,
            )
        )
        # What in-process caches need to hear of changed rows (bot/db/changes.py); started by the bot.
        self.changes = changes.ChangeFeed(self.engine)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session inside one transaction: committed on success, rolled back on any error."""
        async with self.sessions() as session, session.begin():
            yield session

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A session for reads (autobegin; nothing is committed)."""
        async with self.sessions() as session:
            yield session

    @asynccontextmanager
    async def reads(self) -> AsyncIterator[AsyncSession]:
        """A session for reads only, on the hot path. On PostgreSQL it runs outside a transaction (autocommit), so
        it costs no BEGIN or ROLLBACK; each statement sees what was committed when it started, which is what a
        READ COMMITTED transaction's statements see too. Nothing written in it may be relied on to roll back:
        use :meth:`transaction` to write. On SQLite it is :meth:`session`."""
        async with self._read_sessions() as session:
            yield session

    @property
    def parallel_reads(self) -> bool:
        """Whether two sessions can read at the same moment (PostgreSQL: a pool of connections; SQLite here has one
        inline connection per process, so a second session would wait for the first)."""
        return self.kind == "postgresql"

    async def check(self) -> None:
        """Connect once (on SQLite, and write once: the file must be writable), or raise
        :class:`DatabaseUnavailable` with one sentence that names ``DATABASE_URL``."""
        try:
            async with self.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
                if self.kind == "sqlite":
                    # Writing the header's user version (unchanged) fails at once on a read-only file or folder,
                    # rather than in the middle of the migrations.
                    version = (await connection.execute(text("PRAGMA user_version"))).scalar_one()
                    await connection.execute(text(f"PRAGMA user_version = {int(version)}"))
                    await connection.commit()
        except Exception as error:
            where = _describe(self.url)
            raise DatabaseUnavailable(
                f"Cannot use the database at {where} ({_first_line(error)}): check DATABASE_URL."
            ) from error

    async def dispose(self) -> None:
        await self.changes.stop()
        await self.engine.dispose()


def _describe(url: str) -> str:
    from bot.config import mask_url_password

    return mask_url_password(url)


def _first_line(error: BaseException) -> str:
    text_ = str(error).strip().splitlines()
    return text_[0] if text_ else type(error).__name__
