"""The clock, at the edge of the system.

Services and ``bot.core`` never read it: time is a parameter there (``now``), passed in by whoever starts the work
(a command, a job, a test). The import contract in ``pyproject.toml`` keeps it that way.
"""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    """Now, as an aware UTC datetime."""
    return datetime.now(UTC)
