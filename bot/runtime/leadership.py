"""Exactly one scheduler per database: a PostgreSQL advisory lock held for the life of a dedicated connection.

Several bot processes may share one PostgreSQL database (one per shard group). Each that has
``SCHEDULER_ENABLED=true`` asks for the lock at start; the first gets it and runs the scheduler, the others log that
another process has it and stand by, asking again every few seconds. The lock belongs to a database session, so
when the holder dies (crash, SIGKILL, lost network) PostgreSQL drops it with the connection and a standby process
takes over. On SQLite there is only one process, so it always leads.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.db.engine import Database

log = logging.getLogger(__name__)

# pg_advisory_lock takes a bigint: a fixed number that means "the Persona Hub scheduler" in this database.
SCHEDULER_LOCK_KEY = 0x5045_5253_4348_4442  # "PERSCHDB"


class SchedulerLeadership:
    """Holds (or waits for) the scheduler lock of one database."""

    def __init__(self, database: Database, *, key: int = SCHEDULER_LOCK_KEY, retry_seconds: float = 5.0) -> None:
        self.database = database
        self.key = key
        self.retry_seconds = retry_seconds
        self._connection: AsyncConnection | None = None
        self._standby: asyncio.Task[None] | None = None
        self._sqlite_leader = False

    @property
    def is_leader(self) -> bool:
        return self._connection is not None or self._sqlite_leader

    async def try_acquire(self) -> bool:
        """Take the lock if it is free; True when this process now leads."""
        if self.database.kind == "sqlite":
            self._sqlite_leader = True
            return True
        if self._connection is not None:
            return True
        connection = await self.database.engine.connect()
        try:
            got = (await connection.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": self.key})).scalar()
            # End the implicit transaction but keep the connection (and with it the session-level lock).
            await connection.commit()
        except BaseException:
            await connection.close()
            raise
        if not got:
            await connection.close()
            return False
        self._connection = connection
        return True

    def stand_by(self, on_leading: Callable[[], Awaitable[None]]) -> None:
        """Ask again every ``retry_seconds``; when the lock is ours, call ``on_leading`` once."""

        async def wait_for_the_lock() -> None:
            while True:
                await asyncio.sleep(self.retry_seconds)
                try:
                    if await self.try_acquire():
                        log.warning("this process now runs the scheduler (the previous one stopped)")
                        await on_leading()
                        return
                except Exception:  # a database hiccup must not end the standby
                    log.exception("could not ask for the scheduler lock; trying again")

        self._standby = asyncio.create_task(wait_for_the_lock(), name="scheduler-standby")

    async def release(self) -> None:
        """Stop waiting, and give the lock back (closing its connection)."""
        if self._standby is not None:
            self._standby.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._standby
            self._standby = None
        if self._connection is not None:
            connection, self._connection = self._connection, None
            try:
                await connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": self.key})
                await connection.commit()
            except Exception:  # the session is gone already (and the lock with it): drop the dead connection
                await connection.invalidate()
            await connection.close()
        self._sqlite_leader = False
