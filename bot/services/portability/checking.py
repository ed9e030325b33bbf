"""Checking a native document before anything is written (pure): every row, column by column, through the
``bot.core`` rules; :func:`check_native` returns the :class:`Plan` the import writes."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, DateTime, Float, Integer, String
from sqlmodel import SQLModel

from bot.core import emotions as emotion_rules
from bot.core import memory as memory_rules
from bot.core import personality
from bot.core.character import CHARACTER_FIELDS, validate_character
from bot.core.errors import DomainError
from bot.core.inputs import check_document, one_of, whole_in
from bot.core.personas import (
    BehaviorSettings,
    PrivacySettings,
    validate_avatar_url,
    validate_description,
    validate_name,
    validate_plugins,
    validate_status,
)
from bot.db import models
from bot.db.types import UTCDateTime
from bot.services.portability.documents import FORMAT, MAX_ROWS_PER_SECTION, OWNED_SECTIONS, SECTIONS, VERSION

# Columns that must not repeat within a persona (the tables' unique constraints), per section.
_UNIQUE: dict[str, tuple[str, ...]] = {
    "emotional_events": ("message_id", "user_id", "emoji"),
    "learned_responses": ("trigger",),
    "custom_behaviors": ("name",),
    "person_relationships": ("user_id",),
    "achievements": ("achievement_key",),
}
_SINGULAR = {
    "active_emotions": "Active emotion",
    "emotional_events": "Emotional event",
    "learned_responses": "Learned response",
    "memories": "Memory",
    "custom_behaviors": "Custom behaviour",
    "person_relationships": "Relationship",
    "timeline_events": "Timeline event",
    "achievements": "Achievement",
}
_PERSONA_KEYS = frozenset(
    {
        "name",
        "description",
        "avatar_url",
        "traits",
        "custom_traits",
        "behavior",
        "privacy",
        "plugins",
        "legacy_settings",
        "memory_config",
        "status",
        "is_public",
        "interaction_count",
        "created_at",
        "updated_at",
        *CHARACTER_FIELDS,  # absent from exports made before the character: then empty
    }
)
_MEMORY_TIMES = ("last_decay_run", "last_optimization_at")
_TOP_KEYS = frozenset({"format", "version", "exported_at", "persona", "emotional_state", *SECTIONS, *OWNED_SECTIONS})
_SNOWFLAKE_MAX = 2**63 - 1
_INT_MAX = 2**31 - 1
TRIGGER_KINDS = ("keywords", "emoji", "emotion", "time")
ACTION_KINDS = ("instruction", "reply", "emotion", "reaction")


def _check_strings(value: Any, where: str = "the file") -> None:
    """Refuse what the databases cannot store (NUL characters, unpaired surrogates, infinite numbers), anywhere."""
    check_document(value, where.capitalize())


def _datetime(value: Any, what: str) -> datetime:
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            moment = None
        if moment is not None and moment.tzinfo is not None and moment.utcoffset() is not None:
            return moment
    raise DomainError(f"{what} must be a date and time in ISO 8601 with a time zone; got {value!r}.")


def _number(value: Any, what: str, low: float | None = None, high: float | None = None) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(float(value)):
        raise DomainError(f"{what} must be a number; got {value!r}.")
    number = float(value)
    if (low is not None and number < low) or (high is not None and number > high):
        bounds = f"from {low:g} to {high:g}" if low is not None and high is not None else f"at least {low:g}"
        raise DomainError(f"{what} must be {bounds}; got {number:g}.")
    return number


# --------------------------------------------------------------------------------------------------- checking


def _column_value(column: Any, value: Any, what: str) -> Any:
    """One value checked against its column's type (and length), as the database will store it."""
    if value is None:
        if not column.nullable:
            raise DomainError(f"{what} cannot be empty.")
        return None
    kind = column.type
    if isinstance(kind, UTCDateTime | DateTime):
        return _datetime(value, what)
    if isinstance(kind, Boolean):
        if not isinstance(value, bool):
            raise DomainError(f"{what} must be true or false; got {value!r}.")
        return value
    if isinstance(kind, Integer):
        big = isinstance(kind, BigInteger)
        return whole_in(value, what, minimum=0 if big else -_INT_MAX - 1, maximum=_SNOWFLAKE_MAX if big else _INT_MAX)
    if isinstance(kind, Float):
        return _number(value, what)
    if isinstance(kind, String):
        if not isinstance(value, str):
            raise DomainError(f"{what} must be text; got {value!r}.")
        if kind.length is not None and len(value) > kind.length:
            raise DomainError(f"{what} is {len(value)} characters long; the limit is {kind.length}.")
        return value
    if isinstance(kind, JSON):
        if not isinstance(value, dict | list):
            raise DomainError(f"{what} must be an object or a list.")
        return value
    raise AssertionError(f"no check for the column type {kind!r}")  # pragma: no cover - a new column type


