"""Memory settings: one persona's :class:`MemoryConfig`, its validation, and the shipped presets.

Every tunable number lives in ``data/memory.toml`` (:func:`table`); the settings' rules are here.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from typing import Any

from bot.core import catalog
from bot.core.errors import DomainError

DECAY_FUNCTIONS: tuple[str, ...] = ("linear", "exponential", "logarithmic")
DECAY_SCHEDULES: tuple[str, ...] = ("continuous", "daily", "weekly")
IMPORTANCE_MIN = 1
IMPORTANCE_MAX = 10
# Sizes are decimal megabytes of content bytes: 1 MB = 1,000,000 bytes (SI), not 1,048,576.
BYTES_PER_MB = 1_000_000


def table() -> dict[str, Any]:
    """The memory catalogue, ``data/memory.toml``."""
    return catalog.load("memory")


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


# Each setting as people read it (the modals' labels say the same): errors name these, never the stored keys.
SETTING_WORDS: dict[str, str] = {
    "max_memory_size_mb": "size limit in MB",
    "max_entities": "most memories kept",
    "hot_memory_size": "number of hot memories",
    "warm_memory_size": "number of warm memories",
    "cold_memory_retention_days": "number of days cold memories are kept",
    "weight_recency": "weight of recency",
    "weight_importance": "weight of importance",
    "weight_relevance": "weight of relevance",
    "decay_enabled": "decay switch",
    "decay_function": "decay curve",
    "decay_rate": "decay rate",
    "decay_schedule": "decay schedule",
    "pinned_memories_exempt": "pinned-memories exemption",
    "exempt_categories": "list of categories that never decay",
    "high_importance_threshold": "importance that never decays",
    "track_relationships": "relationship tracking",
    "max_relationship_depth": "relationship depth",
    "encrypt_sensitive": "encryption of sensitive memories",
    "shareable": "sharing switch",
}


def setting_words(name: str) -> str:
    return SETTING_WORDS.get(name, name.replace("_", " "))


def _fail(name: str, rule: str) -> DomainError:
    return DomainError(f"The {setting_words(name)} {rule}.")


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
        raise _fail(name, "must be yes or no")
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
    limit = int(table()["limits"]["max_exempt_categories"])
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
        raise DomainError(f"There is no memory setting called {unknown[0]!r}.")
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
        raise _fail("hot_memory_size", f"cannot be larger than the {setting_words('warm_memory_size')}")
    for name in _WEIGHTS:
        weight = _as_float(name, values[name])
        if weight < 0:
            raise _fail(name, "cannot be negative")
        clean[name] = weight
    if all(clean[name] == 0 for name in _WEIGHTS):
        raise DomainError("The weights of recency, importance and relevance cannot all be 0.")
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
    return tuple(table()["presets"])


def preset(name: str) -> MemoryConfig:
    """The shipped preset ``name`` from ``data/memory.toml``; ``DomainError`` for an unknown name."""
    presets = table()["presets"]
    key = name.strip().lower()
    if key not in presets:
        raise DomainError(f"There is no memory preset called {name!r}; choose one of {', '.join(presets)}.")
    return validate_config(presets[key])


def default_config() -> MemoryConfig:
    """The default preset (``default_preset`` in ``data/memory.toml``: balanced)."""
    return preset(str(table()["default_preset"]))
