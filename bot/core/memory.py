"""Memory: configuration, decay, recall, retrieval, tiers, capacity, health, near-duplicates (SCIENCE.md §5).

Every tunable number lives in ``data/memory.toml``; this module holds the rules. Time is always a parameter
(timezone-aware UTC ``datetime``); nothing here reads a clock, a database or Discord.

Decay (r = decay rate per day, t = days since last access, s0 = strength at the last access):

- linear:       s = max(0, s0 - r t)
- exponential:  s = s0 e^(-r t)                 (Ebbinghaus; MemoryBank, Zhong et al. 2023)
- logarithmic:  s = max(0, s0 - r ln(1 + t))

Recall (MemoryBank): each retrieval into a prompt restarts t (``last_accessed_at = now``), returns the
strength to ``[recall] strength_after`` (1.0: at t = 0, R = e^0 = 1) and adds ``[recall] stability_gain`` (1)
to the stability. The rate a memory actually decays at is ``decay_rate / stability`` for all three functions
(MemoryBank's R = e^(-t/S) for the exponential; the same spacing effect, by analogy, for the other two).
Stability only changes at a recall, which also restarts t, so between two accesses every memory follows one
curve with one rate.

Retrieval (Park et al. 2023, "Generative Agents"): score = w_rec recency + w_imp importance + w_rel relevance,
each column min-max normalised over the candidates (a constant column scores 0.5), recency = 0.995^hours.
"""

from __future__ import annotations

import heapq
import math
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from datetime import datetime, timedelta
from typing import Any, TypeVar

from bot.core import catalog
from bot.core.errors import DomainError
from bot.core.freeing import release

DECAY_FUNCTIONS: tuple[str, ...] = ("linear", "exponential", "logarithmic")
DECAY_SCHEDULES: tuple[str, ...] = ("continuous", "daily", "weekly")
T = TypeVar("T")
SORT_RUN = 8_192  # the longest list sorted in one call by _sorted_by
TIERS: tuple[str, ...] = ("hot", "warm", "cold")
IMPORTANCE_MIN = 1
IMPORTANCE_MAX = 10
# Sizes are decimal megabytes of content bytes: 1 MB = 1,000,000 bytes (SI), not 1,048,576.
BYTES_PER_MB = 1_000_000

_SECONDS_PER_DAY = 86_400.0
_SECONDS_PER_HOUR = 3_600.0


def _table() -> dict[str, Any]:
    return catalog.load("memory")


# ----------------------------------------------------------------------------------------------------
# Configuration
# ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MemoryConfig:
    """One persona's memory settings (the seed's MemoryConfiguration and MemoryDecaySettings merged).

    ``hot_memory_size`` and ``warm_memory_size`` are separate tier capacities, counted in memories (a memory
    is in exactly one tier); the hot tier is the small fast one, so ``hot_memory_size <= warm_memory_size``.
    ``max_memory_size_mb`` counts content bytes in decimal megabytes (``BYTES_PER_MB``).
    """

    max_memory_size_mb: float
    max_entities: int
    hot_memory_size: int
    warm_memory_size: int
    cold_memory_retention_days: int
    weight_recency: float
    weight_importance: float
    weight_relevance: float
    decay_enabled: bool
    decay_function: str
    decay_rate: float
    decay_schedule: str
    pinned_memories_exempt: bool
    exempt_categories: tuple[str, ...]
    high_importance_threshold: int
    track_relationships: bool
    max_relationship_depth: int
    encrypt_sensitive: bool
    shareable: bool

    @property
    def weights(self) -> tuple[float, float, float]:
        """(recency, importance, relevance), in the order ``retrieval_scores`` takes them."""
        return (self.weight_recency, self.weight_importance, self.weight_relevance)


CONFIG_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(MemoryConfig))

_POSITIVE_INTS = ("max_entities", "hot_memory_size", "warm_memory_size", "cold_memory_retention_days")
_WEIGHTS = ("weight_recency", "weight_importance", "weight_relevance")
_BOOLS = ("decay_enabled", "pinned_memories_exempt", "track_relationships", "encrypt_sensitive", "shareable")


def _fail(name: str, rule: str) -> DomainError:
    return DomainError(f"The memory setting {name} {rule}.")


def _as_int(name: str, value: Any) -> int:
    if isinstance(value, bool):
        raise _fail(name, "must be a whole number")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    raise _fail(name, "must be a whole number")


