"""What several cogs share about options: the caller as an ``Actor``, persona options (autocomplete, resolve), and
a typed date (:func:`parse_when`).

Not a cog (the leading underscore keeps ``bot.app.cog_modules`` from loading it). The rules are the ones
``/persona`` applies: an option's value is a persona id chosen from autocomplete, or a typed exact name (the
caller's own personas first, then the ones on this server they can see).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.errors import DomainError, NotFound
from bot.core.inputs import parse_id
from bot.core.ownership import Actor
from bot.core.text import clip
from bot.discord_io.permissions import manages_guild
from bot.services import personas

if TYPE_CHECKING:
    from bot.db.engine import Database

CHOICES_MAX = 25  # Discord's limit on autocomplete choices
CHOICE_NAME_MAX = 100  # ... and on a choice's name
DATE_FORMATS = ("%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d")


def actor_of(interaction: discord.Interaction) -> Actor:
    """The caller as plain ids, with their Manage Server permission where they ask from."""
    manage = manages_guild(interaction)
    return Actor(user_id=interaction.user.id, guild_id=interaction.guild_id, can_manage_guild=manage)


def parse_when(text: str) -> datetime:
    """A date and time the owner typed: ISO 8601 (with an offset, or UTC when none), or "YYYY-MM-DD HH:MM"."""
    cleaned = text.strip()
    try:
        value = datetime.fromisoformat(cleaned.replace("Z", "+00:00"))
    except ValueError:
        value = None
        for pattern in DATE_FORMATS:
            try:
                value = datetime.strptime(cleaned, pattern)
                break
            except ValueError:
                continue
    if value is None:
        raise DomainError(f"I could not read '{clip(cleaned, 40)}' as a date; write it like 2026-05-01 18:00 (UTC).")
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


async def resolve_persona(session: AsyncSession, interaction: discord.Interaction, value: str) -> int:
    """A persona option's value: an id chosen from autocomplete, or a typed exact name (own ones first)."""
    text = value.strip()
    typed_id = parse_id(text)
    if typed_id is not None:
        try:
            return (await personas.get(session, typed_id, viewer=actor_of(interaction))).id
        except NotFound:
            pass
    lowered = text.lower()
    for summary in await personas.list_own(session, interaction.user.id, interaction.guild_id):
        if summary.name.lower() == lowered:
            return summary.id
    if interaction.guild_id is not None:
        for summary in await personas.list_visible(
            session, interaction.guild_id, interaction.user.id, limit=CHOICES_MAX, name_prefix=text
        ):
            if summary.name.lower() == lowered:
                return summary.id
    raise NotFound(f"I found no persona called '{clip(text, 80)}' that you can see here.")


async def persona_choices(
    db: Database, interaction: discord.Interaction, current: str, *, own_only: bool
) -> list[app_commands.Choice[str]]:
    """Autocomplete choices for a persona option: the caller's own personas (``own_only``), or every persona on
    this server they can see; names starting with what was typed; the id as the value."""
    prefix = current.strip()
    async with db.session() as session:
        if own_only or interaction.guild_id is None:
            rows = await personas.list_own(session, interaction.user.id, interaction.guild_id)
            rows = [r for r in rows if r.name.lower().startswith(prefix.lower())]
        else:
            rows = await personas.list_visible(
                session, interaction.guild_id, interaction.user.id, limit=CHOICES_MAX, name_prefix=prefix or None
            )
    return [app_commands.Choice(name=clip(r.name, CHOICE_NAME_MAX), value=str(r.id)) for r in rows[:CHOICES_MAX]]


async def visible_personas(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
    """Autocomplete for a persona option: the personas on this server the caller can see (any cog's command)."""
    return await persona_choices(interaction.client.db, interaction, current, own_only=False)  # type: ignore[attr-defined]


async def own_personas(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
    """Autocomplete for a persona option that only the owner may use: the caller's own personas."""
    return await persona_choices(interaction.client.db, interaction, current, own_only=True)  # type: ignore[attr-defined]
