"""A server's settings (``guild_settings``): its reaction map (emoji -> trigger, over the default map), the
channels its notifications and ceremonies go to, and the models its personas may use. (Whether free tiers are
enabled is set by :func:`bot.services.subscriptions.set_free_tiers`; the memory mode, set by
:func:`set_memory_mode`, is read by :mod:`bot.services.consent`.)

Changing a setting needs Manage Server: every writer takes ``can_manage_guild`` (the caller's permission where
they ask from, as the cog knows it) and refuses without it. Reads that only the bot does (the reaction buffer
reading maps) go through :func:`bot.services.emotions.load_reaction_maps`; nothing is cached, so a change counts
from the next reaction on.

**Emoji keys.** A Unicode emoji is stored as typed (one emoji: pictographs, with their variation selectors,
skin tones, joiners and keycaps); two spellings that differ only in variation selectors or skin tones are the
same key (as :func:`bot.core.emotions.trigger_for_emoji` compares them). A custom emoji (``<:name:id>``,
``<a:name:id>`` or ``:name:``) is stored by its name, compared ignoring case: a server's emoji named "pog" maps
every emoji of that name, which is what the lookup does.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql as pg_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bot.core import emotions as core
from bot.core.errors import DomainError, PermissionDenied
from bot.core.model_settings import ModelAllowances, allowed_models
from bot.core.privacy import SERVER_DEFAULTS
from bot.db import models

MAX_REACTION_ENTRIES = 100
CLEAR_WORDS = ("none", "default")
_EMOJI_MAX = 32  # characters of one Unicode emoji sequence (the longest ZWJ families are ~11)
_CUSTOM = re.compile(r"^<a?:(?P<name>[A-Za-z0-9_]{2,32}):(?P<id>\d{15,21})>$")
_COLONS = re.compile(r"^:(?P<name>[A-Za-z0-9_]{2,32}):$")
# Not a pictograph by themselves, but parts of emoji sequences.
_JOINERS = {0x200D, 0xFE0E, 0xFE0F, 0x20E3}
_SKIN_TONES = range(0x1F3FB, 0x1F400)
_TAGS = range(0xE0020, 0xE0080)
_KEYCAP_BASES = set("0123456789#*")
# Pictographs outside the "Symbol, other" category that the default map uses (double exclamation, ...).
_EXTRA_PICTOGRAPHS = {0x203C, 0x2049, 0x3030, 0x303D, 0x2122, 0x2139, 0x24C2}
_SKIP_FOR_KEY = {0xFE0E, 0xFE0F, *_SKIN_TONES}
_G = models.GuildSettings


@dataclass(frozen=True)
class ReactionEntry:
    """One emoji and the trigger it stands for, and where that comes from ("server" or "default")."""

    emoji: str
    trigger: str | None
    source: str  # server | default | none


@dataclass(frozen=True)
class ReactionMapChange:
    """What ``/admin reactions <emoji> <trigger>`` did."""

    guild_id: int
    emoji: str
    trigger: str | None  # None: the server mapping was removed
    previous: str | None  # the server's mapping before, if any
    default: str | None  # what the default map gives this emoji
    size: int  # server entries after the change


# ----------------------------------------------------------------------------------------------------
# Validation (pure)


def _is_pictograph(ch: str) -> bool:
    code = ord(ch)
    return (
        (unicodedata.category(ch) == "So" and code > 0x7F) or code in _EXTRA_PICTOGRAPHS or 0x1F1E6 <= code <= 0x1F1FF
    )


def parse_emoji(raw: str) -> str:
    """The map key for ``raw``: a Unicode emoji as given (trimmed), or a custom emoji's name; DomainError
    for anything else."""
    text = (raw or "").strip()
    if not text:
        raise DomainError("Give an emoji: a Unicode emoji like ❤️, or one of this server's emoji like <:pog:123…>.")
    for pattern in (_CUSTOM, _COLONS):
        found = pattern.match(text)
        if found:
            return found.group("name")
    if len(text) > _EMOJI_MAX:
        raise DomainError("That is longer than one emoji. Give a single emoji.")
    pictographs = 0
    for index, ch in enumerate(text):
        code = ord(ch)
        if _is_pictograph(ch):
            pictographs += 1
        elif code in _JOINERS or code in _SKIN_TONES or code in _TAGS:
            continue
        elif ch in _KEYCAP_BASES and index == 0 and "\u20e3" in text:
            pictographs += 1
        else:
            raise DomainError(
                f"'{text}' is not an emoji. Give a Unicode emoji like ❤️, or one of this server's emoji "
                "(pick it from the emoji picker: it arrives as <:name:id>)."
            )
    if pictographs == 0:
        raise DomainError(f"'{text}' is not an emoji.")
    if pictographs > 1 and "\u200d" not in text and not all(0x1F1E6 <= ord(c) <= 0x1F1FF for c in text):
        raise DomainError("That is more than one emoji. Map them one at a time.")
    return text


def _same_key(a: str, b: str) -> bool:
    def norm(text: str) -> str:
        return "".join(ch for ch in text if ord(ch) not in _SKIP_FOR_KEY).casefold()

    return norm(a) == norm(b)


def check_trigger(name: str) -> str:
    """A trigger name (as in ``data/triggers.toml``), or DomainError naming the known ones."""
    cleaned = (name or "").strip().lower()
    if cleaned not in core.trigger_names():
        raise DomainError(
            f"'{name}' is not a trigger. Choose one of: {', '.join(core.trigger_names())}; "
            f"or {' / '.join(CLEAR_WORDS)} to go back to the default."
        )
    return cleaned


def default_trigger(emoji: str) -> str | None:
    """What the default map (``data/reactions.toml``) makes of ``emoji`` (a key from :func:`parse_emoji`)."""
    return core.trigger_for_emoji(emoji)


def effective(emoji: str, server_map: Mapping[str, str]) -> ReactionEntry:
    """What a reaction with ``emoji`` (a key from :func:`parse_emoji`) triggers on this server, and why."""
    for key, trigger in server_map.items():
        if _same_key(key, emoji):
            return ReactionEntry(key, trigger, "server")
    found = default_trigger(emoji)
    return ReactionEntry(emoji, found, "default" if found else "none")


def _require_manager(can_manage_guild: bool) -> None:
    if not can_manage_guild:
        raise PermissionDenied("Only members with the Manage Server permission can change the server's settings.")


# ----------------------------------------------------------------------------------------------------
# Reading and writing


async def reaction_map(session: AsyncSession, guild_id: int) -> dict[str, str]:
    """The server's own entries (emoji key -> trigger), sorted by key (PostgreSQL's JSONB keeps no order)."""
    query = select(col(_G.reaction_map)).where(col(_G.guild_id) == guild_id)
    stored = (await session.execute(query)).scalar_one_or_none()
    return {str(key): str(value) for key, value in sorted(dict(stored or {}).items())}


async def describe_reactions(
    session: AsyncSession, *, guild_id: int, can_manage_guild: bool, emoji: str | None = None
) -> list[ReactionEntry]:
    """The server's entries (Manage Server), or with ``emoji`` what that one emoji triggers here."""
    _require_manager(can_manage_guild)
    server = await reaction_map(session, guild_id)
    if emoji is not None:
        return [effective(parse_emoji(emoji), server)]
    return [ReactionEntry(key, trigger, "server") for key, trigger in server.items()]


