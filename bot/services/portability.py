"""Export and import of personas: our native JSON document, and Character Cards V2 / V3 (JSON or PNG).

Each function takes an open session (the caller owns the transaction), ids and plain data. Imports check the
whole document (shape, version, every value through the ``bot.core`` rules, sizes) before they write
anything, and write only through the caller's one transaction: an error leaves nothing behind.

**The native document** (``{"format": "persona-hub", "version": 1, ...}``) holds what the persona *is* and
what it *lived*: identity, traits, custom traits, behaviour, privacy, plugins, legacy settings, memory
configuration, emotional state, active emotions, emotional events, learned responses, memories, custom
behaviours, relationships with people, timeline events and achievements. Rows are written column by column
(the column names of ``bot/db/models.py``; times as ISO 8601 with an offset), without ids.

Left out, on purpose:

- follows, subscriptions (and their tiers, tied to this server's store SKUs) and endorsements: they belong to
  the people who follow, pay or endorse, not to the persona's owner;
- consent records: a person's consent is theirs, given in one place;
- relationships with other personas (the other persona is not in the file), channel bindings, retirement
  plans, legacy archives and wizard drafts (operational, tied to this server);
- follower count (follows are not carried) and verification status (granted by a server).

Memories are exported as stored: the ``encrypted`` flag with the content as it is (ciphertext when encrypted;
readable after import only where the same key is configured).

**Import rules.** New ids; the importing actor owns the persona, in the guild they import from. The persona
is ``active`` (a ``draft`` stays a draft) and switched off (``is_active`` false) until its owner turns it on;
``created_at``, ``is_public``, the interaction count and every history row keep their exported values;
``updated_at`` is the import time. A name the importer already uses gets the suffix " (imported)" (then
" (imported 2)", ...), shortened to fit 80 characters, rather than failing.

**Cards** map as :mod:`bot.core.cards` documents. A card import makes a new persona like ``/persona create``
(default mood, a "created" timeline event); card fields without a column live in ``legacy_settings["card"]``
and other tools' extensions in ``legacy_settings["card_extensions"]``, written back on export.

Sizes: a PNG card at most 8 MB, a JSON card 2 MB, a native document 10 MB (Discord's attachment limit).
"""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, DateTime, Float, Integer, String, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel

from bot.core import cards, personality
from bot.core import emotions as emotion_rules
from bot.core import memory as memory_rules
from bot.core.errors import DomainError, PermissionDenied
from bot.core.inputs import check_document, parse_json_text
from bot.core.personas import (
    NAME_MAX,
    BehaviorSettings,
    PrivacySettings,
    validate_avatar_url,
    validate_description,
    validate_name,
    validate_plugins,
    validate_status,
)
from bot.db import models, offload
from bot.db.types import UTCDateTime
from bot.services import personas
from bot.services.personas import Actor, PersonaInput, PersonaRecord

FORMAT = "persona-hub"
VERSION = 1
MB = 1024 * 1024
MAX_PNG_BYTES = 8 * MB
MAX_CARD_JSON_BYTES = 2 * MB
MAX_NATIVE_BYTES = 10 * MB
MAX_ROWS_PER_SECTION = 100_000
INSERT_CHUNK = 500
EXPORT_PAGE = 2_000
IMPORTED_SUFFIX = " (imported)"

# Section name -> table, for the rows that belong to the persona and travel with it (in write order).
SECTIONS: dict[str, type[SQLModel]] = {
    "active_emotions": models.ActiveEmotion,
    "emotional_events": models.EmotionalEvent,
    "learned_responses": models.LearnedResponse,
    "memories": models.Memory,
    "custom_behaviors": models.CustomBehavior,
    "person_relationships": models.PersonRelationship,
    "timeline_events": models.TimelineEvent,
    "achievements": models.AchievementAward,
}
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
    }
)
_MEMORY_TIMES = ("last_decay_run", "last_optimization_at")
_TOP_KEYS = frozenset({"format", "version", "exported_at", "persona", "emotional_state", *SECTIONS})
_SNOWFLAKE_MAX = 2**63 - 1
_INT_MAX = 2**31 - 1
TRIGGER_KINDS = ("keywords", "emoji", "emotion", "time")
ACTION_KINDS = ("instruction", "reply", "emotion", "reaction")


