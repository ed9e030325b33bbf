"""Freeing big containers without holding the interpreter.

Dropping the last reference to a list of 100,000 rows frees them all in one call that holds the GIL (every thread,
the event loop's too) for a quarter of a second. Emptied piece by piece, in a worker thread, the same freeing
lets the interpreter switch threads every few milliseconds as usual.
"""

from __future__ import annotations

from typing import Any


def release(*containers: Any) -> None:
    """Empty big lists, dicts and sets piece by piece, so that freeing what they hold never holds the GIL for long.
    Call it in a worker thread (``await asyncio.to_thread(release, rows)``) for the containers of bulk work; other
    values are left as they are."""
    for container in containers:
        if isinstance(container, dict):
            while container:
                container.popitem()
        elif isinstance(container, list | set):
            while container:
                container.pop()
