"""The creation wizard as a conversation in a DM (or in a private thread opened for it from a server's wizard):
every message typed there answers the wizard's current step.

What a message means is :func:`bot.core.wizard.interpret_text` (every field by name, the steps' own words, help);
the change is the same service action a button or form makes (:func:`bot.services.wizard.act`), so the validation
and its sentences are the same. ``describe`` asks :mod:`bot.services.trait_suggestions` (the model, or the lexicon)
between two transactions, then applies the suggestions. The draft is stored after every answer, so a restart or
a pause of hours continues where it stopped. With no wizard running, ``new persona`` typed in the DM starts one.
(The leading underscore keeps the extension loader away.)
"""

from __future__ import annotations

import logging
from typing import Any

import discord
from discord.ext import commands

from bot.clock import utcnow
from bot.cogs._persona_flows import PersonaFlows
from bot.core.errors import DomainError
from bot.core.ownership import Actor
from bot.core.text import clip
from bot.core.wizard import dm_help
from bot.services import trait_suggestions
from bot.services import wizard as wizard_service

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".webp")
# What starts a wizard in a DM where none is running (anything else typed there is left alone).
START_WORDS = frozenset({"new persona", "create persona", "create a persona", "make a persona", "persona create"})
MESSAGE_MAX = 2000


def _image_of(message: discord.Message) -> str | None:
    return next(
        (
            a.url
            for a in message.attachments
            if (a.content_type or "").startswith("image/") or a.filename.lower().endswith(IMAGE_SUFFIXES)
        ),
        None,
    )


class DmWizard(PersonaFlows):
    """The wizard's DM conversation (a base of :class:`bot.cogs.personas.PersonaCog`)."""

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        """In a DM (or a private thread opened for it) with a wizard running, a typed message answers its current
        step."""
        in_thread = isinstance(message.channel, discord.Thread) and (
            message.channel.type is discord.ChannelType.private_thread
        )
        if message.author.bot or (message.guild is not None and not in_thread):
            return
        image = _image_of(message)
        if not message.content.strip() and image is None:
            return
        async with self.bot.db.session() as session:
            draft = await wizard_service.chat_draft(
                session,
                message.author.id,
                message.channel.id,
                message.guild.id if message.guild else None,
                now=utcnow(),
            )
        try:
            if draft is None:
                if message.guild is None:
                    await self._start(message)
                return
            outcome = await self._answer(message, draft, image)
        except DomainError as error:
            await message.channel.send(clip(str(error), MESSAGE_MAX))
            return
        if outcome is None:
            return
        if outcome.draft is None:
            await message.channel.send(embed=self._outcome_embed(outcome))
            return
        await self._send_step(message, outcome.draft)

    async def _start(self, message: discord.Message) -> None:
        """``new persona`` typed in a DM with no wizard running starts one there."""
        if " ".join(message.content.lower().split()).rstrip(".!") not in START_WORDS:
            return
        async with self.bot.db.transaction() as session:
            draft = await wizard_service.start(
                session,
                Actor(user_id=message.author.id),
                channel_id=message.channel.id,
                max_per_user=self.default_limit,
                now=utcnow(),
            )
        await self._send_step(message, draft)

    async def _answer(
        self, message: discord.Message, draft: wizard_service.Draft, image: str | None
    ) -> wizard_service.Outcome | None:
        """Apply what ``message`` asks; None when it was answered already (help)."""
        action, arg, values = wizard_service.read_answer(draft, message.content, image)
        if action == "help":
            await self._send_step(message, draft, content=dm_help(draft.state))
            return None
        if action == "describe":
            described: Any = values or draft.data.get("description") or ""
            suggestions = await trait_suggestions.suggest(self.bot.llm, str(described))
            action, values = "suggested", suggestions.to_values()
        async with self.bot.db.transaction() as session:
            return await wizard_service.act(
                session,
                Actor(user_id=message.author.id, guild_id=message.guild.id if message.guild else None),
                draft.id,
                action,
                arg,
                values,
                max_per_user=self.default_limit,
                now=utcnow(),
            )

    async def _send_step(
        self, message: discord.Message, draft: wizard_service.Draft, content: str | None = None
    ) -> None:
        """The step as it is now, as a new message (remembered as the wizard's current one)."""
        embed, view, files = await self._step_payload(draft, True)
        sent = await message.channel.send(
            content=clip(content, MESSAGE_MAX) if content else None, embed=embed, view=view, files=files
        )
        async with self.bot.db.transaction() as session:
            await wizard_service.set_message(session, draft.id, message.author.id, sent.channel.id, sent.id)
