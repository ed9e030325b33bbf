"""aiosqlite's interface, run inline on the event loop instead of in a worker thread.

Why: a statement through aiosqlite costs four thread hand-offs (cursor, execute, fetch, close), about 0.15 ms each,
while SQLite itself answers a primary-key read in microseconds. Inline, a persona read drops from ~1 ms to ~0.1 ms.

The price, and how it is paid:
- A statement blocks the loop while it runs. Reads and small writes take microseconds; bulk work (decay, imports)
  runs in bounded chunks so no single statement holds the loop for long.
- Two connections of one process must never wait on each other's write lock (the wait would block the loop that
  the lock holder needs). So the engine keeps exactly one connection per process (``pool_size=1``): sessions queue
  for it asynchronously, and SQLite's own lock only ever arbitrates between processes.
- Hence: never hold a session open while awaiting something that needs another session (a rule for tests too).
- Bulk work that cannot be cut small enough (an import's thousands of rows with their search index, an
  optimisation of 100,000 memories) runs its statements in a worker thread instead: inside
  :func:`in_worker_thread`, every statement of the current task goes to a thread, where SQLite works without the
  GIL and the loop keeps serving. The commit of a transaction that changed many rows goes there too, on its own:
  writing its pages and the checkpoint that may follow take long. The connection is still used by one session at
  a time (the pool has one), so the thread never shares it.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import Callable, Generator, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import partial
from typing import Any, TypeVar, cast

import aiosqlite
from sqlalchemy.ext.asyncio import AsyncSession

# A commit after this many changed rows (since the last commit) runs in a worker thread.
BIG_COMMIT_ROWS = 2_000

_T = TypeVar("_T")

_IN_WORKER_THREAD: ContextVar[bool] = ContextVar("sqlite_in_worker_thread", default=False)


@contextmanager
def in_worker_thread() -> Iterator[None]:
    """Within this block, the current task's SQLite statements run in a worker thread, not inline on the loop.
    For bulk work only: each statement then costs a thread hand-off (about 0.2 ms). No effect on PostgreSQL."""
    token = _IN_WORKER_THREAD.set(True)
    try:
        yield
    finally:
        _IN_WORKER_THREAD.reset(token)


async def _in_thread(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    work = asyncio.ensure_future(asyncio.to_thread(fn, *args, **kwargs))
    try:
        return await asyncio.shield(work)
    except asyncio.CancelledError:
        # The statement runs on: let it end before anyone (the rollback that follows) uses the connection again.
        with contextlib.suppress(BaseException):
            await work
        raise


class InlineConnection(aiosqlite.Connection):
    """An ``aiosqlite.Connection`` whose calls run in the calling (event loop) thread."""

    def __init__(self, connector: Callable[[], sqlite3.Connection], iter_chunk_size: int = 64) -> None:
        super().__init__(connector, iter_chunk_size)  # makes a worker thread object that is never started
        self._changes_committed = 0

    def __await__(self) -> Generator[Any, None, InlineConnection]:
        return self._connect().__await__()

    async def _connect(self) -> InlineConnection:
        if self._connection is None:
            self._connection = self._connector()
        return self

    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        connection = self._connection
        if not self._running or not connection:
            raise ValueError("Connection closed")
        if fn == connection.commit:
            big = connection.total_changes - self._changes_committed >= BIG_COMMIT_ROWS
            self._changes_committed = connection.total_changes
            if big or _IN_WORKER_THREAD.get():
                return await _in_thread(fn)
            return fn()
        if fn == connection.rollback:
            self._changes_committed = connection.total_changes
        if _IN_WORKER_THREAD.get():
            return await _in_thread(fn, *args, **kwargs)
        return fn(*args, **kwargs)

    def stop(self) -> None:
        self._running = False
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    async def close(self) -> None:
        self.stop()


async def on_session(session: AsyncSession, work: Callable[[sqlite3.Connection], _T]) -> _T:
    """``work(connection)`` on the ``sqlite3`` connection ``session`` uses, as its statements run: inline, or in a
    worker thread inside :func:`in_worker_thread`. For a hot read of many rows whose statements SQLAlchemy would only
    pass through (memory retrieval's candidates): each statement through a session costs some 50 µs of SQLAlchemy
    and its rows a Row each; plain ``sqlite3`` costs neither."""
    connection = await session.connection()
    inline = (await connection.get_raw_connection()).driver_connection
    if not isinstance(inline, InlineConnection) or inline._connection is None or not inline._running:
        raise TypeError("not an open session of this project's SQLite engine")
    if _IN_WORKER_THREAD.get():
        return cast(_T, await _in_thread(work, inline._connection))
    return work(inline._connection)


def connect(database: str, **kwargs: Any) -> InlineConnection:
    """What ``aiosqlite.connect`` is to threads, for inline use (SQLAlchemy's ``async_creator_fn``)."""
    kwargs.pop("iter_chunk_size", None)
    # Used by one session at a time, on the loop's thread or (in_worker_thread) a worker's: never by two at once.
    kwargs["check_same_thread"] = False
    return InlineConnection(partial(sqlite3.connect, database, **kwargs))
