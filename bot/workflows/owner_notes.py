"""Telling a persona's owner, by direct message, why it could not speak as it should: once per channel when the
bot cannot manage webhooks there (recorded by :func:`bot.services.webhooks.note_missing_permission`), and at most
once per error kind per hour (:data:`ERROR_NOTE_EVERY`, kept in memory) when the model fails."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import discord

from bot.discord_io.dms import send_dm
from bot.llm.base import ModelError
from bot.services import webhooks
from bot.services.conversation import Speaker

if TYPE_CHECKING:
    from bot.app import PersonaHubBot

log = logging.getLogger(__name__)

ERROR_NOTE_EVERY = timedelta(hours=1)


class OwnerNotes:
    """The notes one bot sends to persona owners (see the module docstring)."""

    def __init__(self, bot: PersonaHubBot, clock: Callable[[], datetime]) -> None:
        self.bot = bot
        self.clock = clock
        self.error_notes: dict[tuple[int, str], datetime] = {}

    async def _dm(self, user_id: int, text: str) -> None:
        await send_dm(self.bot, user_id, text, about="a note to a persona's owner", level=logging.INFO)

    async def fallback_once(self, channel: discord.TextChannel | discord.Thread, speaker: Speaker, reason: str) -> None:
        """The persona spoke through the bot's own message: its owner hears ``reason`` once per channel."""
        parent = channel.parent if isinstance(channel, discord.Thread) else channel
        channel_id = parent.id if parent is not None else channel.id
        async with self.bot.db.transaction() as session:
            first = await webhooks.note_missing_permission(
                session, channel_id=channel_id, owner_id=speaker.owner_id, now=self.clock()
            )
        if first:
            await self._dm(speaker.owner_id, reason)

    async def model_error(
        self,
        channel: discord.TextChannel | discord.Thread,
        speaker: Speaker,
        error: ModelError,
        *,
        cut_short: bool = False,
    ) -> None:
        """The model failed (or its answer was cut short): logged, and the owner told at most once an hour."""
        log.warning("persona %s could not answer in channel %s: %s", speaker.persona_id, channel.id, error)
        key = (speaker.owner_id, type(error).__name__)
        now = self.clock()
        last = self.error_notes.get(key)
        if last is not None and now - last < ERROR_NOTE_EVERY:
            return
        self.error_notes[key] = now
        told = "Its answer ends with “…” there." if cut_short else "It told the channel it cannot answer right now."
        what = "was cut short" if cut_short else "could not answer"
        await self._dm(
            speaker.owner_id,
            f"{speaker.name} {what} in #{channel.name}: {error} {told} (I tell you about this kind of problem at "
            "most once an hour.)",
        )
