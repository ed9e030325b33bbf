"""Reactions on a persona's messages as emotional triggers, and ``/mood show|history|patterns|feedback``.

**Reactions.** ``on_raw_reaction_add`` on a persona's message (:func:`bot.services.persona_messages.lookup`)
hands the reaction to the :class:`~bot.services.reactions.ReactionBuffer` with ``add_and_wait``: bursts become
one transaction per batch, and a handler that returned has a committed reaction. The buffer maps the emoji by
the server's map (``/admin reactions``) over the default one and counts one person's emoji on one message once.
The bot's own reactions and other bots' are ignored, and so is 🔄, which asks for another take of a reply
(``bot/cogs/regenerate.py``). The only cache is a bounded LRU of message ids known *not*
to be a persona's, and only for messages older than :data:`NEGATIVE_CACHE_AFTER` (so a message being recorded
right now is never wrongly cached). The buffer lives from ``cog_load`` to ``cog_unload``; ``Bot.close`` unloads
every extension first, so a clean shutdown flushes every accepted reaction before the database closes.

The personas' emoji behaviours fire on the reactions counted (:mod:`bot.services.emotions.reaction_behaviors`);
once a batch is committed the reactions they ask for are added, and a reply template's answer is sent in reply to
the reacted message by :func:`bot.workflows.reaction_answers.answer_reactions` (the first reaction with that emoji
on the message only; at most one answer per persona per channel every 20 seconds, :attr:`EmotionsCog.answer_cooldown`,
kept in memory).

With the behaviour setting ``react_with_mood`` the persona shows its mood as its own reaction on the message
(one emoji per mood octant, :data:`bot.ui.mood.MOOD_EMOJI`), at most once per message per second.

**Commands.** Each handler opens one session for the services, closes it, and only then talks to Discord (SQLite
runs inline with one connection per process). Charts render in a worker thread; the PAD chart is remembered
for the same rounded picture (:class:`bot.ui.charts.ChartCache`).
"""

from __future__ import annotations

import asyncio
import functools
import io
import logging
from collections import OrderedDict
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.clock import utcnow
from bot.cogs._options import actor_of, own_personas, resolve_persona, visible_personas
from bot.core import emotions as core
from bot.core.errors import DomainError
from bot.core.inputs import parse_id
from bot.core.reaction_answers import AnswerCooldown
from bot.core.regeneration import REGENERATE_EMOJI
from bot.discord_io.speaker import PersonaSender
from bot.discord_io.webhooks import DatabaseWebhookStore
from bot.services import emotions, personas
from bot.services import persona_messages as messages
from bot.services.emotions import BatchResult, MoodView, ReactionItem
from bot.services.reactions import BufferClosed, ReactionBuffer
from bot.ui import mood as mood_ui
from bot.ui.charts import ChartCache
from bot.ui.mood_charts import history_chart, pad_chart
from bot.workflows.reaction_answers import answer_reactions

if TYPE_CHECKING:
    from bot.app import PersonaHubBot

log = logging.getLogger(__name__)

NOT_PERSONA_CACHE_SIZE = 10_000
NEGATIVE_CACHE_AFTER = timedelta(minutes=5)
NAME_CACHE_SIZE = 2_000
MOOD_REACTION_DELAY = 1.0
BUFFER_INTERVAL = 0.05
BUFFER_MAX_BATCH = 500
HISTORY_POINTS = 400
PATTERN_DAYS = 30


def _chart_key(view: MoodView) -> tuple[object, ...]:
    """The PAD chart's picture, rounded to what the eye can tell apart (0.02 PAD units, 5 intensity points)."""
    active = tuple((item.type, round(item.intensity / 5)) for item in view.active)
    return (
        tuple(round(v * 50) for v in view.mood),
        tuple(round(v * 50) for v in view.baseline),
        active,
    )