async def set_reaction(
    session: AsyncSession,
    *,
    guild_id: int,
    can_manage_guild: bool,
    emoji: str,
    trigger: str,
    now: datetime,
) -> ReactionMapChange:
    """Map ``emoji`` to ``trigger`` on this server (Manage Server), or with ``trigger`` "none" / "default"
    remove the server's mapping so the default applies again. At most :data:`MAX_REACTION_ENTRIES` entries."""
    _require_manager(can_manage_guild)
    key = parse_emoji(emoji)
    clearing = (trigger or "").strip().lower() in CLEAR_WORDS
    chosen = None if clearing else check_trigger(trigger)
    current = await _locked_map(session, guild_id, now)
    existing = next((k for k in current if _same_key(k, key)), None)
    previous = current.get(existing) if existing is not None else None
    updated = dict(current)
    if chosen is None:
        if existing is None:
            fallback = default_trigger(key)
            raise DomainError(
                f"{key} has no server mapping; it already uses the default ({fallback or 'no emotional effect'})."
            )
        del updated[existing]
    else:
        if existing is not None:
            del updated[existing]
        elif len(current) >= MAX_REACTION_ENTRIES:
            raise DomainError(
                f"This server already maps {MAX_REACTION_ENTRIES} emoji, the most allowed. Remove one first "
                "(trigger: none)."
            )
        updated[key] = chosen
    await session.execute(update(_G).where(col(_G.guild_id) == guild_id).values(reaction_map=updated, updated_at=now))
    return ReactionMapChange(
        guild_id=guild_id,
        emoji=key,
        trigger=chosen,
        previous=previous,
        default=default_trigger(key),
        size=len(updated),
    )


