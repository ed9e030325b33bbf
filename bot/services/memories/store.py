"""What every memory use case loads first: the persona (owner, status, memory settings) in one query, and the
ownership check; and the bounded batches deletes and updates by id go in."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from bot.core import memory as rules
from bot.core.errors import NotFound
from bot.core.ownership import PERSONA_NOT_FOUND, Actor, require_owner
from bot.db import models

# Deletes and updates by id go in batches of this many ids (bounded statements).
ID_BATCH = 500


def core_config(row: models.MemoryConfig | None) -> rules.MemoryConfig:
    """The stored settings as the rules see them (the default preset when the persona has none stored)."""
    if row is None:
        return rules.default_config()
    return rules.validate_config({name: getattr(row, name) for name in rules.CONFIG_FIELDS})


@dataclass(frozen=True)
class StoredPersona:
    """A persona as the memory use cases need it: its owner and status, and its memory settings (``config_row``
    the stored row, None while it has none)."""

    id: int
    owner_id: int
    status: str
    config: rules.MemoryConfig
    config_row: models.MemoryConfig | None


async def load_persona(session: AsyncSession, persona_id: int) -> StoredPersona:
    """The persona and its memory settings, in one query; :class:`NotFound` when it does not exist."""
    query = (
        select(col(models.Persona.owner_id), col(models.Persona.status), models.MemoryConfig)
        .outerjoin(models.MemoryConfig, col(models.MemoryConfig.persona_id) == col(models.Persona.id))
        .where(col(models.Persona.id) == persona_id)
    )
    found = (await session.execute(query)).first()
    if found is None:
        raise NotFound(PERSONA_NOT_FOUND)
    return StoredPersona(persona_id, found[0], found[1], core_config(found[2]), found[2])


def check_owner(persona: StoredPersona, actor: Actor | None, action: str) -> None:
    """``require_owner`` for a person (``actor``); a system call (the chat pipeline, the scheduler, tests) passes
    ``actor=None`` and is not checked."""
    if actor is not None:
        require_owner(persona, actor, action)


def batches(ids: Sequence[int], size: int = ID_BATCH) -> list[list[int]]:
    """``ids`` in consecutive batches of at most ``size``."""
    return [list(ids[start : start + size]) for start in range(0, len(ids), size)]
