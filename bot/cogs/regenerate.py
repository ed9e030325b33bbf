"""Another take of a persona's reply: a 🔄 reaction on it, or the message command **Another take** (right-click
the reply, Apps).

Who may ask, and how often, is :mod:`bot.core.regeneration` (the answered person or the persona's owner; at most
:data:`~bot.core.regeneration.MAX_TAKES` per reply; one request per person per
:data:`~bot.core.regeneration.COOLDOWN`, kept in this process's memory). The 🔄 is never an emotional trigger (the
emotions cog skips it), and the bot takes it off the reply once read (when it may: Manage Messages), so the same
person can ask again, and a stranger's 🔄 is simply removed; the reaction has nobody to answer privately, so a
refused or failed 🔄 changes nothing and is logged, while the message command answers with the sentence.

Why a reaction and a message command, not a button: a button would have to be on every reply a persona ever
sends (Discord lets webhooks the bot created carry buttons, but they cannot be shown to the answered person
only), cluttering every conversation for a rare wish; the reaction is there when wanted, and the command says why
when it is refused.

The work goes through the persona's speaking turn in the channel (``ConversationCog.in_turn``, the same turns as
replies): a persona speaking there now is not interrupted (the person is told to ask again), and what waited for
it is answered after the new take. The answered message and the channel before it are read again from Discord
(so it works after a restart), planned as a message that waited, and :mod:`bot.workflows.regeneration` does the
rest.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, cast

import discord
from discord import app_commands
from discord.ext import commands

from bot.clock import utcnow
from bot.cogs.conversation import ConversationCog
from bot.core import regeneration as rules
from bot.core.errors import DomainError
from bot.discord_io.replies import errors_answered, send_ephemeral
from bot.discord_io.speaker import PersonaVoice
from bot.discord_io.typing import typing_in
from bot.services import conversation, webhooks
from bot.services.conversation import Cast, ChannelLine, Incoming, Speaker
from bot.workflows import regeneration

if TYPE_CHECKING:
    from bot.app import PersonaHubBot

log = logging.getLogger(__name__)

MENU_NAME = "Another take"
DONE = "Here is another take."
ASKED_KEPT = 10_000  # people whose last request is remembered (the cool-down)
REASON = "asked for another take"

Channel = discord.TextChannel | discord.Thread


class RegenerateCog(commands.Cog):
    def __init__(self, bot: PersonaHubBot, *, clock: Callable[[], datetime] = utcnow) -> None:
        self.bot = bot
        self.clock = clock
        self.asked: dict[int, datetime] = {}  # person -> when they last asked (the cool-down)
        self.takes = 0  # new takes given since load (a figure for tests)
        self.menu = app_commands.ContextMenu(name=MENU_NAME, callback=self.another_take_command)

    async def cog_load(self) -> None:
        self.bot.tree.add_command(self.menu)

    async def cog_unload(self) -> None:
        self.bot.tree.remove_command(self.menu.name, type=self.menu.type)

    # ------------------------------------------------------------------------------------------------ the ways in

    @commands.Cog.listener()
    async def on_raw_reaction_add(self, payload: discord.RawReactionActionEvent) -> None:
        if str(payload.emoji) != rules.REGENERATE_EMOJI or payload.guild_id is None:
            return
        me = self.bot.user
        if (me is not None and payload.user_id == me.id) or (payload.member is not None and payload.member.bot):
            return
        channel = self.bot.get_channel(payload.channel_id)
        if not isinstance(channel, discord.TextChannel | discord.Thread):
            return
        async with self.bot.db.session() as session:
            if await conversation.find_take(session, payload.message_id) is None:
                return  # not a persona's reply: the 🔄 is anybody's to use
        with contextlib.suppress(discord.HTTPException):
            await channel.get_partial_message(payload.message_id).remove_reaction(
                payload.emoji, discord.Object(payload.user_id)
            )
        try:
            await self.regenerate(channel, payload.message_id, payload.user_id)
        except DomainError as refusal:
            log.info("a 🔄 on %s by %s changed nothing: %s", payload.message_id, payload.user_id, refusal)
        except Exception:
            log.exception("another take of %s could not be given", payload.message_id)

    async def another_take_command(self, interaction: discord.Interaction, message: discord.Message) -> None:
        channel = interaction.channel
        if interaction.guild is None or not isinstance(channel, discord.TextChannel | discord.Thread):
            await send_ephemeral(interaction, rules.NOT_A_REPLY)
            return
        await interaction.response.defer(ephemeral=True, thinking=True)
        async with errors_answered(interaction, "another take"):
            await self.regenerate(channel, message.id, interaction.user.id)
            await interaction.followup.send(DONE, ephemeral=True)

    # ------------------------------------------------------------------------------------------------ the work

    def _conversation(self) -> ConversationCog:
        # By name, not isinstance: an extension (re)loaded is a module of its own, with classes of its own.
        cog = self.bot.get_cog(ConversationCog.__cog_name__)
        if cog is None or not hasattr(cog, "in_turn"):
            raise DomainError("Personas are not speaking right now; try again in a moment.")
        return cast(ConversationCog, cog)

    def _note_asked(self, actor_id: int, now: datetime) -> None:
        self.asked[actor_id] = now
        if len(self.asked) > ASKED_KEPT:
            self.asked = {who: at for who, at in self.asked.items() if now - at < rules.COOLDOWN}

    async def regenerate(self, channel: Channel, message_id: int, actor_id: int) -> conversation.Replaced:
        """Another take of the reply ``message_id`` for ``actor_id`` (module docstring); a :class:`DomainError`
        says why not, and then nothing changed."""
        now = self.clock()
        convo = self._conversation()
        async with self.bot.db.session() as session:
            take = await conversation.ask_for_take(
                session, message_id, actor_id=actor_id, last_asked=self.asked.get(actor_id), now=now
            )
        self._note_asked(actor_id, now)
        parent_id = channel.parent_id if isinstance(channel, discord.Thread) else None
        cast = await convo.casts.get((channel.id, parent_id), lambda: convo._read_cast(channel.id, parent_id))
        speaker = next((s for s in cast.speakers if s.persona_id == take.persona_id), None)
        if speaker is None or take.channel_id != channel.id:
            raise DomainError(rules.NOT_HERE.format(name=take.persona_name))
        done: list[conversation.Replaced] = []

        async def work() -> None:
            done.append(await self._take(convo, channel, message_id, actor_id, speaker, cast))

        if not await convo.in_turn(channel, speaker.persona_id, work):
            raise DomainError(rules.BUSY.format(name=speaker.name))
        self.takes += 1
        return done[0]

    async def _take(
        self, convo: ConversationCog, channel: Channel, message_id: int, actor_id: int, speaker: Speaker, cast: Cast
    ) -> conversation.Replaced:
        """With the persona's turn held: the take read again (its count may have moved while the turn was
        awaited), the answered message and the channel before it, the plan, the new take, the records."""
        async with self.bot.db.session() as session:
            take = await conversation.ask_for_take(
                session, message_id, actor_id=actor_id, last_asked=None, now=self.clock()
            )
        try:
            answered = await channel.fetch_message(take.answered_message_id)
        except discord.NotFound:
            raise DomainError(rules.GONE) from None
        incoming, history = await self._context(convo, channel, answered, cast)
        async with self.bot.db.reads() as session:
            job = await conversation.plan_waiting(
                session,
                speaker,
                [incoming],
                reason=REASON,
                cast=cast,
                history=history,
                now=self.clock(),
                options=dataclasses.replace(convo._request_options(), leave_out_exchange=take.answered_message_id),
            )
        if job is None:
            raise DomainError(rules.NOT_HERE.format(name=speaker.name))
        outlet = await convo.sender.outlet(channel, PersonaVoice(speaker.persona_id, speaker.name, speaker.avatar_url))
        key = convo._key()
        # The persona's own model server when its settings name one, as for a reply.
        async with typing_in(channel), self.bot.provider_for(job.model) as provider:
            text = await regeneration.new_text(
                job, incoming, db=self.bot.db, llm=provider, tools=convo.tools, clock=self.clock, encryption_key=key
            )
        return await regeneration.another_take(
            take,
            incoming,
            text,
            db=self.bot.db,
            sender=convo.sender,
            outlet=outlet,
            now=self.clock(),
            encryption_key=key,
            used=job.used,
        )

    async def _context(
        self, convo: ConversationCog, channel: Channel, answered: discord.Message, cast: Cast
    ) -> tuple[Incoming, list[ChannelLine]]:
        """The answered message as the chat listener saw it, and the channel's lines before it (read from Discord:
        the old take came after it, so it is not in them)."""
        parent_id = channel.parent_id if isinstance(channel, discord.Thread) else None
        speakers = list(cast.speakers)
        async with self.bot.db.session() as session:
            ours = convo.sender.known_webhook_ids() | await webhooks.webhook_ids(session, [parent_id or channel.id])
        lines = await convo.history.read_before(channel, answered, ours, speakers)
        incoming = convo.history.incoming(answered, channel, convo.history.persona_of(answered, ours, speakers))
        return incoming, lines


async def setup(bot: PersonaHubBot) -> None:
    await bot.add_cog(RegenerateCog(bot))
