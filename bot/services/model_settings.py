"""A persona's model settings (``persona_models``), set by its owner within what its server's admins allow
(``guild_settings.allowed_models`` / ``allow_model_servers``, set by :func:`bot.services.guild_settings.
set_model_allowances`). The rules are :mod:`bot.core.model_settings`.

The API key of a persona's own server is stored encrypted with the memory key (``MEMORY_ENCRYPTION_KEY``,
:mod:`bot.services.crypto`) and never leaves this module in clear except through :func:`api_key_of`, for the
provider that sends it. A server address reaches :func:`update` only as a
:class:`~bot.services.model_servers.SafeServerUrl`: it was checked (resolved, private addresses refused) before
the transaction opened.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bot.core import model_settings as rules
from bot.core.errors import DomainError
from bot.core.model_settings import ModelAllowances, ModelChoice
from bot.core.ownership import Actor
from bot.db import models
from bot.services import crypto
from bot.services.access import owned_persona
from bot.services.model_servers import SafeServerUrl

_M = models.PersonaModel
_NUMBERS = ("temperature", "top_p", "max_tokens", "presence_penalty", "frequency_penalty")
NO_KEY_TO_ENCRYPT = (
    "The bot's operator has not set MEMORY_ENCRYPTION_KEY, so an API key cannot be stored encrypted: nothing was "
    "changed."
)
KEY_UNREADABLE = "This persona's API key cannot be read (the bot's encryption key changed); set it again."
# Personas made in DMs belong to no server: no admins restrict them (the operator's rules still apply).
PERSONAL = ModelAllowances(models=(), own_servers=True)


@dataclass(frozen=True)
class ModelUpdate:
    """What ``/persona model`` changes. None: unchanged; ``model`` or ``api_key`` "": back to none."""

    model: str | None = None
    temperature: float | None = None
    top_p: float | None = None
    max_tokens: int | None = None
    presence_penalty: float | None = None
    frequency_penalty: float | None = None
    server: SafeServerUrl | None = None
    clear_server: bool = False  # back to the default server (its API key goes too)
    api_key: str | None = None
    vision: bool | None = None


@dataclass(frozen=True)
class ModelView:
    """A persona's model settings as its owner sees them (the key only as set / not set)."""

    persona_id: int
    persona_name: str
    choice: ModelChoice
    allowances: ModelAllowances


def choice_of(row: models.PersonaModel) -> ModelChoice:
    return ModelChoice(
        model=row.model,
        temperature=row.temperature,
        top_p=row.top_p,
        max_tokens=row.max_tokens,
        presence_penalty=row.presence_penalty,
        frequency_penalty=row.frequency_penalty,
        base_url=row.base_url,
        api_key_token=row.api_key_encrypted,
        vision=row.vision,
    )


async def choices_for(session: AsyncSession, persona_ids: Sequence[int]) -> dict[int, ModelChoice]:
    """The settings of those of ``persona_ids`` that have their own (the others use the defaults)."""
    if not persona_ids:
        return {}
    rows = (await session.execute(select(_M).where(col(_M.persona_id).in_(list(persona_ids))))).scalars()
    return {row.persona_id: choice_of(row) for row in rows if row.persona_id is not None}


async def allowances(session: AsyncSession, guild_id: int | None) -> ModelAllowances:
    """What ``guild_id``'s admins allow (a server without settings: any model, no other servers)."""
    if guild_id is None:
        return PERSONAL
    row = await session.get(models.GuildSettings, guild_id)
    if row is None:
        return ModelAllowances()
    return ModelAllowances(tuple(str(m) for m in row.allowed_models or ()), bool(row.allow_model_servers))


async def for_reply(session: AsyncSession, choice: ModelChoice | None, guild_id: int) -> ModelChoice | None:
    """``choice`` as far as the server where the persona speaks allows it (nothing read for a persona without
    settings of its own)."""
    if choice is None:
        return None
    return rules.within(choice, await allowances(session, guild_id))


