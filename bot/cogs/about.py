"""/about: version, database, model provider, uptime."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot import __version__
from bot.clock import utcnow
from bot.services import about as about_service
from bot.ui.about import about_embed

if TYPE_CHECKING:
    from bot.app import PersonaHubBot


class AboutCog(commands.Cog):
    def __init__(self, bot: PersonaHubBot) -> None:
        self.bot = bot

    @app_commands.command(name="about", description="What this bot is: version, database, model and uptime.")
    async def about(self, interaction: discord.Interaction) -> None:
        async with self.bot.db.session() as session:
            info = await about_service.about(
                session,
                version=__version__,
                database_kind=self.bot.db.kind,
                model_provider=self.bot.model_provider,
                started_at=self.bot.started_at,
                now=utcnow(),
                guild_id=interaction.guild_id,
            )
        await interaction.response.send_message(embed=about_embed(info), ephemeral=True)


async def setup(bot: PersonaHubBot) -> None:
    await bot.add_cog(AboutCog(bot))
