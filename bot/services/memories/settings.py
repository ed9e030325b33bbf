"""A persona's memory settings: read them, change them (a preset, then single settings), validated whole."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.core import memory as rules
from bot.core.errors import DomainError
from bot.core.ownership import Actor, require_owner
from bot.db import models
from bot.services.memories.store import check_owner, load_persona
from bot.services.personas import READ_ONLY_STATUSES


async def config_get(session: AsyncSession, persona_id: int, *, actor: Actor | None = None) -> rules.MemoryConfig:
    """The persona's memory settings (the default preset if it has none stored)."""
    persona = await load_persona(session, persona_id)
    check_owner(persona, actor, "see its memory settings")
    return persona.config


async def config_update(
    session: AsyncSession, actor: Actor, persona_id: int, changes: Mapping[str, Any]
) -> rules.MemoryConfig:
    """Change memory settings (owner only). ``changes`` holds any settings by name, or ``preset`` (applied
    first, then the other changes); the result is validated whole by ``validate_config``."""
    persona = await load_persona(session, persona_id)
    require_owner(persona, actor, "change its memory settings")
    if persona.status in READ_ONLY_STATUSES:
        raise DomainError(f"This persona is {persona.status}: its settings can no longer be changed.")
    merged = rules.config_to_dict(persona.config)
    if "preset" in changes:
        merged = rules.config_to_dict(rules.preset(str(changes["preset"])))
    merged.update({name: value for name, value in changes.items() if name != "preset"})
    config = rules.validate_config(merged)
    columns = rules.config_to_dict(config)
    row = persona.config_row
    if row is None:
        session.add(models.MemoryConfig(persona_id=persona_id, **columns))
    else:
        for name, value in columns.items():
            setattr(row, name, value)
    await session.flush()
    return config
