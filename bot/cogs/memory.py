"""``/memory``: a persona's memory for its owner: health, optimize, search, pin, unpin, forget, config.

Each handler resolves its options, opens one session for the services (which check that the caller owns the
persona), closes it, and only then talks to Discord: SQLite runs inline with one connection per process, so a
session is never held across a Discord call. Charts render in a worker thread and are remembered for the same
picture (:class:`bot.ui.charts.ChartCache`). Optimisation may take a while, so it defers first.

The memory option autocompletes from the persona's memories as ``/memory search`` finds them for what was typed
(the hot tier when nothing was): the memory's id is the value, a content preview the label.
"""

from __future__ import annotations

import functools
import logging
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands
from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import utcnow
from bot.cogs._options import CHOICES_MAX, actor_of, own_personas, resolve_persona
from bot.core.errors import DomainError
from bot.core.inputs import parse_id
from bot.discord_io.replies import errors_answered
from bot.services import memories, personas
from bot.services.memories import HealthReport
from bot.ui import memory as memory_ui
from bot.ui.charts import ChartCache
from bot.ui.wizard import modal_values

if TYPE_CHECKING:
    from bot.app import PersonaHubBot
    from bot.core.memory import MemoryConfig

log = logging.getLogger(__name__)

SEARCH_RESULTS = 10


def memory_id_of(value: str) -> int:
    """A memory option's value: the id autocomplete chose (a typed "#12" or "12" works too)."""
    memory_id = parse_id(value.strip().removeprefix("#"))
    if memory_id is None:
        raise DomainError("Choose a memory from the list (start typing words it contains), or give its number.")
    return memory_id


