"""``/follow``, ``/unfollow``, ``/following``, ``/timeline``, ``/achievements``.

``/follow <persona>`` follows a public persona with the chosen notification settings; on a persona already followed,
its options change the settings (without options it says you already follow it and shows the settings). Each
handler opens one session for the services, closes it, and only then answers Discord.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.clock import utcnow
from bot.cogs._options import actor_of, clip, resolve_persona, visible_personas
from bot.core.errors import DomainError
from bot.services import achievements, follows, timeline
from bot.services.follows import NotificationSettings
from bot.ui import social as social_ui

if TYPE_CHECKING:
    from bot.app import PersonaHubBot


class FollowsCog(commands.Cog):
    def __init__(self, bot: PersonaHubBot) -> None:
        self.bot = bot

    async def followed_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        async with self.bot.db.session() as session:
            rows = await follows.list_following(
                session, interaction.user.id, guild_id=interaction.guild_id, name_prefix=current.strip()
            )
        return [app_commands.Choice(name=clip(r.persona_name, 100), value=str(r.persona_id)) for r in rows[:25]]

    @app_commands.command(name="follow", description="Follow a public persona, or change what you hear about it.")
    @app_commands.describe(
        persona="The persona to follow",
        new_posts="Tell me about new timeline events (default on)",
        achievements="Tell me about achievements (default on)",
        collaborations="Tell me about collaborations (default off)",
        by_dm="Send my notifications by DM instead of the server's notifications channel (default off)",
    )
    @app_commands.autocomplete(persona=visible_personas)
    async def follow(
        self,
        interaction: discord.Interaction,
        persona: str,
        new_posts: bool | None = None,
        achievements: bool | None = None,
        collaborations: bool | None = None,
        by_dm: bool | None = None,
    ) -> None:
        changes = {
            "new_posts": new_posts,
            "achievements": achievements,
            "collaborations": collaborations,
            "by_dm": by_dm,
        }
        given = {k: v for k, v in changes.items() if v is not None}
        async with self.bot.db.transaction() as session:
            persona_id = await resolve_persona(session, interaction, persona)
            existing = await follows.get_follow(session, user_id=interaction.user.id, persona_id=persona_id)
            if existing is not None:
                if not given:
                    raise DomainError(
                        f"{follows.ALREADY} Your notifications: {social_ui.settings_text(existing.settings)}. "
                        "Give /follow options to change them."
                    )
                record = await follows.update_settings(
                    session, user_id=interaction.user.id, persona_id=persona_id, changes=given
                )
                changed = True
            else:
                record = await follows.follow(
                    session,
                    user_id=interaction.user.id,
                    persona_id=persona_id,
                    guild_id=interaction.guild_id,
                    settings=NotificationSettings().with_changes(given),
                    now=utcnow(),
                )
                changed = False
        await interaction.response.send_message(social_ui.follow_message(record, changed=changed), ephemeral=True)

    @app_commands.command(name="unfollow", description="Stop following a persona.")
    @app_commands.describe(persona="A persona you follow")
    @app_commands.autocomplete(persona=followed_autocomplete)
    async def unfollow(self, interaction: discord.Interaction, persona: str) -> None:
        async with self.bot.db.transaction() as session:
            persona_id = await self._followed_id(session, interaction, persona)
            record = await follows.unfollow(session, user_id=interaction.user.id, persona_id=persona_id)
        await interaction.response.send_message(social_ui.unfollow_message(record), ephemeral=True)

    async def _followed_id(self, session: object, interaction: discord.Interaction, value: str) -> int:
        """A followed persona: the id from autocomplete, or a name among those followed (even if no longer public)."""
        text = value.strip()
        rows = await follows.list_following(session, interaction.user.id, limit=200)  # type: ignore[arg-type]
        for row in rows:
            if text == str(row.persona_id) or row.persona_name.lower() == text.lower():
                return row.persona_id
        raise DomainError(follows.NOT_FOLLOWING)

    @app_commands.command(name="following", description="The personas you follow and your notification settings.")
    async def following(self, interaction: discord.Interaction) -> None:
        async with self.bot.db.session() as session:
            rows = await follows.list_following(session, interaction.user.id, guild_id=interaction.guild_id)
        await interaction.response.send_message(embed=social_ui.following_embed(rows), ephemeral=True)

    @app_commands.command(name="timeline", description="A persona's timeline (public events, unless it is yours).")
    @app_commands.describe(persona="The persona")
    @app_commands.autocomplete(persona=visible_personas)
    async def timeline_(self, interaction: discord.Interaction, persona: str) -> None:
        async with self.bot.db.session() as session:
            persona_id = await resolve_persona(session, interaction, persona)
            page = await timeline.list_events(session, persona_id, actor_of(interaction), now=utcnow())
        await interaction.response.send_message(embed=social_ui.timeline_embed(page), ephemeral=True)

    @app_commands.command(name="achievements", description="A persona's achievements.")
    @app_commands.describe(persona="The persona")
    @app_commands.autocomplete(persona=visible_personas)
    async def achievements_(self, interaction: discord.Interaction, persona: str) -> None:
        async with self.bot.db.session() as session:
            persona_id = await resolve_persona(session, interaction, persona)
            view = await achievements.list_awards(session, persona_id, actor_of(interaction))
        await interaction.response.send_message(embed=social_ui.achievements_embed(view), ephemeral=True)


async def setup(bot: PersonaHubBot) -> None:
    await bot.add_cog(FollowsCog(bot))
