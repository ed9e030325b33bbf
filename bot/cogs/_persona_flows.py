"""The /persona cog's flows that are not commands: showing wizard steps (with the radar chart), applying wizard
clicks, switching a persona on or off in a channel, and the words shown after an import (the wizard answered by
typing in a DM is :mod:`bot.cogs._dm_wizard`). :class:`PersonaFlows` is a base of
:class:`bot.cogs.personas.PersonaCog`; the commands are there. (The leading underscore keeps the extension loader
away: this module has no cog of its own.)"""

from __future__ import annotations

import functools
import logging
import random
from collections.abc import Mapping
from typing import TYPE_CHECKING

import discord

from bot.clock import utcnow
from bot.cogs._options import actor_of, resolve_persona
from bot.core.errors import DomainError, NotFound
from bot.core.inputs import whole_number
from bot.core.ownership import Actor
from bot.core.text import clip
from bot.core.wizard import TRAIT_PAGES
from bot.services import bindings, portability, trait_suggestions
from bot.services import wizard as wizard_service
from bot.ui import wizard as wizard_ui
from bot.ui.charts import ChartCache, radar_chart
from bot.workflows.greeting import greet

if TYPE_CHECKING:
    from bot.app import PersonaHubBot

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".webp")


class PersonaFlows:
    """What the persona cog does between its commands and Discord: wizard steps, clicks, DMs and bindings."""

    bot: PersonaHubBot
    _charts: ChartCache[tuple[float, ...]]

    @property
    def default_limit(self) -> int:
        return int(self.bot.settings.max_personas_per_user)

    @staticmethod
    def _chart_key(traits: Mapping[str, float]) -> tuple[float, ...]:
        return tuple(round(float(value), 3) for _, value in sorted(traits.items()))

    async def chart(self, traits: Mapping[str, float]) -> bytes:
        """The radar chart PNG, rendered in a worker thread (and remembered for identical traits)."""
        return await self._charts.draw(self._chart_key(traits), functools.partial(radar_chart, traits))

    async def _step_payload(
        self, draft: wizard_service.Draft, in_dm: bool
    ) -> tuple[discord.Embed, discord.ui.View, list[discord.File]]:
        embed, view = wizard_ui.wizard_message(draft, in_dm=in_dm)
        files = [wizard_ui.chart_file(await self.chart(draft.data["traits"]))] if wizard_ui.needs_chart(draft) else []
        return embed, view, files

    async def _show_step(self, interaction: discord.Interaction, draft: wizard_service.Draft, *, edit: bool) -> None:
        embed, view = wizard_ui.wizard_message(draft, in_dm=interaction.guild_id is None)
        files: list[discord.File] = []
        drawing: Mapping[str, float] | None = None
        if wizard_ui.needs_chart(draft):
            known = self._charts.get(self._chart_key(draft.data["traits"]))
            if known is not None:
                files = [wizard_ui.chart_file(known)]
            else:
                drawing = draft.data["traits"]
        if edit and interaction.message is not None:
            await interaction.response.edit_message(embed=embed, view=view, attachments=files)
        else:
            await interaction.response.send_message(
                embed=embed, view=view, files=files, ephemeral=interaction.guild_id is not None
            )
        if drawing is not None:
            # A new chart takes ~70 ms to draw: the step answers at once and the picture follows in an edit.
            png = await self.chart(drawing)
            await interaction.edit_original_response(embed=embed, view=view, attachments=[wizard_ui.chart_file(png)])

    async def _wizard_component(
        self,
        interaction: discord.Interaction,
        draft_id: int,
        action: str,
        arg: str | None,
        values: list[str] | None,
    ) -> None:
        actor = actor_of(interaction)
        if action.startswith("open-"):
            async with self.bot.db.session() as session:
                draft = await wizard_service.get(session, draft_id, actor.user_id, now=utcnow())
            if action == "open-basics":
                modal = wizard_ui.basics_modal(draft)
            elif action == "open-memory":
                modal = wizard_ui.memory_modal(draft)
            elif action == "open-character":
                modal = wizard_ui.character_modal(draft, whole_number(arg or "0") or 0)
            elif action == "open-greetings":
                modal = wizard_ui.greetings_modal(draft)
            elif action == "open-describe":
                modal = wizard_ui.describe_modal(draft)
            else:
                page = whole_number(arg or "0")
                if page is None or not 0 <= page < len(TRAIT_PAGES):
                    raise DomainError("There is no such page of traits.")
                modal = wizard_ui.traits_modal(draft, page)
            await interaction.response.send_modal(modal)
            return
        if action == "thread":
            await self._open_thread(interaction, draft_id)
            return
        if action == "restart":
            async with self.bot.db.transaction() as session:
                try:
                    old = await wizard_service.get(session, draft_id, actor.user_id, now=utcnow())
                    actor = Actor(actor.user_id, old.guild_id, actor.can_manage_guild)
                except NotFound:
                    pass
                draft = await wizard_service.start(
                    session,
                    actor,
                    channel_id=interaction.channel_id,
                    template=arg,
                    max_per_user=self.default_limit,
                    now=utcnow(),
                )
            await self._show_step(interaction, draft, edit=True)
            return
        async with self.bot.db.transaction() as session:
            outcome = await wizard_service.act(
                session, actor, draft_id, action, arg, values, max_per_user=self.default_limit, now=utcnow()
            )
        await self._show_outcome(interaction, outcome)

    async def _open_thread(self, interaction: discord.Interaction, draft_id: int) -> None:
        """Go on with the wizard as a chat in a private thread of this channel (the step is posted there)."""
        channel = interaction.channel
        if interaction.guild is None or not isinstance(channel, discord.TextChannel):
            raise DomainError("A private thread opens from a server's text channel; in a DM, just type your answers.")
        actor = actor_of(interaction)
        async with self.bot.db.session() as session:
            draft = await wizard_service.get(session, draft_id, actor.user_id, now=utcnow())
        await interaction.response.defer()
        try:
            thread = await channel.create_thread(
                name=clip(f"New persona: {interaction.user.display_name}", 100),
                type=discord.ChannelType.private_thread,
                invitable=False,
            )
            await thread.add_user(interaction.user)
        except discord.Forbidden:
            raise DomainError(
                "I may not open private threads here; run /persona create in a DM with me to chat instead."
            ) from None
        embed, view, files = await self._step_payload(draft, True)
        sent = await thread.send(embed=embed, view=view, files=files)
        async with self.bot.db.transaction() as session:
            await wizard_service.set_message(session, draft.id, actor.user_id, thread.id, sent.id)
        done = wizard_ui.done_embed("Continued in a private thread", f"Type your answers in {thread.mention}.")
        await interaction.edit_original_response(embed=done, view=None, attachments=[])

    async def _describe_submitted(self, interaction: discord.Interaction, draft_id: int, description: str) -> None:
        """The Describe form: the traits it suggests (the model may take a while: the click is deferred first)."""
        await interaction.response.defer()
        suggestions = await trait_suggestions.suggest(self.bot.llm, description)
        async with self.bot.db.transaction() as session:
            outcome = await wizard_service.act(
                session,
                actor_of(interaction),
                draft_id,
                "suggested",
                None,
                suggestions.to_values(),
                max_per_user=self.default_limit,
                now=utcnow(),
            )
        assert outcome.draft is not None
        embed, view, files = await self._step_payload(outcome.draft, interaction.guild_id is None)
        await interaction.edit_original_response(embed=embed, view=view, attachments=files)

    async def _show_outcome(self, interaction: discord.Interaction, outcome: wizard_service.Outcome) -> None:
        if outcome.draft is not None:
            await self._show_step(interaction, outcome.draft, edit=True)
            return
        embed = self._outcome_embed(outcome)
        if interaction.message is not None:
            await interaction.response.edit_message(embed=embed, view=None, attachments=[])
        else:
            await interaction.response.send_message(embed=embed, ephemeral=interaction.guild_id is not None)

    @staticmethod
    def _outcome_embed(outcome: wizard_service.Outcome) -> discord.Embed:
        if outcome.cancelled or outcome.persona is None:
            return wizard_ui.done_embed("Wizard cancelled", "Nothing was created, and the draft is gone.")
        name = discord.utils.escape_markdown(outcome.persona.name)
        if outcome.created:
            return wizard_ui.done_embed(
                f"{outcome.persona.name} is born",
                f"**{name}** was created. Let it speak in a channel with `/persona activate`.",
            )
        return wizard_ui.done_embed(f"{outcome.persona.name} saved", f"**{name}**'s changes were saved.")

    async def _binding(
        self,
        interaction: discord.Interaction,
        persona: str,
        channel: discord.TextChannel | discord.Thread | None,
        *,
        on: bool,
    ) -> None:
        if interaction.guild is None or not isinstance(interaction.user, discord.Member):
            raise DomainError("Personas speak in server channels; use this command in a server.")
        target_id = channel.id if channel is not None else interaction.channel_id
        assert target_id is not None
        if channel is None:
            can_manage = interaction.permissions.manage_channels
        else:
            resolved = interaction.guild.get_channel_or_thread(target_id)
            can_manage = bool(resolved is not None and resolved.permissions_for(interaction.user).manage_channels)
        async with self.bot.db.transaction() as session:
            persona_id = await resolve_persona(session, interaction, persona)
            change = bindings.activate if on else bindings.deactivate
            result = await change(
                session,
                actor_of(interaction),
                persona_id,
                target_id,
                channel_guild_id=interaction.guild_id,
                can_manage_channel=can_manage,
                now=utcnow(),
            )
        name = discord.utils.escape_markdown(result.persona_name)
        if on:
            text = (
                f"**{name}** is now active in <#{target_id}>."
                if result.changed
                else f"**{name}** was already active in <#{target_id}>."
            )
        elif result.changed:
            text = f"**{name}** no longer speaks in <#{target_id}>."
            if not result.is_active:
                text += " It is switched off everywhere now."
        else:
            text = f"**{name}** was not active in <#{target_id}>."
        await interaction.response.send_message(text, ephemeral=True)
        if on:  # when it was active already, only a greeting a crash left unposted (posted once)
            await self._greet(interaction, result.persona_id, target_id, unposted_only=not result.changed)

    async def _greet(
        self, interaction: discord.Interaction, persona_id: int, channel_id: int, *, unposted_only: bool = False
    ) -> None:
        """The persona's greeting where it was just activated (once per channel: bot/workflows/greeting.py)."""
        assert interaction.guild is not None
        where = interaction.guild.get_channel_or_thread(channel_id)
        if not isinstance(where, discord.TextChannel | discord.Thread):
            return
        try:
            name = interaction.user.display_name
            await greet(self.bot, where, persona_id, user_name=name, draw=random.random(), unposted_only=unposted_only)
        except Exception:  # the activation stands; the greeting is a courtesy
            log.exception("persona %s: the greeting in channel %s failed", persona_id, channel_id)

    @staticmethod
    def _imported_text(imported: portability.Imported) -> str:
        name = discord.utils.escape_markdown(imported.record.name)
        changed = ", ".join(imported.changed)
        notes = "".join(f"\n- {discord.utils.escape_markdown(note)}" for note in imported.notes)
        if imported.updated:
            if not changed:
                return f"**{name}** is up to date: the card holds nothing new for it.{notes}"
            return f"Updated **{name}** from the card; changed: {changed}.{notes}"
        text = f"Imported **{name}**. It is switched off until you activate it with `/persona activate`."
        if changed:
            text += f" Edited since its export: {changed}."
        return text + notes
