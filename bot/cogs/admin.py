"""``/admin``: server settings, for members with Manage Server.

The group is defined once, guild-only and hidden from members without Manage Server (Discord's
``default_member_permissions``, which a server may override for its own roles); every subcommand also passes the
caller's real permission to its service, which refuses without it. The settings: ``reactions`` (the server's
reaction map), ``channel`` (where notifications or ceremonies go), ``models`` (which models its personas may use),
``memory`` (whether personas ask people first, remember unless they opt out, or never remember) and ``verify`` (a
persona's verification status).
A new setting is one more ``@admin.command`` method here, translating options to one service call and its result
to a reply.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.clock import utcnow
from bot.cogs._options import actor_of, resolve_persona, visible_personas
from bot.core import emotions as core
from bot.core.errors import DomainError
from bot.core.text import clip
from bot.discord_io.permissions import can_send, manages_guild
from bot.services import consent, guild_settings, profiles
from bot.services import model_settings as persona_models
from bot.ui import models as models_ui
from bot.ui import mood as mood_ui
from bot.ui import profile as profile_ui
from bot.ui import social as social_ui
from bot.ui.memory import invitation as invitation_ui

if TYPE_CHECKING:
    from bot.app import PersonaHubBot


def _guild_id(interaction: discord.Interaction) -> int:
    if interaction.guild_id is None:
        raise DomainError("Server settings can only be changed in a server.")
    return interaction.guild_id


class AdminCog(commands.Cog):
    admin = app_commands.Group(
        name="admin",
        description="Server settings (Manage Server).",
        default_permissions=discord.Permissions(manage_guild=True),
        guild_only=True,
    )

    def __init__(self, bot: PersonaHubBot) -> None:
        self.bot = bot

    async def trigger_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        typed = current.strip().lower()
        options = [(name, f"{name}: {core.trigger_description(name)}") for name in core.trigger_names()]
        options.append(("none", "none: remove the server's mapping (use the default)"))
        return [
            app_commands.Choice(name=clip(label, 100), value=value)
            for value, label in options
            if not typed or typed in label.lower()
        ][:25]

    @admin.command(name="reactions", description="The server's reaction map: list it, look up or set an emoji.")
    @app_commands.describe(
        emoji="An emoji (Unicode or this server's); alone: what it triggers here",
        trigger="The trigger it stands for, or 'none' to use the default again",
    )
    @app_commands.autocomplete(trigger=trigger_autocomplete)
    async def reactions(
        self,
        interaction: discord.Interaction,
        emoji: app_commands.Range[str, 1, 100] | None = None,
        trigger: app_commands.Range[str, 1, 32] | None = None,
    ) -> None:
        guild_id = _guild_id(interaction)
        manage = manages_guild(interaction)
        if trigger is not None and emoji is None:
            raise DomainError("Give the emoji to map as well (emoji option).")
        if trigger is None:
            async with self.bot.db.session() as session:
                entries = await guild_settings.describe_reactions(
                    session, guild_id=guild_id, can_manage_guild=manage, emoji=emoji
                )
            if emoji is None:
                embed = mood_ui.reaction_map_embed(entries, guild_settings.MAX_REACTION_ENTRIES)
                await interaction.response.send_message(embed=embed, ephemeral=True)
            else:
                await interaction.response.send_message(mood_ui.reaction_entry_message(entries[0]), ephemeral=True)
            return
        assert emoji is not None
        async with self.bot.db.transaction() as session:
            change = await guild_settings.set_reaction(
                session, guild_id=guild_id, can_manage_guild=manage, emoji=emoji, trigger=trigger, now=utcnow()
            )
        await interaction.response.send_message(mood_ui.reaction_change_message(change), ephemeral=True)

    @admin.command(name="channel", description="Where the server's notifications or ceremonies go.")
    @app_commands.describe(kind="What goes there", channel="The channel (leave out to clear the setting)")
    @app_commands.choices(
        kind=[
            app_commands.Choice(name="Notifications (followers' updates)", value="notifications"),
            app_commands.Choice(name="Ceremonies (retirement farewells)", value="ceremonies"),
        ]
    )
    async def channel(
        self,
        interaction: discord.Interaction,
        kind: str,
        channel: discord.TextChannel | None = None,
    ) -> None:
        guild_id = _guild_id(interaction)
        async with self.bot.db.transaction() as session:
            change = await guild_settings.set_channel(
                session,
                guild_id=guild_id,
                can_manage_guild=manages_guild(interaction),
                kind=kind,
                channel_id=channel.id if channel is not None else None,
                now=utcnow(),
            )
        text = social_ui.channel_change_message(change)
        if channel is not None and can_send(channel) is False:
            text += " I cannot send messages there yet: give me the Send Messages permission in that channel."
        await interaction.response.send_message(text, ephemeral=True)

    @admin.command(name="models", description="Which models this server's personas may use; alone: show it.")
    @app_commands.describe(
        allowed="Model names, separated by commas ('any': every model)",
        own_servers="Whether owners may point a persona at another model server",
    )
    async def models(
        self,
        interaction: discord.Interaction,
        allowed: app_commands.Range[str, 1, 1000] | None = None,
        own_servers: bool | None = None,
    ) -> None:
        guild_id = _guild_id(interaction)
        names = None
        if allowed is not None:
            names = [] if allowed.strip().lower() == "any" else [n for n in allowed.split(",") if n.strip()]
        async with self.bot.db.transaction() as session:
            if names is None and own_servers is None:
                current = await persona_models.allowances(session, guild_id)
            else:
                current = await guild_settings.set_model_allowances(
                    session,
                    guild_id=guild_id,
                    can_manage_guild=manages_guild(interaction),
                    models_allowed=names,
                    own_servers=own_servers,
                    now=utcnow(),
                )
        await interaction.response.send_message(models_ui.allowances_text(current), ephemeral=True)

    @admin.command(
        name="memory", description="Whether personas here ask people first, remember unless told no, or never."
    )
    @app_commands.describe(mode="What personas may remember here (leave out to see the current mode)")
    @app_commands.choices(
        mode=[
            app_commands.Choice(name="Ask first: remember only people who say yes (default)", value="opt-in"),
            app_commands.Choice(name="Opt-out: remember people unless they say no", value="opt-out"),
            app_commands.Choice(name="Never: remember no one here", value="never"),
        ]
    )
    async def memory(self, interaction: discord.Interaction, mode: str | None = None) -> None:
        guild_id = _guild_id(interaction)
        async with self.bot.db.transaction() as session:
            if mode is None:
                current = await consent.server_mode(session, guild_id)
                text = invitation_ui.mode_text(current, current)
            else:
                change = await guild_settings.set_memory_mode(
                    session, guild_id=guild_id, can_manage_guild=manages_guild(interaction), mode=mode, now=utcnow()
                )
                text = invitation_ui.mode_text(change.mode, change.previous)
        await interaction.response.send_message(text, ephemeral=True)

    @admin.command(name="verify", description="Set the verification status shown on a persona's public profile.")
    @app_commands.describe(
        persona="A persona of this server", status="Its verification status (none: show the status it has)"
    )
    @app_commands.autocomplete(persona=visible_personas)
    @app_commands.choices(
        status=[
            app_commands.Choice(name="Verified", value="verified"),
            app_commands.Choice(name="Official", value="official"),
            app_commands.Choice(name="Not verified", value="unverified"),
        ]
    )
    async def verify(self, interaction: discord.Interaction, persona: str, status: str | None = None) -> None:
        _guild_id(interaction)
        async with self.bot.db.transaction() as session:
            persona_id = await resolve_persona(session, interaction, persona)
            change = await profiles.set_verification(session, actor_of(interaction), persona_id, status, now=utcnow())
        text = profile_ui.verification_text(change, asked=status is not None)
        await interaction.response.send_message(text, ephemeral=True)


async def setup(bot: PersonaHubBot) -> None:
    await bot.add_cog(AdminCog(bot))
