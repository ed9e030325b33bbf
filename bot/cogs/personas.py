"""/persona: the creation wizard and persona management (list, show, edit, activate, clone, delete, export, ...).
The commands and the wizard's error-reporting entry points are here; the flows behind them (showing a step,
applying a click, the DM wizard, bindings) are :mod:`bot.cogs._persona_flows`.

Each handler parses, opens one transaction for the services, closes it, and only then talks to Discord (SQLite
runs inline with one connection per process: a session must never be held across a Discord call). Wizard
components are persistent (:mod:`bot.ui.wizard`); their clicks come back to :meth:`PersonaCog.on_wizard_component`.
"""

from __future__ import annotations

import io
import logging
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.clock import utcnow
from bot.cogs._dm_wizard import DmWizard
from bot.cogs._options import actor_of, own_personas, resolve_persona, visible_personas
from bot.cogs._persona_model import ModelOptions, persona_model
from bot.core.errors import DomainError
from bot.core.prompt_words import strength_words
from bot.discord_io.replies import errors_answered
from bot.services import bindings, emotions, personas, portability, profiles, relationships
from bot.services import model_settings as persona_models
from bot.services import wizard as wizard_service
from bot.ui import personas as persona_ui
from bot.ui import profile as profile_ui
from bot.ui import wizard as wizard_ui
from bot.ui.charts import ChartCache

if TYPE_CHECKING:
    from bot.app import PersonaHubBot

log = logging.getLogger(__name__)

EXPORT_FORMATS = {
    "native": ("json", None, False),
    "card-v2": ("json", 2, False),
    "card-v3": ("json", 3, False),
    "card-v2-png": ("png", 2, True),
    "card-v3-png": ("png", 3, True),
    "charx": ("charx", 3, False),
}
RELATION_KINDS = ("friend", "best friend", "rival", "sibling", "mentor", "student", "partner", "colleague", "none")


def _file_name(name: str, suffix: str) -> str:
    cleaned = "".join(c if c.isalnum() or c in "-_" else "-" for c in name.strip().lower()).strip("-")
    return f"{(cleaned or 'persona')[:60]}.{suffix}"