# --------------------------------------------------------------------------------------------------- helpers


def _require_owner(record: PersonaRecord, actor: Actor) -> None:
    if record.owner_id != actor.user_id:
        raise PermissionDenied("Only the persona's owner can export it.")


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def _row_to_dict(row: Mapping[str, Any]) -> dict[str, Any]:
    return {key: _plain(value) for key, value in row.items() if key not in ("id", "persona_id")}


def _check_strings(value: Any, where: str = "the file") -> None:
    """Refuse what the databases cannot store (NUL characters, unpaired surrogates, infinite numbers), anywhere."""
    check_document(value, where.capitalize())


def _too_big(what: str, data: bytes, limit: int) -> DomainError:
    return DomainError(f"The {what} is {len(data):,} bytes, over the limit of {limit // MB} MB ({limit:,} bytes).")


def _reject_constant(name: str) -> Any:
    raise DomainError(f"The file contains {name}, which is not a number JSON allows.")


def parse_json(data: bytes, *, limit: int, what: str = "file") -> Any:
    """JSON from an upload of at most ``limit`` bytes, or a clear :class:`DomainError`."""
    if len(data) > limit:
        raise _too_big(what, data, limit)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise DomainError(f"The {what} is not UTF-8 text.") from error
    return parse_json_text(text, f"The {what}", parse_constant=_reject_constant)


def document_to_json(document: Mapping[str, Any]) -> bytes:
    """A native document as UTF-8 JSON (the file the export command attaches)."""
    return json.dumps(document, ensure_ascii=False, indent=1).encode("utf-8")


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


