"""Inviting people to choose whether personas may remember them (issue 19, "memory that explains itself").

The chat listener calls :meth:`ConsentInvitations.notice` for every message of a person that a persona answers
(or will, once its turn comes): what they say to it may be remembered, so they are told. People who only talk
around a persona are not asked (their words are shown to the model as the channel's recent messages, never
stored). It never waits: the work (a claim in one transaction, then the invitation) runs in a background task, at
most :data:`MAX_RUNNING` at once (past that a message is not noticed, the next one will be), and a person already
looked at is not looked at again by this process for :data:`LOOK_AGAIN_AFTER` (at most :data:`PEOPLE_KEPT` kept).

The invitation goes by DM (:func:`bot.ui.memory.invitation.invitation`): it is private and only the person can
answer it. When the DM cannot be delivered (DMs closed to the bot), a short note goes to the channel instead,
naming the person without a mention and with the same buttons (:func:`bot.ui.memory.invitation.channel_note`):
telling them in the open that personas here may remember them is better than saying nothing; a click answers for
the clicker only, privately. Either way the invitation is recorded as sent once
(:func:`bot.services.consent.claim_offer`), so nobody is asked twice, whichever process noticed them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import discord

from bot.discord_io.dms import send_dm
from bot.services import consent
from bot.ui.memory import invitation as invitation_ui

if TYPE_CHECKING:
    from bot.app import PersonaHubBot

log = logging.getLogger(__name__)

MAX_RUNNING = 16
LOOK_AGAIN_AFTER = timedelta(hours=12)
PEOPLE_KEPT = 50_000


class ConsentInvitations:
    """The invitations one bot sends (see the module docstring)."""

    def __init__(self, bot: PersonaHubBot, clock: Callable[[], datetime]) -> None:
        self.bot = bot
        self.clock = clock
        self.looked: dict[tuple[int, int], datetime] = {}  # (user, guild) -> when this process last looked
        self.running: set[asyncio.Task[None]] = set()

    def notice(self, message: discord.Message) -> None:
        """A persona answers ``message``: invite its author in the background if they are due."""
        guild = message.guild
        if guild is None or message.author.bot or message.webhook_id is not None:
            return
        key, now = (message.author.id, guild.id), self.clock()
        last = self.looked.get(key)
        if (last is not None and now - last < LOOK_AGAIN_AFTER) or len(self.running) >= MAX_RUNNING:
            return
        self.looked.pop(key, None)
        self.looked[key] = now
        if len(self.looked) > PEOPLE_KEPT:
            self.looked.pop(next(iter(self.looked)))
        task = asyncio.create_task(self._invite(message, now), name=f"consent-invitation-{key[0]}-{key[1]}")
        self.running.add(task)
        task.add_done_callback(self.running.discard)

    async def _invite(self, message: discord.Message, now: datetime) -> None:
        guild = message.guild
        assert guild is not None
        user_id = message.author.id
        try:
            async with self.bot.db.transaction() as session:
                invitation = await consent.claim_offer(session, user_id=user_id, guild_id=guild.id, now=now)
            if invitation is None:
                return
            via = await self._send(message, invitation)
            async with self.bot.db.transaction() as session:
                await consent.offer_sent(session, user_id=user_id, guild_id=guild.id, via=via)
        except Exception:  # a background task: log, never raise into the event loop's void
            log.exception("could not invite user %s in guild %s to choose about memory", user_id, guild.id)

    async def _send(self, message: discord.Message, invitation: consent.Invitation) -> str:
        """``dm``, ``channel`` (DMs closed: a note where they wrote) or ``none`` (neither could be sent)."""
        guild = message.guild
        assert guild is not None
        embed, view = invitation_ui.invitation(invitation.server_mode, guild.id, guild.name)
        if await send_dm(
            self.bot, invitation.user_id, embed=embed, view=view, about="a memory invitation", level=logging.INFO
        ):
            return "dm"
        text, view = invitation_ui.channel_note(invitation.server_mode, guild.id, message.author.display_name)
        try:
            await message.channel.send(text, view=view, allowed_mentions=discord.AllowedMentions.none())
        except discord.HTTPException:
            log.info("could not tell user %s about memory in channel %s", invitation.user_id, message.channel.id)
            return "none"
        return "channel"

    async def close(self) -> None:
        """Stop the invitations under way (the cog is unloading)."""
        for task in list(self.running):
            task.cancel()
        await asyncio.gather(*self.running, return_exceptions=True)
