"""The cyclic garbage collector around bulk work (process runtime: it tunes the interpreter, not a database).

A full collection walks every object the collector tracks while holding the GIL. Two things keep that short:

- **At start**, once ready, the process freezes what it made (``PersonaHubBot.on_ready``: ``gc.collect()`` then
  ``gc.freeze()``): the cogs, caches and guilds live as long as the process, and a full collection no longer walks
  them.
- **Bulk work** (an import, an optimisation of 100,000 memories) builds hundreds of thousands of objects in a few
  seconds, and every few hundred thousand allocations the collector walks them all again: stalls of 200-250 ms for
  the event loop. :func:`bulk_allocation` defers full collections meanwhile: the young generations are still
  collected as usual (short: only the newest objects), only the third generation's threshold is raised. The raise
  ends with the last overlapping bulk work, and lasts :data:`BULK_SECONDS` at most however much bulk work follows
  (checked at the start of every collection), so no member's stream of imports keeps full collections away.
"""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

BULK_SECONDS = 60.0  # the longest full collections stay deferred, however much bulk work overlaps
BULK_THRESHOLD2 = 1_000_000  # the third generation's threshold meanwhile: in effect, no full collection

_lock = threading.Lock()
_active = 0  # bulk work under way (overlapping tasks and threads)
_saved: tuple[int, int, int] | None = None  # the thresholds to restore, while raised
_until = 0.0  # when the raise ends at the latest (monotonic)


def _restore() -> None:
    global _saved
    if _saved is not None:
        gc.set_threshold(*_saved)
        _saved = None


def _bounded(phase: str, info: dict[str, Any]) -> None:
    """A collector callback: past the bound, the thresholds go back (the next collections are as usual)."""
    if phase == "start" and _saved is not None and time.monotonic() >= _until and _lock.acquire(blocking=False):
        # Never wait here: the collection may have started inside this module's own locked section.
        try:
            _restore()
        finally:
            _lock.release()


@contextmanager
def bulk_allocation() -> Iterator[None]:
    """Within this block, full collections are deferred (see the module's docstring); young ones run as usual.
    Overlapping blocks share one raise, which ends with the last of them or after :data:`BULK_SECONDS`."""
    global _active, _saved, _until
    with _lock:
        if _active == 0:
            _saved = gc.get_threshold()
            _until = time.monotonic() + BULK_SECONDS
            gc.set_threshold(_saved[0], _saved[1], max(_saved[2], BULK_THRESHOLD2))
            gc.callbacks.append(_bounded)
        _active += 1
    try:
        yield
    finally:
        with _lock:
            _active -= 1
            if _active == 0:
                _restore()
                gc.callbacks.remove(_bounded)