def _whole(value: Any, what: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise DomainError(f"{what} must be a whole number; got {value!r}.")
    if not low <= value <= high:
        raise DomainError(f"{what} must be from {low} to {high}; got {value}.")
    return value


def _choice(value: Any, what: str, allowed: Sequence[str]) -> str:
    if value not in allowed:
        raise DomainError(f"{what} must be one of: {', '.join(allowed)}; got {value!r}.")
    return str(value)


# --------------------------------------------------------------------------------------------------- export


def _persona_fields(record: PersonaRecord) -> dict[str, Any]:
    """The persona's settings with :class:`PersonaInput` names (``memory``: the configuration fields)."""
    return {
        "name": record.name,
        "description": record.description,
        "avatar_url": record.avatar_url,
        "traits": dict(record.traits),
        "custom_traits": [dict(t) for t in record.custom_traits],
        "behavior": dict(record.behavior),
        "privacy": dict(record.privacy),
        "memory": {k: record.memory_config[k] for k in memory_rules.CONFIG_FIELDS if k in record.memory_config},
        "plugins": list(record.plugins),
        "legacy_settings": record.legacy_settings,
    }


async def export_native(session: AsyncSession, actor: Actor, persona_id: int, *, now: datetime) -> dict[str, Any]:
    """The persona as a native document (owner only): see the module docstring for what it holds."""
    record = await personas.get(session, persona_id)
    _require_owner(record, actor)
    persona = {
        "name": record.name,
        "description": record.description,
        "avatar_url": record.avatar_url,
        "status": record.status,
        "is_public": record.is_public,
        "interaction_count": record.interaction_count,
        "created_at": record.created_at.isoformat(),
        "updated_at": record.updated_at.isoformat(),
        "traits": dict(record.traits),
        "custom_traits": [dict(t) for t in record.custom_traits],
        "behavior": dict(record.behavior),
        "privacy": dict(record.privacy),
        "plugins": list(record.plugins),
        "legacy_settings": record.legacy_settings,
        "memory_config": {key: _plain(value) for key, value in record.memory_config.items()},
    }
    document: dict[str, Any] = {
        "format": FORMAT,
        "version": VERSION,
        "exported_at": now.isoformat(),
        "persona": persona,
        "emotional_state": None,
    }
    state_table = models.EmotionalState.__table__  # type: ignore[attr-defined]
    state = (await session.execute(select(state_table).where(state_table.c.persona_id == persona_id))).mappings()
    for row in state:
        document["emotional_state"] = _row_to_dict(row)
    # A persona may hold 100,000 memories: read as bulk work, in pages by id (each a short conversion).
    with offload.bulk_work():
        for section, model in SECTIONS.items():
            table = model.__table__  # type: ignore[attr-defined]
            rows: list[dict[str, Any]] = []
            after = 0
            while True:
                query = (
                    select(table)
                    .where(table.c.persona_id == persona_id, table.c.id > after)
                    .order_by(table.c.id)
                    .limit(EXPORT_PAGE)
                )
                page = (await session.execute(query)).mappings().all()
                rows.extend(_row_to_dict(row) for row in page)
                if len(page) < EXPORT_PAGE:
                    break
                after = page[-1]["id"]
                await asyncio.sleep(0)
            document[section] = rows
    return document


async def export_file(document: Mapping[str, Any]) -> bytes:
    """:func:`document_to_json` in a worker thread (the indented encoder is pure Python: it shares the GIL), for
    documents of thousands of rows."""
    return await asyncio.to_thread(document_to_json, document)


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
        return _whole(value, what, 0 if big else -_INT_MAX - 1, _SNOWFLAKE_MAX if big else _INT_MAX)
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


def _check_row(model: type[SQLModel], row: Any, what: str, now: datetime) -> dict[str, Any]:
    """A row's columns (all but id and persona_id), typed; missing columns take their defaults."""
    if not isinstance(row, Mapping):
        raise DomainError(f"{what} must be an object.")
    columns = {c.name: c for c in model.__table__.columns if c.name not in ("id", "persona_id")}  # type: ignore[attr-defined]
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
        _choice(row["feedback_verdict"], f"{what}: feedback_verdict", ("right", "wrong"))


def _check_learned_response(row: dict[str, Any], what: str) -> None:
    emotion_rules.learn(emotion_rules.Learned(scale=row["scale"]), row["trigger"], "right")  # trigger, scale
    _emotion_type(row["override_emotion"], what)
    _whole(row["feedback_count"], f"{what}: feedback_count", 0, _INT_MAX)


def _check_memory(row: dict[str, Any], what: str) -> None:
    if not row["content"].strip():
        raise DomainError(f"{what}: content cannot be blank.")
    if not row["category"].strip():
        raise DomainError(f"{what}: category cannot be blank.")
    _whole(row["importance"], f"{what}: importance", memory_rules.IMPORTANCE_MIN, memory_rules.IMPORTANCE_MAX)
    _number(row["strength"], f"{what}: strength", 0.0, 1.0)
    if _number(row["stability"], f"{what}: stability") <= 0:
        raise DomainError(f"{what}: stability must be above 0.")
    _choice(row["tier"], f"{what}: tier", memory_rules.TIERS)
    _whole(row["access_count"], f"{what}: access_count", 0, _INT_MAX)


def _check_custom_behavior(row: dict[str, Any], what: str) -> None:
    if not row["name"].strip():
        raise DomainError(f"{what}: name cannot be blank.")
    _choice(row["trigger_kind"], f"{what}: trigger_kind", TRIGGER_KINDS)
    _choice(row["action_kind"], f"{what}: action_kind", ACTION_KINDS)
    for key in ("trigger_config", "action_config"):
        if not isinstance(row[key], dict):
            raise DomainError(f"{what}: {key} must be an object.")


def _check_person_relationship(row: dict[str, Any], what: str) -> None:
    _whole(row["messages_exchanged"], f"{what}: messages_exchanged", 0, _INT_MAX)
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
class _Plan:
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
        "interaction_count": _whole(persona.get("interaction_count", 0), "The interaction count", 0, _INT_MAX),
        "created_at": now if created_at is None else _datetime(created_at, "The persona's created_at"),
    }
    if not isinstance(clean["is_public"], bool):
        raise DomainError("The persona's is_public must be true or false.")
    if persona.get("updated_at") is not None:
        _datetime(persona["updated_at"], "The persona's updated_at")
    return clean, memory


