"""Persona use cases: create, get, list (own / visible in a guild), update, delete.

Each function takes an open session (the caller owns the transaction), ids and plain data, and returns plain data.
Ownership is enforced here, not only in the UI: the owner edits; a member with Manage Server may delete in their
guild; nobody else. All rules come from ``bot.core``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bot.core import memory as memory_rules
from bot.core import personality
from bot.core.character import CHARACTER_FIELDS, validate_character
from bot.core.errors import DomainError, NotFound, PermissionDenied
from bot.core.ownership import OWNER_OR_MANAGER_DELETES, PERSONA_NOT_FOUND, may_delete, require_owner
from bot.core.ownership import Actor as Actor  # re-exported: call sites may import it from here
from bot.core.personas import (
    BehaviorSettings,
    PrivacySettings,
    validate_avatar_url,
    validate_description,
    validate_name,
    validate_plugins,
)
from bot.core.traits import ALL_TRAITS, BIG_FIVE
from bot.db import models

READ_ONLY_STATUSES = ("retiring", "retired")


@dataclass(frozen=True)
class PersonaRecord:
    """A persona as plain data (what services hand to cogs and UI)."""

    id: int
    guild_id: int | None
    owner_id: int
    name: str
    description: str
    avatar_url: str | None
    status: str
    is_active: bool
    created_at: datetime
    updated_at: datetime
    traits: dict[str, float]
    custom_traits: list[dict[str, Any]]
    behavior: dict[str, Any]
    privacy: dict[str, Any]
    plugins: list[str]
    legacy_settings: dict[str, Any] | None
    is_public: bool
    follower_count: int
    interaction_count: int
    verification_status: str
    memory_config: dict[str, Any] = field(default_factory=dict)
    # The character (bot.core.character; "" and [] mean none).
    personality_text: str = ""
    scenario: str = ""
    example_dialogue: str = ""
    greeting: str = ""
    alternate_greetings: list[str] = field(default_factory=list)
    system_prompt: str = ""
    post_history_instructions: str = ""
    creator_notes: str = ""
    nickname: str = ""

    @property
    def character(self) -> dict[str, Any]:
        """The character fields by name (bot.core.character.CHARACTER_FIELDS)."""
        return {name: getattr(self, name) for name in CHARACTER_FIELDS}

    @property
    def privacy_settings(self) -> PrivacySettings:
        return PrivacySettings.from_dict(self.privacy)

    def visible_to(self, viewer: Actor) -> bool:
        """Whether ``viewer`` may know this persona exists (its profile visibility)."""
        return self.privacy_settings.can_see(
            "profile", is_owner=viewer.user_id == self.owner_id, same_guild=viewer.guild_id == self.guild_id
        ) or (self.is_public and viewer.guild_id == self.guild_id)


@dataclass(frozen=True)
class PersonaSummary:
    """One line of a list."""

    id: int
    name: str
    owner_id: int
    status: str
    is_active: bool
    is_public: bool


@dataclass(frozen=True)
class DeletionReport:
    persona_id: int
    name: str
    removed: dict[str, int]


@dataclass
class PersonaInput:
    """What a caller may set. ``None`` means "keep" on update and "default" on create."""

    name: str | None = None
    description: str | None = None
    avatar_url: str | None = None
    traits: Mapping[str, float] | None = None
    custom_traits: Sequence[Mapping[str, Any]] | None = None
    behavior: Mapping[str, Any] | None = None
    privacy: Mapping[str, Any] | None = None
    memory: Mapping[str, Any] | None = None
    plugins: Sequence[str] | None = None
    legacy_settings: Mapping[str, Any] | None = None
    # The character (bot.core.character validates each; "" or [] clears one).
    personality_text: str | None = None
    scenario: str | None = None
    example_dialogue: str | None = None
    greeting: str | None = None
    alternate_greetings: Sequence[str] | None = None
    system_prompt: str | None = None
    post_history_instructions: str | None = None
    creator_notes: str | None = None
    nickname: str | None = None

    def character(self) -> dict[str, Any]:
        """The character fields given (not None), validated by :func:`bot.core.character.validate_character`."""
        return validate_character({name: getattr(self, name) for name in CHARACTER_FIELDS})


def _record(row: models.Persona, config: models.MemoryConfig | None) -> PersonaRecord:
    assert row.id is not None
    memory_config: dict[str, Any] = {}
    if config is not None:
        memory_config = {
            name: getattr(config, name) for name in models.MemoryConfig.model_fields if name != "persona_id"
        }
    return PersonaRecord(
        id=row.id,
        guild_id=row.guild_id,
        owner_id=row.owner_id,
        name=row.name,
        description=row.description,
        avatar_url=row.avatar_url,
        status=row.status,
        is_active=row.is_active,
        created_at=row.created_at,
        updated_at=row.updated_at,
        traits={name: float(getattr(row, name)) for name in ALL_TRAITS},
        custom_traits=list(row.custom_traits or []),
        behavior=dict(row.behavior_settings or {}),
        privacy=dict(row.privacy_settings or {}),
        plugins=list(row.plugins or []),
        legacy_settings=dict(row.legacy_settings) if row.legacy_settings is not None else None,
        is_public=row.is_public,
        follower_count=row.follower_count,
        interaction_count=row.interaction_count,
        verification_status=row.verification_status,
        memory_config=memory_config,
        **{name: getattr(row, name) for name in CHARACTER_FIELDS if name != "alternate_greetings"},
        alternate_greetings=list(row.alternate_greetings or []),
    )


def _memory_columns(values: Mapping[str, Any] | None, base: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The memory configuration columns from a preset name or values, validated by the memory rules."""
    merged: dict[str, Any] = dict(base or memory_rules.config_to_dict(memory_rules.default_config()))
    if values:
        if "preset" in values:
            merged = memory_rules.config_to_dict(memory_rules.preset(str(values["preset"])))
        merged.update({k: v for k, v in values.items() if k != "preset"})
    columns = memory_rules.config_to_dict(memory_rules.validate_config(merged))
    columns["exempt_categories"] = list(columns.get("exempt_categories") or [])
    return columns


