"""Bulk work that keeps the event loop serving: what a use case over thousands of rows wraps itself in.

The loop's rule is that nothing holds it for long (an interaction unanswered within 3 s is lost). Bulk work breaks it
in three ways, and :func:`bulk_work` answers each:

- **SQLite statements run inline** on the loop (``bot/db/sqlite_inline.py``): inside, they run in a worker thread,
  where SQLite works without the GIL.
- **Pure computation** over the rows (planning an optimisation, checking an import) belongs in a worker thread too:
  the caller runs it with ``asyncio.to_thread``; the interpreter hands the loop the GIL every few milliseconds.
- **Freeing** a structure of a million objects in one go (the last reference to a list of 100,000 rows dropped) is
  one long call that holds the GIL too: :func:`release` empties such containers piece by piece, in a worker thread.
- **The cyclic garbage collector** is what such a thread does not share: building hundreds of thousands of objects
  triggers full collections that walk the whole heap while holding the GIL, stopping every thread for up to a
  second each. Inside, automatic collection is paused (counted, so overlapping bulk work resumes it only when the
  last one ends). The rows and plans are freed by reference counting as usual; only garbage cycles wait for the
  collector, which runs again when the work ends.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from bot.db import sqlite_inline

_lock = threading.Lock()
_paused = 0
_was_enabled = False


@contextmanager
def _collector_paused() -> Iterator[None]:
    global _paused, _was_enabled
    with _lock:
        if _paused == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _paused += 1
    try:
        yield
    finally:
        with _lock:
            _paused -= 1
            if _paused == 0 and _was_enabled:
                gc.enable()


@contextmanager
def bulk_work() -> Iterator[None]:
    """Within this block (async code of one task): SQLite statements in a worker thread and the cyclic garbage
    collector paused. Run pure computation over many rows with ``asyncio.to_thread`` inside it."""
    with _collector_paused(), sqlite_inline.in_worker_thread():
        yield


def release(*containers: Any) -> None:
    """Empty big lists, dicts and sets piece by piece, so that freeing what they hold never holds the GIL for long.
    Call it in a worker thread (``await asyncio.to_thread(release, rows)``) for the containers of bulk work."""
    for container in containers:
        if isinstance(container, dict):
            while container:
                container.popitem()
        elif isinstance(container, list | set):
            while container:
                container.pop()
