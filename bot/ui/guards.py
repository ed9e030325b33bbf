"""Who may use a message's buttons and forms: one check and one clear, private refusal for every view.

A refusal is always answered (an unanswered interaction looks like a broken bot to the person who clicked), and
the message stays as it was for the person it belongs to.
"""

from __future__ import annotations

import logging
from typing import Any

import discord
from discord.ext import commands

log = logging.getLogger(__name__)

NOT_YOURS = "Only the person who asked can answer this."


def asker_of(interaction: discord.Interaction) -> int | None:
    """Who ran the command that the clicked message answers, or None when Discord does not say (a message not
    made by a command): persistent buttons carry no owner, their message does."""
    message = interaction.message
    metadata = message.interaction_metadata if message is not None else None
    return metadata.user.id if metadata is not None else None


async def only_for(interaction: discord.Interaction, user_id: int | None, refusal: str = NOT_YOURS) -> bool:
    """True when ``interaction`` comes from ``user_id`` (None: from anyone); otherwise the clicker is told
    ``refusal``, privately, nothing changes, and False."""
    if user_id is None or interaction.user.id == user_id:
        return True
    try:
        if interaction.response.is_done():
            await interaction.followup.send(refusal, ephemeral=True)
        else:
            await interaction.response.send_message(refusal, ephemeral=True)
    except discord.HTTPException:
        log.warning("could not refuse interaction %s", interaction.id)
    return False


async def handler_cog(interaction: discord.Interaction, cog_name: str, what: str) -> Any:
    """The loaded cog that answers a persistent component's click, or None after telling the clicker that ``what``
    (e.g. "The memory commands") are not loaded right now."""
    client = interaction.client
    handler = client.get_cog(cog_name) if isinstance(client, commands.bot.BotBase) else None
    if handler is None:
        await interaction.response.send_message(f"{what} are not loaded right now.", ephemeral=True)
    return handler
