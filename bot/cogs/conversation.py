"""Chat: the ``on_message`` listener that lets active personas answer. (Reactions on their messages are the
emotions cog's: ``bot/cogs/emotions.py``.)

Per message in a channel (or thread) with an active persona (:func:`bot.services.conversation.cast`, kept in
:attr:`ConversationCog.casts` until a binding, persona or behaviour changes anywhere: ``bot/db/changes.py``):

1. The message joins the channel's recent history (:class:`bot.cogs._channel_history.ChannelHistory`: seeded once
   per channel from ``channel.history`` after a start). Persona messages are recognised by our channel webhook and
   the persona's name (or, for the fallback, by the bot's message with the persona in the embed author); a run of
   them counts the persona-to-persona exchange depth, which a person's message resets.
2. Reads (:func:`bot.services.conversation.plan`): who answers and each reply's request; then, only when custom
   behaviours fired emotional triggers, a transaction applying them. Closed.
3. Each persona in a task of its own, side by side (one persona's slow reply never holds another's turn): typing
   is shown while the model works; the reply streams where the provider streams
   (:class:`bot.discord_io.speaker.StreamWriter`: first text sent, edited at most once a second, final edit
   complete; the model's text cleaned as it comes, :mod:`bot.core.reply_text`: no name label of its own, nothing
   said for anyone else), or goes through the tool loop when the persona has plugins and the provider supports
   tools, or is a custom behaviour's reply template. Everything goes through
   :class:`bot.discord_io.speaker.PersonaSender` with no mentions allowed.
4. Transaction 2 (:func:`bot.services.conversation.record`), one per message answered: persona messages, memory
   (consent permitting), relationship, interaction count. A reply folded for several waiting people is not kept in
   their memories (it names the others): each keeps their own message.

A person a persona answers is invited, the first time in a server, to choose whether personas may remember them
(:class:`bot.workflows.invitations.ConsentInvitations`: by DM, in the background, never holding the reply).

**When the model fails** (a :class:`~bot.llm.base.ModelError`: timeout, server down, refusal) the persona says
briefly that it cannot answer now (:func:`bot.discord_io.speaker.apology_text`), the bot keeps serving, and the
persona's owner gets a direct message saying why, at most once per error kind per hour, kept in memory. **When the
bot cannot manage webhooks** the persona speaks through the bot's own message and the owner is told once per
channel. Both notes: :class:`bot.workflows.owner_notes.OwnerNotes`.

**One reply at a time per persona and channel** (:class:`bot.discord_io.turns.SpeakingTurns`). A message addressed
to a persona directly (mention, name, reply) while it is speaking in that channel waits in its line; when the reply is
done the persona answers everything waiting in one turn that replies to each person
(:func:`bot.services.conversation.plan_waiting`). A line holds :data:`bot.core.waiting.MAX_WAITING` messages;
past that the message that leaves it (the oldest of whoever has the most waiting) gets the :data:`DROPPED_SIGN`
reaction, so its author sees it will not be answered. Lines are in memory: a restart loses what waited. The last
reply time (in memory and in ``persona_messages``) drives the cooldown.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import random
from collections.abc import Awaitable, Callable
from contextlib import nullcontext
from datetime import datetime
from typing import TYPE_CHECKING, Any

import discord
from discord.ext import commands

from bot.clock import utcnow
from bot.cogs._channel_history import TEXT_MESSAGE_TYPES, Channel, ChannelHistory, line_of
from bot.core.reply_text import ReplyCleaner, clean_reply
from bot.discord_io.attachments import has_image, text_of
from bot.discord_io.speaker import Outlet, PersonaSender, PersonaVoice, StreamWriter, apology_text
from bot.discord_io.turns import SpeakingTurns
from bot.discord_io.typing import typing_in
from bot.discord_io.webhooks import DatabaseWebhookStore
from bot.llm.base import ModelError, Provider
from bot.llm.tools import default_registry, run_with_tools
from bot.services import conversation, lore, webhooks
from bot.services.conversation import ChannelLine, Incoming, ReplyJob, Speaker
from bot.workflows.invitations import ConsentInvitations
from bot.workflows.owner_notes import OwnerNotes

if TYPE_CHECKING:
    from bot.app import PersonaHubBot

log = logging.getLogger(__name__)

CAST_CACHE_SIZE = 20_000  # channels (with personas or without) whose cast is kept
LORE_CACHE_SIZE = 1_000  # (persona, channel) pairs whose lore books are kept prepared
DROPPED_SIGN = "⌛"  # on a message that left a busy persona's full line: it will not be answered


class ConversationCog(commands.Cog):
    def __init__(
        self,
        bot: PersonaHubBot,
        *,
        clock: Callable[[], datetime] = utcnow,
        chance: Callable[[], float] = random.random,
    ) -> None:
        self.bot = bot
        self.clock = clock
        self.chance = chance
        self.sender = PersonaSender(bot, DatabaseWebhookStore(bot.db, clock))
        self.tools = default_registry()
        self.history = ChannelHistory(bot)  # each channel's recent lines and exchange depth
        self.recent: dict[tuple[int, int], datetime] = {}
        # (persona, channel) -> the turn to speak there and the messages waiting for it
        self.turns: SpeakingTurns[tuple[int, int], tuple[discord.Message, Incoming, str]] = SpeakingTurns()
        self.owner_notes = OwnerNotes(bot, clock)
        self.invitations = ConsentInvitations(bot, clock)  # who may be remembered: asked in the background
        self.replies = 0  # replies sent since load (a figure for tests and benchmarks)
        # Who speaks where, by (channel, thread parent): dropped when a binding, persona or behaviour changes.
        self.casts = bot.db.changes.cache(conversation.CAST_TABLES, size=CAST_CACHE_SIZE)
        # The lore books of (persona, channel, server) prepared to scan: dropped when a book or an entry changes.
        self.lore_books: lore.LoreBooks = bot.db.changes.cache(lore.LORE_TABLES, size=LORE_CACHE_SIZE)

    async def cog_unload(self) -> None:
        await self.invitations.close()

    # ------------------------------------------------------------------------------------------------ listener

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        arrived = asyncio.get_running_loop().time()  # the caches' reads for this message need no later changes
        channel = message.channel
        if message.guild is None or not isinstance(channel, discord.TextChannel | discord.Thread):
            return
        if message.type not in TEXT_MESSAGE_TYPES:
            return
        parent_id = channel.parent_id if isinstance(channel, discord.Thread) else None
        cast = await self.casts.get((channel.id, parent_id), lambda: self._read_cast(channel.id, parent_id))
        if not cast.speakers:
            return
        speakers = list(cast.speakers)
        ours = self.sender.known_webhook_ids()
        if message.webhook_id is not None and message.webhook_id not in ours:
            async with self.bot.db.session() as session:
                ours |= await webhooks.webhook_ids(session, [parent_id or channel.id])
        persona_author = self.history.persona_of(message, ours, speakers)
        await self.history.seeded(channel, message, ours, speakers)
        history = list(self.history.lines[channel.id])
        text = text_of(message)
        if text:
            self.history.lines[channel.id].append(line_of(message, persona_author))
        depth = self.history.depth
        depth[channel.id] = depth.get(channel.id, 0) + 1 if persona_author is not None else 0
        me = self.bot.user
        if persona_author is None and me is not None and message.author.id == me.id:
            return  # the bot's own messages (command answers, notices) are not conversation
        if not text.strip() and not has_image(message):
            return  # nothing to answer (a picture alone is: its persona may see it, or hear of it)
        if persona_author is not None and all(s.persona_id == persona_author for s in speakers):
            return  # a persona alone in its channel: nobody to answer its own message
        await self._answer(message, channel, cast, history, persona_author, arrived)

    async def _read_cast(self, channel_id: int, parent_id: int | None) -> conversation.Cast:
        async with self.bot.db.session() as session:
            return await conversation.cast(session, channel_id, parent_id)

    async def _answer(
        self,
        message: discord.Message,
        channel: Channel,
        cast: conversation.Cast,
        history: list[ChannelLine],
        persona_author: int | None,
        arrived: float,
    ) -> None:
        """Plan the answers to ``message`` (which ``arrived`` then, by the event loop's clock), apply what its
        behaviours do, and let each persona take its turn."""
        incoming = self.history.incoming(message, channel, persona_author)
        now = self.clock()
        busy = frozenset(pid for pid, cid in self.turns.keys() if cid == channel.id)
        recent = {pid: at for (pid, cid), at in self.recent.items() if cid == channel.id}
        async with self.bot.db.reads() as session:
            plan = await conversation.plan(
                session,
                incoming,
                cast.speakers,
                history=history,
                exchange_depth=self.history.depth.get(channel.id, 0),
                random_value=self.chance(),
                now=now,
                recent_replies=recent,
                busy=busy,
                options=self._request_options(arrived),
                cast=cast,
                reader=self.bot.db.reads if self.bot.db.parallel_reads else None,
            )
        if persona_author is None and (plan.jobs or plan.waiting):
            self.invitations.notice(message)  # a persona answers a person: they are told what may be remembered
        await self._apply_effects(message, incoming, plan, now=now)
        mine, claimed = await self._claim_turns(message, incoming, plan, channel, now=now)
        # Each persona speaks in a task of its own, side by side: it replies, answers what waited for it meanwhile
        # and lets its turn go, never held while another persona's reply runs.
        replying = {(job.speaker.persona_id, channel.id): job for job in mine}
        await asyncio.gather(*(self._take_turn(key, replying.get(key), incoming, channel) for key in claimed))

    async def _apply_effects(
        self, message: discord.Message, incoming: Incoming, plan: conversation.Plan, *, now: datetime
    ) -> None:
        """Emotional triggers (a transaction, only when some fired), reactions, and failed templates logged."""
        if any(effect.emotion_triggers for effect in plan.effects):
            async with self.bot.db.transaction() as session:
                await conversation.apply_behavior_triggers(session, incoming, plan.effects, now=now)
        for effect in plan.effects:
            for problem in effect.problems:
                log.info("persona %s: a custom behaviour was skipped: %s", effect.persona_id, problem)
            for emoji in effect.reactions:
                try:
                    await message.add_reaction(emoji)
                except discord.HTTPException:
                    log.info("could not react with %s for persona %s", emoji, effect.persona_id)

    async def _claim_turns(
        self, message: discord.Message, incoming: Incoming, plan: conversation.Plan, channel: Channel, *, now: datetime
    ) -> tuple[list[ReplyJob], list[tuple[int, int]]]:
        """The replies whose persona's turn here was free (claimed now), and every turn to take (those, and lines
        nobody else will answer). A busy persona answers a message addressed to it when its turn comes."""
        mine: list[ReplyJob] = []
        claimed: list[tuple[int, int]] = []
        dropped: list[discord.Message] = []
        waits = dict(plan.waiting)
        for job in plan.jobs:
            key = (job.speaker.persona_id, channel.id)
            if self.turns.claim(key):
                self.recent[key] = now
                mine.append(job)
                claimed.append(key)
            elif job.addressed:
                waits[job.speaker.persona_id] = job.reason
        for persona_id, reason in waits.items():
            key = (persona_id, channel.id)
            answer_it, left = self.turns.wait(key, incoming.author_id, (message, incoming, reason), message.id)
            dropped += [entry[0] for entry in left]
            if answer_it:  # its reply ended while this message was planned: nobody else will answer the line
                claimed.append(key)
        for gone in dropped:
            with contextlib.suppress(discord.HTTPException):
                await gone.add_reaction(DROPPED_SIGN)
        return mine, claimed

    async def _take_turn(
        self, key: tuple[int, int], job: ReplyJob | None, incoming: Incoming, channel: Channel
    ) -> None:
        """One persona's turn here: its reply to ``incoming`` (``job``; None when only its waiting line is to be
        answered), then everything that waited for it, then the turn is free again (also when cancelled)."""
        try:
            if job is not None:
                try:
                    await self._reply(job, incoming, channel)
                except Exception:
                    log.exception("persona %s could not reply in channel %s", job.speaker.persona_id, channel.id)
        except BaseException:
            self.turns.release(key)
            raise
        await self.turns.answer_waiting(key, functools.partial(self._answer_waiting, channel, key))

    async def _answer_waiting(
        self, channel: Channel, key: tuple[int, int], waiting: list[tuple[discord.Message, Incoming, str]]
    ) -> None:
        """One reply of a persona to every message that waited for it here (oldest first)."""
        parent_id = channel.parent_id if isinstance(channel, discord.Thread) else None
        cast = await self.casts.get((channel.id, parent_id), lambda: self._read_cast(channel.id, parent_id))
        speaker = next((s for s in cast.speakers if s.persona_id == key[0]), None)
        if speaker is None:
            return  # it stopped speaking here while they waited
        messages = [incoming for _, incoming, _ in waiting]
        ids = {m.message_id for m in messages}
        history = [line for line in self.history.lines.get(channel.id, ()) if line.message_id not in ids]
        now = self.clock()
        self.recent[key] = now
        async with self.bot.db.reads() as session:
            job = await conversation.plan_waiting(
                session,
                speaker,
                messages,
                reason=waiting[-1][2],
                cast=cast,
                history=history,
                now=now,
                options=self._request_options(),
            )
        if job is not None:
            await self._reply(job, messages[-1], channel)

    async def in_turn(self, channel: Channel, persona_id: int, work: Callable[[], Awaitable[object]]) -> bool:
        """Run ``work`` holding the persona's turn here (another take goes through the same turns as replies), then
        answer what waited for it; False, without running it, when the persona is speaking here now."""
        key = (persona_id, channel.id)
        if not self.turns.claim(key):
            return False
        answer = functools.partial(self._answer_waiting, channel, key)
        try:
            await work()
        except Exception:
            await self.turns.answer_waiting(key, answer)
            raise
        except BaseException:
            self.turns.release(key)
            raise
        await self.turns.answer_waiting(key, answer)
        return True

    def _key(self) -> str | None:
        key = self.bot.settings.memory_encryption_key
        return key.get_secret_value() if key is not None else None

    def _request_options(self, arrived: float | None = None) -> conversation.RequestOptions:
        """How requests are built; ``arrived``: when the message answered arrived (the event loop's time), so that
        the lore books kept need no other check for changes than the one the cast's lookup made for it."""
        settings = self.bot.settings
        return conversation.RequestOptions(
            self.tools,
            self._key(),
            self.bot.llm.supports_tools,
            token_budget=settings.prompt_token_budget,
            vision=settings.llm_vision,
            lore_shelf=self.lore_books if arrived is None else self.lore_books.as_of(arrived),
        )

    # ------------------------------------------------------------------------------------------------ replying

    async def _reply(self, job: ReplyJob, incoming: Incoming, channel: Channel) -> None:
        speaker = job.speaker
        voice = PersonaVoice(speaker.persona_id, speaker.name, speaker.avatar_url)
        outlet = await self.sender.outlet(channel, voice)
        if outlet.fallback_reason is not None:
            await self.owner_notes.fallback_once(channel, speaker, outlet.fallback_reason)
        text: str | None = None
        sent: list[discord.Message] = []
        # The persona's own model server when its settings name one (a template reply asks no model).
        models = self.bot.provider_for(job.model) if job.template_reply is None else nullcontext(self.bot.llm)
        try:
            async with models as provider:
                if job.template_reply is not None:
                    text = job.template_reply
                    sent = await self.sender.say(outlet, text)
                elif job.tool_names and provider.supports_tools:
                    context = conversation.tool_context(
                        self.bot.db, speaker.persona_id, incoming=incoming, clock=self.clock, encryption_key=self._key()
                    )
                    async with typing_in(channel):
                        result = await run_with_tools(
                            provider, job.request, self.tools.for_plugins(list(job.tool_names)), context
                        )
                    text, _ = clean_reply(result.reply.text, job.labels)
                    if not text.strip():
                        raise ModelError("The model's answer spoke only for someone else.")
                    sent = await self.sender.say(outlet, text)
                else:
                    text, sent = await self._stream(job, outlet, channel, provider)
        except ModelError as error:
            await self.owner_notes.model_error(channel, speaker, error)
            if text is None:
                sent = sent or await self.sender.say(outlet, apology_text())
        self.replies += 1
        importance = None
        if text is not None and self.bot.settings.memory_importance_by_model:
            importance = await self._rate(incoming, speaker, text)
        # A folded reply answers several people and names them: each author's memory keeps their own message
        # only, never the others' names or words (they may not be remembered).
        folded = bool(job.earlier)
        answered: list[tuple[Incoming, dict[str, Any]]] = [
            (
                incoming,
                {
                    "sent_message_ids": [m.id for m in sent],
                    "importance": importance,
                    "recall": job.recall,
                    "used": job.used,
                    "lore_timing": job.lore_timing,
                },
            ),
            *((earlier, {"sent_message_ids": []}) for earlier in job.earlier),  # those that waited for this turn
        ]
        for message, extra in answered:
            # Each in a transaction of its own: one message that cannot be recorded never loses the others'.
            try:
                async with self.bot.db.transaction() as session:
                    await conversation.record(
                        session,
                        message,
                        speaker,
                        via_webhook=outlet.via_webhook,
                        reply_text=text,
                        addressed=job.addressed,
                        now=self.clock(),
                        encryption_key=self._key(),
                        remember_reply=not folded,
                        **extra,
                    )
            except Exception:
                log.exception("persona %s: message %s could not be recorded", speaker.persona_id, message.message_id)

    async def _stream(
        self, job: ReplyJob, outlet: Outlet, channel: Channel, provider: Provider
    ) -> tuple[str, list[discord.Message]]:
        writer = StreamWriter(self.sender, outlet)
        cleaner = ReplyCleaner(job.labels)  # its own name label gone, cut where it speaks for someone else
        try:
            async with typing_in(channel):
                # Closed as soon as we stop reading, so a stream cut at a cap ends at the server too.
                async with contextlib.aclosing(provider.stream(job.request)) as deltas:
                    async for delta in deltas:
                        if piece := cleaner.feed(delta):
                            await writer.feed(piece)
                        if cleaner.done:
                            break
        except ModelError as error:
            if rest := cleaner.finish():
                await writer.feed(rest)
            if not writer.messages:
                raise
            # Part of the answer is out (or it ran past a cap): end it visibly rather than leave it hanging, keep
            # what was said, and tell the owner as for any model error.
            await writer.finish(" …")
            await self.owner_notes.model_error(channel, job.speaker, error, cut_short=True)
            return writer.text, writer.messages
        if rest := cleaner.finish():
            await writer.feed(rest)
        await writer.finish()
        if not writer.messages:
            raise ModelError("The model returned an empty answer.")
        return writer.text, writer.messages

    async def _rate(self, incoming: Incoming, speaker: Speaker, text: str) -> int | None:
        memory = conversation.exchange_text(incoming, speaker.name, text)
        try:
            answer = await self.bot.llm.reply(conversation.poignancy_request(memory))
        except ModelError:
            return None
        return conversation.parse_poignancy(answer.text)


async def setup(bot: PersonaHubBot) -> None:
    await bot.add_cog(ConversationCog(bot))