async def voice_of(session: AsyncSession, persona_id: int, default: str) -> str:
    """One short line saying which model speaks for the persona (``default`` describes the bot's own), as its
    server allows it."""
    row = await session.get(_M, persona_id)
    if row is None:
        return default
    persona = await session.get(models.Persona, persona_id)
    guild_id = persona.guild_id if persona is not None else None
    return rules.describe(rules.within(choice_of(row), await allowances(session, guild_id)), default)


def api_key_of(choice: ModelChoice, encryption_key: str | None) -> str | None:
    """The persona's API key in clear, for the provider (None: none set); DomainError when it cannot be read."""
    if choice.api_key_token is None:
        return None
    try:
        return crypto.decrypt(choice.api_key_token, encryption_key)
    except crypto.EncryptionUnavailable:
        raise DomainError(KEY_UNREADABLE) from None


async def view(session: AsyncSession, actor: Actor, persona_id: int) -> ModelView:
    """A persona's model settings, for its owner."""
    persona = await owned_persona(session, persona_id, actor, "see its model settings")
    row = await session.get(_M, persona_id)
    choice = choice_of(row) if row is not None else ModelChoice()
    return ModelView(persona_id, persona.name, choice, await allowances(session, persona.guild_id))


async def update(
    session: AsyncSession,
    actor: Actor,
    persona_id: int,
    change: ModelUpdate,
    *,
    encryption_key: str | None,
    now: datetime,
) -> ModelView:
    """Change a persona's model settings (its owner, within its server's allowances); DomainError and nothing
    changed for a value out of range, a model or server not allowed, or an API key without a server."""
    persona = await owned_persona(session, persona_id, actor, "change its model settings")
    allowed = await allowances(session, persona.guild_id)
    row = await session.get(_M, persona_id)
    current = choice_of(row) if row is not None else ModelChoice()
    choice = _changed(current, change, encryption_key)
    rules.require_allowed(choice, allowed)
    if choice.is_default:
        await session.execute(delete(_M).where(col(_M.persona_id) == persona_id))
    else:
        if row is None:
            row = _M(persona_id=persona_id)
            session.add(row)
        _write(row, choice, now)
        await session.flush()
    return ModelView(persona_id, persona.name, choice, allowed)


async def reset(session: AsyncSession, actor: Actor, persona_id: int) -> ModelView:
    """Back to the defaults: the persona's own settings (and API key) are deleted."""
    persona = await owned_persona(session, persona_id, actor, "change its model settings")
    await session.execute(delete(_M).where(col(_M.persona_id) == persona_id))
    return ModelView(persona_id, persona.name, ModelChoice(), await allowances(session, persona.guild_id))


def _changed(current: ModelChoice, change: ModelUpdate, encryption_key: str | None) -> ModelChoice:
    values: dict[str, Any] = rules.check_numbers(**{name: getattr(change, name) for name in _NUMBERS})
    if change.model is not None:
        values["model"] = rules.model_name(change.model) if change.model.strip() else None
    if change.vision is not None:
        values["vision"] = change.vision
    if change.clear_server:
        values["base_url"] = None
        values["api_key_token"] = None
    elif change.server is not None:
        if change.server.url != current.base_url:
            values["api_key_token"] = None  # a key is for the server it was given with
        values["base_url"] = change.server.url
    if change.api_key is not None:
        values["api_key_token"] = _encrypted(change.api_key, encryption_key) if change.api_key.strip() else None
    choice = replace(current, **values)
    if choice.api_key_token is not None and choice.base_url is None:
        raise DomainError("An API key goes with the persona's own server: give the server's address too.")
    return choice


def _encrypted(key: str, encryption_key: str | None) -> str:
    checked = rules.api_key(key)
    if encryption_key is None:
        raise DomainError(NO_KEY_TO_ENCRYPT)
    return crypto.encrypt(checked, encryption_key)


def _write(row: models.PersonaModel, choice: ModelChoice, now: datetime) -> None:
    row.model = choice.model
    row.temperature = choice.temperature
    row.top_p = choice.top_p
    row.max_tokens = choice.max_tokens
    row.presence_penalty = choice.presence_penalty
    row.frequency_penalty = choice.frequency_penalty
    row.base_url = choice.base_url
    row.api_key_encrypted = choice.api_key_token
    row.vision = choice.vision
    row.updated_at = now
