"""Memory receipts: the message command **Why this reply?** (right-click a persona's reply, Apps) shows, privately,
the memories that shaped it, and lets the viewer forget or correct a memory about themselves from there.

Who sees what is :mod:`bot.services.receipts`: the person the reply answered sees the memories about them alone and
the persona's own ("and N others not shown" for the rest); the persona's owner sees all of them (they can read every
memory of their persona with ``/memory search`` already); anyone else is told who may look, and sees nothing.

Why a message command, not a button under each reply: a persona speaks through a channel webhook, and a button on a
webhook message would be on every reply for everyone, while the command is there on any message when wanted and
answers the person who asks, privately (as "Another take", ``bot/cogs/regenerate.py``). The Forget and Correct
buttons on the private answer carry the reply and the memory in their custom ids (``bot.ui.receipts``), and the
correction form too, so they still work after a restart; every press goes through the service's permission check.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.cogs._options import actor_of
from bot.core.errors import DomainError
from bot.core.text import clip
from bot.discord_io.replies import errors_answered
from bot.services import receipts
from bot.ui import receipts as receipts_ui
from bot.ui.memory.common import escape
from bot.ui.wizard import modal_values

if TYPE_CHECKING:
    from bot.app import PersonaHubBot

log = logging.getLogger(__name__)

MENU_NAME = "Why this reply?"


class ReceiptsCog(commands.Cog, name=receipts_ui.RECEIPTS_HANDLER_COG):
    def __init__(self, bot: PersonaHubBot) -> None:
        self.bot = bot
        self.menu = app_commands.ContextMenu(name=MENU_NAME, callback=self.why_command)

    async def cog_load(self) -> None:
        self.bot.tree.add_command(self.menu)
        self.bot.add_dynamic_items(receipts_ui.ReceiptButton)

    async def cog_unload(self) -> None:
        self.bot.tree.remove_command(self.menu.name, type=self.menu.type)
        self.bot.remove_dynamic_items(receipts_ui.ReceiptButton)

    @property
    def encryption_key(self) -> str | None:
        key = self.bot.settings.memory_encryption_key
        return key.get_secret_value() if key is not None else None

    async def _why(self, message_id: int, viewer: int) -> receipts.Why:
        async with self.bot.db.session() as session:
            return await receipts.why(session, message_id, viewer=viewer, encryption_key=self.encryption_key)

    async def why_command(self, interaction: discord.Interaction, message: discord.Message) -> None:
        async with errors_answered(interaction, f"why of message {message.id}"):
            why = await self._why(message.id, interaction.user.id)
            await self._send(interaction, why)

    @staticmethod
    async def _send(interaction: discord.Interaction, why: receipts.Why, note: str | None = None) -> None:
        embed = receipts_ui.why_embed(why, note=note)
        view = receipts_ui.why_view(why)
        if view is None:
            await interaction.response.send_message(embed=embed, ephemeral=True)
        else:
            await interaction.response.send_message(embed=embed, view=view, ephemeral=True)

    # ------------------------------------------------------------------------------------------------ buttons

    async def on_receipt_component(
        self, interaction: discord.Interaction, message_id: int, memory_id: int, action: str
    ) -> None:
        """Forget (at once: the button says what it does, and the receipt shows the memory) or open the
        correction form; the service refuses anyone who may not."""
        async with errors_answered(interaction, f"receipt {action} of memory {memory_id}"):
            actor = actor_of(interaction)
            if action == "forget":
                async with self.bot.db.transaction() as session:
                    record = await receipts.forget(session, actor, memory_id, encryption_key=self.encryption_key)
                note = f"Forgotten: memory #{record.id} is gone for good."
                await self._refresh(interaction, message_id, note)
            elif action == "correct":
                async with self.bot.db.session() as session:
                    why = await receipts.why(
                        session, message_id, viewer=interaction.user.id, encryption_key=self.encryption_key
                    )
                used = next((u for u in why.shown if u.memory.id == memory_id and u.yours), None)
                if used is None:
                    raise DomainError(receipts.NOT_ABOUT_YOU)
                await interaction.response.send_modal(
                    receipts_ui.correct_modal(message_id, memory_id, used.memory.content)
                )
            else:
                raise DomainError("That button does nothing any more.")

    async def _refresh(self, interaction: discord.Interaction, message_id: int, note: str) -> None:
        """The receipt again, after a change, in place of the one pressed (a fresh private answer otherwise)."""
        try:
            why = await self._why(message_id, interaction.user.id)
        except DomainError:
            await interaction.response.send_message(note, ephemeral=True)
            return
        embed = receipts_ui.why_embed(why, note=note)
        view = receipts_ui.why_view(why)
        if interaction.message is not None:
            await interaction.response.edit_message(embed=embed, view=view)
        else:
            await self._send(interaction, why, note)

    @commands.Cog.listener()
    async def on_interaction(self, interaction: discord.Interaction) -> None:
        """The correction form, recognised by its custom id (so a form opened before a restart still works)."""
        if interaction.type is not discord.InteractionType.modal_submit:
            return
        data: Any = interaction.data or {}
        match = receipts_ui.CORRECT_MODAL_PATTERN.fullmatch(str(data.get("custom_id", "")))
        if match is None:
            return
        message_id, memory_id = int(match["message"]), int(match["memory"])
        async with errors_answered(interaction, f"correction of memory {memory_id}", after=" Nothing was changed."):
            text = modal_values(data).get(receipts_ui.CORRECT_FIELD, "")
            async with self.bot.db.transaction() as session:
                record = await receipts.correct(
                    session, actor_of(interaction), memory_id, text, encryption_key=self.encryption_key
                )
            note = f"Corrected: memory #{record.id} now says “{escape(clip(record.content, 300))}”."
            await self._refresh(interaction, message_id, note)


async def setup(bot: PersonaHubBot) -> None:
    await bot.add_cog(ReceiptsCog(bot))