class EmotionsCog(commands.Cog):
    mood = app_commands.Group(name="mood", description="A persona's feelings: mood, history, patterns, feedback.")

    def __init__(self, bot: PersonaHubBot, *, clock: Callable[[], datetime] = utcnow) -> None:
        self.bot = bot
        self.clock = clock
        self.buffer: ReactionBuffer | None = None
        self.accepted = 0  # reactions handed to the buffer since load (a figure for tests and benchmarks)
        self._not_persona: OrderedDict[int, None] = OrderedDict()
        self._names: OrderedDict[int, str] = OrderedDict()
        self._charts: ChartCache[tuple[object, ...]] = ChartCache()
        self._mood_pending: set[int] = set()
        self._lookups: dict[int, asyncio.Future[messages.PersonaMessageView | None]] = {}
        self._lookup_task: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[object]] = set()
        self.sender = PersonaSender(bot, DatabaseWebhookStore(bot.db, lambda: self.clock()))
        self.answer_cooldown = AnswerCooldown()  # reaction answers: one per persona per channel per 20 s, in memory

    async def cog_load(self) -> None:
        self.buffer = ReactionBuffer(
            self.bot.db,
            interval=BUFFER_INTERVAL,
            max_batch=BUFFER_MAX_BATCH,
            clock=lambda: self.clock(),
            after_commit=self._behavior_reactions,
        )

    async def _behavior_reactions(self, items: Sequence[ReactionItem], result: BatchResult) -> None:
        """What the personas' emoji behaviours asked for, once the batch is committed: their reactions, added now,
        and their answers, sent in a task of their own (the next batch does not wait for Discord)."""
        if result.behavior_answers:
            answers = [result.behavior_answers[index] for index in sorted(result.behavior_answers)]
            task = asyncio.get_running_loop().create_task(
                answer_reactions(self.bot, self.bot.db, self.sender, self.answer_cooldown, answers, now=self.clock())
            )
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        for index, emojis in result.behavior_reactions.items():
            item = items[index]
            channel = self.bot.get_channel(item.channel_id) if item.channel_id else None
            if not isinstance(channel, discord.TextChannel | discord.Thread):
                continue
            message = channel.get_partial_message(item.message_id)
            for emoji in emojis:
                try:
                    await message.add_reaction(emoji)
                except discord.HTTPException:
                    log.info("could not react with %s on %s", emoji, item.message_id)

    async def cog_unload(self) -> None:
        buffer, self.buffer = self.buffer, None
        if buffer is not None:
            await buffer.close()
            if buffer.dropped:
                log.error("%d reactions could not be written", buffer.dropped)
        for task in list(self._tasks):
            task.cancel()

    # ------------------------------------------------------------------------------------------------ reactions

    def _from_other_bot(self, payload: discord.RawReactionActionEvent) -> bool:
        me = self.bot.user
        if me is not None and payload.user_id == me.id:
            return True
        if payload.member is not None:
            return payload.member.bot
        user = self.bot.get_user(payload.user_id)
        return bool(user is not None and user.bot)

    def _remember_not_persona(self, message_id: int) -> None:
        if self.clock() - discord.utils.snowflake_time(message_id) < NEGATIVE_CACHE_AFTER:
            return
        self._not_persona[message_id] = None
        while len(self._not_persona) > NOT_PERSONA_CACHE_SIZE:
            self._not_persona.popitem(last=False)

    def _remember_name(self, payload: discord.RawReactionActionEvent) -> None:
        if payload.member is None:
            return
        self._names[payload.user_id] = payload.member.display_name
        self._names.move_to_end(payload.user_id)
        while len(self._names) > NAME_CACHE_SIZE:
            self._names.popitem(last=False)

    def _name_of(self, payload: discord.RawReactionActionEvent) -> str | None:
        """Who reacted, as shown in the server (a reply template's ``author``), or None when unknown."""
        if payload.member is not None:
            return payload.member.display_name
        user = self.bot.get_user(payload.user_id)
        return self._names.get(payload.user_id) or (user.display_name if user is not None else None)

    async def _target(self, message_id: int) -> messages.PersonaMessageView | None:
        """The persona message ``message_id``, or None. Lookups asked for at the same moment share one query
        (a burst on one message asks once): each waits for a query made after it asked, so nothing is stale."""
        if message_id in self._not_persona:
            return None
        waiter = self._lookups.get(message_id)
        if waiter is None:
            waiter = asyncio.get_running_loop().create_future()
            self._lookups[message_id] = waiter
            if self._lookup_task is None:
                self._lookup_task = asyncio.get_running_loop().create_task(self._run_lookups())
        return await asyncio.shield(waiter)

    async def _run_lookups(self) -> None:
        """Answer every lookup waiting now with one query, until none waits."""
        try:
            while self._lookups:
                await asyncio.sleep(0)  # handlers already scheduled in this loop turn join the batch
                pending, self._lookups = self._lookups, {}
                try:
                    async with self.bot.db.session() as session:
                        found = await messages.lookup_many(session, pending)
                except Exception as error:
                    for waiter in pending.values():
                        if not waiter.done():
                            waiter.set_exception(error)
                    continue
                for message_id, waiter in pending.items():
                    target = found.get(message_id)
                    if target is None:
                        self._remember_not_persona(message_id)
                    if not waiter.done():
                        waiter.set_result(target)
        finally:
            self._lookup_task = None

    @commands.Cog.listener()
    async def on_raw_reaction_add(self, payload: discord.RawReactionActionEvent) -> None:
        if self._from_other_bot(payload) or str(payload.emoji) == REGENERATE_EMOJI:
            return  # 🔄 asks for another take (bot/cogs/regenerate.py): never an emotional trigger
        try:
            target = await self._target(payload.message_id)
        except Exception:
            log.exception("could not tell whether message %s is a persona's", payload.message_id)
            return
        if target is None:
            return
        self._remember_name(payload)
        buffer = self.buffer
        if buffer is None:
            return
        item = ReactionItem(
            persona_id=target.persona_id,
            user_id=payload.user_id,
            message_id=payload.message_id,
            emoji=str(payload.emoji),
            guild_id=payload.guild_id,
            channel_id=payload.channel_id,
            at=self.clock(),
            author_name=self._name_of(payload),
        )
        self.accepted += 1  # add_and_wait accepts the item before its first suspension, or raises BufferClosed
        try:
            outcome = await buffer.add_and_wait(item)
        except BufferClosed:
            self.accepted -= 1
            log.info("reaction on %s arrived while shutting down; not counted", payload.message_id)
            return
        except Exception:
            log.exception("reaction on persona message %s could not be recorded", payload.message_id)
            return
        if outcome == "applied" and target.react_with_mood:
            self._schedule_mood_reaction(target)

    @commands.Cog.listener()
    async def on_raw_reaction_remove(self, payload: discord.RawReactionActionEvent) -> None:
        """Nothing changes (a felt emotion is not un-felt), and the kept event stops a re-add from counting."""
        if self._from_other_bot(payload) or str(payload.emoji) == REGENERATE_EMOJI:
            return
        target = await self._target(payload.message_id)
        if target is None:
            return
        async with self.bot.db.session() as session:
            removal = await emotions.remove_reaction(
                session,
                target.persona_id,
                user_id=payload.user_id,
                message_id=payload.message_id,
                emoji=str(payload.emoji),
            )
        log.debug("reaction removed from %s (counted: %s)", payload.message_id, removal.counted)

    def _schedule_mood_reaction(self, target: messages.PersonaMessageView) -> None:
        if target.message_id in self._mood_pending:
            return
        self._mood_pending.add(target.message_id)
        task = asyncio.get_running_loop().create_task(self._show_mood_reaction(target))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _show_mood_reaction(self, target: messages.PersonaMessageView) -> None:
        """After a short pause (a burst shares one update): the persona's mood emoji on its message, replacing
        the one it showed before."""
        try:
            await asyncio.sleep(MOOD_REACTION_DELAY)
            self._mood_pending.discard(target.message_id)
            async with self.bot.db.session() as session:
                view = await emotions.current_state(session, target.persona_id, self.clock())
            wanted = mood_ui.mood_emoji(view.mood_name)
            channel = self.bot.get_partial_messageable(target.channel_id, guild_id=target.guild_id)
            message = await channel.fetch_message(target.message_id)
            me = self.bot.user
            for reaction in message.reactions:
                if reaction.me and str(reaction.emoji) != wanted and str(reaction.emoji) in mood_ui.MOOD_EMOJI.values():
                    if me is not None:
                        await message.remove_reaction(reaction.emoji, me)
            if not any(r.me and str(r.emoji) == wanted for r in message.reactions):
                await message.add_reaction(wanted)
        except asyncio.CancelledError:
            raise
        except (discord.HTTPException, DomainError) as error:
            log.info("could not show the mood on message %s: %s", target.message_id, error)
        finally:
            self._mood_pending.discard(target.message_id)

    # ------------------------------------------------------------------------------------------------ helpers

    def _who(self, user_id: int | None) -> str | None:
        if user_id is None:
            return None
        if user_id in self._names:
            return self._names[user_id]
        user = self.bot.get_user(user_id)
        return user.display_name if user is not None else f"user …{str(user_id)[-4:]}"

    async def event_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        chosen = getattr(interaction.namespace, "persona", None)
        if not chosen:
            return []
        try:
            async with self.bot.db.session() as session:
                persona_id = await resolve_persona(session, interaction, str(chosen))
                found = await emotions.recent_events(session, actor_of(interaction), persona_id, text=current)
        except DomainError:
            return []
        return [app_commands.Choice(name=mood_ui.event_label(e, self._who(e.user_id)), value=str(e.id)) for e in found]

    async def _pad_png(self, view: MoodView) -> bytes:
        return await self._charts.draw(
            _chart_key(view), functools.partial(pad_chart, view.mood, view.baseline, view.active)
        )

    # ------------------------------------------------------------------------------------------------ commands

    @mood.command(name="show", description="A persona's mood now: its emotions, why, and a chart.")
    @app_commands.describe(persona="The persona")
    @app_commands.autocomplete(persona=visible_personas)
    async def show(self, interaction: discord.Interaction, persona: str) -> None:
        actor = actor_of(interaction)
        async with self.bot.db.session() as session:
            persona_id = await resolve_persona(session, interaction, persona)
            record = await emotions.mood_access(session, actor, persona_id, owner_only=False)
            view = await emotions.current_state(session, persona_id, self.clock())
        embed = mood_ui.mood_embed(record.name, view)
        cached = self._charts.get(_chart_key(view))
        if cached is not None:
            await interaction.response.send_message(
                embed=embed, file=discord.File(io.BytesIO(cached), filename=mood_ui.PAD_CHART_FILENAME), ephemeral=True
            )
            return
        # A new drawing takes ~100 ms: answer with the words now, and attach the picture when it is ready.
        await interaction.response.send_message(embed=embed, ephemeral=True)
        png = await self._pad_png(view)
        await interaction.edit_original_response(
            embed=embed, attachments=[discord.File(io.BytesIO(png), filename=mood_ui.PAD_CHART_FILENAME)]
        )

    @mood.command(name="history", description="Your persona's emotions and mood over time (a chart).")
    @app_commands.describe(persona="Your persona", days="How many days back (default 7)")
    @app_commands.autocomplete(persona=own_personas)
    async def history(
        self,
        interaction: discord.Interaction,
        persona: str,
        days: app_commands.Range[int, 1, 365] = 7,
    ) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        now = self.clock()
        async with self.bot.db.session() as session:
            persona_id = await resolve_persona(session, interaction, persona)
            record = await emotions.mood_access(session, actor_of(interaction), persona_id, owner_only=True)
            view = await emotions.history(
                session, persona_id, now - timedelta(days=days), now, max_points=HISTORY_POINTS
            )
        png = await asyncio.to_thread(history_chart, view)
        await interaction.followup.send(
            embed=mood_ui.history_embed(record.name, view, days),
            file=discord.File(io.BytesIO(png), filename=mood_ui.HISTORY_CHART_FILENAME),
            ephemeral=True,
        )

    @mood.command(name="patterns", description="Regularities in your persona's emotions, with advice.")
    @app_commands.describe(persona="Your persona")
    @app_commands.autocomplete(persona=own_personas)
    async def patterns(self, interaction: discord.Interaction, persona: str) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        async with self.bot.db.session() as session:
            persona_id = await resolve_persona(session, interaction, persona)
            record = await emotions.mood_access(session, actor_of(interaction), persona_id, owner_only=True)
            found = await emotions.patterns(session, persona_id, self.clock(), days=PATTERN_DAYS)
        await interaction.followup.send(embed=mood_ui.patterns_embed(record.name, found, PATTERN_DAYS), ephemeral=True)

    @mood.command(name="feedback", description="Teach your persona whether its reaction to an event was right.")
    @app_commands.describe(
        persona="Your persona",
        event="The event (pick from the list)",
        verdict="Was the response right?",
        should_be="The emotion it should have felt (with 'should have been')",
    )
    @app_commands.autocomplete(persona=own_personas, event=event_autocomplete)
    @app_commands.choices(
        verdict=[app_commands.Choice(name=label, value=value) for value, (label, _, _) in mood_ui.VERDICTS.items()],
        should_be=[app_commands.Choice(name=kind, value=kind) for kind in core.emotion_types()],
    )
    async def feedback(
        self,
        interaction: discord.Interaction,
        persona: str,
        event: str,
        verdict: app_commands.Choice[str],
        should_be: app_commands.Choice[str] | None = None,
    ) -> None:
        event_id = parse_id(event)
        if event_id is None:
            raise DomainError("Pick the event from the list (start typing to filter it).")
        if verdict.value not in mood_ui.VERDICTS:
            raise DomainError("Choose a verdict from the list.")
        _, kind, adjustment = mood_ui.VERDICTS[verdict.value]
        target = should_be.value if should_be is not None else None
        if verdict.value == "should_be" and target is None:
            raise DomainError("Say which emotion it should have been (the should_be option).")
        if kind == "right" and target is not None:
            raise DomainError("A right response has no other emotion it should have been; leave should_be empty.")
        actor = actor_of(interaction)
        async with self.bot.db.transaction() as session:
            persona_id = await resolve_persona(session, interaction, persona)
            record = await personas.get(session, persona_id, viewer=actor)
            if kind is None:
                result = await emotions.withdraw_feedback(
                    session, actor.user_id, persona_id, event_id, now=self.clock()
                )
            else:
                result = await emotions.feedback(
                    session, actor.user_id, persona_id, event_id, kind, adjustment, target, now=self.clock()
                )
        await interaction.response.send_message(mood_ui.feedback_message(record.name, result), ephemeral=True)


async def setup(bot: PersonaHubBot) -> None:
    await bot.add_cog(EmotionsCog(bot))
