"""``/retire plan|show|cancel|now`` and ``/legacy``: the commands; the ceremony itself is a workflow
(:mod:`bot.workflows.ceremony`).

**Planning.** ``/retire plan <persona> [when] [inactivity_days] [channel]`` checks the options at once (a date in
the past, a channel the bot cannot post in: the bot's permissions there are read here and passed to the service as
a fact), then opens a form (selects for archival, access, extras and deletion; a modal for the farewell and the
numbers). **Save plan** saves it in one transaction, and only then schedules the ceremony job
(:func:`bot.core.retirement.ceremony_job_id`) in the persistent job store, through the bot. ``cancel`` removes the job.
``/retire now`` asks first, then runs the ceremony here (:func:`bot.workflows.ceremony.perform_ceremony`).

While the cog is loaded, :class:`bot.workflows.ceremony.CeremonyHandoffs` takes over ceremonies another process's
scheduler handed to this one (it serves their guilds).
"""

from __future__ import annotations

import io
import json
import logging
from dataclasses import replace
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.clock import utcnow
from bot.cogs._options import actor_of, clip, own_personas, parse_when, resolve_persona
from bot.core.errors import DomainError
from bot.discord_io.permissions import can_hold_ceremony
from bot.discord_io.replies import errors_answered
from bot.services import retirement
from bot.ui import retirement as ui
from bot.workflows.ceremony import CeremonyHandoffs, perform_ceremony, slug

if TYPE_CHECKING:
    from bot.app import PersonaHubBot

log = logging.getLogger(__name__)

NAMES_LOOKUP_MAX = 100


