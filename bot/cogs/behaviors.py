"""``/behavior add | list | remove | test``: a persona owner's custom behaviours (rules: a trigger and an action).

Each handler opens one session for the services, closes it, and only then answers Discord. Answers are ephemeral
(they concern the owner only). The trigger and the action are typed as one line each; the accepted forms are in
:mod:`bot.services.behaviors`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands
from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import utcnow
from bot.cogs._options import own_personas
from bot.core.errors import NotFound
from bot.core.inputs import parse_id
from bot.core.text import clip
from bot.services import behaviors, personas
from bot.services.personas import Actor

if TYPE_CHECKING:
    from bot.app import PersonaHubBot

TRIGGERS = [
    app_commands.Choice(name="keywords (hello, good morning | all: rain, umbrella)", value="keywords"),
    app_commands.Choice(
        name="emoji (🎉, in a message or as a reaction; instructions: in a message only)", value="emoji"
    ),
    app_commands.Choice(name="emotion above an intensity (joy 60)", value="emotion"),
    app_commands.Choice(name="time window (22:00-06:00 Europe/Paris sat,sun)", value="time"),
]
ACTIONS = [
    app_commands.Choice(name="instruction added to the prompt", value="instruction"),
    app_commands.Choice(name="reply template (instead of the model)", value="reply"),
    app_commands.Choice(name="emotional trigger (praise, insult, ...)", value="emotion"),
    app_commands.Choice(name="reaction with an emoji", value="reaction"),
]


def _actor(interaction: discord.Interaction) -> Actor:
    return Actor(user_id=interaction.user.id, guild_id=interaction.guild_id)


class BehaviorsCog(commands.Cog):
    behavior = app_commands.Group(name="behavior", description="Custom behaviours of your personas.")

    def __init__(self, bot: PersonaHubBot) -> None:
        self.bot = bot

    async def _persona(self, session: AsyncSession, interaction: discord.Interaction, value: str) -> int:
        text = value.strip()
        own = await personas.list_own(session, interaction.user.id, interaction.guild_id)
        typed_id = parse_id(text)
        if typed_id is not None and any(p.id == typed_id for p in own):
            return typed_id
        for summary in own:
            if summary.name.lower() == text.lower():
                return summary.id
        raise NotFound(f"You have no persona called '{clip(text, 80)}' here.")

    async def name_autocomplete(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        chosen = str(getattr(interaction.namespace, "persona", "") or "")
        try:
            async with self.bot.db.session() as session:
                persona_id = await self._persona(session, interaction, chosen)
                rows = await behaviors.list_for(session, _actor(interaction), persona_id)
        except NotFound:
            return []
        prefix = current.strip().lower()
        return [
            app_commands.Choice(name=clip(b.name, 100), value=b.name) for b in rows if b.name.lower().startswith(prefix)
        ][:25]

    @behavior.command(name="add", description="Add a custom behaviour to your persona.")
    @app_commands.describe(
        persona="Your persona",
        name="A name for the rule",
        trigger="What sets it off",
        trigger_value="The trigger's details (see the choices' examples)",
        action="What it does",
        action_value="The instruction, reply template, emotional trigger or emoji",
    )
    @app_commands.choices(trigger=TRIGGERS, action=ACTIONS)
    @app_commands.autocomplete(persona=own_personas)
    async def add(
        self,
        interaction: discord.Interaction,
        persona: str,
        name: app_commands.Range[str, 1, 80],
        trigger: app_commands.Choice[str],
        trigger_value: app_commands.Range[str, 1, 1000],
        action: app_commands.Choice[str],
        action_value: app_commands.Range[str, 1, 1000],
    ) -> None:
        async with self.bot.db.transaction() as session:
            persona_id = await self._persona(session, interaction, persona)
            view = await behaviors.add(
                session,
                _actor(interaction),
                persona_id,
                name=name,
                trigger_kind=trigger.value,
                trigger_config=behaviors.parse_trigger(trigger.value, trigger_value),
                action_kind=action.value,
                action_config=behaviors.parse_action(action.value, action_value),
                now=utcnow(),
            )
        await interaction.response.send_message(
            clip(
                f"Added **{discord.utils.escape_markdown(view.name)}**: on {view.trigger_words}, it "
                f"{view.action_words}.",
                2000,
            ),
            ephemeral=True,
        )

    @behavior.command(name="list", description="Your persona's custom behaviours.")
    @app_commands.describe(persona="Your persona")
    @app_commands.autocomplete(persona=own_personas)
    async def list_behaviors(self, interaction: discord.Interaction, persona: str) -> None:
        async with self.bot.db.session() as session:
            persona_id = await self._persona(session, interaction, persona)
            rows = await behaviors.list_for(session, _actor(interaction), persona_id)
        embed = discord.Embed(title="Custom behaviours", colour=0x5865F2)
        if not rows:
            embed.description = "None yet. Add one with /behavior add."
        for row in rows[:25]:
            state = "" if row.enabled else " (off)"
            embed.add_field(
                name=clip(f"{row.name}{state}", 256),
                value=clip(f"On {row.trigger_words}: {row.action_words}", 1024),
                inline=False,
            )
        await interaction.response.send_message(embed=embed, ephemeral=True)

    @behavior.command(name="remove", description="Remove a custom behaviour from your persona.")
    @app_commands.describe(persona="Your persona", name="The behaviour")
    @app_commands.autocomplete(persona=own_personas, name=name_autocomplete)
    async def remove(self, interaction: discord.Interaction, persona: str, name: str) -> None:
        async with self.bot.db.transaction() as session:
            persona_id = await self._persona(session, interaction, persona)
            view = await behaviors.remove(session, _actor(interaction), persona_id, name)
        await interaction.response.send_message(
            f"Removed **{discord.utils.escape_markdown(view.name)}**.", ephemeral=True
        )

    @behavior.command(name="test", description="What a behaviour would do with a sample message, right now.")
    @app_commands.describe(
        persona="Your persona", name="The behaviour", message="A sample message", emoji="A sample reaction emoji"
    )
    @app_commands.autocomplete(persona=own_personas, name=name_autocomplete)
    async def test(
        self,
        interaction: discord.Interaction,
        persona: str,
        name: str,
        message: app_commands.Range[str, 0, 2000] = "",
        emoji: str | None = None,
    ) -> None:
        async with self.bot.db.session() as session:
            persona_id = await self._persona(session, interaction, persona)
            result = await behaviors.preview(
                session,
                _actor(interaction),
                persona_id,
                name,
                message_text=message,
                emoji=emoji,
                author_name=getattr(interaction.user, "display_name", interaction.user.name),
                now=utcnow(),
            )
        await interaction.response.send_message(
            clip(result.summary, 2000), ephemeral=True, allowed_mentions=discord.AllowedMentions.none()
        )


async def setup(bot: PersonaHubBot) -> None:
    await bot.add_cog(BehaviorsCog(bot))
