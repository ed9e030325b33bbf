"""Which process holds a lease, and whether it is still alive.

Work that must happen once and may be interrupted by a crash (a retirement ceremony) is leased: the row names the
process running it. A lease also runs out after a while, but a process that died right after taking one should not
block the work for that long. So every process has an identity, a random number drawn at start, and:

- **On PostgreSQL** holds a session-level advisory lock on it (key ``(LOCK_SPACE, identity)``) for its whole life, on
  a dedicated connection. PostgreSQL drops the lock with the connection when the process dies (crash, SIGKILL,
  lost network), so whether a lease's holder is alive is one look at ``pg_locks`` (:func:`holder_gone`). A lock is
  also missing for a few seconds while a live process reconnects (its lock's connection dropped, a server restart):
  so another process treats a missing lock as dead only once it has not seen it for a grace period
  (``GRACE_KEEPS`` keep intervals; every process looks at the held identity locks each interval). A process that
  just started has seen nobody: once it has looked for the grace period, a lock it never saw (its previous life's)
  is dead, so a restarted process resumes its own ceremony within a minute of start.
- **On SQLite** one process uses a database file (the README's rule). A lease held by any identity other than this
  process's is a previous life's: dead.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, false, or_, text, true
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

log = logging.getLogger(__name__)

# The first key of the two-key advisory locks that mean "a Persona Hub process is alive"; the second is its identity.
LOCK_SPACE = 0x5048_4C56  # "PHLV"
_IDENTITY_MAX = 2**31 - 1  # the second key is an int4; positive, so pg_locks shows the same number
KEEP_SECONDS = 10.0  # how often the lock's connection is asked whether it is still there
GRACE_KEEPS = 2  # a missing lock is dead once unseen this many keep intervals (a reconnect takes about one)

_LIVE = text(
    f"SELECT objid FROM pg_locks WHERE locktype = 'advisory' AND classid = {LOCK_SPACE} AND objsubid = 2 AND granted "
    "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
)


@dataclass(frozen=True)
class Holder:
    """A process as a lease holder: its identity (``value``, written in the leases it takes) and the other
    identities it must still treat as alive although their lock may be missing (``spared``: seen within the grace
    period; None: it cannot judge yet, so it treats no missing lock as dead)."""

    value: int
    spared: frozenset[int] | None = frozenset()


class ProcessIdentity:
    """This process's identity for the leases it takes. Start it once the database is reachable; stop it at the end."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.kind = "sqlite" if engine.dialect.name == "sqlite" else "postgresql"
        self.value = secrets.randbelow(_IDENTITY_MAX) + 1
        self._connection: AsyncConnection | None = None
        self._keeper: asyncio.Task[None] | None = None
        self._seen: dict[int, float] = {}  # identity -> when its lock was last seen held (monotonic)
        self._looking_since: float | None = None  # first look of an unbroken run of looks
        self._looked_at: float | None = None  # the last successful look

    def holder(self) -> Holder:
        """This process as a lease holder, with what it has seen of the others (see the module's docstring)."""
        if self.kind != "postgresql":
            return Holder(self.value)  # one process per file: any other identity is a previous life's
        now, grace = time.monotonic(), GRACE_KEEPS * KEEP_SECONDS
        looking = self._looking_since is not None and self._looked_at is not None
        if not looking or now - self._looking_since < grace or now - self._looked_at > grace:  # type: ignore[operator]
            return Holder(self.value, None)  # not looked long enough, or lost sight: judge nobody
        return Holder(self.value, frozenset(i for i, at in self._seen.items() if now - at <= grace))

    async def _look(self, connection: AsyncConnection) -> None:
        """Note which identities hold their lock now (this doubles as the keep's "are you there")."""
        live = (await connection.execute(_LIVE)).scalars().all()
        await connection.rollback()
        now = time.monotonic()
        if self._looked_at is None or now - self._looked_at > GRACE_KEEPS * KEEP_SECONDS:
            self._looking_since = now  # a gap in the looks: what happened in it is unknown
        self._looked_at = now
        self._seen.update((int(i), now) for i in live)
        for identity in [i for i, at in self._seen.items() if now - at > 2 * GRACE_KEEPS * KEEP_SECONDS]:
            del self._seen[identity]

    async def start(self) -> None:
        """On PostgreSQL, take the advisory lock that says this identity is alive (another number if a live process
        drew the same), and keep it: a lost connection (a server restart) is replaced and the lock taken again."""
        if self.kind != "postgresql" or self._connection is not None:
            return
        connection = await self._lock(draw_again=True)
        self._connection = connection
        if connection is not None:
            await self._look(connection)
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
                    await self._look(self._connection)
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
                if self._connection is not None:
                    await self._look(self._connection)
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


def holder_gone(holder: Any, me: Holder | None, dialect: str) -> ColumnElement[bool]:
    """SQL: the lease holder in column ``holder`` is no longer alive, as the process ``me`` sees it. False for every
    holder when ``me`` is None (the caller has no identity: only the lease's time decides). Never ``me`` itself."""
    if me is None:
        return false()
    if dialect == "sqlite":
        return or_(holder.is_(None), holder != me.value)
    if me.spared is None:
        return holder.is_(None)
    table = holder.table.name
    return or_(
        holder.is_(None),
        and_(
            holder != me.value,
            holder.not_in(sorted(me.spared)) if me.spared else true(),
            text(
                f"NOT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND classid = {LOCK_SPACE} "
                f"AND objsubid = 2 AND CAST(objid AS BIGINT) = {table}.{holder.name} AND granted "
                "AND database = (SELECT oid FROM pg_database WHERE datname = current_database()))"
            ),
        ),
    )


def held_by(holder: Any, me: Holder | None) -> ColumnElement[bool]:
    """SQL: the lease in column ``holder`` is ``me``'s (a process without identity: a lease taken without one)."""
    return holder.is_(None) if me is None else holder == me.value