class RetirementCog(commands.Cog, name="Retirement"):
    retire = app_commands.Group(name="retire", description="Plan a persona's retirement, and retire it.")

    def __init__(self, bot: PersonaHubBot) -> None:
        self.bot = bot
        self.handoffs = CeremonyHandoffs(bot)

    async def cog_load(self) -> None:
        self.handoffs.start()

    async def cog_unload(self) -> None:
        await self.handoffs.stop()

    async def retired_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        async with self.bot.db.session() as session:
            rows = await retirement.retired_choices(session, interaction.guild_id, current.strip())
        return [app_commands.Choice(name=clip(name, 100), value=str(pid)) for pid, name in rows]

    def _channel_fact(self, interaction: discord.Interaction, channel_id: int | None) -> bool | None:
        if channel_id is None:
            return None
        guild = interaction.guild
        found = guild.get_channel(channel_id) if guild is not None else None
        return can_hold_ceremony(found)

    # ------------------------------------------------------------------------------------------------ plan

    @retire.command(name="plan", description="Plan a persona's retirement: when, what is kept, who may see it.")
    @app_commands.describe(
        persona="Your persona",
        when="Retire on this date and time (UTC), e.g. 2026-05-01 18:00",
        inactivity_days="Or retire after this many days without activity",
        channel="Where the farewell ceremony is held (default: the server's ceremony channel, or here)",
    )
    @app_commands.autocomplete(persona=own_personas)
    async def plan(
        self,
        interaction: discord.Interaction,
        persona: str,
        when: str | None = None,
        inactivity_days: app_commands.Range[int, 1, 3650] | None = None,
        channel: discord.TextChannel | None = None,
    ) -> None:
        actor = actor_of(interaction)
        now = utcnow()
        async with self.bot.db.session() as session:
            persona_id = await resolve_persona(session, interaction, persona)
            name, state = await retirement.plan_input(session, actor, persona_id)
            default_channel = await retirement.default_ceremony_channel(session, interaction.guild_id)
        channel_id = (
            channel.id
            if channel is not None
            else state.ceremony_channel_id or default_channel or (interaction.channel_id if interaction.guild else None)
        )
        state = replace(
            state,
            when=parse_when(when) if when else state.when,
            inactivity_days=inactivity_days if inactivity_days is not None else state.inactivity_days,
            ceremony_channel_id=channel_id,
        )
        postable = self._channel_fact(interaction, channel_id)
        retirement.check_plan(state, now=now, channel_postable=postable)  # bad options are refused before the form

        async def save(inner: discord.Interaction, form: ui.PlanForm) -> None:
            await self._save(inner, form, postable)

        form = ui.PlanForm(
            owner_id=interaction.user.id, persona_id=persona_id, persona_name=name, state=state, on_save=save
        )
        await interaction.response.send_message(embed=ui.form_embed(name, state), view=form, ephemeral=True)

    async def _save(self, interaction: discord.Interaction, form: ui.PlanForm, postable: bool | None) -> None:
        async with errors_answered(interaction):
            async with self.bot.db.transaction() as session:
                view = await retirement.plan_retirement(
                    session, actor_of(interaction), form.persona_id, form.state, now=utcnow(), channel_postable=postable
                )
            self.bot.schedule_ceremony(view.persona_id, view.scheduled_for)
            form.stop()
            note = ""
            if view.scheduled_for is not None and self.bot.scheduler is None:
                note = " (this process runs no scheduler: the scheduler process picks the date up within minutes)"
            embed = ui.plan_embed(view, title=f"Retirement planned: {view.persona_name}")
            if note:
                embed.set_footer(text=note.strip(" ()"))
            await interaction.response.edit_message(embed=embed, view=None)

    @retire.command(name="show", description="Your persona's retirement plan.")
    @app_commands.describe(persona="Your persona")
    @app_commands.autocomplete(persona=own_personas)
    async def show(self, interaction: discord.Interaction, persona: str) -> None:
        async with self.bot.db.session() as session:
            persona_id = await resolve_persona(session, interaction, persona)
            view = await retirement.get_plan(session, actor_of(interaction), persona_id)
        await interaction.response.send_message(embed=ui.plan_embed(view), ephemeral=True)

    @retire.command(name="cancel", description="Cancel your persona's planned retirement.")
    @app_commands.describe(persona="Your persona")
    @app_commands.autocomplete(persona=own_personas)
    async def cancel(self, interaction: discord.Interaction, persona: str) -> None:
        async with self.bot.db.transaction() as session:
            persona_id = await resolve_persona(session, interaction, persona)
            view = await retirement.cancel(session, actor_of(interaction), persona_id, now=utcnow())
        self.bot.schedule_ceremony(persona_id, None)
        await interaction.response.send_message(
            f"**{discord.utils.escape_markdown(view.persona_name)}** will not retire: the plan is cancelled.",
            ephemeral=True,
        )

    @retire.command(name="now", description="Retire your persona now, by its plan (asks first).")
    @app_commands.describe(persona="Your persona")
    @app_commands.autocomplete(persona=own_personas)
    async def now(self, interaction: discord.Interaction, persona: str) -> None:
        actor = actor_of(interaction)
        async with self.bot.db.session() as session:
            persona_id = await resolve_persona(session, interaction, persona)
            view = await retirement.get_plan(session, actor, persona_id)
        if view.status != "planned":
            raise DomainError(f"{view.persona_name}'s plan is {view.status}; make a new one with /retire plan.")

        async def confirm(inner: discord.Interaction) -> None:
            await inner.response.edit_message(
                embed=discord.Embed(title=f"{view.persona_name} is saying farewell…", colour=ui.FAREWELL_COLOUR),
                view=None,
            )
            try:
                result = await perform_ceremony(self.bot, persona_id, trigger="manual", now=utcnow(), actor=actor)
            except DomainError as error:
                await inner.edit_original_response(
                    embed=discord.Embed(title="Not retired", description=str(error), colour=ui.FAREWELL_COLOUR)
                )
                return
            if result is None:
                embed = discord.Embed(
                    title="Nothing to do",
                    description=f"{view.persona_name} has retired already, or its ceremony is under way.",
                )
            else:
                embed = ui.result_embed(result)
            await inner.edit_original_response(embed=embed)

        await interaction.response.send_message(
            embed=ui.confirm_embed(view),
            view=ui.confirm_retire(actor.user_id, confirm),
            ephemeral=True,
        )

    # ------------------------------------------------------------------------------------------------ legacy

    @app_commands.command(name="legacy", description="A retired persona's preserved legacy.")
    @app_commands.describe(persona="The retired persona", research="The anonymised research export (JSON)")
    @app_commands.autocomplete(persona=retired_autocomplete)
    async def legacy(self, interaction: discord.Interaction, persona: str, research: bool = False) -> None:
        actor = actor_of(interaction)
        async with self.bot.db.session() as session:
            persona_id = await retirement.find_retired(session, interaction.guild_id, persona)
            view = await retirement.legacy(session, actor, persona_id)
            people = await retirement.people_of(session, persona_id) if research else set()
        if not research:
            await interaction.response.send_message(embed=ui.legacy_embed(view), ephemeral=True)
            return
        if not view.research_available:
            raise DomainError(f"{view.name}'s legacy is not open to research.")
        await interaction.response.defer(ephemeral=True, thinking=True)
        names = await self._names(interaction, people)
        async with self.bot.db.session() as session:
            document = await retirement.research_export(session, actor, persona_id, names=names, now=utcnow())
        data = json.dumps(document, ensure_ascii=False, indent=2).encode()
        await interaction.followup.send(
            f"The anonymised research export of **{discord.utils.escape_markdown(view.name)}**.",
            file=discord.File(io.BytesIO(data), filename=f"{slug(view.name)}-research.json"),
            ephemeral=True,
        )

    async def _names(self, interaction: discord.Interaction, user_ids: set[int]) -> list[str]:
        """Every name the people behind ``user_ids`` go by here (for the anonymisation)."""
        names: set[str] = set()
        guild = interaction.guild
        for user_id in sorted(user_ids)[:NAMES_LOOKUP_MAX]:
            member = guild.get_member(user_id) if guild is not None else None
            user: discord.abc.User | None = member or self.bot.get_user(user_id)
            if user is None:
                try:
                    user = await self.bot.fetch_user(user_id)
                except discord.HTTPException:
                    continue
            names.update(n for n in (user.name, user.display_name, getattr(user, "global_name", None)) if n)
            if member is not None and member.nick:
                names.add(member.nick)
        return sorted(names)


async def setup(bot: PersonaHubBot) -> None:
    await bot.add_cog(RetirementCog(bot))
