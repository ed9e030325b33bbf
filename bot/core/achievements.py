"""Achievements as rules: which ones a persona has earned, given its counters. Pure.

The definitions live in ``data/achievements.toml`` (the single source of titles and thresholds). A rule is "metric
reaches threshold"; each metric is fed by one *input* (what changed: a conversation, a follow, an emotion, an
endorsement, or simply time), so a caller that knows what changed asks only about the rules that can have moved.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.core import catalog
from bot.core.errors import DomainError

# metric -> the input that changes it
METRIC_INPUTS: dict[str, str] = {
    "interaction_count": "conversations",
    "follower_count": "followers",
    "age_days": "age",
    "distinct_emotions": "emotions",
    "endorsement_count": "endorsements",
}
INPUTS: tuple[str, ...] = tuple(dict.fromkeys(METRIC_INPUTS.values()))


@dataclass(frozen=True)
class Achievement:
    """One definition: ``metric`` reaching ``threshold`` earns it."""

    key: str
    title: str
    description: str
    emoji: str
    metric: str
    threshold: float

    @property
    def input(self) -> str:
        return METRIC_INPUTS[self.metric]

    def earned_by(self, metrics: Mapping[str, float]) -> bool:
        return float(metrics.get(self.metric, 0)) >= self.threshold


def parse_definitions(table: Mapping[str, Any]) -> tuple[Achievement, ...]:
    """The ``[[achievement]]`` entries of a parsed table, validated (unique keys, known metrics)."""
    found: list[Achievement] = []
    seen: set[str] = set()
    for index, entry in enumerate(table.get("achievement") or []):
        key = str(entry.get("key") or "").strip()
        metric = str(entry.get("metric") or "")
        if not key or len(key) > 64:
            raise DomainError(f"achievement #{index + 1} needs a key of 1..64 characters")
        if key in seen:
            raise DomainError(f"achievement key '{key}' is defined twice")
        if metric not in METRIC_INPUTS:
            raise DomainError(f"achievement '{key}': unknown metric '{metric}' (known: {', '.join(METRIC_INPUTS)})")
        threshold = float(entry.get("threshold", 0))
        if threshold <= 0:
            raise DomainError(f"achievement '{key}': threshold must be positive")
        seen.add(key)
        found.append(
            Achievement(
                key=key,
                title=str(entry.get("title") or key),
                description=str(entry.get("description") or ""),
                emoji=str(entry.get("emoji") or "🏆"),
                metric=metric,
                threshold=threshold,
            )
        )
    return tuple(found)


def definitions() -> tuple[Achievement, ...]:
    """Every achievement of ``data/achievements.toml``, in file order."""
    return parse_definitions(catalog.load("achievements"))


def by_key() -> dict[str, Achievement]:
    return {a.key: a for a in definitions()}


def metrics_needed(inputs_changed: Collection[str] | None, defs: Iterable[Achievement] | None = None) -> set[str]:
    """The metrics the rules fed by ``inputs_changed`` read (all of them when None)."""
    defs = definitions() if defs is None else defs
    return {a.metric for a in defs if inputs_changed is None or a.input in inputs_changed}


def newly_earned(
    metrics: Mapping[str, float],
    awarded: Collection[str],
    *,
    inputs_changed: Collection[str] | None = None,
    defs: Iterable[Achievement] | None = None,
) -> list[Achievement]:
    """The achievements earned by ``metrics`` and not yet ``awarded``, limited to rules fed by ``inputs_changed``
    (every rule when None). Unknown inputs are an error: a typo would silently check nothing."""
    if inputs_changed is not None:
        unknown = set(inputs_changed) - set(INPUTS)
        if unknown:
            raise DomainError(f"unknown achievement input(s): {', '.join(sorted(unknown))}")
    defs = definitions() if defs is None else defs
    return [
        a
        for a in defs
        if a.key not in awarded and (inputs_changed is None or a.input in inputs_changed) and a.earned_by(metrics)
    ]


def age_days(created_at: datetime, now: datetime) -> int:
    """Whole days from ``created_at`` to ``now`` (never negative)."""
    return max(0, (now - created_at).days)