def check_native(document: Any, *, now: datetime) -> _Plan:
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
        state = _check_row(models.EmotionalState, document["emotional_state"], "The emotional state", now)
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
            clean = _check_row(model, row, what, now)
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
    return _Plan(persona=persona, memory=memory, state=state, rows=rows)


# --------------------------------------------------------------------------------------------------- import


async def _owned_count(session: AsyncSession, owner_id: int, guild_id: int | None) -> int:
    guild_clause = models.Persona.guild_id.is_(None) if guild_id is None else models.Persona.guild_id == guild_id
    query = select(func.count()).where(
        models.Persona.owner_id == owner_id, guild_clause, models.Persona.status != "retired"
    )
    return int((await session.execute(query)).scalar_one())


async def _taken_names(session: AsyncSession, actor: Actor) -> set[str]:
    guild_clause = (
        models.Persona.guild_id.is_(None) if actor.guild_id is None else models.Persona.guild_id == actor.guild_id
    )
    query = select(func.lower(models.Persona.name)).where(models.Persona.owner_id == actor.user_id, guild_clause)
    return {name for (name,) in (await session.execute(query)).all()}


async def free_name(session: AsyncSession, actor: Actor, name: str) -> str:
    """``name``, or ``name (imported)``, ``name (imported 2)``, ... : the first the actor does not use here."""
    taken = await _taken_names(session, actor)
    if name.lower() not in taken:
        return name
    for number in range(1, 1000):
        suffix = IMPORTED_SUFFIX if number == 1 else f" (imported {number})"
        candidate = name[: NAME_MAX - len(suffix)].rstrip() + suffix
        if candidate.lower() not in taken:
            return candidate
    raise DomainError(f"You already have too many personas called '{name}' here.")


async def _check_room(session: AsyncSession, actor: Actor, max_per_user: int) -> None:
    if await _owned_count(session, actor.user_id, actor.guild_id) >= max_per_user:
        where = "on this server" if actor.guild_id is not None else "as personal personas"
        raise DomainError(f"You already have {max_per_user} personas {where}, the most allowed. Delete one first.")


async def import_native(
    session: AsyncSession,
    actor: Actor,
    document: Any,
    *,
    now: datetime,
    max_per_user: int = 10,
) -> PersonaRecord:
    """A new persona from a native document, owned by ``actor`` in ``actor.guild_id``.

    The whole document is checked before anything is written; see the module docstring for the rules. For an
    upload, :func:`read_upload` then :func:`import_upload` check it off the event loop.
    """
    return await _write_native(session, actor, check_native(document, now=now), now=now, max_per_user=max_per_user)


async def _write_native(
    session: AsyncSession, actor: Actor, plan: _Plan, *, now: datetime, max_per_user: int
) -> PersonaRecord:
    await _check_room(session, actor, max_per_user)
    persona = dict(plan.persona)
    traits = persona.pop("traits")
    persona["name"] = await free_name(session, actor, persona["name"])
    row = models.Persona(
        guild_id=actor.guild_id,
        owner_id=actor.user_id,
        is_active=False,
        updated_at=now,
        **persona,
        **traits,
    )
    session.add(row)
    await session.flush()
    persona_id = row.id
    assert persona_id is not None
    session.add(models.MemoryConfig(persona_id=persona_id, **plan.memory))
    if plan.state is not None:
        session.add(models.EmotionalState(persona_id=persona_id, **plan.state))
    else:
        mood = personality.default_mood(traits)
        session.add(
            models.EmotionalState(
                persona_id=persona_id,
                mood_pleasure=mood[0],
                mood_arousal=mood[1],
                mood_dominance=mood[2],
                baseline_pleasure=mood[0],
                baseline_arousal=mood[1],
                baseline_dominance=mood[2],
                as_of=now,
            )
        )
    await session.flush()
    # Plain multi-row INSERTs of the checked values (no ORM objects to build), in bounded chunks, as bulk work
    # (thousands of rows and their search index would hold the event loop for seconds on SQLite inline).
    with offload.bulk_work():
        for section, model in SECTIONS.items():
            items = plan.rows[section]
            table = model.__table__  # type: ignore[attr-defined]
            for start in range(0, len(items), INSERT_CHUNK):
                chunk = [{**values, "persona_id": persona_id} for values in items[start : start + INSERT_CHUNK]]
                await session.execute(insert(table), chunk)
    return await personas.get(session, persona_id)


