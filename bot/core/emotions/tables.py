"""The emotion and trigger tables (``data/emotions.toml``, ``data/triggers.toml``) and the checks every part of
:mod:`bot.core.emotions` makes on its inputs (timezone-aware times, finite numbers, a learned scale in bounds).

Pure: the tables are read through :mod:`bot.core.catalog`.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from bot.core import catalog
from bot.core.errors import DomainError
from bot.core.pad import PAD

# ----------------------------------------------------------------------------------------------------
# Tables


def emotion_table() -> dict[str, Any]:
    return catalog.load("emotions")


def trigger_table() -> dict[str, Any]:
    return catalog.load("triggers")


def emotion_types() -> tuple[str, ...]:
    """All emotion type names, in the order of ``data/emotions.toml``."""
    return tuple(emotion_table()["emotions"])


def trigger_names() -> tuple[str, ...]:
    """All trigger names, in the order of ``data/triggers.toml``."""
    return tuple(trigger_table())


def emotion_entry(kind: str) -> dict[str, Any]:
    table: dict[str, dict[str, Any]] = emotion_table()["emotions"]
    if kind not in table:
        raise DomainError(f"I don't know the emotion '{kind}'. Known emotions: {', '.join(table)}.")
    return table[kind]


def trigger_entry(name: str) -> dict[str, Any]:
    table: dict[str, dict[str, Any]] = trigger_table()
    if name not in table:
        raise DomainError(f"I don't know the trigger '{name}'. Known triggers: {', '.join(table)}.")
    return table[name]


def emotion_pad(kind: str) -> PAD:
    """The PAD point of an emotion type."""
    return PAD(*(float(value) for value in emotion_entry(kind)["pad"]))


def opposite(kind: str) -> str | None:
    """Plutchik's opposite of an emotion type, or None for the non-Plutchik types."""
    return emotion_entry(kind).get("opposite")


def emotion_word(kind: str, intensity: float) -> str:
    """The intensity band's word: below ``mild_below`` mild ("annoyance"), above ``intense_above`` intense
    ("rage"), basic ("anger") between (both bounds inclusive)."""
    bands = emotion_table()["bands"]
    words: tuple[str, str, str] = tuple(emotion_entry(kind)["words"])
    mild, basic, intense = words
    if intensity < bands["mild_below"]:
        return mild
    if intensity > bands["intense_above"]:
        return intense
    return basic


def trigger_label(name: str) -> str:
    """A trigger's short name for people."""
    label: str = trigger_entry(name)["label"]
    return label


def trigger_description(name: str) -> str:
    """A trigger's sentence fragment for explanations ("someone praised or thanked me")."""
    description: str = trigger_entry(name)["description"]
    return description


# ----------------------------------------------------------------------------------------------------
# Validation helpers


def aware(moment: datetime, what: str = "time") -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise DomainError(f"The {what} must be timezone-aware (UTC).")
    return moment


def finite(value: float, what: str) -> float:
    if not math.isfinite(value):
        raise DomainError(f"The {what} must be a finite number.")
    return float(value)


def checked_scale(scale: float) -> float:
    bounds = emotion_table()["feedback"]
    value = finite(scale, "learned scale")
    if not bounds["min_scale"] <= value <= bounds["max_scale"]:
        raise DomainError(f"A learned scale must be between {bounds['min_scale']} and {bounds['max_scale']}.")
    return value