def _in_guild(guild_id: int | None) -> ColumnElement[bool]:
    """Personas of one guild, or personal ones (made in DMs) when ``guild_id`` is None."""
    return col(models.Persona.guild_id).is_(None) if guild_id is None else col(models.Persona.guild_id) == guild_id


async def _owned_count(session: AsyncSession, owner_id: int, guild_id: int | None) -> int:
    query = select(func.count()).where(
        col(models.Persona.owner_id) == owner_id, _in_guild(guild_id), col(models.Persona.status) != "retired"
    )
    return int((await session.execute(query)).scalar_one())


async def name_taken(
    session: AsyncSession, owner_id: int, guild_id: int | None, name: str, except_id: int | None = None
) -> bool:
    """Whether ``owner_id`` already has a persona called ``name`` (any case) here (``except_id``: but that one)."""
    query = select(col(models.Persona.id)).where(
        col(models.Persona.owner_id) == owner_id,
        _in_guild(guild_id),
        func.lower(col(models.Persona.name)) == name.lower(),
    )
    if except_id is not None:
        query = query.where(col(models.Persona.id) != except_id)
    return (await session.execute(query.limit(1))).first() is not None


async def create(
    session: AsyncSession,
    actor: Actor,
    data: PersonaInput,
    *,
    max_per_user: int = 10,
    now: datetime,
) -> PersonaRecord:
    """Create a persona owned by ``actor`` in ``actor.guild_id`` (None: a personal persona), with its memory
    configuration, its emotional state at its default mood, and a "created" timeline event."""
    name = validate_name(data.name or "")
    description = validate_description(data.description)
    avatar_url = validate_avatar_url(data.avatar_url)
    # Unset Big-Five traits start at the middle; the other nine derive from them (bot.core.personality).
    traits: dict[str, Any] = personality.validate_traits({**dict.fromkeys(BIG_FIVE, 50.0), **dict(data.traits or {})})
    custom = [personality.custom_trait_to_dict(t) for t in personality.validate_custom_traits(data.custom_traits or [])]
    behavior = BehaviorSettings.from_dict(data.behavior).to_dict()
    privacy = PrivacySettings.from_dict(data.privacy).to_dict()
    plugins = validate_plugins(list(data.plugins or []))
    memory_columns = _memory_columns(data.memory)
    character = data.character()

    if await _owned_count(session, actor.user_id, actor.guild_id) >= max_per_user:
        where = "on this server" if actor.guild_id is not None else "as personal personas"
        raise DomainError(f"You already have {max_per_user} personas {where}, the most allowed. Delete one first.")
    if await name_taken(session, actor.user_id, actor.guild_id, name):
        raise DomainError(f"You already have a persona called '{name}' here.")

    row = models.Persona(
        guild_id=actor.guild_id,
        owner_id=actor.user_id,
        name=name,
        description=description,
        avatar_url=avatar_url,
        status="active",
        is_active=False,
        created_at=now,
        updated_at=now,
        custom_traits=custom,
        behavior_settings=behavior,
        privacy_settings=privacy,
        plugins=plugins,
        legacy_settings=dict(data.legacy_settings) if data.legacy_settings is not None else None,
        **character,
        **traits,
    )
    session.add(row)
    await session.flush()
    assert row.id is not None
    config = models.MemoryConfig(persona_id=row.id, **memory_columns)
    mood = personality.default_mood(traits)
    state = models.EmotionalState(
        persona_id=row.id,
        mood_pleasure=mood[0],
        mood_arousal=mood[1],
        mood_dominance=mood[2],
        baseline_pleasure=mood[0],
        baseline_arousal=mood[1],
        baseline_dominance=mood[2],
        as_of=now,
    )
    event = models.TimelineEvent(
        persona_id=row.id, kind="created", title=f"{name} was created", created_at=now, is_public=True
    )
    session.add_all([config, state, event])
    await session.flush()
    return _record(row, config)


