"""Which process holds a lease, and whether it is still alive.

Work that must happen once and may be interrupted by a crash (a retirement ceremony) is leased: the row names the
process running it. A lease also runs out after a while, but a process that died right after taking one should not
block the work for that long. So every process has an identity, a random number drawn at start, and:

- **On PostgreSQL** holds a session-level advisory lock on it (key ``(LOCK_SPACE, identity)``) for its whole life, on
  a dedicated connection. PostgreSQL drops the lock with the connection when the process dies (crash, SIGKILL,
  lost network), so whether a lease's holder is alive is one look at ``pg_locks`` (:func:`holder_gone`).
- **On SQLite** one process uses a database file (the README's rule). A lease held by any identity other than this
  process's is a previous life's: dead.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from typing import Any

from sqlalchemy import ColumnElement, false, or_, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

log = logging.getLogger(__name__)

# The first key of the two-key advisory locks that mean "a Persona Hub process is alive"; the second is its identity.
LOCK_SPACE = 0x5048_4C56  # "PHLV"
_IDENTITY_MAX = 2**31 - 1  # the second key is an int4; positive, so pg_locks shows the same number
KEEP_SECONDS = 10.0  # how often the lock's connection is asked whether it is still there


class ProcessIdentity:
    """This process's identity for the leases it takes. Start it once the database is reachable; stop it at the end."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.kind = "sqlite" if engine.dialect.name == "sqlite" else "postgresql"
        self.value = secrets.randbelow(_IDENTITY_MAX) + 1
        self._connection: AsyncConnection | None = None
        self._keeper: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """On PostgreSQL, take the advisory lock that says this identity is alive (another number if a live process
        drew the same), and keep it: a lost connection (a server restart) is replaced and the lock taken again."""
        if self.kind != "postgresql" or self._connection is not None:
            return
        self._connection = await self._lock(draw_again=True)
        self._keeper = asyncio.create_task(self._keep(), name="process-identity")

    async def _lock(self, *, draw_again: bool) -> AsyncConnection | None:
        connection = await self.engine.connect()
        try:
            while True:
                got = (
                    await connection.execute(
                        text("SELECT pg_try_advisory_lock(:space, :identity)"),
                        {"space": LOCK_SPACE, "identity": self.value},
                    )
                ).scalar()
                if got or not draw_again:
                    break
                self.value = secrets.randbelow(_IDENTITY_MAX) + 1
            # End the implicit transaction; the session (and its lock) stays with the connection.
            await connection.commit()
        except BaseException:
            await connection.close()
            raise
        if not got:
            await connection.close()
            return None
        return connection

    async def _keep(self) -> None:
        while True:
            await asyncio.sleep(KEEP_SECONDS)
            try:
                if self._connection is not None:
                    await self._connection.execute(text("SELECT 1"))
                    await self._connection.rollback()
                    continue
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("lost the connection that holds this process's identity lock; taking it again")
                connection, self._connection = self._connection, None
                if connection is not None:
                    with contextlib.suppress(Exception):
                        await connection.invalidate()
                        await connection.close()
            try:
                self._connection = await self._lock(draw_again=False)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("cannot take this process's identity lock yet; trying again in %s s", KEEP_SECONDS)

    async def stop(self) -> None:
        """Give the lock back (closing its connection)."""
        if self._keeper is not None:
            self._keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._keeper
            self._keeper = None
        if self._connection is None:
            return
        connection, self._connection = self._connection, None
        try:
            await connection.execute(
                text("SELECT pg_advisory_unlock(:space, :identity)"), {"space": LOCK_SPACE, "identity": self.value}
            )
            await connection.commit()
        except Exception:  # the session is gone already, and the lock with it
            await connection.invalidate()
        await connection.close()


def holder_gone(holder: Any, me: int | None, dialect: str) -> ColumnElement[bool]:
    """SQL: the lease holder in column ``holder`` is no longer alive, as the process ``me`` sees it. False for every
    holder when ``me`` is None (the caller has no identity: only the lease's time decides)."""
    if me is None:
        return false()
    if dialect == "sqlite":
        return or_(holder.is_(None), holder != me)
    table = holder.table.name
    return or_(
        holder.is_(None),
        text(
            f"NOT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND classid = {LOCK_SPACE} "
            f"AND objsubid = 2 AND CAST(objid AS BIGINT) = {table}.{holder.name} AND granted "
            "AND database = (SELECT oid FROM pg_database WHERE datname = current_database()))"
        ),
    )