async def _locked_map(session: AsyncSession, guild_id: int, now: datetime) -> dict[str, str]:
    """The server's map, its settings row created if missing and locked for this transaction (PostgreSQL;
    SQLite has one writer)."""
    dialect = session.get_bind().dialect.name
    maker = pg_dialect.insert if dialect == "postgresql" else sqlite_dialect.insert
    await session.execute(
        maker(_G)
        .values(guild_id=guild_id, reaction_map={}, updated_at=now)
        .on_conflict_do_nothing(index_elements=["guild_id"])
    )
    query = select(col(_G.reaction_map)).where(col(_G.guild_id) == guild_id)
    if dialect == "postgresql":
        query = query.with_for_update()
    stored = (await session.execute(query)).scalar_one()
    return {str(key): str(value) for key, value in dict(stored or {}).items()}


# ----------------------------------------------------------------------------------------------------
# Channels (``/admin channel <kind> <channel>``)

CHANNEL_KINDS: dict[str, str] = {
    "notifications": "notifications_channel_id",
    "ceremonies": "ceremony_channel_id",
}


@dataclass(frozen=True)
class ChannelChange:
    guild_id: int
    kind: str
    channel_id: int | None
    previous: int | None


async def set_channel(
    session: AsyncSession,
    *,
    guild_id: int,
    can_manage_guild: bool,
    kind: str,
    channel_id: int | None,
    now: datetime,
) -> ChannelChange:
    """Where the server's notifications or ceremonies go (Manage Server); ``channel_id`` None clears it."""
    _require_manager(can_manage_guild)
    column = CHANNEL_KINDS.get((kind or "").strip().lower())
    if column is None:
        raise DomainError(f"'{kind}' is not a channel kind. Choose one of: {', '.join(CHANNEL_KINDS)}.")
    await _locked_map(session, guild_id, now)  # the settings row exists and is ours for this transaction
    previous = (
        await session.execute(select(getattr(_G, column)).where(col(_G.guild_id) == guild_id))
    ).scalar_one_or_none()
    await session.execute(
        update(_G).where(col(_G.guild_id) == guild_id).values({column: channel_id, "updated_at": now})
    )
    return ChannelChange(guild_id=guild_id, kind=kind.strip().lower(), channel_id=channel_id, previous=previous)


# ----------------------------------------------------------------------------------------------------
# Model allowances (``/admin models``): what the server's personas may speak with (bot/core/model_settings.py)


async def set_model_allowances(
    session: AsyncSession,
    *,
    guild_id: int,
    can_manage_guild: bool,
    models_allowed: list[str] | None,
    own_servers: bool | None,
    now: datetime,
) -> ModelAllowances:
    """Set the allow-list of model names (``[]``: any model; None: unchanged) and whether owners may point a
    persona at another model server (None: unchanged), Manage Server only. Settings already chosen stay stored;
    replies use only what is allowed (:func:`bot.core.model_settings.within`)."""
    _require_manager(can_manage_guild)
    names = allowed_models(models_allowed) if models_allowed is not None else None
    await _locked_map(session, guild_id, now)  # the settings row exists and is ours for this transaction
    values: dict[str, object] = {"updated_at": now}
    if names is not None:
        values["allowed_models"] = list(names)
    if own_servers is not None:
        values["allow_model_servers"] = own_servers
    await session.execute(update(_G).where(col(_G.guild_id) == guild_id).values(values))
    row = (
        await session.execute(
            select(col(_G.allowed_models), col(_G.allow_model_servers)).where(col(_G.guild_id) == guild_id)
        )
    ).one()
    return ModelAllowances(tuple(str(name) for name in row[0] or ()), bool(row[1]))


# ----------------------------------------------------------------------------------------------------
# Memory (``/admin memory``): whether personas ask first, remember unless people opt out, or never remember


@dataclass(frozen=True)
class MemoryModeChange:
    guild_id: int
    mode: str
    previous: str


async def set_memory_mode(
    session: AsyncSession, *, guild_id: int, can_manage_guild: bool, mode: str, now: datetime
) -> MemoryModeChange:
    """The server's memory mode (Manage Server): ``opt-in`` (ask first), ``opt-out`` or ``never``
    (:func:`bot.core.privacy.may_remember`). It counts from the next message on; what was remembered stays
    (people erase theirs with ``/privacy forget-me``)."""
    _require_manager(can_manage_guild)
    chosen = (mode or "").strip().lower()
    if chosen not in SERVER_DEFAULTS:
        raise DomainError(f"'{mode}' is not a memory mode. Choose one of: {', '.join(SERVER_DEFAULTS)}.")
    await _locked_map(session, guild_id, now)  # the settings row exists and is ours for this transaction
    query = select(col(_G.memory_consent_default)).where(col(_G.guild_id) == guild_id)
    previous = (await session.execute(query)).scalar_one()
    await session.execute(
        update(_G).where(col(_G.guild_id) == guild_id).values(memory_consent_default=chosen, updated_at=now)
    )
    return MemoryModeChange(guild_id=guild_id, mode=chosen, previous=previous)