@dataclass(frozen=True)
class Upload:
    """An uploaded file, read and fully checked (:func:`read_upload`): what :func:`import_upload` writes."""

    native: _Plan | None = None
    card: dict[str, Any] | None = None  # the persona fields of a Character Card


def _read_upload(data: bytes, filename: str | None, now: datetime) -> Upload:
    if _is_png(data, filename):
        if len(data) > MAX_PNG_BYTES:
            raise _too_big("PNG card", data, MAX_PNG_BYTES)
        card = cards.card_from_png(data)  # read with parse_json_text, which checks what it holds
    else:
        parsed = parse_json(data, limit=MAX_NATIVE_BYTES)
        if isinstance(parsed, Mapping) and "format" in parsed:
            return Upload(native=check_native(parsed, now=now))
        if len(data) > MAX_CARD_JSON_BYTES:
            raise _too_big("JSON card", data, MAX_CARD_JSON_BYTES)
        card = parsed
    fields, extensions = cards.card_to_persona(card)
    fields["legacy_settings"] = cards.keep_extensions(fields.get("legacy_settings"), extensions)
    fields["name"] = validate_name(fields["name"])
    return Upload(card=fields)


async def read_upload(data: bytes, filename: str | None = None, *, now: datetime) -> Upload:
    """Parse and check an uploaded file (a Character Card V1/V2/V3 as JSON or PNG, or a native Persona Hub
    export) in a worker thread, before any session is opened: a 10 MB file takes seconds of checking, during
    which the event loop keeps serving and the database stays free. Raises :class:`DomainError` as the import
    would."""
    return await asyncio.to_thread(_read_upload, data, filename, now)


async def import_upload(
    session: AsyncSession, actor: Actor, upload: Upload, *, now: datetime, max_per_user: int = 10
) -> PersonaRecord:
    """A new persona from a file :func:`read_upload` checked, owned by ``actor`` in ``actor.guild_id``."""
    if upload.native is not None:
        return await _write_native(session, actor, upload.native, now=now, max_per_user=max_per_user)
    assert upload.card is not None
    fields = dict(upload.card)
    fields["name"] = await free_name(session, actor, fields["name"])
    return await personas.create(session, actor, PersonaInput(**fields), max_per_user=max_per_user, now=now)


# --------------------------------------------------------------------------------------------------- cards


async def export_card(
    session: AsyncSession,
    actor: Actor,
    persona_id: int,
    version: int = 2,
    as_png: bool = False,
    avatar_png: bytes | None = None,
) -> bytes:
    """The persona as a Character Card (owner only): JSON, or a PNG (``avatar_png``, or a plain picture)
    with the card inside. ``avatar_png`` must be a PNG (convert other images first)."""
    record = await personas.get(session, persona_id)
    _require_owner(record, actor)
    fields = _persona_fields(record)
    fields["created_at"] = record.created_at
    fields["updated_at"] = record.updated_at
    card = cards.persona_to_card(fields, version)
    if not as_png:
        return cards.card_to_json(card)
    return cards.card_to_png(card, avatar_png if avatar_png is not None else cards.solid_png())


def _is_png(data: bytes, filename: str | None) -> bool:
    return data.startswith(cards.PNG_SIGNATURE) or (filename or "").lower().endswith(".png")


async def import_card(
    session: AsyncSession,
    actor: Actor,
    data: bytes,
    filename: str | None = None,
    *,
    now: datetime,
    max_per_user: int = 10,
) -> PersonaRecord:
    """A new persona from an uploaded file: a Character Card V1/V2/V3 as JSON or PNG, or (so that one
    ``/persona import`` takes any file) a native Persona Hub export, which goes to :func:`import_native`.
    :func:`read_upload` then :func:`import_upload` do the same with the checking off the event loop."""
    upload = await read_upload(data, filename, now=now)
    return await import_upload(session, actor, upload, now=now, max_per_user=max_per_user)