def _as_float(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _fail(name, "must be a number")
    number = float(value)
    if not math.isfinite(number):
        raise _fail(name, "must be a finite number")
    return number


def _as_bool(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise _fail(name, "must be true or false")
    return value


def _as_choice(name: str, value: Any, choices: tuple[str, ...]) -> str:
    if not isinstance(value, str) or value.strip().lower() not in choices:
        raise _fail(name, "must be one of " + ", ".join(choices))
    return value.strip().lower()


def normalise_category(category: str) -> str:
    """A category as compared and stored: trimmed, case-folded, inner whitespace collapsed to one space."""
    return " ".join(category.split()).casefold()


def _as_categories(name: str, value: Any) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise _fail(name, "must be a list of category names")
    result: list[str] = []
    for entry in value:
        if not isinstance(entry, str) or not normalise_category(entry):
            raise _fail(name, "must hold only non-empty category names")
        category = normalise_category(entry)
        if category not in result:
            result.append(category)
    limit = int(_table()["limits"]["max_exempt_categories"])
    if len(result) > limit:
        raise _fail(name, f"can hold at most {limit} categories")
    return tuple(result)


def validate_config(values: Mapping[str, Any]) -> MemoryConfig:
    """A ``MemoryConfig`` from a mapping of every field, or a ``DomainError`` naming the setting at fault.

    Rules: every field present and no others; ``max_memory_size_mb``, ``max_entities``, ``hot_memory_size``,
    ``warm_memory_size``, ``cold_memory_retention_days`` and ``max_relationship_depth`` above 0 (whole numbers
    except the size in MB); ``hot_memory_size <= warm_memory_size``; ``decay_rate >= 0``; the three weights
    ``>= 0`` and not all 0; ``high_importance_threshold`` in 1..10; ``decay_function`` and ``decay_schedule``
    in their sets (case-insensitive); flags are booleans; ``exempt_categories`` a list of non-empty names,
    stored normalised (``normalise_category``) without repeats, at most ``[limits] max_exempt_categories``.
    """
    unknown = sorted(set(values) - set(CONFIG_FIELDS))
    if unknown:
        raise DomainError(f"There is no memory setting called {unknown[0]}.")
    for name in CONFIG_FIELDS:
        if name not in values:
            raise _fail(name, "is missing")

    clean: dict[str, Any] = {}
    size_mb = _as_float("max_memory_size_mb", values["max_memory_size_mb"])
    if size_mb <= 0:
        raise _fail("max_memory_size_mb", "must be above 0")
    clean["max_memory_size_mb"] = size_mb
    for name in (*_POSITIVE_INTS, "max_relationship_depth"):
        number = _as_int(name, values[name])
        if number <= 0:
            raise _fail(name, "must be above 0")
        clean[name] = number
    if clean["hot_memory_size"] > clean["warm_memory_size"]:
        raise _fail("hot_memory_size", "cannot be larger than warm_memory_size")
    for name in _WEIGHTS:
        weight = _as_float(name, values[name])
        if weight < 0:
            raise _fail(name, "cannot be negative")
        clean[name] = weight
    if all(clean[name] == 0 for name in _WEIGHTS):
        raise DomainError("The memory settings weight_recency, weight_importance and weight_relevance cannot all be 0.")
    rate = _as_float("decay_rate", values["decay_rate"])
    if rate < 0:
        raise _fail("decay_rate", "cannot be negative")
    clean["decay_rate"] = rate
    clean["decay_function"] = _as_choice("decay_function", values["decay_function"], DECAY_FUNCTIONS)
    clean["decay_schedule"] = _as_choice("decay_schedule", values["decay_schedule"], DECAY_SCHEDULES)
    threshold = _as_int("high_importance_threshold", values["high_importance_threshold"])
    if not IMPORTANCE_MIN <= threshold <= IMPORTANCE_MAX:
        raise _fail("high_importance_threshold", f"must be between {IMPORTANCE_MIN} and {IMPORTANCE_MAX}")
    clean["high_importance_threshold"] = threshold
    for name in _BOOLS:
        clean[name] = _as_bool(name, values[name])
    clean["exempt_categories"] = _as_categories("exempt_categories", values["exempt_categories"])
    return MemoryConfig(**clean)


def config_to_dict(config: MemoryConfig) -> dict[str, Any]:
    """The configuration as plain values keyed by field name (``exempt_categories`` as a list)."""
    result = {name: getattr(config, name) for name in CONFIG_FIELDS}
    result["exempt_categories"] = list(config.exempt_categories)
    return result


def config_from_dict(values: Mapping[str, Any]) -> MemoryConfig:
    """The inverse of ``config_to_dict``; validates like ``validate_config``."""
    return validate_config(values)


def preset_names() -> tuple[str, ...]:
    """The shipped preset names, in file order (light, balanced, deep)."""
    return tuple(_table()["presets"])


def preset(name: str) -> MemoryConfig:
    """The shipped preset ``name`` from ``data/memory.toml``; ``DomainError`` for an unknown name."""
    presets = _table()["presets"]
    key = name.strip().lower()
    if key not in presets:
        raise DomainError(f"There is no memory preset called {name!r}; choose one of {', '.join(presets)}.")
    return validate_config(presets[key])


def default_config() -> MemoryConfig:
    """The default preset (``default_preset`` in ``data/memory.toml``: balanced)."""
    return preset(str(_table()["default_preset"]))


# ----------------------------------------------------------------------------------------------------
# Memories
# ----------------------------------------------------------------------------------------------------


def _require_aware(name: str, moment: datetime) -> None:
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
        _require_aware("created_at", self.created_at)
        _require_aware("last_accessed_at", self.last_accessed_at)
        if self.cold_since is not None:
            _require_aware("cold_since", self.cold_since)


def _elapsed(later: datetime, earlier: datetime, unit_seconds: float) -> float:
    """Time from ``earlier`` to ``later`` in the unit; a negative interval (clock skew) counts as 0."""
    _require_aware("now", later)
    _require_aware("time", earlier)
    return max(0.0, (later - earlier).total_seconds() / unit_seconds)


def days_between(later: datetime, earlier: datetime) -> float:
    """Days (fractional) from ``earlier`` to ``later``, at least 0."""
    return _elapsed(later, earlier, _SECONDS_PER_DAY)


def hours_between(later: datetime, earlier: datetime) -> float:
    """Hours (fractional) from ``earlier`` to ``later``, at least 0."""
    return _elapsed(later, earlier, _SECONDS_PER_HOUR)


# ----------------------------------------------------------------------------------------------------
# Decay
# ----------------------------------------------------------------------------------------------------


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
    periods = _table()["decay_schedule"]
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
    _require_aware("now", now)
    rules = _table()["recall"]
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


# ----------------------------------------------------------------------------------------------------
# Retrieval
# ----------------------------------------------------------------------------------------------------


def _min_max(column: Sequence[float]) -> list[float]:
    low, high = min(column), max(column)
    if high - low <= 0:
        return [0.5] * len(column)
    return [(value - low) / (high - low) for value in column]


def _finite(name: str, column: Sequence[float]) -> None:
    if not all(math.isfinite(value) for value in column):
        raise ValueError(f"{name} must hold finite numbers")


def retrieval_components(
    hours_since_access: Sequence[float],
    importance: Sequence[float],
    relevance: Sequence[float],
) -> tuple[list[float], list[float], list[float]]:
    """The three normalised columns of :func:`retrieval_scores` (recency, importance, relevance), each in [0, 1],
    so a caller that shows the parts computes them once. Same checks as :func:`retrieval_scores`."""
    size = len(hours_since_access)
    if len(importance) != size or len(relevance) != size:
        raise ValueError("hours_since_access, importance and relevance must have the same length")
    if size == 0:
        return [], [], []
    for name, column in (
        ("hours_since_access", hours_since_access),
        ("importance", importance),
        ("relevance", relevance),
    ):
        _finite(name, column)
    if min(hours_since_access) < 0:
        raise ValueError("hours_since_access cannot be negative")
    base = float(_table()["retrieval"]["recency_base"])
    return (_min_max([base**hours for hours in hours_since_access]), _min_max(importance), _min_max(relevance))


def combine(
    components: tuple[Sequence[float], Sequence[float], Sequence[float]], weights: tuple[float, float, float]
) -> list[float]:
    """``w_rec recency + w_imp importance + w_rel relevance`` over normalised columns."""
    if len(weights) != 3 or any(not math.isfinite(w) or w < 0 for w in weights):
        raise ValueError("weights must be three finite numbers of at least 0")
    recency, imp, rel = components
    w_rec, w_imp, w_rel = weights
    return [w_rec * r + w_imp * i + w_rel * v for r, i, v in zip(recency, imp, rel, strict=True)]


def best_first(scores: Sequence[float], k: int) -> list[int]:
    """Indices of the ``k`` best scores, best first; equal scores go to the lower index."""
    return sorted(range(len(scores)), key=lambda i: (-scores[i], i))[: max(0, k)]


def retrieval_scores(
    hours_since_access: Sequence[float],
    importance: Sequence[float],
    relevance: Sequence[float],
    weights: tuple[float, float, float] = (1.0, 1.0, 1.0),
) -> list[float]:
    """Park et al. (2023) retrieval scores, one per candidate, in input order.

    recency = ``[retrieval] recency_base`` (0.995) ^ hours since last access; each of recency, importance and
    relevance is min-max normalised to [0, 1] over the candidates (a column whose values are all equal scores
    0.5 everywhere); score = w_rec recency + w_imp importance + w_rel relevance (not divided by the weights'
    sum, so a score lies in [0, sum of weights]). ``ValueError`` when the lengths differ, an hour count is
    negative, a value is not finite or a weight is negative; no candidates gives ``[]``.
    """
    if len(weights) != 3 or any(not math.isfinite(w) or w < 0 for w in weights):
        raise ValueError("weights must be three finite numbers of at least 0")
    return combine(retrieval_components(hours_since_access, importance, relevance), weights)


def top_k(
    hours_since_access: Sequence[float],
    importance: Sequence[float],
    relevance: Sequence[float],
    k: int,
    weights: tuple[float, float, float] = (1.0, 1.0, 1.0),
) -> list[int]:
    """Indices of the ``k`` best ``retrieval_scores``, best first; equal scores go to the lower index."""
    return best_first(retrieval_scores(hours_since_access, importance, relevance, weights), k)


# ----------------------------------------------------------------------------------------------------
# Tiers and capacity
# ----------------------------------------------------------------------------------------------------


def memory_value(item: MemoryItem, config: MemoryConfig) -> float:
    """The query-free retrieval value tiers and eviction rank by, in [0, 1].

    ``(w_rec * strength + w_imp * (importance - 1) / 9) / (w_rec + w_imp)``: the retrieval score without the
    relevance term (there is no query), where the decayed strength stands for recency (it falls with time
    since the last access and is restored by a recall) and importance is scaled from 1..10 to 0..1. When both
    weights are 0 (relevance-only retrieval) the two count equally.
    """
    w_rec, w_imp = config.weight_recency, config.weight_importance
    if w_rec + w_imp <= 0:
        w_rec = w_imp = 1.0
    importance = (item.importance - IMPORTANCE_MIN) / (IMPORTANCE_MAX - IMPORTANCE_MIN)
    return (w_rec * item.strength + w_imp * importance) / (w_rec + w_imp)


def _sorted_by(items: Iterable[T], *keys: Callable[[T], Any]) -> list[T]:
    """``sorted(items, key=lambda x: (keys[0](x), keys[1](x), ...))``, as one stable sort per key, the last first.

    The same order, but a pass compares single numbers, which Python does an order of magnitude faster than
    tuples. And each sort is one call that holds the interpreter (for 100,000 tuples about 0.1 s, during which a
    worker thread running this stops the event loop's thread too): a long list is sorted in runs of
    :data:`SORT_RUN` merged by ``heapq.merge`` (stable too: equal keys keep the runs' order), which is ordinary
    bytecode between short sorts."""
    ordered = list(items)
    for key in reversed(keys):
        if len(ordered) <= SORT_RUN:
            ordered.sort(key=key)
            continue
        runs = [sorted(ordered[start : start + SORT_RUN], key=key) for start in range(0, len(ordered), SORT_RUN)]
        ordered = list(heapq.merge(*runs, key=key))
    return ordered


def _ranked(items: Sequence[MemoryItem], config: MemoryConfig, now: datetime) -> list[MemoryItem]:
    """Best first: higher ``memory_value``, then more recently accessed, then lower id."""
    return _sorted_by(
        items, lambda m: -memory_value(m, config), lambda m: hours_between(now, m.last_accessed_at), lambda m: m.id
    )


def assign_tiers(items: Sequence[MemoryItem], config: MemoryConfig, now: datetime) -> dict[int, str]:
    """The tier each memory belongs in now, by id.

    Pinned memories rank first (among themselves by value), then the rest by ``memory_value`` (ties: more
    recently accessed first, then lower id). The first ``hot_memory_size`` are hot, the next
    ``warm_memory_size`` warm, the rest cold. Pinned memories are never cold: if there are more of them than
    hot plus warm slots, the extra ones are warm (the warm tier overflows; ``health`` reports it).
    """
    _require_aware("now", now)
    pinned = _ranked([m for m in items if m.pinned], config, now)
    others = _ranked([m for m in items if not m.pinned], config, now)
    tiers: dict[int, str] = {}
    hot_end = config.hot_memory_size
    warm_end = hot_end + config.warm_memory_size
    for position, item in enumerate(pinned + others):
        if position < hot_end:
            tiers[item.id] = "hot"
        elif position < warm_end or item.pinned:
            tiers[item.id] = "warm"
        else:
            tiers[item.id] = "cold"
    return tiers


def expired_cold(items: Sequence[MemoryItem], config: MemoryConfig, now: datetime) -> list[int]:
    """Ids of cold memories cold for longer than ``cold_memory_retention_days`` (strictly), in id order.

    Pinned memories and those ``is_exempt`` protects are never expired; a cold memory without ``cold_since``
    is not expired (the service should set it when it moves a memory to cold).
    """
    limit = float(config.cold_memory_retention_days)
    return sorted(
        m.id
        for m in items
        if m.tier == "cold"
        and m.cold_since is not None
        and not m.pinned
        and not is_exempt(m, config)
        and days_between(now, m.cold_since) > limit
    )


def max_bytes(config: MemoryConfig) -> float:
    """The content-byte limit: ``max_memory_size_mb * BYTES_PER_MB`` (decimal MB)."""
    return config.max_memory_size_mb * BYTES_PER_MB


def evict_for_capacity(items: Sequence[MemoryItem], config: MemoryConfig, now: datetime) -> list[int]:
    """Ids to delete, in deletion order, until the store is within ``max_entities`` and
    ``max_memory_size_mb``.

    Candidates go lowest ``memory_value`` first (ties: least recently accessed, then lower id), whatever their
    tier; pinned memories are never evicted, so a store over its limits with pinned memories alone stays over
    (``health`` reports it). Nothing is evicted while both limits hold.
    """
    _require_aware("now", now)
    count = len(items)
    size = sum(m.content_size for m in items)
    limit = max_bytes(config)
    candidates = [m for m in items if not m.pinned]
    order = _sorted_by(
        candidates,
        lambda m: memory_value(m, config),
        lambda m: -hours_between(now, m.last_accessed_at),
        lambda m: m.id,
    )
    evicted: list[int] = []
    for item in order:
        if count <= config.max_entities and size <= limit:
            break
        evicted.append(item.id)
        count -= 1
        size -= item.content_size
    return evicted


# ----------------------------------------------------------------------------------------------------
# Health
# ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MemoryHealth:
    """A memory store's health report (seed §3.2).

    ``score`` 0..100 (see ``health``); ``hot_usage`` / ``warm_usage`` = tier count / configured size (1.0 =
    full, above 1 = overfull); ``entities_usage`` = count / ``max_entities``; ``size_usage`` = content bytes /
    ``max_bytes``; ``fragmentation`` 0..1; ``time_since_optimization`` None when never optimised.
    """

    score: float
    hot_count: int
    warm_count: int
    cold_count: int
    hot_usage: float
    warm_usage: float
    entities_usage: float
    size_usage: float
    fragmentation: float
    time_since_optimization: timedelta | None
    recommendations: tuple[str, ...]


def fragmentation(items: Sequence[MemoryItem], config: MemoryConfig, now: datetime) -> float:
    """The share (0..1) of memories whose stored tier differs from what ``assign_tiers`` gives now.

    0 for an empty store, and right after an optimisation that applied ``assign_tiers``; it grows as decay,
    recalls and new memories change the ranking.
    """
    if not items:
        return 0.0
    wanted = assign_tiers(items, config, now)
    wrong = sum(1 for m in items if wanted[m.id] != m.tier)
    return wrong / len(items)


def _percent(ratio: float) -> str:
    return f"{round(ratio * 100)}%"


def health(
    items: Sequence[MemoryItem], config: MemoryConfig, now: datetime, last_optimization_at: datetime | None
) -> MemoryHealth:
    """The store's health at ``now``. Thresholds and penalties come from ``[health]`` in ``data/memory.toml``.

    Score = 100 - P_frag * fragmentation - P_over * overfill - P_stale * staleness, clamped to 0..100, with
    the penalties P from ``[health.score]`` (40, 35, 25); overfill = (the largest of hot, warm, entity and
    size usage) - 1, clipped to 0..1; staleness = (days since optimisation - stale_after_days) /
    stale_after_days, clipped to 0..1. Days since optimisation count from ``last_optimization_at``, or, when
    never optimised, from the oldest memory's ``created_at`` (an empty store is never stale). An empty store
    scores 100.

    Recommendations, in this order, each when its rule holds:

    1. hot usage > ``hot_usage_above``: "Hot memory is N% full: run /memory optimize or raise the hot size."
    2. warm usage > ``warm_usage_above``: the same for warm.
    3. entity usage >= ``entities_usage_at_least``: the store is near (or over) ``max_entities``.
    4. size usage >= ``size_usage_at_least``: the store is near (or over) ``max_memory_size_mb``.
    5. fragmentation >= ``fragmentation_at_least``: "N% of memories sit in the wrong tier: run /memory
       optimize."
    6. days since optimisation >= ``stale_after_days``: "No optimisation for N days: ..." (or "never
       optimised" when ``last_optimization_at`` is None).
    """
    _require_aware("now", now)
    return health_from_counts(
        config,
        now,
        last_optimization_at,
        hot=sum(1 for m in items if m.tier == "hot"),
        warm=sum(1 for m in items if m.tier == "warm"),
        cold=sum(1 for m in items if m.tier == "cold"),
        total_bytes=sum(m.content_size for m in items),
        oldest_created_at=min((m.created_at for m in items), default=None),
        fragmentation_share=fragmentation(items, config, now),
    )


def health_from_counts(
    config: MemoryConfig,
    now: datetime,
    last_optimization_at: datetime | None,
    *,
    hot: int,
    warm: int,
    cold: int,
    total_bytes: int,
    oldest_created_at: datetime | None,
    fragmentation_share: float,
) -> MemoryHealth:
    """:func:`health` from counts alone (what SQL aggregates give), so a large store is never loaded whole.
    The formula and the recommendations are those documented on :func:`health`."""
    rules = _table()["health"]
    penalties = rules["score"]
    total = hot + warm + cold
    hot_usage = hot / config.hot_memory_size
    warm_usage = warm / config.warm_memory_size
    entities_usage = total / config.max_entities
    size_usage = total_bytes / max_bytes(config)
    frag = fragmentation_share if total else 0.0

    since: timedelta | None = None
    if last_optimization_at is not None:
        _require_aware("last_optimization_at", last_optimization_at)
        since = max(timedelta(0), now - last_optimization_at)
        stale_days: float | None = days_between(now, last_optimization_at)
    elif total and oldest_created_at is not None:
        stale_days = days_between(now, oldest_created_at)
    else:
        stale_days = None

    stale_after = float(rules["stale_after_days"])
    overfill = min(1.0, max(0.0, max(hot_usage, warm_usage, entities_usage, size_usage) - 1.0))
    staleness = 0.0 if stale_days is None else min(1.0, max(0.0, (stale_days - stale_after) / stale_after))
    score = 100.0
    if total:
        score -= float(penalties["fragmentation"]) * frag
        score -= float(penalties["overfill"]) * overfill
        score -= float(penalties["staleness"]) * staleness
    score = min(100.0, max(0.0, score))

    advice: list[str] = []
    if hot_usage > float(rules["hot_usage_above"]):
        advice.append(f"Hot memory is {_percent(hot_usage)} full: run /memory optimize or raise the hot size.")
    if warm_usage > float(rules["warm_usage_above"]):
        advice.append(f"Warm memory is {_percent(warm_usage)} full: run /memory optimize or raise the warm size.")
    if entities_usage >= float(rules["entities_usage_at_least"]):
        advice.append(
            f"Memory holds {total} of at most {config.max_entities} memories "
            f"({_percent(entities_usage)}): the weakest will be removed; "
            "raise the limit or let cold memories expire."
        )
    if size_usage >= float(rules["size_usage_at_least"]):
        advice.append(
            f"Memory uses {_percent(size_usage)} of its {config.max_memory_size_mb:g} MB: "
            "the weakest memories will be removed; raise the size limit."
        )
    if total and frag >= float(rules["fragmentation_at_least"]):
        advice.append(f"{_percent(frag)} of memories sit in the wrong tier: run /memory optimize.")
    if stale_days is not None and stale_days >= stale_after:
        if last_optimization_at is None:
            advice.append("Memory has never been optimised: run /memory optimize.")
        else:
            advice.append(f"No optimisation for {math.floor(stale_days)} days: run /memory optimize.")

    return MemoryHealth(
        score=score,
        hot_count=hot,
        warm_count=warm,
        cold_count=cold,
        hot_usage=hot_usage,
        warm_usage=warm_usage,
        entities_usage=entities_usage,
        size_usage=size_usage,
        fragmentation=frag,
        time_since_optimization=since,
        recommendations=tuple(advice),
    )


# ----------------------------------------------------------------------------------------------------
# Near-duplicates
# ----------------------------------------------------------------------------------------------------

_NON_WORD = re.compile(r"[^\w]+")


def normalise_text(text: str) -> list[str]:
    """The words compared: NFKC, case-folded, every run of non-word characters (punctuation, underscores,
    spaces) a separator."""
    folded = unicodedata.normalize("NFKC", text).casefold().replace("_", " ")
    return [word for word in _NON_WORD.split(folded) if word]


def shingles(text: str, size: int | None = None) -> frozenset[tuple[str, ...]]:
    """The set of ``size``-word shingles (``[near_duplicates] shingle_words``, 2) of the normalised text; a
    text with fewer words is one shingle of all of them; no words gives the empty set."""
    width = int(_table()["near_duplicates"]["shingle_words"]) if size is None else size
    if width < 1:
        raise ValueError("shingle size must be at least 1")
    words = normalise_text(text)
    if not words:
        return frozenset()
    if len(words) < width:
        return frozenset({tuple(words)})
    return frozenset(tuple(words[i : i + width]) for i in range(len(words) - width + 1))


def similarity(first: str, second: str) -> float:
    """Jaccard similarity of the two texts' shingle sets, |A ∩ B| / |A ∪ B|; 0 when either has no words."""
    a, b = shingles(first), shingles(second)
    if not a or not b:
        return 0.0
    return len(a & b) / len(a | b)


def near_duplicates(
    items_with_text: Sequence[tuple[int, str, float]], threshold: float | None = None
) -> list[tuple[int, int]]:
    """Pairs ``(keep_id, drop_id)`` of memories whose ``similarity`` is at least ``threshold``
    (``[near_duplicates] threshold``, 0.8, by default).

    Items are ``(id, text, strength)``. Going from strongest to weakest (equal strength: lower id first), each
    memory not yet dropped keeps every later one similar enough to it, so the kept one is always the stronger,
    a dropped memory appears once, and a kept memory is never dropped. The service merges each drop into its
    keep (summing access counts) and deletes it. Pairs come in that order.
    """
    limit = float(_table()["near_duplicates"]["threshold"]) if threshold is None else threshold
    if not 0.0 < limit <= 1.0:
        raise ValueError("threshold must be in (0, 1]")
    ordered = _sorted_by(items_with_text, lambda entry: -entry[2], lambda entry: entry[0])
    sets = [shingles(text) for _, text, _ in ordered]
    index: dict[tuple[str, ...], list[int]] = {}
    for position, shingle_set in enumerate(sets):
        for shingle in shingle_set:
            index.setdefault(shingle, []).append(position)

    dropped: set[int] = set()
    pairs: list[tuple[int, int]] = []
    for position, shingle_set in enumerate(sets):
        if position in dropped or not shingle_set:
            continue
        candidates = sorted(
            {other for shingle in shingle_set for other in index[shingle] if other > position} - dropped
        )
        for other in candidates:
            other_set = sets[other]
            if len(shingle_set & other_set) / len(shingle_set | other_set) >= limit:
                dropped.add(other)
                pairs.append((ordered[position][0], ordered[other][0]))
    # Released piece by piece: freed in one go, the sets and the index of 100,000 memories hold the interpreter
    # (every thread, the event loop's too) for a quarter of a second.
    release(index, sets)
    return pairs
