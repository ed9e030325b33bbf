"""What the memory rules see of one stored memory (:class:`MemoryItem`), and time between two moments."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from bot.core.memory.config import IMPORTANCE_MAX, IMPORTANCE_MIN

TIERS: tuple[str, ...] = ("hot", "warm", "cold")

_T = TypeVar("_T")

_SECONDS_PER_DAY = 86_400.0
_SECONDS_PER_HOUR = 3_600.0


def require_aware(name: str, moment: datetime) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime")


@dataclass(frozen=True)
class MemoryItem:
    """What the memory rules see of one stored memory. Datetimes are timezone-aware (UTC)."""

    id: int
    content_size: int
    category: str
    importance: int
    strength: float
    stability: float
    tier: str
    pinned: bool
    created_at: datetime
    last_accessed_at: datetime
    access_count: int
    cold_since: datetime | None = None

    def __post_init__(self) -> None:
        if not IMPORTANCE_MIN <= self.importance <= IMPORTANCE_MAX:
            raise ValueError(f"importance must be in {IMPORTANCE_MIN}..{IMPORTANCE_MAX}, not {self.importance}")
        if not 0.0 <= self.strength <= 1.0:
            raise ValueError(f"strength must be in 0..1, not {self.strength}")
        if not self.stability >= 1.0:
            raise ValueError(f"stability must be at least 1, not {self.stability}")
        if self.tier not in TIERS:
            raise ValueError(f"tier must be one of {TIERS}, not {self.tier!r}")
        if self.content_size < 0 or self.access_count < 0:
            raise ValueError("content_size and access_count cannot be negative")
        require_aware("created_at", self.created_at)
        require_aware("last_accessed_at", self.last_accessed_at)
        if self.cold_since is not None:
            require_aware("cold_since", self.cold_since)


def _elapsed(later: datetime, earlier: datetime, unit_seconds: float) -> float:
    """Time from ``earlier`` to ``later`` in the unit; a negative interval (clock skew) counts as 0."""
    require_aware("now", later)
    require_aware("time", earlier)
    return max(0.0, (later - earlier).total_seconds() / unit_seconds)


def days_between(later: datetime, earlier: datetime) -> float:
    """Days (fractional) from ``earlier`` to ``later``, at least 0."""
    return _elapsed(later, earlier, _SECONDS_PER_DAY)


def hours_between(later: datetime, earlier: datetime) -> float:
    """Hours (fractional) from ``earlier`` to ``later``, at least 0."""
    return _elapsed(later, earlier, _SECONDS_PER_HOUR)


def runs(ordered: Sequence[_T], apart: Callable[[_T, _T], bool]) -> list[list[_T]]:
    """``ordered`` (in time order) cut between two neighbours wherever ``apart(earlier, later)``: the sessions of a
    conversation. No run is empty; none at all for no items."""
    found: list[list[_T]] = []
    current: list[_T] = []
    for item in ordered:
        if current and apart(current[-1], item):
            found.append(current)
            current = []
        current.append(item)
    if current:
        found.append(current)
    return found
