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
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Generator
from functools import partial
from typing import Any

import aiosqlite


class InlineConnection(aiosqlite.Connection):
    """An ``aiosqlite.Connection`` whose calls run in the calling (event loop) thread."""

    def __init__(self, connector: Callable[[], sqlite3.Connection], iter_chunk_size: int = 64) -> None:
        super().__init__(connector, iter_chunk_size)  # makes a worker thread object that is never started

    def __await__(self) -> Generator[Any, None, InlineConnection]:
        return self._connect().__await__()

    async def _connect(self) -> InlineConnection:  # type: ignore[override]
        if self._connection is None:
            self._connection = self._connector()
        return self

    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if not self._running or not self._connection:
            raise ValueError("Connection closed")
        return fn(*args, **kwargs)

    def stop(self) -> None:  # type: ignore[override]
        self._running = False
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    async def close(self) -> None:
        self.stop()


def connect(database: str, **kwargs: Any) -> InlineConnection:
    """What ``aiosqlite.connect`` is to threads, for inline use (SQLAlchemy's ``async_creator_fn``)."""
    kwargs.pop("iter_chunk_size", None)
    return InlineConnection(partial(sqlite3.connect, database, **kwargs))