def check_row(
    model: type[SQLModel], row: Any, what: str, now: datetime, skip: tuple[str, ...] = ("id", "persona_id")
) -> dict[str, Any]:
    """A row's columns (all but ``skip``), typed; missing columns take their defaults."""
    if not isinstance(row, Mapping):
        raise DomainError(f"{what} must be an object.")
    columns = {c.name: c for c in model.__table__.columns if c.name not in skip}  # type: ignore[attr-defined]
    unknown = sorted(set(row) - set(columns))
    if unknown:
        raise DomainError(f"{what} has unknown fields: {', '.join(map(str, unknown))}.")
    clean: dict[str, Any] = {}
    for name, column in columns.items():
        label = f"{what}: {name}"
        if name in row:
            clean[name] = _column_value(column, row[name], label)
            continue
        field = model.model_fields[name]
        if field.is_required():
            raise DomainError(f"{label} is missing.")
        if isinstance(column.type, UTCDateTime) and not column.nullable:
            clean[name] = now
        else:
            clean[name] = field.get_default(call_default_factory=True)
    return clean


def _pad(row: Mapping[str, Any], prefix: str, what: str) -> None:
    for axis in ("pleasure", "arousal", "dominance"):
        _number(row[f"{prefix}{axis}"], f"{what}: {prefix}{axis}", -1.0, 1.0)


def _emotion_type(value: Any, what: str) -> None:
    if value is not None:
        emotion_rules.emotion_pad(value)  # DomainError naming the unknown emotion


def _check_active_emotion(row: dict[str, Any], what: str) -> None:
    emotion_rules.ActiveEmotion(
        type=row["emotion_type"],
        intensity=_number(row["intensity"], f"{what}: intensity", 0, 100),
        duration_minutes=row["duration_minutes"],
        started_at=row["started_at"],
        cause=row["cause"],
    )


def _check_emotional_event(row: dict[str, Any], what: str) -> None:
    if not row["trigger"].strip():
        raise DomainError(f"{what}: trigger cannot be blank.")
    _emotion_type(row["emotion_type"], what)
    _emotion_type(row["feedback_emotion"], what)
    _number(row["intensity"], f"{what}: intensity", 0, 100)
    _pad(row, "previous_", what)
    _pad(row, "new_", what)
    if row["feedback_verdict"] is not None:
        one_of(row["feedback_verdict"], f"{what}: feedback_verdict", ("right", "wrong"))


def _check_learned_response(row: dict[str, Any], what: str) -> None:
    emotion_rules.learn(emotion_rules.Learned(scale=row["scale"]), row["trigger"], "right")  # trigger, scale
    _emotion_type(row["override_emotion"], what)
    whole_in(row["feedback_count"], f"{what}: feedback_count", minimum=0, maximum=_INT_MAX)


def _check_memory(row: dict[str, Any], what: str) -> None:
    if not row["content"].strip():
        raise DomainError(f"{what}: content cannot be blank.")
    if not row["category"].strip():
        raise DomainError(f"{what}: category cannot be blank.")
    whole_in(
        row["importance"],
        f"{what}: importance",
        minimum=memory_rules.IMPORTANCE_MIN,
        maximum=memory_rules.IMPORTANCE_MAX,
    )
    _number(row["strength"], f"{what}: strength", 0.0, 1.0)
    if _number(row["stability"], f"{what}: stability") <= 0:
        raise DomainError(f"{what}: stability must be above 0.")
    one_of(row["tier"], f"{what}: tier", memory_rules.TIERS)
    whole_in(row["access_count"], f"{what}: access_count", minimum=0, maximum=_INT_MAX)


def _check_custom_behavior(row: dict[str, Any], what: str) -> None:
    if not row["name"].strip():
        raise DomainError(f"{what}: name cannot be blank.")
    one_of(row["trigger_kind"], f"{what}: trigger_kind", TRIGGER_KINDS)
    one_of(row["action_kind"], f"{what}: action_kind", ACTION_KINDS)
    for key in ("trigger_config", "action_config"):
        if not isinstance(row[key], dict):
            raise DomainError(f"{what}: {key} must be an object.")


def _check_person_relationship(row: dict[str, Any], what: str) -> None:
    whole_in(row["messages_exchanged"], f"{what}: messages_exchanged", minimum=0, maximum=_INT_MAX)
    _number(row["affinity"], f"{what}: affinity", -1.0, 1.0)


def _check_timeline_event(row: dict[str, Any], what: str) -> None:
    if not row["kind"].strip() or not row["title"].strip():
        raise DomainError(f"{what}: kind and title cannot be blank.")
    if not isinstance(row["details"], dict):
        raise DomainError(f"{what}: details must be an object.")


def _check_achievement(row: dict[str, Any], what: str) -> None:
    if not row["achievement_key"].strip():
        raise DomainError(f"{what}: achievement_key cannot be blank.")


_RULES: dict[str, Callable[[dict[str, Any], str], None]] = {
    "active_emotions": _check_active_emotion,
    "emotional_events": _check_emotional_event,
    "learned_responses": _check_learned_response,
    "memories": _check_memory,
    "custom_behaviors": _check_custom_behavior,
    "person_relationships": _check_person_relationship,
    "timeline_events": _check_timeline_event,
    "achievements": _check_achievement,
}