async def _load(session: AsyncSession, persona_id: int) -> tuple[models.Persona, models.MemoryConfig | None]:
    """The persona and its memory configuration, in one query."""
    query = (
        select(models.Persona, models.MemoryConfig)
        .outerjoin(models.MemoryConfig, col(models.MemoryConfig.persona_id) == col(models.Persona.id))
        .where(col(models.Persona.id) == persona_id)
    )
    found = (await session.execute(query)).first()
    if found is None:
        raise NotFound(PERSONA_NOT_FOUND)
    return found[0], found[1]


async def get(session: AsyncSession, persona_id: int, viewer: Actor | None = None) -> PersonaRecord:
    """The persona, or :class:`NotFound` when it does not exist or ``viewer`` may not see it."""
    row, config = await _load(session, persona_id)
    record = _record(row, config)
    if viewer is not None and not record.visible_to(viewer):
        # Same message as a missing persona: a private persona's existence is private too.
        raise NotFound(PERSONA_NOT_FOUND)
    return record


def _summaries(rows: Sequence[Any]) -> list[PersonaSummary]:
    return [
        PersonaSummary(
            id=r.id,
            name=r.name,
            owner_id=r.owner_id,
            status=r.status,
            is_active=r.is_active,
            is_public=r.is_public,
        )
        for r in rows
    ]


_SUMMARY_COLUMNS = (
    col(models.Persona.id),
    col(models.Persona.name),
    col(models.Persona.owner_id),
    col(models.Persona.status),
    col(models.Persona.is_active),
    col(models.Persona.is_public),
)


async def list_own(
    session: AsyncSession, owner_id: int, guild_id: int | None = None, *, limit: int = 100
) -> list[PersonaSummary]:
    """The owner's personas in one guild (``guild_id``), personal ones when None, ordered by name."""
    query = (
        select(*_SUMMARY_COLUMNS)
        .where(col(models.Persona.owner_id) == owner_id, _in_guild(guild_id))
        .order_by(func.lower(col(models.Persona.name)), col(models.Persona.id))
        .limit(limit)
    )
    return _summaries((await session.execute(query)).all())


async def list_visible(
    session: AsyncSession, guild_id: int, viewer_id: int, *, limit: int = 100, name_prefix: str | None = None
) -> list[PersonaSummary]:
    """The guild's personas that ``viewer_id`` may see (their own, and others' whose profile is not owner-only)."""
    query = select(*_SUMMARY_COLUMNS, col(models.Persona.privacy_settings)).where(
        col(models.Persona.guild_id) == guild_id
    )
    if name_prefix:
        query = query.where(func.lower(col(models.Persona.name)).startswith(name_prefix.lower(), autoescape=True))
    query = query.order_by(func.lower(col(models.Persona.name)), col(models.Persona.id))
    visible = []
    # Visibility is a rule in core applied to each row; the scan is bounded by the page we return.
    for row in (await session.execute(query.limit(limit * 4))).all():
        privacy = PrivacySettings.from_dict(row.privacy_settings)
        if row.owner_id == viewer_id or row.is_public or privacy.can_see("profile", is_owner=False, same_guild=True):
            visible.append(row)
        if len(visible) >= limit:
            break
    return _summaries(visible)


def _require_writable(row: models.Persona) -> None:
    if row.status in READ_ONLY_STATUSES:
        raise DomainError(f"{row.name} is {row.status}: its settings can no longer be changed.")


