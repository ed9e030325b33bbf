"""What the chat listener (:class:`bot.cogs.conversation.ConversationCog`) knows of each channel: its recent lines
(:data:`HISTORY_LINES`, seeded once per channel from Discord's history after a start), which persona wrote a message
(by our channel webhook and the persona's name, or, for the fallback, by the bot's message with the persona in the
embed author), the persona-to-persona exchange depth, and a message as the conversation service sees it
(:class:`~bot.services.conversation.Incoming`). Another take (:mod:`bot.cogs.regenerate`) reads a reply's context
the same way. (The leading underscore keeps the extension loader away: this module has no cog of its own.)"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import TYPE_CHECKING

import discord

from bot.discord_io.attachments import attachments_of, text_of
from bot.services.conversation import ChannelLine, Incoming, Speaker

if TYPE_CHECKING:
    from bot.app import PersonaHubBot

HISTORY_LINES = 30
TEXT_MESSAGE_TYPES = (discord.MessageType.default, discord.MessageType.reply)
Channel = discord.TextChannel | discord.Thread


def line_of(message: discord.Message, persona_id: int | None) -> ChannelLine:
    """``message`` as a line of the channel's history (``persona_id``: the persona that wrote it, if one did)."""
    return ChannelLine(
        author_id=message.author.id,
        author_name=message.author.display_name,
        content=text_of(message),
        persona_id=persona_id,
        is_bot=message.author.bot,
        message_id=message.id,
    )


class ChannelHistory:
    """The recent lines and the exchange depth of every channel seen, kept in memory (a restart reads them again)."""

    def __init__(self, bot: PersonaHubBot) -> None:
        self.bot = bot
        self.lines: dict[int, deque[ChannelLine]] = {}
        self.seeding: dict[int, asyncio.Future[None]] = {}  # channels whose history is being read from Discord
        self.depth: dict[int, int] = {}

    def persona_of(self, message: discord.Message, ours: set[int], speakers: list[Speaker]) -> int | None:
        """The persona that wrote ``message`` (0: one of ours not active here), or None for anyone else."""
        me = self.bot.user
        name: str | None = None
        if message.webhook_id is not None and message.webhook_id in ours:
            name = message.author.name
        elif me is not None and message.author.id == me.id and message.embeds:
            name = message.embeds[0].author.name
        if name is None:
            return None
        return next((s.persona_id for s in speakers if s.name == name), 0)

    async def read_before(
        self, channel: Channel, before: discord.Message, ours: set[int], speakers: list[Speaker]
    ) -> list[ChannelLine]:
        """The channel's text lines before ``before``, oldest first, read from Discord (at most
        :data:`HISTORY_LINES` messages); a :class:`discord.HTTPException` when Discord refuses."""
        found = [m async for m in channel.history(limit=HISTORY_LINES, before=before)]
        lines = [
            line_of(m, self.persona_of(m, ours, speakers)) for m in reversed(found) if m.type in TEXT_MESSAGE_TYPES
        ]
        return [line for line in lines if line.content]

    async def seeded(self, channel: Channel, before: discord.Message, ours: set[int], speakers: list[Speaker]) -> None:
        """The channel's history is known: seeded now by the first message seen, or awaited while that seeding reads
        Discord (messages that arrive meanwhile join the history after it, in the order they came)."""
        if channel.id in self.lines:
            if (seeding := self.seeding.get(channel.id)) is not None:
                await asyncio.shield(seeding)
            return
        self.seeding[channel.id] = done = asyncio.get_running_loop().create_future()
        try:
            lines: deque[ChannelLine] = deque(maxlen=HISTORY_LINES)
            self.lines[channel.id] = lines
            try:
                lines.extend(await self.read_before(channel, before, ours, speakers))
            except discord.HTTPException:
                pass
        finally:
            del self.seeding[channel.id]
            done.set_result(None)

    def incoming(self, message: discord.Message, channel: Channel, persona_author: int | None) -> Incoming:
        """``message`` as the conversation service takes it (``persona_author``: :meth:`persona_of`)."""
        me = self.bot.user
        reference = message.reference.message_id if message.reference is not None else None
        return Incoming(
            message_id=message.id,
            guild_id=channel.guild.id,
            channel_id=channel.id,
            parent_id=channel.parent_id if isinstance(channel, discord.Thread) else None,
            author_id=message.author.id,
            author_name=message.author.display_name,
            content=text_of(message),
            created_at=message.created_at,
            author_is_bot=message.author.bot,
            author_persona_id=persona_author,
            mentions_bot=me is not None and any(user.id == me.id for user in message.mentions),
            reply_to_message_id=reference,
            channel_name=channel.name,
            attachments=attachments_of(message),
        )
