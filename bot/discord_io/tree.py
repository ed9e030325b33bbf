"""The command tree: every slash command's typed text passes one check before any command sees it.

What a person types into a string option goes to the database as a name, a search, a lookup; a NUL character there
is stored by SQLite and refused by PostgreSQL (a traceback). Checking here, once, gives every command the same clear
refusal on both databases, and autocomplete no choices, instead of a rule repeated in each command.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from typing import Any

import discord
from discord import app_commands

from bot.core.errors import DomainError
from bot.core.inputs import require_storable

log = logging.getLogger(__name__)

STRING_OPTION = discord.AppCommandOptionType.string.value


def typed_strings(options: Any) -> Iterator[tuple[str, str]]:
    """(option name, value) of every string option in an interaction's options, subcommands included."""
    for option in options or ():
        if not isinstance(option, Mapping):
            continue
        if option.get("type") == STRING_OPTION and isinstance(option.get("value"), str):
            yield str(option.get("name")), option["value"]
        yield from typed_strings(option.get("options"))


def typed_text_refusal(data: Mapping[str, Any] | None) -> str | None:
    """The sentence refusing an interaction whose typed text cannot be stored, or None when all of it can."""
    for name, value in typed_strings((data or {}).get("options")):
        try:
            require_storable(value, f"What you typed for '{name}'")
        except DomainError as error:
            return str(error)
    return None


class CheckedTree(app_commands.CommandTree):
    """discord.py's tree with :func:`typed_text_refusal` applied to every command and autocomplete."""

    async def interaction_check(self, interaction: discord.Interaction, /) -> bool:
        refusal = typed_text_refusal(interaction.data)
        if refusal is None:
            return True
        try:
            if interaction.type is discord.InteractionType.autocomplete:
                await interaction.response.autocomplete([])  # nothing can be looked up for that text
            else:
                await interaction.response.send_message(refusal, ephemeral=True)
        except discord.HTTPException:
            log.warning("could not refuse interaction %s", interaction.id)
        return False
