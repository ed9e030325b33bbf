"""Bulk work that keeps the event loop serving: what a use case over thousands of rows wraps itself in.

The loop's rule is that nothing holds it for long (an interaction unanswered within 3 s is lost). Bulk work breaks it
in three ways, and :func:`bulk_work` answers each:

- **SQLite statements run inline** on the loop (``bot/db/sqlite_inline.py``): inside, they run in a worker thread,
  where SQLite works without the GIL.
- **Pure computation** over the rows (planning an optimisation, checking an import) belongs in a worker thread too:
  the caller runs it with ``asyncio.to_thread``; the interpreter hands the loop the GIL every few milliseconds.
- **Freeing** a structure of a million objects in one go (the last reference to a list of 100,000 rows dropped) is
  one long call that holds the GIL too: :func:`release` empties such containers piece by piece, in a worker thread.
- **The cyclic garbage collector**'s full collections walk every object it tracks while holding the GIL, and bulk
  work makes hundreds of thousands: inside, they are deferred for a bounded time (:mod:`bot.collector`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from bot import collector
from bot.core.freeing import release as release  # the services free their rows with it
from bot.db import sqlite_inline


@contextmanager
def bulk_work() -> Iterator[None]:
    """Within this block (async code of one task): SQLite statements in a worker thread, and full garbage collections
    deferred for a bounded time. Run pure computation over many rows with ``asyncio.to_thread`` inside it, and free
    its big containers with :func:`release` there too."""
    with collector.bulk_allocation(), sqlite_inline.in_worker_thread():
        yield