class PersonaCog(DmWizard, commands.Cog, name=wizard_ui.HANDLER_COG):
    persona = app_commands.Group(name="persona", description="Create and manage personas.")

    def __init__(self, bot: PersonaHubBot) -> None:
        self.bot = bot
        self._charts: ChartCache[tuple[float, ...]] = ChartCache()

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(wizard_ui.WizardButton, wizard_ui.WizardSelect, persona_ui.PersonaButton)

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(wizard_ui.WizardButton, wizard_ui.WizardSelect, persona_ui.PersonaButton)

    # ------------------------------------------------------------------------------------------------ helpers

    async def template_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        return [app_commands.Choice(name=label, value=value) for label, value in wizard_ui.template_choices(current)]

    # ------------------------------------------------------------------------------------------------ wizard

    @persona.command(name="create", description="Create a persona, step by step (resumable).")
    @app_commands.describe(template="Start from a personality template")
    @app_commands.autocomplete(template=template_autocomplete)
    async def create(self, interaction: discord.Interaction, template: str | None = None) -> None:
        actor = actor_of(interaction)
        if template:
            template = wizard_service.check_template(template)  # an unknown one is refused before anything happens
        async with self.bot.db.transaction() as session:
            waiting = await wizard_service.resumable(session, actor, now=utcnow())
            draft = None
            if waiting is None:
                draft = await wizard_service.start(
                    session,
                    actor,
                    channel_id=interaction.channel_id,
                    template=template,
                    max_per_user=self.default_limit,
                    now=utcnow(),
                )
        if waiting is not None:
            embed, view = wizard_ui.resume_prompt(waiting, template)
            await interaction.response.send_message(embed=embed, view=view, ephemeral=interaction.guild_id is not None)
            return
        assert draft is not None
        await self._show_step(interaction, draft, edit=False)

    async def on_wizard_component(
        self,
        interaction: discord.Interaction,
        draft_id: int,
        action: str,
        arg: str | None,
        values: list[str] | None,
    ) -> None:
        """A wizard button or select was used: apply it (the service checks who may) and show the result."""
        async with errors_answered(interaction, f"wizard action {action} on draft {draft_id}"):
            await self._wizard_component(interaction, draft_id, action, arg, values)

    @commands.Cog.listener()
    async def on_interaction(self, interaction: discord.Interaction) -> None:
        """Wizard forms, recognised by custom_id (so a form opened before a restart still works)."""
        if interaction.type is not discord.InteractionType.modal_submit:
            return
        data: Any = interaction.data or {}
        match = wizard_ui.MODAL_PATTERN.fullmatch(str(data.get("custom_id", "")))
        if match is None:
            return
        kind = match["kind"]
        async with errors_answered(interaction, f"wizard form {match.group(0)}"):
            values: dict[str, Any] = wizard_ui.modal_values(data)
            if kind == "describe":
                await self._describe_submitted(interaction, int(match["draft"]), str(values.get("description", "")))
                return
            async with self.bot.db.transaction() as session:
                outcome = await wizard_service.act(
                    session,
                    actor_of(interaction),
                    int(match["draft"]),
                    kind,
                    None,
                    values,
                    max_per_user=self.default_limit,
                    now=utcnow(),
                )
            await self._show_outcome(interaction, outcome)

    # ------------------------------------------------------------------------------------------------ management

    @persona.command(name="list", description="Your personas, or the ones on this server you can see.")
    @app_commands.describe(scope="Whose personas")
    @app_commands.choices(
        scope=[
            app_commands.Choice(name="Mine", value="own"),
            app_commands.Choice(name="This server's", value="server"),
        ]
    )
    async def list_personas(self, interaction: discord.Interaction, scope: str = "own") -> None:
        if scope == "server" and interaction.guild_id is None:
            raise DomainError("There is no server here; use /persona list in a server, or list your own.")
        async with self.bot.db.session() as session:
            if scope == "server":
                assert interaction.guild_id is not None
                rows = await personas.list_visible(session, interaction.guild_id, interaction.user.id)
            else:
                rows = await personas.list_own(session, interaction.user.id, interaction.guild_id)
        if scope == "server":
            embed = persona_ui.list_embed(
                "Personas on this server", rows, empty="No personas here yet. Make one with /persona create."
            )
        else:
            where = "here" if interaction.guild_id is not None else "(personal)"
            embed = persona_ui.list_embed(
                f"Your personas {where}", rows, empty="You have no personas here yet. Make one with /persona create."
            )
        await interaction.response.send_message(embed=embed, ephemeral=True)

    @persona.command(name="show", description="A persona's profile: identity, traits, mood and status.")
    @app_commands.describe(persona="The persona")
    @app_commands.autocomplete(persona=visible_personas)
    async def show(self, interaction: discord.Interaction, persona: str) -> None:
        actor = actor_of(interaction)
        async with self.bot.db.session() as session:
            persona_id = await resolve_persona(session, interaction, persona)
            record = await personas.get(session, persona_id, viewer=actor)
            visible = wizard_service.visible_fields(record, actor)
            is_owner = record.owner_id == actor.user_id
            same_guild = actor.guild_id is not None and actor.guild_id == record.guild_id
            mood = await emotions.current_state(session, persona_id, utcnow()) if visible["mood"] else None
            channels = await bindings.channels_of(session, persona_id)
            ties = await relationships.for_persona(session, persona_id) if visible["relationships"] else None
            voice = await persona_models.voice_of(session, persona_id, self.bot.model_provider)

        def profile(with_chart: bool) -> discord.Embed:
            return persona_ui.profile_embed(
                record,
                visible=visible,
                mood_words=mood.mood_words if mood is not None else None,
                channel_ids=channels if is_owner or same_guild else (),
                with_chart=with_chart,
                relationships=ties,
                model=voice,
            )

        # The profile answers at once; the chart (~70 ms of matplotlib in a worker thread) follows in an edit.
        await interaction.response.send_message(embed=profile(False), ephemeral=True)
        if visible["traits"]:
            png = await self.chart(record.traits)
            await interaction.edit_original_response(embed=profile(True), attachments=[wizard_ui.chart_file(png)])

    async def relation_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        typed = current.strip().lower()
        kinds = [k for k in RELATION_KINDS if k.startswith(typed)] or ([typed] if typed else [])
        return [app_commands.Choice(name=k, value=k) for k in kinds[:25]]

    @persona.command(name="relate", description="Say how your persona relates to another (shapes how it talks).")
    @app_commands.describe(
        persona="Your persona",
        other="The other persona",
        kind="What they are to each other (friend, rival, sibling, mentor, ...); 'none' removes it",
        strength="How strong the bond is, 0 to 100 (default 50)",
    )
    @app_commands.autocomplete(persona=own_personas, other=visible_personas, kind=relation_autocomplete)
    async def relate(
        self,
        interaction: discord.Interaction,
        persona: str,
        other: str,
        kind: app_commands.Range[str, 1, 32],
        strength: app_commands.Range[int, 0, 100] = 50,
    ) -> None:
        actor = actor_of(interaction)
        async with self.bot.db.transaction() as session:
            persona_id = await resolve_persona(session, interaction, persona)
            other_id = await resolve_persona(session, interaction, other)
            if kind.strip().lower() == "none":
                name = await relationships.remove_link(session, actor, persona_id, other_id)
                message = f"No relationship with **{name}** any more."
            else:
                link = await relationships.set_link(
                    session, actor, persona_id, other_id, kind=kind, strength=strength / 100, now=utcnow()
                )
                message = f"Now: {link.kind} of **{link.other_name}** ({strength_words(link.strength)})."
        await interaction.response.send_message(message, ephemeral=True)

    @persona.command(name="edit", description="Change any of your persona's settings.")
    @app_commands.describe(persona="Your persona")
    @app_commands.autocomplete(persona=own_personas)
    async def edit(self, interaction: discord.Interaction, persona: str) -> None:
        async with self.bot.db.transaction() as session:
            persona_id = await resolve_persona(session, interaction, persona)
            draft = await wizard_service.start_edit(
                session, actor_of(interaction), persona_id, channel_id=interaction.channel_id, now=utcnow()
            )
        await self._show_step(interaction, draft, edit=False)

    @persona.command(name="model", description="Show or set which model speaks for your persona, and how.")
    @app_commands.describe(
        persona="Your persona",
        model="The model's name ('default': the bot's)",
        temperature="Sampling temperature, 0 to 2",
        top_p="Nucleus sampling, 0 to 1",
        max_tokens="The longest reply in tokens (unset: from its verbosity)",
        presence_penalty="-2 to 2",
        frequency_penalty="-2 to 2",
        server="Another OpenAI-compatible server's base URL, if allowed here ('default': the bot's)",
        api_key="That server's API key (stored encrypted, never shown; 'none' removes it)",
        vision="Whether the model accepts images",
        reset="Back to the defaults (all of the above)",
    )
    @app_commands.autocomplete(persona=own_personas)
    async def model(
        self,
        interaction: discord.Interaction,
        persona: str,
        model: app_commands.Range[str, 1, 200] | None = None,
        temperature: app_commands.Range[float, 0.0, 2.0] | None = None,
        top_p: app_commands.Range[float, 0.0, 1.0] | None = None,
        max_tokens: app_commands.Range[int, 1, 32768] | None = None,
        presence_penalty: app_commands.Range[float, -2.0, 2.0] | None = None,
        frequency_penalty: app_commands.Range[float, -2.0, 2.0] | None = None,
        server: app_commands.Range[str, 1, 500] | None = None,
        api_key: app_commands.Range[str, 1, 500] | None = None,
        vision: bool | None = None,
        reset: bool = False,
    ) -> None:
        options = ModelOptions(
            model, temperature, top_p, max_tokens, presence_penalty, frequency_penalty, server, api_key, vision, reset
        )
        await persona_model(self.bot, interaction, persona, options)

    @persona.command(name="activate", description="Let a persona speak in a channel.")
    @app_commands.describe(persona="The persona", channel="Where (this channel if not given)")
    @app_commands.autocomplete(persona=visible_personas)
    async def activate(
        self,
        interaction: discord.Interaction,
        persona: str,
        channel: discord.TextChannel | discord.Thread | None = None,
    ) -> None:
        await self._binding(interaction, persona, channel, on=True)

    @persona.command(name="deactivate", description="Stop a persona speaking in a channel.")
    @app_commands.describe(persona="The persona", channel="Where (this channel if not given)")
    @app_commands.autocomplete(persona=visible_personas)
    async def deactivate(
        self,
        interaction: discord.Interaction,
        persona: str,
        channel: discord.TextChannel | discord.Thread | None = None,
    ) -> None:
        await self._binding(interaction, persona, channel, on=False)

    @persona.command(name="clone", description="A new persona with the same settings and traits (no memories).")
    @app_commands.describe(persona="Your persona", name="The new persona's name")
    @app_commands.autocomplete(persona=own_personas)
    async def clone(self, interaction: discord.Interaction, persona: str, name: str) -> None:
        async with self.bot.db.transaction() as session:
            persona_id = await resolve_persona(session, interaction, persona)
            record = await wizard_service.clone(
                session, actor_of(interaction), persona_id, name, max_per_user=self.default_limit, now=utcnow()
            )
        await interaction.response.send_message(
            f"**{discord.utils.escape_markdown(record.name)}** was made from "
            f"{discord.utils.escape_markdown(persona)}'s settings and traits (without its memories).",
            ephemeral=True,
        )

    @persona.command(name="delete", description="Delete a persona and everything that belongs to it (asks first).")
    @app_commands.describe(persona="The persona")
    @app_commands.autocomplete(persona=own_personas)
    async def delete(self, interaction: discord.Interaction, persona: str) -> None:
        async with self.bot.db.session() as session:
            persona_id = await resolve_persona(session, interaction, persona)
            record, removed = await wizard_service.deletion_preview(session, actor_of(interaction), persona_id)
        embed, view = persona_ui.delete_confirmation(record, removed)
        await interaction.response.send_message(embed=embed, view=view, ephemeral=True)

    async def on_persona_component(self, interaction: discord.Interaction, persona_id: int, action: str) -> None:
        """The delete confirmation's buttons."""
        async with errors_answered(interaction):
            if action == "keep":
                await interaction.response.edit_message(
                    embed=wizard_ui.done_embed("Kept", "Nothing was deleted."), view=None
                )
                return
            async with self.bot.db.transaction() as session:
                report = await personas.delete_persona(session, actor_of(interaction), persona_id)
            embed = wizard_ui.done_embed(
                f"{report.name} was deleted", f"Removed with it: {persona_ui.describe_removed(report.removed)}."
            )
            await interaction.response.edit_message(embed=embed, view=None)

    @persona.command(name="templates", description="The personality templates to start from.")
    async def templates(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message(embed=persona_ui.templates_embed(), ephemeral=True)

    @persona.command(name="export", description="Download your persona: native JSON or a Character Card.")
    @app_commands.describe(persona="Your persona", format="File format (native keeps everything)")
    @app_commands.autocomplete(persona=own_personas)
    @app_commands.choices(
        format=[
            app_commands.Choice(name="Persona Hub (JSON, everything)", value="native"),
            app_commands.Choice(name="Character Card V2 (JSON)", value="card-v2"),
            app_commands.Choice(name="Character Card V3 (JSON)", value="card-v3"),
            app_commands.Choice(name="Character Card V2 (PNG)", value="card-v2-png"),
            app_commands.Choice(name="Character Card V3 (PNG)", value="card-v3-png"),
            app_commands.Choice(name="Character Card V3 (CHARX zip, with its picture and assets)", value="charx"),
        ]
    )
    async def export(self, interaction: discord.Interaction, persona: str, format: str = "native") -> None:
        suffix, version, as_png = EXPORT_FORMATS[format]
        await interaction.response.defer(ephemeral=True, thinking=True)
        actor = actor_of(interaction)
        document = None
        async with self.bot.db.session() as session:
            persona_id = await resolve_persona(session, interaction, persona)
            record = await personas.get(session, persona_id, viewer=actor)
            if format == "native":
                document = await portability.export_native(session, actor, persona_id, now=utcnow())
            else:
                assert version is not None
                data = await portability.export_card(
                    session, actor, persona_id, version=version, as_png=as_png, as_charx=format == "charx"
                )
        if document is not None:  # encoded after the session: thousands of rows take a while
            data = await portability.export_file(document)
        await interaction.followup.send(
            f"**{discord.utils.escape_markdown(record.name)}**, exported ({format}).",
            file=discord.File(io.BytesIO(data), filename=_file_name(record.name, suffix)),
            ephemeral=True,
        )

    @persona.command(name="import", description="Make a persona from a file: a Persona Hub export or a Character Card.")
    @app_commands.describe(file="A .json export or card, a .png or .charx card (a card exported from here updates it)")
    async def import_(self, interaction: discord.Interaction, file: discord.Attachment) -> None:
        limit = portability.MAX_NATIVE_BYTES
        if file.filename.lower().endswith((".png", ".charx")):
            limit = min(portability.MAX_PNG_BYTES, portability.MAX_CHARX_BYTES)
        if file.size > limit:
            raise DomainError(
                f"That file is {file.size / portability.MB:.1f} MB; the limit is {limit / portability.MB:.0f} MB."
            )
        await interaction.response.defer(ephemeral=True, thinking=True)
        try:
            data = await file.read()
        except discord.HTTPException:
            raise DomainError("I could not download that file from Discord; please try again.") from None
        actor = actor_of(interaction)
        # Checked off the event loop and before the transaction: a 10 MB file takes seconds to check.
        upload = await portability.read_upload(
            data, file.filename, now=utcnow(), allow_private_servers=self.bot.settings.allow_private_model_servers
        )
        async with self.bot.db.transaction() as session:
            most = await wizard_service.persona_limit(session, actor.guild_id, self.default_limit)
            imported = await portability.import_upload(session, actor, upload, now=utcnow(), max_per_user=most)
        await interaction.followup.send(self._imported_text(imported), ephemeral=True)

    # ------------------------------------------------------------------------------------------------ public profile

    @persona.command(name="publish", description="Give your persona a public profile (you confirm what is shown).")
    @app_commands.describe(
        persona="Your persona",
        display_name="The name on the profile (the persona's own if not given)",
        bio="The profile's bio (the persona's description if not given)",
        allow_messages="Whether it accepts messages from others",
        allow_collaboration="Whether it is open to collaborations",
    )
    @app_commands.autocomplete(persona=own_personas)
    async def publish(
        self,
        interaction: discord.Interaction,
        persona: str,
        display_name: app_commands.Range[str, 1, 80] | None = None,
        bio: app_commands.Range[str, 1, 2000] | None = None,
        allow_messages: bool = True,
        allow_collaboration: bool = False,
    ) -> None:
        actor = actor_of(interaction)
        settings = profiles.PublishSettings(
            display_name=display_name,
            bio=bio,
            allow_messages=allow_messages,
            allow_collaboration=allow_collaboration,
        )
        async with self.bot.db.session() as session:
            persona_id = await resolve_persona(session, interaction, persona)
            preview = await profiles.preview_publish(session, actor, persona_id, settings)

        async def confirm(click: discord.Interaction) -> None:
            async with errors_answered(click):
                async with self.bot.db.transaction() as session:
                    result = await profiles.publish(
                        session, actor_of(click), persona_id, preview.settings, now=utcnow()
                    )
                embed = profile_ui.published_embed(result, preview.display_name)
                await click.response.edit_message(embed=embed, view=None)

        await interaction.response.send_message(
            embed=profile_ui.publish_preview_embed(preview),
            view=profile_ui.publish_confirmation(actor.user_id, confirm),
            ephemeral=True,
        )

    @persona.command(name="unpublish", description="Hide your persona's public profile (withdraws your consent).")
    @app_commands.describe(persona="Your persona")
    @app_commands.autocomplete(persona=own_personas)
    async def unpublish(self, interaction: discord.Interaction, persona: str) -> None:
        async with self.bot.db.transaction() as session:
            persona_id = await resolve_persona(session, interaction, persona)
            result = await profiles.unpublish(session, actor_of(interaction), persona_id, now=utcnow())
        await interaction.response.send_message(profile_ui.unpublished_text(result), ephemeral=True)


async def setup(bot: PersonaHubBot) -> None:
    await bot.add_cog(PersonaCog(bot))
