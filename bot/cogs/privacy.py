"""``/privacy``: what personas may remember about me (consent), erase it (forget-me), export it (export-my-data).

Anyone may use these, about themselves only: every service call is for the caller's own user id. Each handler
opens one session for the services, closes it, and only then talks to Discord (SQLite runs inline with one
connection per process). Forget-me and the export may take a while, so they defer before any read; the export
reads in short sessions of its own (chat and commands go on meanwhile) and runs once at a time per person, not
again within :data:`EXPORT_COOLDOWN` of the last one.

The export goes by DM. When the DM cannot be delivered (Discord answers 50007 when the person's DMs are closed
to the bot; any other refusal is treated the same way), the file is attached to the ephemeral reply instead,
which only the caller can see.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import io
import logging
import math
from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.clock import utcnow
from bot.cogs._options import actor_of, resolve_persona, visible_personas
from bot.core.errors import DomainError, NotFound
from bot.core.run_limits import Refusal, RunLimits
from bot.discord_io.replies import errors_answered, send_ephemeral
from bot.services import consent, personas, privacy
from bot.ui import memory as memory_ui
from bot.ui.memory import invitation as invitation_ui

if TYPE_CHECKING:
    from bot.app import PersonaHubBot

log = logging.getLogger(__name__)

CANNOT_DM = 50007
FORGET_ME_FAILED = (
    "Something went wrong on my side, so not everything may be erased yet. Please run /privacy forget-me again."
)
# Discord's attachment limit for bots in servers without boosts; a larger export is sent gzipped.
ATTACHMENT_LIMIT = 10 * 1024 * 1024
# An export reads every table: one at a time per person, and not again within this long of the last one.
EXPORT_COOLDOWN = timedelta(minutes=10)


def export_payload(data: dict[str, Any]) -> tuple[bytes, str]:
    """The export as JSON bytes and a file name (gzipped when it would exceed Discord's attachment limit)."""
    payload = privacy.export_json(data)
    name = memory_ui.EXPORT_FILENAME
    if len(payload) > ATTACHMENT_LIMIT:
        payload = gzip.compress(payload, compresslevel=6)
        name += ".gz"
        if len(payload) > ATTACHMENT_LIMIT:
            raise DomainError("Your data is too large to send through Discord; please ask the bot's host for it.")
    return payload, name


def export_refusal(refusal: Refusal) -> str:
    """The sentence for an export that may not start now."""
    if refusal.running:
        return "Your data is already being gathered; it arrives by DM when it is ready."
    minutes = max(1, math.ceil(refusal.wait.total_seconds() / 60))
    unit = "minute" if minutes == 1 else "minutes"
    return f"You were sent your data a moment ago; you can ask for it again in {minutes} {unit}."


def personas_listed(visible: Sequence[int], chosen: int | None, shown: int) -> tuple[list[int], bool]:
    """The personas ``/privacy consent`` lists (at most ``shown`` of ``visible``, in order, the ``chosen`` one
    always among them, first when it would not fit) and whether more are left out."""
    listed = list(visible[:shown])
    if chosen is not None and chosen not in listed:
        listed = [chosen, *listed[: shown - 1]]
    return listed, any(each not in listed for each in visible)


class PrivacyCog(commands.Cog, name=memory_ui.PRIVACY_HANDLER_COG):
    privacy = app_commands.Group(name="privacy", description="What personas may remember about you; erase; export.")

    def __init__(self, bot: PersonaHubBot) -> None:
        self.bot = bot
        # Kept by this process: a person's export runs where their interactions arrive.
        self.exports = RunLimits(EXPORT_COOLDOWN)

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(memory_ui.PrivacyButton, memory_ui.ConsentButton)

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(memory_ui.PrivacyButton, memory_ui.ConsentButton)

    @property
    def encryption_key(self) -> str | None:
        key = self.bot.settings.memory_encryption_key
        return key.get_secret_value() if key is not None else None

    # ------------------------------------------------------------------------------------------------ consent

    @privacy.command(name="consent", description="Give or refuse consent to be remembered, and see what applies.")
    @app_commands.describe(
        persona="One persona (leave out for every persona here)", choice="Give or refuse (leave out to just look)"
    )
    @app_commands.autocomplete(persona=visible_personas)
    @app_commands.choices(
        choice=[
            app_commands.Choice(name="Give: personas may remember what I say", value="give"),
            app_commands.Choice(name="Refuse: remember nothing about me", value="refuse"),
        ]
    )
    async def consent(
        self, interaction: discord.Interaction, persona: str | None = None, choice: str | None = None
    ) -> None:
        user_id, guild_id = interaction.user.id, interaction.guild_id
        shown = memory_ui.CONSENT_PERSONAS_SHOWN
        async with self.bot.db.transaction() as session:
            persona_id = await resolve_persona(session, interaction, persona) if persona else None
            recorded = None
            if choice is not None:
                recorded = await consent.record(
                    session,
                    user_id=user_id,
                    guild_id=guild_id,
                    granted=choice == "give",
                    recorded_by=user_id,
                    now=utcnow(),
                    persona_id=persona_id,
                )
            if guild_id is not None:
                here = await personas.list_visible(session, guild_id, user_id, limit=shown + 1)
            else:
                here = await personas.list_own(session, user_id, None, limit=shown + 1)
            listed, more = personas_listed([summary.id for summary in here], persona_id, shown)
            decisions = []
            for each in listed:
                record = await personas.get(session, each)
                decision = await consent.decide(
                    session, user_id=user_id, guild_id=guild_id, persona_id=each, privacy=record.privacy_settings
                )
                decisions.append(memory_ui.PersonaDecision(each, record.name, decision))
            history = await consent.history(session, user_id=user_id, guild_id=guild_id)
            if guild_id is None:  # in DMs: the records made in DMs (a server's records belong to that server)
                history = [entry for entry in history if entry.guild_id is None]
            names = {item.persona_id: item.name for item in decisions}
            # The history names every persona it shows, listed above or not.
            for entry in history[: memory_ui.CONSENT_HISTORY_SHOWN]:
                if entry.persona_id is not None and entry.persona_id not in names:
                    with contextlib.suppress(NotFound):
                        names[entry.persona_id] = (await personas.get(session, entry.persona_id)).name
        embed = memory_ui.consent_embed(decisions, history, recorded=recorded, names=names, more_personas=more)
        await interaction.response.send_message(embed=embed, ephemeral=True)

    async def on_consent_invitation(self, interaction: discord.Interaction, answer: str, guild_id: int) -> None:
        """A click on the invitation (``bot.ui.memory.invitation``): the clicker answers for themselves, for the
        server it was about (a click in a channel answers for that channel's server)."""
        async with errors_answered(interaction, f"memory invitation for user {interaction.user.id}"):
            user_id = interaction.user.id
            where = interaction.guild_id or guild_id
            async with self.bot.db.transaction() as session:
                await consent.answer_offer(session, user_id=user_id, guild_id=where, answer=answer, now=utcnow())
                mode = await consent.server_mode(session, where)
            text = invitation_ui.answer_text(answer, mode)
            if interaction.guild_id is None:  # the DM: the invitation becomes its answer, the buttons go
                await interaction.response.edit_message(content=text, view=None)
            else:  # the note in a channel stays for the others; the answer is the clicker's alone
                await send_ephemeral(interaction, text)

    # ------------------------------------------------------------------------------------------------ forget me

    @privacy.command(name="forget-me", description="Erase everything this server stores about you (asks first).")
    async def forget_me(self, interaction: discord.Interaction) -> None:
        # Answered first: the read below may wait for the database longer than Discord's 3 seconds.
        await interaction.response.defer(ephemeral=True, thinking=True)
        async with self.bot.db.session() as session:
            owned = await privacy.owned_personas(session, interaction.user.id, interaction.guild_id)
        embed, view = memory_ui.forget_me_confirmation(interaction.guild_id is not None, owned)
        await interaction.edit_original_response(embed=embed, view=view)

    async def on_privacy_component(
        self, interaction: discord.Interaction, action: str, announced: int | None = None
    ) -> None:
        """The forget-me confirmation's buttons; they act for whoever clicks, on their own data."""
        async with errors_answered(interaction, f"forget-me for user {interaction.user.id}", apology=FORGET_ME_FAILED):
            if action == "keep":
                embed = memory_ui.done_embed("Nothing was erased", "Your memories and consent are as they were.")
                await interaction.response.edit_message(embed=embed, view=None)
                return
            await interaction.response.defer()  # erasing many memories may take longer than Discord waits
            user_id = actor_of(interaction).user_id
            # The refusal first, then the erasure in short transactions (SQLite runs on the event loop).
            report = await privacy.forget_me_in_steps(
                self.bot.db, user_id, interaction.guild_id, now=utcnow(), announced=announced
            )
            await interaction.edit_original_response(
                embed=memory_ui.forgotten_embed(report.memories, report.personas), view=None
            )

    # ------------------------------------------------------------------------------------------------ export

    @privacy.command(name="export-my-data", description="Get, by DM, a JSON file of everything stored about you.")
    async def export_my_data(self, interaction: discord.Interaction) -> None:
        user_id = interaction.user.id
        refusal = self.exports.start(user_id, utcnow())
        if refusal is not None:
            await send_ephemeral(interaction, export_refusal(refusal))
            return
        succeeded = False
        try:
            await self._export(interaction)
            succeeded = True
        finally:
            self.exports.finish(user_id, utcnow(), succeeded=succeeded)

    async def _export(self, interaction: discord.Interaction) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        # The database, not one session: the export reads in short sessions, so chat and commands go on meanwhile.
        data = await privacy.export_my_data(self.bot.db, interaction.user.id, encryption_key=self.encryption_key)
        payload, name = await asyncio.to_thread(export_payload, data)
        summary = memory_ui.export_summary(data)
        await asyncio.to_thread(privacy.release_export, data)
        try:
            await interaction.user.send(
                f"Everything Persona Hub stores about you: {summary}.",
                file=discord.File(io.BytesIO(payload), filename=name),
            )
        except discord.HTTPException as error:
            if error.code != CANNOT_DM and not isinstance(error, discord.Forbidden):
                raise
            await interaction.followup.send(
                f"I could not DM you (your DMs are closed to me), so here it is, visible only to you: {summary}.",
                file=discord.File(io.BytesIO(payload), filename=name),
                ephemeral=True,
            )
            return
        await interaction.followup.send(f"Sent to your DMs: {summary}.", ephemeral=True)


async def setup(bot: PersonaHubBot) -> None:
    await bot.add_cog(PrivacyCog(bot))