class MemoryCog(commands.Cog, name=memory_ui.MEMORY_HANDLER_COG):
    memory = app_commands.Group(name="memory", description="Your persona's memory: health, search, pins, settings.")

    def __init__(self, bot: PersonaHubBot) -> None:
        self.bot = bot
        self._charts: ChartCache[memory_ui.TierPicture] = ChartCache()

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(memory_ui.MemoryButton, memory_ui.PresetSelect, memory_ui.SearchPageButton)

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(memory_ui.MemoryButton, memory_ui.PresetSelect, memory_ui.SearchPageButton)

    # ------------------------------------------------------------------------------------------------ helpers

    @property
    def encryption_key(self) -> str | None:
        key = self.bot.settings.memory_encryption_key
        return key.get_secret_value() if key is not None else None

    async def chart(self, report: HealthReport, config: MemoryConfig) -> bytes:
        """The tier chart PNG, rendered in a worker thread (and remembered for the same picture)."""
        picture = memory_ui.TierPicture.of(report, config)
        return await self._charts.draw(picture, functools.partial(memory_ui.tier_chart, picture))

    @staticmethod
    async def _name(session: AsyncSession, persona_id: int) -> str:
        return (await personas.get(session, persona_id)).name

    async def memory_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        chosen = getattr(interaction.namespace, "persona", None)
        if not chosen:
            return []
        try:
            async with self.bot.db.session() as session:
                persona_id = await resolve_persona(session, interaction, str(chosen))
                found = await memories.search(
                    session,
                    persona_id,
                    current,
                    k=CHOICES_MAX,
                    now=utcnow(),
                    encryption_key=self.encryption_key,
                    actor=actor_of(interaction),
                )
        except DomainError:
            return []
        records = [entry.memory for entry in found]
        command = interaction.command.name if interaction.command is not None else ""
        if command in ("pin", "unpin"):
            # What the command can act on first: unpinned memories for pin, pinned ones for unpin.
            records.sort(key=lambda record: record.pinned != (command == "unpin"))
        return [
            app_commands.Choice(name=memory_ui.memory_choice_label(record), value=str(record.id)) for record in records
        ]

    # ------------------------------------------------------------------------------------------------ health

    @memory.command(name="health", description="Your persona's memory health: tiers, fragmentation, advice.")
    @app_commands.describe(persona="Your persona")
    @app_commands.autocomplete(persona=own_personas)
    async def health(self, interaction: discord.Interaction, persona: str) -> None:
        actor = actor_of(interaction)
        async with self.bot.db.session() as session:
            persona_id = await resolve_persona(session, interaction, persona)
            report = await memories.health(session, persona_id, utcnow(), actor=actor)
            config = await memories.config_get(session, persona_id, actor=actor)
            name = await self._name(session, persona_id)
        png = await self.chart(report, config)
        await interaction.response.send_message(
            embed=memory_ui.health_embed(name, report, config), file=memory_ui.chart_file(png), ephemeral=True
        )

    @memory.command(name="optimize", description="Tidy your persona's memory: merge duplicates, re-tier, expire.")
    @app_commands.describe(persona="Your persona")
    @app_commands.autocomplete(persona=own_personas)
    async def optimize(self, interaction: discord.Interaction, persona: str) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        actor = actor_of(interaction)
        async with self.bot.db.session() as session:
            persona_id = await resolve_persona(session, interaction, persona)
        # In short sessions of its own: on SQLite one long transaction would keep every other command waiting.
        report = await memories.optimize_store(self.bot.db, persona_id, utcnow(), actor=actor)
        async with self.bot.db.session() as session:
            config = await memories.config_get(session, persona_id, actor=actor)
            name = await self._name(session, persona_id)
        png = await self.chart(report.after, config)
        await interaction.followup.send(
            embed=memory_ui.optimization_embed(name, report, config), file=memory_ui.chart_file(png), ephemeral=True
        )

    # ------------------------------------------------------------------------------------------------ search

    @memory.command(name="search", description="Your persona's memories holding some words, best match first.")
    @app_commands.describe(
        persona="Your persona", query="Words to look for", order="Best match first (default), or as a prompt ranks"
    )
    @app_commands.autocomplete(persona=own_personas)
    @app_commands.choices(
        order=[
            app_commands.Choice(name="Relevance: only memories holding the words, best match first", value="relevance"),
            app_commands.Choice(name="Prompt: as a prompt ranks them (recency, importance, relevance)", value="prompt"),
        ]
    )
    async def search(
        self,
        interaction: discord.Interaction,
        persona: str,
        query: app_commands.Range[str, 1, 200],
        order: str = "relevance",
    ) -> None:
        async with self.bot.db.session() as session:
            persona_id = await resolve_persona(session, interaction, persona)
        embed, view = await self._search_page(interaction, persona_id, query, 1, order)
        if view is None:
            await interaction.response.send_message(embed=embed, ephemeral=True)
        else:
            await interaction.response.send_message(embed=embed, view=view, ephemeral=True)

    async def _search_page(
        self, interaction: discord.Interaction, persona_id: int, query: str, page: int, order: str = "relevance"
    ) -> tuple[discord.Embed, discord.ui.View | None]:
        """One page of a search (one more result read, to know whether a next page exists) and its buttons."""
        actor = actor_of(interaction)
        async with self.bot.db.session() as session:
            results = await memories.search(
                session,
                persona_id,
                query,
                k=SEARCH_RESULTS + 1,
                offset=(page - 1) * SEARCH_RESULTS,
                now=utcnow(),
                encryption_key=self.encryption_key,
                actor=actor,
                order=order,
            )
            config = await memories.config_get(session, persona_id, actor=actor)
            name = await self._name(session, persona_id)
        shown = results[:SEARCH_RESULTS]
        words = memories.query_words(query)
        embed = memory_ui.search_embed(
            name, query, shown, config, shown_at_most=SEARCH_RESULTS, page=page, order=order, words=words
        )
        return embed, memory_ui.page_view(persona_id, page, more=len(results) > SEARCH_RESULTS, order=order)

    async def on_search_page(
        self, interaction: discord.Interaction, persona_id: int, page: int, order: str | None
    ) -> None:
        """A search's "Previous" / "Next" button: the page, in place (the query is read from the message)."""
        async with errors_answered(interaction, f"memory search page {page} of persona {persona_id}"):
            query = memory_ui.query_of(interaction.message)
            if query is None:
                raise DomainError("This message is not a memory search any more: search again with /memory search.")
            embed, view = await self._search_page(interaction, persona_id, query, max(1, page), order or "relevance")
            await interaction.response.edit_message(embed=embed, view=view)

    # ------------------------------------------------------------------------------------------------ pins, forget

    @memory.command(name="pin", description="Keep a memory: pinned memories are used first and never fade.")
    @app_commands.describe(persona="Your persona", memory="The memory (type words it contains)")
    @app_commands.autocomplete(persona=own_personas, memory=memory_autocomplete)
    async def pin(self, interaction: discord.Interaction, persona: str, memory: str) -> None:
        await self._set_pin(interaction, persona, memory, pinned=True)

    @memory.command(name="unpin", description="Let a pinned memory fade like the others again.")
    @app_commands.describe(persona="Your persona", memory="The memory (type words it contains)")
    @app_commands.autocomplete(persona=own_personas, memory=memory_autocomplete)
    async def unpin(self, interaction: discord.Interaction, persona: str, memory: str) -> None:
        await self._set_pin(interaction, persona, memory, pinned=False)

    async def _set_pin(self, interaction: discord.Interaction, persona: str, memory: str, *, pinned: bool) -> None:
        memory_id = memory_id_of(memory)
        change = memories.pin if pinned else memories.unpin
        async with self.bot.db.transaction() as session:
            persona_id = await resolve_persona(session, interaction, persona)
            record = await change(
                session, actor_of(interaction), persona_id, memory_id, encryption_key=self.encryption_key
            )
            name = await self._name(session, persona_id)
        what = memory_ui.memory_text(record)
        if pinned:
            text = f"Pinned {what}: {discord.utils.escape_markdown(name)} keeps it close and it never fades."
        else:
            text = f"Unpinned {what}: it fades like {discord.utils.escape_markdown(name)}'s other memories again."
        await interaction.response.send_message(memory_ui.clip(text, 2000), ephemeral=True)

    @memory.command(name="forget", description="Make your persona forget one memory (asks first).")
    @app_commands.describe(persona="Your persona", memory="The memory (type words it contains)")
    @app_commands.autocomplete(persona=own_personas, memory=memory_autocomplete)
    async def forget(self, interaction: discord.Interaction, persona: str, memory: str) -> None:
        memory_id = memory_id_of(memory)
        async with self.bot.db.session() as session:
            persona_id = await resolve_persona(session, interaction, persona)
            remembered = await memories.get(
                session, actor_of(interaction), persona_id, memory_id, encryption_key=self.encryption_key
            )
            name = await self._name(session, persona_id)
        embed, view = memory_ui.forget_confirmation(persona_id, name, remembered)
        await interaction.response.send_message(embed=embed, view=view, ephemeral=True)

    # ------------------------------------------------------------------------------------------------ config

    @memory.command(name="config", description="Your persona's memory settings: capacity, tiers, decay, weights.")
    @app_commands.describe(persona="Your persona")
    @app_commands.autocomplete(persona=own_personas)
    async def config(self, interaction: discord.Interaction, persona: str) -> None:
        async with self.bot.db.session() as session:
            persona_id = await resolve_persona(session, interaction, persona)
            settings = await memories.config_get(session, persona_id, actor=actor_of(interaction))
            name = await self._name(session, persona_id)
        await interaction.response.send_message(
            embed=memory_ui.config_embed(name, settings), view=memory_ui.config_view(persona_id), ephemeral=True
        )

    # ------------------------------------------------------------------------------------------------ components

    async def on_memory_component(
        self,
        interaction: discord.Interaction,
        persona_id: int,
        action: str,
        memory_id: int | None,
        values: list[str] | None,
    ) -> None:
        """A button or the preset select of a /memory message (the services check who may)."""
        async with errors_answered(interaction, f"memory action {action} on persona {persona_id}"):
            await self._component(interaction, persona_id, action, memory_id, values)

    async def _component(
        self,
        interaction: discord.Interaction,
        persona_id: int,
        action: str,
        memory_id: int | None,
        values: list[str] | None,
    ) -> None:
        actor = actor_of(interaction)
        if action == "keep":
            embed = memory_ui.done_embed("Kept", "Nothing was forgotten.")
            await interaction.response.edit_message(embed=embed, view=None)
        elif action == "forget":
            if memory_id is None:
                raise DomainError("That button names no memory.")
            async with self.bot.db.transaction() as session:
                record = await memories.forget(
                    session, actor, persona_id, memory_id, encryption_key=self.encryption_key
                )
                name = await self._name(session, persona_id)
            embed = memory_ui.done_embed(
                "Forgotten", f"{discord.utils.escape_markdown(name)} forgot {memory_ui.memory_text(record)}."
            )
            await interaction.response.edit_message(embed=embed, view=None)
        elif action.startswith("open-"):
            section = action.removeprefix("open-")
            async with self.bot.db.session() as session:
                settings = await memories.config_get(session, persona_id, actor=actor)
            await interaction.response.send_modal(memory_ui.config_modal(persona_id, section, settings))
        elif action == "preset":
            if not values:
                raise DomainError("Choose a preset.")
            async with self.bot.db.transaction() as session:
                settings = await memories.config_update(session, actor, persona_id, {"preset": values[0]})
                name = await self._name(session, persona_id)
            await self._show_config(interaction, persona_id, name, settings, f"Preset **{values[0]}** applied.")
        else:
            raise DomainError("That button does nothing any more.")

    async def _show_config(
        self, interaction: discord.Interaction, persona_id: int, name: str, settings: MemoryConfig, note: str
    ) -> None:
        embed = memory_ui.config_embed(name, settings, note=note)
        view = memory_ui.config_view(persona_id)
        if interaction.message is not None:
            await interaction.response.edit_message(embed=embed, view=view)
        else:
            await interaction.response.send_message(embed=embed, view=view, ephemeral=True)

    @commands.Cog.listener()
    async def on_interaction(self, interaction: discord.Interaction) -> None:
        """Settings forms, recognised by custom_id (so a form opened before a restart still works)."""
        if interaction.type is not discord.InteractionType.modal_submit:
            return
        data: Any = interaction.data or {}
        match = memory_ui.CONFIG_MODAL_PATTERN.fullmatch(str(data.get("custom_id", "")))
        if match is None:
            return
        persona_id, section = int(match["persona"]), match["section"]
        failed = f"memory settings form {match.group(0)}"
        async with errors_answered(interaction, failed, after=" Nothing was changed."):
            changes = memory_ui.parse_config_form(section, modal_values(data))
            async with self.bot.db.transaction() as session:
                settings = await memories.config_update(session, actor_of(interaction), persona_id, changes)
                name = await self._name(session, persona_id)
            title = memory_ui.CONFIG_SECTIONS[section][0]
            await self._show_config(interaction, persona_id, name, settings, f"**{title}** saved.")


async def setup(bot: PersonaHubBot) -> None:
    await bot.add_cog(MemoryCog(bot))
