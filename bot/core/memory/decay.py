"""Decay (linear, exponential, logarithmic, at ``decay_rate / stability``), its SQL form, exemptions, the
schedules, and recall (MemoryBank's rule). The formulas are in the package docstring (``bot.core.memory``)."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import datetime

from bot.core.errors import DomainError
from bot.core.memory.config import DECAY_FUNCTIONS, MemoryConfig, normalise_category, table
from bot.core.memory.items import MemoryItem, days_between, require_aware


def _check_decay_args(function: str, rate: float, *times: float) -> None:
    if function not in DECAY_FUNCTIONS:
        raise DomainError(f"The decay function must be one of {', '.join(DECAY_FUNCTIONS)}, not {function!r}.")
    if not (math.isfinite(rate) and rate >= 0):
        raise DomainError("The decay rate must be a finite number of at least 0.")
    for value in times:
        if not (math.isfinite(value) and value >= 0):
            raise DomainError("A decay time must be a finite number of days of at least 0.")


def retention(function: str, rate: float, days: float, start: float = 1.0) -> float:
    """Strength after ``days`` since the last access, starting from ``start`` at that access.

    linear ``max(0, start - rate*days)``; exponential ``start * exp(-rate*days)``; logarithmic
    ``max(0, start - rate*ln(1 + days))``. ``ValueError`` (a ``DomainError``) for an unknown function or a
    negative (or non-finite) rate or time.
    """
    _check_decay_args(function, rate, days)
    if function == "exponential":
        return start * math.exp(-rate * days)
    if function == "linear":
        return max(0.0, start - rate * days)
    return max(0.0, start - rate * math.log1p(days))


def decay_step(
    function: str, rate: float, strength: float, days_since_last_run: float, days_since_access: float
) -> float:
    """One incremental decay run: the strength now, given the strength at the previous run.

    ``days_since_access`` is t now; the previous run was ``dt = days_since_last_run`` days ago, so t was
    ``t - dt`` then. If the memory was accessed after the previous run (``dt > t``), the strength was reset at
    that access, so only ``t`` days count: ``dt`` is clipped to ``t``. With t1 = t - dt and t2 = t:

    - exponential: ``strength * exp(-rate*dt)``: exact, because e^(-r a) e^(-r b) = e^(-r (a+b));
    - linear: ``max(0, strength - rate*dt)``: the subtractions add up to rate * total time;
    - logarithmic: ``max(0, strength - rate*(ln(1+t2) - ln(1+t1)))``: the differences telescope to ln(1+t).

    So runs at any times between two accesses end where one ``retention`` over the whole time would (the
    floor at 0 is absorbing, so clipping early changes nothing). Pass ``rate = decay_rate / stability``
    (``effective_rate``). The SQL form is ``decay_sql``.
    """
    _check_decay_args(function, rate, days_since_last_run, days_since_access)
    dt = min(days_since_last_run, days_since_access)
    if function == "exponential":
        return strength * math.exp(-rate * dt)
    if function == "linear":
        return max(0.0, strength - rate * dt)
    t2 = days_since_access
    t1 = t2 - dt
    return max(0.0, strength - rate * (math.log1p(t2) - math.log1p(t1)))


def effective_rate(rate: float, stability: float) -> float:
    """The rate a memory decays at: the configured rate divided by its stability (>= 1, raised by recalls)."""
    if not stability >= 1.0:
        raise ValueError("stability must be at least 1")
    return rate / stability


def decay_sql(
    function: str,
    *,
    strength: str = "strength",
    stability: str = "stability",
    rate: str = ":rate",
    dt: str = ":dt",
    t: str = "t",
) -> str:
    """``decay_step`` with ``rate / stability`` as one SQL expression, for the scheduled job's UPDATE.

    The arguments are SQL fragments: the columns ``strength`` and ``stability``, the bound configured ``rate``
    (per day), ``dt`` = days since the previous run and ``t`` = days since the row's last access, which the
    job writes for its dialect, e.g. PostgreSQL
    ``(EXTRACT(EPOCH FROM (:now - last_accessed_at)) / 86400.0)``, SQLite
    ``(julianday(:now) - julianday(last_accessed_at))``. With ``d = min(dt, t)`` and ``k = rate / stability``:

    - exponential: ``strength * exp(-k * d)``
    - linear: ``max(0, strength - k * d)``
    - logarithmic: ``max(0, strength - k * (ln(1 + t) - ln(1 + t - d)))``

    min/max are written as ``CASE`` so the text runs on PostgreSQL and on SQLite (3.35+ math functions).
    The job applies it only to rows that ``is_exempt`` would not exempt, and only when ``decay_enabled``.
    """
    _check_decay_args(function, 0.0)
    k = f"(({rate}) * 1.0 / ({stability}))"
    d = f"(CASE WHEN ({dt}) < ({t}) THEN ({dt}) ELSE ({t}) END)"
    if function == "exponential":
        return f"(({strength}) * exp(-{k} * {d}))"
    if function == "linear":
        value = f"(({strength}) - {k} * {d})"
    else:
        value = f"(({strength}) - {k} * (ln(1 + ({t})) - ln(1 + ({t}) - {d})))"
    return f"(CASE WHEN {value} > 0 THEN {value} ELSE 0 END)"


def is_exempt(item: MemoryItem, config: MemoryConfig) -> bool:
    """Whether decay skips this memory: pinned (when ``pinned_memories_exempt``), a category in
    ``exempt_categories`` (compared after ``normalise_category``), or importance at or above
    ``high_importance_threshold``."""
    if item.pinned and config.pinned_memories_exempt:
        return True
    if normalise_category(item.category) in config.exempt_categories:
        return True
    return item.importance >= config.high_importance_threshold


def decay_due(schedule: str, last_run_at: datetime | None, now: datetime) -> bool:
    """Whether a decay run is due: never run, or at least ``[decay_schedule] <schedule>`` days since the last
    (continuous: 0, so every job run)."""
    periods = table()["decay_schedule"]
    if schedule not in periods:
        raise DomainError(f"The decay schedule must be one of {', '.join(periods)}, not {schedule!r}.")
    if last_run_at is None:
        return True
    return days_between(now, last_run_at) >= float(periods[schedule])


def decayed_strength(item: MemoryItem, config: MemoryConfig, now: datetime, last_run_at: datetime | None) -> float:
    """The item's strength after a decay run at ``now`` (previous run at ``last_run_at``, None when never).

    Unchanged when decay is disabled or the item ``is_exempt``; otherwise ``decay_step`` with
    ``effective_rate(decay_rate, stability)``, t since ``last_accessed_at`` (never run: dt = t).
    """
    if not config.decay_enabled or is_exempt(item, config):
        return item.strength
    t = days_between(now, item.last_accessed_at)
    dt = t if last_run_at is None else days_between(now, last_run_at)
    rate = effective_rate(config.decay_rate, item.stability)
    return decay_step(config.decay_function, rate, item.strength, dt, t)


def recall(item: MemoryItem, now: datetime) -> MemoryItem:
    """The item after being retrieved into a prompt at ``now`` (MemoryBank's rule).

    ``last_accessed_at = now`` (t restarts), ``strength = [recall] strength_after`` (1.0), ``stability +=
    [recall] stability_gain`` (1, so later decay is slower), ``access_count += 1``. A cold memory comes back
    to warm (``cold_since = None``) so it cannot expire just after being used; hot and warm keep their tier.
    """
    require_aware("now", now)
    rules = table()["recall"]
    tier = "warm" if item.tier == "cold" else item.tier
    return replace(
        item,
        last_accessed_at=now,
        strength=float(rules["strength_after"]),
        stability=item.stability + float(rules["stability_gain"]),
        access_count=item.access_count + 1,
        tier=tier,
        cold_since=None,
    )