async def update(
    session: AsyncSession,
    actor: Actor,
    persona_id: int,
    changes: PersonaInput,
    *,
    now: datetime,
) -> PersonaRecord:
    """Change any of the persona's settings (owner only). Traits that change move the default mood too."""
    # _load, not services.access.owned_persona: the memory configuration comes in the same query.
    row, config = await _load(session, persona_id)
    require_owner(row, actor, "edit it")
    _require_writable(row)
    character = changes.character()  # checked before anything changes

    if changes.name is not None:
        name = validate_name(changes.name)
        if await name_taken(session, row.owner_id, row.guild_id, name, except_id=row.id):
            raise DomainError(f"You already have a persona called '{name}' here.")
        row.name = name
    if changes.description is not None:
        row.description = validate_description(changes.description)
    if changes.avatar_url is not None:
        row.avatar_url = validate_avatar_url(changes.avatar_url)
    if changes.traits is not None:
        current = {name: float(getattr(row, name)) for name in ALL_TRAITS}
        traits = personality.validate_traits({**current, **dict(changes.traits)})
        for name, value in traits.items():
            setattr(row, name, value)
        mood = personality.default_mood(traits)
        state = await session.get(models.EmotionalState, row.id)
        if state is not None:
            state.baseline_pleasure, state.baseline_arousal, state.baseline_dominance = mood
    if changes.custom_traits is not None:
        row.custom_traits = [
            personality.custom_trait_to_dict(t) for t in personality.validate_custom_traits(changes.custom_traits)
        ]
    if changes.behavior is not None:
        row.behavior_settings = BehaviorSettings.from_dict({**row.behavior_settings, **changes.behavior}).to_dict()
    if changes.privacy is not None:
        merged = {**row.privacy_settings, **changes.privacy}
        if "visibility" in changes.privacy:
            merged["visibility"] = {
                **(row.privacy_settings or {}).get("visibility", {}),
                **changes.privacy["visibility"],
            }
        row.privacy_settings = PrivacySettings.from_dict(merged).to_dict()
    if changes.plugins is not None:
        row.plugins = validate_plugins(list(changes.plugins))
    if changes.legacy_settings is not None:
        row.legacy_settings = dict(changes.legacy_settings)
    for name, value in character.items():
        setattr(row, name, value)
    if changes.memory is not None:
        base = {name: getattr(config, name) for name in models.MemoryConfig.model_fields} if config else None
        columns = _memory_columns(changes.memory, base=_memory_base(base))
        if config is None:
            config = models.MemoryConfig(persona_id=row.id, **columns)
            session.add(config)
        else:
            for name, value in columns.items():
                setattr(config, name, value)
    row.updated_at = now
    await session.flush()
    return _record(row, config)


def _memory_base(columns: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if columns is None:
        return None
    keep = memory_rules.config_to_dict(memory_rules.default_config()).keys()
    return {k: v for k, v in columns.items() if k in keep}


async def delete_persona(session: AsyncSession, actor: Actor, persona_id: int) -> DeletionReport:
    """Delete a persona and everything that belongs to it (the database cascades). The owner may; so may a
    member with Manage Server in the persona's own guild. Returns what was removed, counted per kind."""
    row, _ = await _load(session, persona_id)
    # Not services.access.owned_persona: a server manager may delete too (not edit).
    if not may_delete(row, actor):
        raise PermissionDenied(OWNER_OR_MANAGER_DELETES)
    removed = await count_owned_rows(session, persona_id)
    name = row.name
    await session.execute(delete(models.Persona).where(col(models.Persona.id) == persona_id))
    return DeletionReport(persona_id=persona_id, name=name, removed=removed)


async def count_owned_rows(session: AsyncSession, persona_id: int) -> dict[str, int]:
    """How many rows of each kind belong to the persona (what a deletion removes)."""
    counts: dict[str, int] = {}
    for table in models.PERSONA_OWNED_TABLES:
        sql_table = table.__table__  # type: ignore[attr-defined]
        columns = sql_table.c
        if "editing_persona_id" in columns:
            clause = columns.editing_persona_id == persona_id
        elif "other_persona_id" in columns:
            clause = (columns.persona_id == persona_id) | (columns.other_persona_id == persona_id)
        else:
            clause = columns.persona_id == persona_id
        count = int((await session.execute(select(func.count()).select_from(table).where(clause))).scalar_one())
        if count:
            counts[sql_table.name] = count
    return counts