@dataclass(frozen=True)
class Plan:
    """A native document, fully checked: what will be written."""

    persona: dict[str, Any]
    memory: dict[str, Any]
    state: dict[str, Any] | None
    rows: dict[str, list[dict[str, Any]]]


def _check_persona(persona: Any, now: datetime) -> tuple[dict[str, Any], dict[str, Any]]:
    if not isinstance(persona, Mapping):
        raise DomainError("The file's 'persona' must be an object.")
    unknown = sorted(set(persona) - _PERSONA_KEYS)
    if unknown:
        raise DomainError(f"The persona has unknown fields: {', '.join(map(str, unknown))}.")
    traits = persona.get("traits")
    if not isinstance(traits, Mapping):
        raise DomainError("The persona's traits must be an object of trait names and values.")
    legacy = persona.get("legacy_settings")
    if legacy is not None and not isinstance(legacy, Mapping):
        raise DomainError("The persona's legacy settings must be an object.")
    status = validate_status(persona.get("status", "active"))
    config = persona.get("memory_config")
    if not isinstance(config, Mapping):
        raise DomainError("The persona's memory_config must be an object.")
    memory = memory_rules.config_to_dict(
        memory_rules.validate_config({k: v for k, v in config.items() if k not in _MEMORY_TIMES})
    )
    for key in _MEMORY_TIMES:
        value = config.get(key)
        memory[key] = None if value is None else _datetime(value, f"The memory setting {key}")
    created_at = persona.get("created_at")
    clean = {
        "name": validate_name(persona.get("name") or ""),
        "description": validate_description(persona.get("description")),
        "avatar_url": validate_avatar_url(persona.get("avatar_url")),
        "traits": personality.validate_traits(traits),
        "custom_traits": [
            personality.custom_trait_to_dict(t)
            for t in personality.validate_custom_traits(persona.get("custom_traits") or [])
        ],
        "behavior_settings": BehaviorSettings.from_dict(persona.get("behavior")).to_dict(),
        "privacy_settings": PrivacySettings.from_dict(persona.get("privacy")).to_dict(),
        "plugins": validate_plugins(persona.get("plugins") or []),
        "legacy_settings": dict(legacy) if legacy is not None else None,
        "status": "draft" if status == "draft" else "active",
        "is_public": persona.get("is_public", False),
        "interaction_count": whole_in(
            persona.get("interaction_count", 0), "The interaction count", minimum=0, maximum=_INT_MAX
        ),
        "created_at": now if created_at is None else _datetime(created_at, "The persona's created_at"),
        **validate_character({name: persona.get(name) for name in CHARACTER_FIELDS}),
    }
    if not isinstance(clean["is_public"], bool):
        raise DomainError("The persona's is_public must be true or false.")
    if persona.get("updated_at") is not None:
        _datetime(persona["updated_at"], "The persona's updated_at")
    return clean, memory


def check_native(document: Any, *, now: datetime) -> Plan:
    """Every part of a native document checked (raises :class:`DomainError` at the first fault)."""
    if not isinstance(document, Mapping):
        raise DomainError("This file is not a Persona Hub export (it is not a JSON object).")
    if document.get("format") != FORMAT:
        raise DomainError(f"This file is not a Persona Hub export (its format is {document.get('format')!r}).")
    version = document.get("version")
    if version != VERSION:
        raise DomainError(f"This export is version {version!r}; this bot reads version {VERSION}.")
    unknown = sorted(set(document) - _TOP_KEYS)
    if unknown:
        raise DomainError(f"The file has unknown sections: {', '.join(map(str, unknown))}.")
    _check_strings(document)
    persona, memory = _check_persona(document.get("persona"), now)

    state = None
    if document.get("emotional_state") is not None:
        state = check_row(models.EmotionalState, document["emotional_state"], "The emotional state", now)
        _pad(state, "mood_", "The emotional state")
        _pad(state, "baseline_", "The emotional state")

    rows: dict[str, list[dict[str, Any]]] = {}
    for section, model in SECTIONS.items():
        given = document.get(section) or []
        if not isinstance(given, list):
            raise DomainError(f"The file's '{section}' must be a list.")
        if len(given) > MAX_ROWS_PER_SECTION:
            raise DomainError(f"The file has {len(given)} {section.replace('_', ' ')}; the most is 100000.")
        checked = []
        seen: set[tuple[Any, ...]] = set()
        for number, row in enumerate(given, start=1):
            what = f"{_SINGULAR[section]} {number}"
            clean = check_row(model, row, what, now)
            _RULES[section](clean, what)
            unique = _UNIQUE.get(section)
            if unique:
                key = tuple(clean[c].casefold() if isinstance(clean[c], str) else clean[c] for c in unique)
                if None not in key:
                    if key in seen:
                        raise DomainError(f"{what} repeats an earlier one ({', '.join(unique)} must differ).")
                    seen.add(key)
            checked.append(clean)
        rows[section] = checked
    return Plan(persona=persona, memory=memory, state=state, rows=rows)
