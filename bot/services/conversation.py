"""Chat: who answers a message, the reply's context (the prompt), and what an exchange leaves behind.

The cog calls, with no session held across Discord or the model (SQLite runs inline, one connection per process):

1. :func:`cast` (a read): the personas that speak where the message was written (:func:`active_personas`, with
   what the prompt needs of each) and their custom behaviours. Nothing else happens in a channel without one. The
   cog keeps copies, dropped whenever a table in :data:`CAST_TABLES` changes (``bot/db/changes.py``).
2. :func:`plan` (reads only; on PostgreSQL outside a transaction, ``Database.reads``): for each persona,
   :func:`bot.core.conversation.should_reply`, then :func:`~bot.core.conversation.choose_turns`; for each persona
   that speaks, the prompt context (identity, traits, mood and active emotions, behaviour settings, relationships
   with the people and personas present, memories retrieved by :func:`bot.services.memories.retrieve` (only read
   here), custom behaviour instructions, the recent channel history the cog kept) rendered into a
   :class:`~bot.llm.base.ChatRequest`. Custom behaviours' reactions and emotional triggers are returned; the cog
   adds the reactions and applies the triggers (:func:`apply_behavior_triggers`, a transaction of its own, only
   when there are some).
3. The cog asks the model (or uses a behaviour's reply template) and sends the reply. A persona already replying
   in the channel does not answer now; a message that addressed it directly is in the plan's ``waiting``, and when
   its reply is done :func:`plan_waiting` plans one turn answering every message that waited.
4. :func:`record` (transaction 2): the persona's messages, the memories the reply drew on marked recalled (the
   plan's :class:`~bot.services.memories.Recall`: a write kept off the way to the model), the interaction count,
   the relationship with the author, and the exchange as a memory, only when the author consents
   (:func:`bot.services.consent.decide`, asked again here, so a consent revoked while the model was thinking is
   honoured). Bots and personas are never remembered.

**Importance** of a captured exchange (1..10, the Generative Agents scale). By default :func:`heuristic_importance`:
2, plus 2 when the persona was addressed directly (mention, name or reply), plus 1 for a message of 80 characters
or more and 1 more from 240, plus 2 when the author tells something about themselves ("my name is", "I love", "my
sister", ...), plus 2 for a life event (birthday, wedding, new job, diagnosis, ...), plus 1 when asked to remember
("remember", "don't forget", "important"), plus 1 for strong feeling (an exclamation mark, "love", "hate",
"scared", ...), at most 10. When configured, the model rates it instead (:func:`poignancy_request` and
:func:`parse_poignancy`: Park et al.'s poignancy question); an unusable answer falls back to the heuristic.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core import behaviors as behavior_rules
from bot.core.conversation import TurnCandidate, addressed_by_name, choose_turns, should_reply
from bot.core.errors import DomainError, NotFound
from bot.core.personas import BehaviorSettings, PrivacySettings
from bot.db import models
from bot.llm.base import ChatMessage, ChatRequest
from bot.llm.tools import RecalledMemory, ToolContext, ToolRegistry, default_registry
from bot.services import (
    achievements,
    behaviors,
    consent,
    emotions,
    memories,
    persona_messages,
    relationships,
    subscriptions,
)
from bot.services.emotions import MoodView
from bot.templating import behavior_templates
from bot.templating.prompts import (
    FeltEmotion,
    HistoryLine,
    MemoryNote,
    PersonaProfile,
    PersonaTie,
    PersonPresent,
    PromptContext,
    build_request,
)

if TYPE_CHECKING:
    from bot.db.engine import Database

MEMORY_K = 6  # memories retrieved into each prompt
MAX_QUERY_WORDS = 6  # words of a message that memory search looks for
MAX_SPEAKERS = 2  # personas answering one message
HISTORY_TOKEN_BUDGET = 1200
MAX_MEMORY_QUOTE = 1500  # characters of each side of an exchange kept in its memory
REPLY_MAX_TOKENS = 600
DIRECT_REASONS = ("mentioned", "replied to", "addressed by name")
_P = models.Persona


# ----------------------------------------------------------------------------------------------------
# Plain data in and out


@dataclass(frozen=True)
class Speaker:
    """A persona that speaks in the message's channel."""

    persona_id: int
    owner_id: int
    name: str
    avatar_url: str | None
    behavior: BehaviorSettings
    profile: PersonaProfile  # who it is, for the prompt
    plugins: tuple[str, ...] = ()


@dataclass(frozen=True)
class Cast:
    """Who speaks in a channel and the custom behaviours each follows: what every message there needs first, and
    rarely changes, so the cog keeps a copy (:data:`CAST_TABLES`)."""

    speakers: tuple[Speaker, ...] = ()
    behaviors: Mapping[int, Sequence[behavior_rules.Behavior]] = field(default_factory=dict)
    memory_weights: Mapping[int, tuple[float, float, float]] = field(default_factory=dict)
    with_tiers: frozenset[int] = frozenset()  # personas offering subscription tiers (the others give no perks)


# The tables a Cast is read from: a change to any of them drops the cog's copies (bot/db/changes.py).
CAST_TABLES = ("channel_bindings", "personas", "custom_behaviors", "memory_configs", "subscription_tiers")


@dataclass(frozen=True)
class ChannelLine:
    """A message earlier in the channel (oldest first), as the cog kept it."""

    author_id: int
    author_name: str
    content: str
    persona_id: int | None = None  # a persona's message
    is_bot: bool = False
    message_id: int | None = None


@dataclass(frozen=True)
class Incoming:
    """The message being answered, as plain data."""

    message_id: int
    guild_id: int
    channel_id: int  # where it was written (a thread or a channel)
    author_id: int
    author_name: str
    content: str
    created_at: datetime
    parent_id: int | None = None  # the thread's channel
    author_is_bot: bool = False
    author_persona_id: int | None = None  # a persona of this bot wrote it
    mentions_bot: bool = False
    reply_to_message_id: int | None = None
    channel_name: str | None = None


@dataclass(frozen=True)
class ReplyJob:
    """One persona's reply to plan: the request for the model, or a behaviour's fixed reply."""

    speaker: Speaker
    reason: str
    request: ChatRequest
    tool_names: tuple[str, ...] = ()
    template_reply: str | None = None
    timezone: str = "UTC"
    recall: memories.Recall | None = None  # the retrieved memories, marked recalled when the exchange is recorded
    earlier: tuple[Incoming, ...] = ()  # messages that waited for this turn, answered with the one planned for

    @property
    def addressed(self) -> bool:
        """Whether the persona was addressed directly (mentioned, named or replied to)."""
        return self.reason in DIRECT_REASONS


@dataclass(frozen=True)
class BehaviorSideEffects:
    """What a persona's matching behaviours do to the message besides the reply: reactions for the cog to add,
    emotional triggers applied, and problems (reply templates that failed) for logs."""

    persona_id: int
    reactions: tuple[str, ...] = ()
    emotion_triggers: tuple[str, ...] = ()
    problems: tuple[str, ...] = ()
    trigger_behaviors: tuple[str, ...] = ()  # which behaviour fired each of emotion_triggers (by name)


@dataclass(frozen=True)
class Plan:
    """Who answers (in speaking order) and every decision taken, by persona id (for logs and tests)."""

    jobs: tuple[ReplyJob, ...] = ()
    decisions: Mapping[int, str] = field(default_factory=dict)
    effects: tuple[BehaviorSideEffects, ...] = ()
    # Personas addressed directly while busy here, with why they would answer: the message waits for their turn.
    waiting: Mapping[int, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Recorded:
    """What :func:`record` stored."""

    persona_messages: int
    memory_id: int | None
    consent_reason: str | None
    affinity: float | None


# ----------------------------------------------------------------------------------------------------
# Who speaks here


async def active_personas(session: AsyncSession, channel_id: int, parent_id: int | None = None) -> list[Speaker]:
    """The active personas bound to ``channel_id``, and, in a thread, those bound to its channel whose behaviour
    settings say ``reply_in_threads``. Oldest binding first."""
    binding = models.ChannelBinding
    where = binding.channel_id == channel_id
    if parent_id is not None:
        where = or_(where, binding.channel_id == parent_id)
    query = (
        select(_P, binding.channel_id)
        .join(binding, binding.persona_id == _P.id)
        .where(where, _P.is_active.is_(True), _P.status == "active")  # type: ignore[attr-defined]
        .order_by(binding.id)
    )
    out: dict[int, Speaker] = {}
    for row, bound_to in (await session.execute(query)).all():
        pid = row.id
        if pid in out:
            continue
        try:
            behavior = BehaviorSettings.from_dict(row.behavior_settings)
        except DomainError:
            behavior = BehaviorSettings()
        if bound_to != channel_id and not behavior.reply_in_threads:
            continue
        out[pid] = Speaker(
            pid, row.owner_id, row.name, row.avatar_url, behavior, _profile(row, behavior), tuple(row.plugins or ())
        )
    return list(out.values())


async def cast(session: AsyncSession, channel_id: int, parent_id: int | None = None) -> Cast:
    """:func:`active_personas` with their enabled behaviours, retrieval weights and whether they offer
    subscription tiers (nothing more is read when nobody speaks here)."""
    speakers = await active_personas(session, channel_id, parent_id)
    if not speakers:
        return Cast()
    ids = [s.persona_id for s in speakers]
    rules = await behaviors.enabled_for(session, ids)
    return Cast(
        tuple(speakers),
        {pid: tuple(found) for pid, found in rules.items()},
        await memories.retrieval_weights(session, ids),
        await subscriptions.personas_with_tiers(session, ids),
    )


async def last_replies(session: AsyncSession, channel_id: int, persona_ids: Sequence[int]) -> dict[int, datetime]:
    """When each persona last spoke in ``channel_id`` (personas that never did are left out)."""
    if not persona_ids:
        return {}
    message = models.PersonaMessage
    query = (
        select(message.persona_id, func.max(message.created_at))
        .where(message.channel_id == channel_id, message.persona_id.in_(list(persona_ids)))  # type: ignore[attr-defined]
        .group_by(message.persona_id)
    )
    out: dict[int, datetime] = {}
    for pid, when in (await session.execute(query)).all():
        if when is not None:
            out[int(pid)] = _aware(when)
    return out


def _aware(value: Any) -> datetime:
    """A stored time as an aware UTC datetime (aggregates come back naive, or as text, on SQLite)."""
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


# ----------------------------------------------------------------------------------------------------
# Planning (transaction 1)


def _profile(row: models.Persona, behavior: BehaviorSettings) -> PersonaProfile:
    from bot.core.traits import ALL_TRAITS

    custom: list[tuple[str, float]] = []
    for item in row.custom_traits or []:
        if isinstance(item, Mapping) and isinstance(item.get("name"), str):
            try:
                custom.append((item["name"], float(item.get("value", 50))))
            except (TypeError, ValueError):
                continue
    assert row.id is not None
    return PersonaProfile(
        id=row.id,
        name=row.name,
        description=row.description or "",
        traits={name: float(getattr(row, name)) for name in ALL_TRAITS},
        custom_traits=tuple(custom),
        behavior=behavior,
    )


def _people(
    incoming: Incoming, history: Sequence[ChannelLine], ties: Mapping[int, relationships.PersonTie]
) -> list[PersonPresent]:
    names: dict[int, str] = {}
    for line in history:
        if line.persona_id is None and not line.is_bot:
            names[line.author_id] = line.author_name
    if incoming.author_persona_id is None and not incoming.author_is_bot:
        names.pop(incoming.author_id, None)
        names = {incoming.author_id: incoming.author_name, **names}  # the author first
    out = []
    for user_id, name in list(names.items())[:8]:
        tie = ties.get(user_id)
        out.append(
            PersonPresent(
                display_name=name,
                messages_exchanged=tie.messages_exchanged if tie else 0,
                affinity=tie.affinity if tie else 0.0,
            )
        )
    return out


def _human_ids(incoming: Incoming, history: Sequence[ChannelLine]) -> list[int]:
    ids = [line.author_id for line in history if line.persona_id is None and not line.is_bot]
    if incoming.author_persona_id is None and not incoming.author_is_bot:
        ids.append(incoming.author_id)
    return ids


def _speaker_decision(
    speaker: Speaker,
    incoming: Incoming,
    *,
    replied_persona: int | None,
    exchange_depth: int,
    random_value: float,
    now: datetime,
    last_reply_at: datetime | None,
    answer_bots: bool,
) -> tuple[bool, str, bool]:
    """(reply?, why, addressed directly?)"""
    named = addressed_by_name(incoming.content, speaker.name)
    replied_to = replied_persona == speaker.persona_id
    decision = should_reply(
        speaker.behavior,
        mentioned=incoming.mentions_bot,
        named=named,
        replied_to=replied_to,
        author_is_bot=incoming.author_is_bot,
        author_is_self=incoming.author_persona_id == speaker.persona_id,
        exchange_depth=exchange_depth,
        random_value=random_value,
        now=now,
        last_reply_at=last_reply_at,
        author_is_persona=incoming.author_persona_id is not None,
        reply_to_bots=answer_bots,
    )
    return decision.reply, decision.reason, decision.reason in DIRECT_REASONS


async def plan(
    session: AsyncSession,
    incoming: Incoming,
    speakers: Sequence[Speaker],
    *,
    history: Sequence[ChannelLine],
    exchange_depth: int,
    random_value: float,
    now: datetime,
    recent_replies: Mapping[int, datetime] | None = None,
    busy: frozenset[int] = frozenset(),
    tools: ToolRegistry | None = None,
    encryption_key: str | None = None,
    supports_tools: bool = True,
    cast: Cast | None = None,
    reader: Callable[[], AbstractAsyncContextManager[AsyncSession]] | None = None,
) -> Plan:
    """Decide who answers ``incoming`` and build each reply's request (module docstring, step 2).

    ``history`` is the channel before the message (oldest first); ``exchange_depth`` the persona messages in a row
    that led to it; ``random_value`` a draw from [0, 1) for chattiness; ``recent_replies`` when the cog last started
    a reply per persona (newer than the stored messages while a reply is on its way); ``busy`` personas already
    replying here: they do not answer now, and when the message addresses one of them directly it is in the plan's
    ``waiting`` (the cog keeps it for :func:`plan_waiting`). ``cast`` is what the caller knows of the speakers
    (:func:`cast`: behaviours, retrieval weights, subscription tiers); without it those are read. A persona
    deleted since its speaker was read is skipped. ``reader`` opens another read session (``Database.reads``, where
    reads can run side by side: not on SQLite): memory searches then run on it while the rest is read on
    ``session``."""
    if not speakers:
        return Plan()
    registry = tools or default_registry()
    ids = [s.persona_id for s in speakers]
    recent = dict(recent_replies or {})
    # What the cog saw itself is at least as new as what is stored: ask the database only about the others.
    stored = await last_replies(session, incoming.channel_id, [pid for pid in ids if pid not in recent])
    replied_persona = None
    if incoming.reply_to_message_id is not None:
        replied_persona = await persona_messages.persona_for_message(session, incoming.reply_to_message_id)
    answer_bots = False
    if incoming.author_is_bot and incoming.author_persona_id is None:
        settings = await session.get(models.GuildSettings, incoming.guild_id)
        answer_bots = bool(settings is not None and settings.answer_bots)

    perks = {}
    tiered = ids if cast is None else [pid for pid in ids if pid in cast.with_tiers]
    if tiered and not incoming.author_is_bot and incoming.author_persona_id is None:
        perks = await subscriptions.perks_by_persona(session, tiered, incoming.author_id, now=now)

    decisions: dict[int, str] = {}
    waiting: dict[int, str] = {}
    candidates: list[TurnCandidate] = []
    for speaker in speakers:
        pid = speaker.persona_id
        times = [t for t in (stored.get(pid), recent.get(pid)) if t is not None]
        last = max(times) if times else None
        # A subscriber with priority replies is answered even during the persona's cooldown, and first.
        priority = bool(pid in perks and perks[pid].priority_replies)
        reply, reason, addressed = _speaker_decision(
            speaker,
            incoming,
            replied_persona=replied_persona,
            exchange_depth=exchange_depth,
            random_value=random_value,
            now=now,
            last_reply_at=None if priority else last,
            answer_bots=answer_bots,
        )
        decisions[pid] = reason
        if pid in busy:
            decisions[pid] = "already replying here"
            if reply and addressed:
                waiting[pid] = reason
        elif reply:
            candidates.append(TurnCandidate(pid, addressed, last, priority))
    chosen = choose_turns(candidates, seed=incoming.message_id, max_speakers=MAX_SPEAKERS)
    for pid in ids:
        if pid in decisions and pid not in chosen and any(c.persona_id == pid for c in candidates):
            decisions[pid] = "another persona's turn"

    # Behaviours of every persona here: reactions and emotional triggers apply even when it does not speak.
    rules_by_persona = cast.behaviors if cast is not None else await behaviors.enabled_for(session, ids)
    by_id = {s.persona_id: s for s in speakers}
    jobs: list[ReplyJob] = []
    effects: list[BehaviorSideEffects] = []
    human_ids = _human_ids(incoming, history)
    weights = cast.memory_weights if cast is not None else {}
    # With a second connection to read on, each speaker's memory search (the longest read) runs while its mood and
    # relationships are read here.
    early: dict[int, asyncio.Task[list[memories.RetrievedMemory]]] = {}
    if reader is not None:
        for pid in chosen:
            query = retrieval_query(incoming.content, by_id[pid].name)
            if query:
                early[pid] = asyncio.create_task(
                    _retrieve_apart(reader, pid, query, now=now, key=encryption_key, weights=weights.get(pid))
                )
    try:
        for pid in ids:
            speaker = by_id[pid]
            rules = rules_by_persona.get(pid, ())
            speaking = pid in chosen
            if not speaking and not any(
                isinstance(r.action, behavior_rules.ReactionAction | behavior_rules.EmotionAction) for r in rules
            ):
                continue
            state: MoodView | None = None
            if speaking or any(isinstance(r.trigger, behavior_rules.EmotionTrigger) for r in rules):
                try:
                    state = await emotions.current_state(session, pid, now)
                except NotFound:
                    continue  # deleted since its speaker was read
            felt = behaviors.active_intensities(state) if state is not None else {}
            matched = behavior_rules.matching_behaviors(rules, incoming.content, None, felt, now)
            variables = behavior_templates.template_variables(
                persona_name=speaker.name,
                author_name=incoming.author_name,
                mood=state.mood_words if state is not None else "neutral",
                now=now,
            )
            effect = behavior_templates.plan_effects(matched, variables)
            if effect.reactions or effect.emotion_triggers or effect.problems:
                effects.append(
                    BehaviorSideEffects(
                        pid, effect.reactions, effect.emotion_triggers, effect.problems, effect.trigger_behaviors
                    )
                )
            if not speaking or state is None:
                continue
            jobs.append(
                await _job(
                    session,
                    speaker,
                    incoming,
                    history,
                    state=state,
                    others=[s for s in speakers if s.persona_id != pid],
                    human_ids=human_ids,
                    instructions=effect.instructions,
                    template_reply=effect.reply,
                    reason=decisions[pid],
                    now=now,
                    registry=registry,
                    encryption_key=encryption_key,
                    supports_tools=supports_tools,
                    weights=weights.get(pid),
                    retrieval=early.get(pid),
                )
            )
    finally:
        for task in early.values():
            task.cancel()
        await asyncio.gather(*early.values(), return_exceptions=True)
    order = {pid: index for index, pid in enumerate(chosen)}
    jobs.sort(key=lambda job: order[job.speaker.persona_id])
    return Plan(tuple(jobs), decisions, tuple(effects), waiting)


async def plan_waiting(
    session: AsyncSession,
    speaker: Speaker,
    waiting: Sequence[Incoming],
    *,
    reason: str,
    cast: Cast,
    history: Sequence[ChannelLine],
    now: datetime,
    tools: ToolRegistry | None = None,
    encryption_key: str | None = None,
    supports_tools: bool = True,
) -> ReplyJob | None:
    """The reply of a persona to the messages that waited while it spoke in their channel (``waiting``, oldest
    first; each was addressed to it, :func:`plan`'s ``waiting``): one turn that answers them all, planned for the
    newest, the others in the job's ``earlier``. ``reason`` is why the newest was to be answered; ``history`` the
    channel's recent messages without them. Their behaviours' reactions and emotional triggers were applied when each
    arrived (:func:`plan`): only instructions, and a reply template when a single message waited, apply here.
    None when the persona was deleted meanwhile."""
    pid = speaker.persona_id
    newest = waiting[-1]
    try:
        state = await emotions.current_state(session, pid, now)
    except NotFound:
        return None
    matched = behavior_rules.matching_behaviors(
        cast.behaviors.get(pid, ()), newest.content, None, behaviors.active_intensities(state), now
    )
    variables = behavior_templates.template_variables(
        persona_name=speaker.name, author_name=newest.author_name, mood=state.mood_words, now=now
    )
    effect = behavior_templates.plan_effects(matched, variables)
    earlier = tuple(waiting[:-1])
    instructions = list(effect.instructions)
    if earlier:
        instructions.append(
            "Several messages came for you while you were answering someone: reply to each of them, by name, in "
            "this one message."
        )
    return await _job(
        session,
        speaker,
        newest,
        history,
        state=state,
        others=[s for s in cast.speakers if s.persona_id != pid],
        human_ids=_human_ids(newest, [*history, *(_as_line(m) for m in earlier)]),
        instructions=instructions,
        template_reply=effect.reply if not earlier else None,
        reason=reason,
        now=now,
        registry=tools or default_registry(),
        encryption_key=encryption_key,
        supports_tools=supports_tools,
        weights=cast.memory_weights.get(pid),
        earlier=earlier,
    )


def _as_line(message: Incoming) -> ChannelLine:
    return ChannelLine(
        message.author_id,
        message.author_name,
        message.content,
        message.author_persona_id,
        message.author_is_bot,
        message.message_id,
    )


async def _retrieve_apart(
    reader: Callable[[], AbstractAsyncContextManager[AsyncSession]],
    persona_id: int,
    query: str,
    *,
    now: datetime,
    key: str | None,
    weights: tuple[float, float, float] | None,
) -> list[memories.RetrievedMemory]:
    async with reader() as session:
        return await _retrieve(session, persona_id, query, now=now, key=key, weights=weights)


async def _retrieve(
    session: AsyncSession,
    persona_id: int,
    query: str,
    *,
    now: datetime,
    key: str | None,
    weights: tuple[float, float, float] | None,
) -> list[memories.RetrievedMemory]:
    """The memories a reply's prompt gets (read only: the recall is applied when the exchange is recorded)."""
    return await memories.retrieve(
        session, persona_id, query, k=MEMORY_K, now=now, encryption_key=key, mark_accessed=False, weights=weights
    )


async def apply_behavior_triggers(
    session: AsyncSession, incoming: Incoming, effects: Sequence[BehaviorSideEffects], *, now: datetime
) -> int:
    """Apply the emotional triggers that custom behaviours fired on ``incoming`` (the plan's ``effects``: the
    plan only reads, so it can run outside a transaction); returns how many were applied. The reply's prompt holds
    the mood from before them, as a person's answer comes before the feeling settles."""
    applied = 0
    asked = {(incoming.author_id, incoming.guild_id, effect.persona_id) for effect in effects}
    decisions = await consent.decide_many(session, asked) if effects else {}
    for effect in effects:
        decision = decisions.get((incoming.author_id, incoming.guild_id, effect.persona_id))
        # A person the persona may not remember is not named in its emotional history.
        author = incoming.author_id if decision is not None and decision.allowed else None
        names = effect.trigger_behaviors
        for index, trigger in enumerate(effect.emotion_triggers):
            # Which behaviour, never which message: the message's id would name its author's words in the persona's
            # emotional history, beyond the reach of the anonymous path and of forget-me.
            which = f"custom behaviour '{names[index]}'" if index < len(names) else "a custom behaviour"
            await emotions.apply_trigger(
                session,
                effect.persona_id,
                trigger,
                now=now,
                user_id=author,
                channel_id=incoming.channel_id,
                message_id=None,
                context=f"{which} on a message",
            )
            applied += 1
    return applied


async def _job(
    session: AsyncSession,
    speaker: Speaker,
    incoming: Incoming,
    history: Sequence[ChannelLine],
    *,
    state: MoodView,
    others: Sequence[Speaker],
    human_ids: Sequence[int],
    instructions: Sequence[str],
    template_reply: str | None,
    reason: str,
    now: datetime,
    registry: ToolRegistry,
    encryption_key: str | None,
    supports_tools: bool,
    weights: tuple[float, float, float] | None,
    retrieval: asyncio.Task[list[memories.RetrievedMemory]] | None = None,
    earlier: tuple[Incoming, ...] = (),
) -> ReplyJob:
    pid = speaker.persona_id
    ties = await relationships.people(session, pid, human_ids)
    linked = await relationships.links(session, pid, [o.persona_id for o in others])
    found = []
    query = retrieval_query(" ".join([*(m.content for m in earlier), incoming.content]), speaker.name)
    if template_reply is None and retrieval is not None:
        found = await retrieval
    elif template_reply is None and query:
        found = await _retrieve(session, pid, query, now=now, key=encryption_key, weights=weights)
    notes = [MemoryNote(r.memory.content, r.memory.created_at, r.memory.pinned) for r in found if r.memory.readable]
    try:
        offered = registry.for_plugins(list(speaker.plugins))
    except DomainError:
        offered = ToolRegistry()
    tool_names = offered.names() if supports_tools else ()
    context = PromptContext(
        persona=speaker.profile,
        now=now,
        author=incoming.author_name,
        message=incoming.content,
        mood=tuple(state.mood),  # type: ignore[arg-type]
        mood_explanation=state.explanation,
        emotions=[FeltEmotion(item.type, item.intensity) for item in state.active],
        people=_people(incoming, [*history, *(_as_line(m) for m in earlier)], ties),
        personas=[PersonaTie(link.other_name, link.kind, link.strength) for link in linked.values()],
        memories=notes,
        instructions=tuple(instructions),
        history=[HistoryLine(line.author_name, line.content, line.persona_id == pid) for line in history],
        history_token_budget=HISTORY_TOKEN_BUDGET,
        channel=incoming.channel_name,
        tools=tool_names,
        earlier=[(m.author_name, m.content) for m in earlier],
    )
    definitions = offered.definitions() if tool_names else None
    request = build_request(context, tools=definitions, max_tokens=REPLY_MAX_TOKENS)
    return ReplyJob(
        speaker=speaker,
        reason=reason,
        request=request,
        tool_names=tuple(tool_names),
        template_reply=template_reply,
        recall=memories.recall_of(found, now),
        earlier=earlier,
    )


# ----------------------------------------------------------------------------------------------------
# Retrieval query


_STOPWORDS = frozenset(
    """a about above after again against all am an and any are as at be because been before being below between
    both but by can could did do does doing down during each few for from further had has have having he her here
    hers herself him himself his how i if in into is it its itself just let me more most my myself no nor not now of
    off on once only or other our ours ourselves out over own same she should so some such than that the their
    theirs them themselves then there these they this those through to too under until up very was we were what
    when where which while who whom why will with would you your yours yourself yourselves hi hey hello yes yeah ok
    okay please thanks thank said answered tell think know like get got really also""".split()
)
_QUERY_WORD = re.compile(r"\w+", re.UNICODE)


def retrieval_query(text: str, persona_name: str) -> str:
    """The words of ``text`` that memory search should look for: without common words (and the words every
    exchange memory holds: "said", "answered"), the persona's own name, and words of one or two letters; the
    :data:`MAX_QUERY_WORDS` longest (the rarer, as a rule), in their order. Every memory contains the persona's
    name, so searching for it would rank every memory and tell nothing."""
    skip = {word.casefold() for word in _QUERY_WORD.findall(persona_name)}
    words: list[str] = []
    for word in _QUERY_WORD.findall(text.casefold()):
        if len(word) > 2 and word not in _STOPWORDS and word not in skip and word not in words:
            words.append(word)
    if len(words) > MAX_QUERY_WORDS:
        keep = set(sorted(words, key=len, reverse=True)[:MAX_QUERY_WORDS])
        words = [word for word in words if word in keep][:MAX_QUERY_WORDS]
    return " ".join(words)


# ----------------------------------------------------------------------------------------------------
# Importance


_ABOUT_SELF = re.compile(
    r"\b(my name is|i am|i'm|i have|i've|i was|i will|i'll|i love|i hate|i like|i lost|i got|i moved|i started|"
    r"i finished|my (wife|husband|partner|girlfriend|boyfriend|kid|kids|son|daughter|mom|mum|dad|mother|father|"
    r"sister|brother|friend|job|boss|dog|cat|home|birthday|family))\b",
    re.IGNORECASE,
)
_LIFE_EVENT = re.compile(
    r"\b(birthday|wedding|married|engaged|pregnant|baby|born|died|passed away|funeral|divorce|promotion|promoted|"
    r"fired|laid off|new job|hired|graduat\w*|diagnos\w*|hospital|surgery|moving|moved|accepted|exam)\b",
    re.IGNORECASE,
)
_REMEMBER = re.compile(r"\b(remember|don't forget|do not forget|important)\b", re.IGNORECASE)
_FEELING = re.compile(r"(!|\b(love|hate|scared|afraid|excited|furious|heartbroken|devastated|thrilled)\b)", re.I)


def heuristic_importance(text: str, *, addressed: bool) -> int:
    """The default importance 1..10 of an exchange about ``text`` (the rule in the module docstring)."""
    score = 2
    if addressed:
        score += 2
    length = len(text.strip())
    score += (length >= 80) + (length >= 240)
    if _ABOUT_SELF.search(text):
        score += 2
    if _LIFE_EVENT.search(text):
        score += 2
    if _REMEMBER.search(text):
        score += 1
    if _FEELING.search(text):
        score += 1
    return max(1, min(10, score))


POIGNANCY_PROMPT = (
    "On the scale of 1 to 10, where 1 is purely mundane (e.g., brushing teeth, making bed) and 10 is extremely "
    "poignant (e.g., a break up, college acceptance), rate the likely poignancy of the following piece of memory. "
    "Answer with the number only."
)


def poignancy_request(memory_text: str) -> ChatRequest:
    """The request that asks the model to rate a memory (Park et al. 2023's poignancy question)."""
    return ChatRequest(
        system=POIGNANCY_PROMPT,
        messages=(ChatMessage(role="user", content=f"Memory: {memory_text}\nRating:"),),
        max_tokens=5,
        temperature=0.0,
    )


def parse_poignancy(answer: str) -> int | None:
    """The first whole number 1..10 in the model's answer, or None."""
    found = re.search(r"\b(10|[1-9])\b", answer or "")
    return int(found.group(1)) if found else None


def _clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_MEMORY_QUOTE else text[: MAX_MEMORY_QUOTE - 1] + "…"


def exchange_text(incoming: Incoming, persona_name: str, reply: str | None) -> str:
    """The memory an exchange becomes: what the author said and what the persona answered (each side clipped).
    With no ``reply`` (a reply folded for several people, which names the others) only the author's own words."""
    said = f"{incoming.author_name} said: “{_clip(incoming.content)}”"
    if reply is None:
        return f"{said} to me ({persona_name}), and I answered them."
    return f"{said} I ({persona_name}) answered: “{_clip(reply)}”"


# ----------------------------------------------------------------------------------------------------
# After the reply (transaction 2)


async def record(
    session: AsyncSession,
    incoming: Incoming,
    speaker: Speaker,
    *,
    sent_message_ids: Sequence[int],
    via_webhook: bool,
    reply_text: str | None,
    addressed: bool,
    now: datetime,
    importance: int | None = None,
    encryption_key: str | None = None,
    recall: memories.Recall | None = None,
    remember_reply: bool = True,
) -> Recorded:
    """Store what the exchange leaves (module docstring, step 4). ``importance`` overrides the heuristic (the
    model's rating); ``recall`` (the plan's memories) marks the memories the reply drew on as recalled. Nothing
    about the author is stored unless :func:`bot.services.consent.decide` allows it. With no ``reply_text`` (the
    persona apologised: the model could not answer) only the messages are recorded, and nothing was recalled.
    ``remember_reply`` False (one reply answering several people: it names the others) keeps only the author's own
    message in their memory."""
    pid = speaker.persona_id
    recorded = 0
    for message_id in sent_message_ids:
        recorded += await persona_messages.record(
            session,
            message_id=message_id,
            persona_id=pid,
            guild_id=incoming.guild_id,
            channel_id=incoming.channel_id,
            via_webhook=via_webhook,
            now=now,
        )
    if reply_text is None:
        return Recorded(recorded, None, "no reply to remember", None)
    await memories.apply_recall(session, recall)
    await session.execute(update(_P).where(_P.id == pid).values(interaction_count=_P.interaction_count + 1))
    await achievements.check(session, pid, now, inputs_changed={"conversations"})
    if incoming.author_is_bot or incoming.author_persona_id is not None:
        return Recorded(recorded, None, "bots and personas are not remembered", None)
    persona = await session.get(_P, pid)
    if persona is None:
        return Recorded(recorded, None, "the persona is gone", None)
    try:
        privacy = PrivacySettings.from_dict(persona.privacy_settings)
    except DomainError:
        return Recorded(recorded, None, "the persona's privacy settings are unreadable", None)
    decision = await consent.decide(
        session, user_id=incoming.author_id, guild_id=incoming.guild_id, persona_id=pid, privacy=privacy
    )
    if not decision.allowed:  # no relationship row either: a person who may not be remembered leaves no trace
        return Recorded(recorded, None, decision.reason, None)
    tie = await relationships.record_exchange(session, pid, incoming.author_id, now=now)
    affinity = tie.affinity if tie else None
    rating = importance if importance is not None else heuristic_importance(incoming.content, addressed=addressed)
    naming = await consent.memory_naming(
        session,
        exchange_text(incoming, speaker.name, reply_text if remember_reply else None),
        author_id=incoming.author_id,
        guild_id=incoming.guild_id,
        persona_id=pid,
        privacy=privacy,
    )
    memory = await memories.capture(
        session,
        pid,
        content=naming.text,
        subject_user_id=naming.subject_user_id,
        category="conversation",
        importance=max(1, min(10, int(rating))),
        source_user_id=incoming.author_id,
        source_channel_id=incoming.channel_id,
        source_message_id=incoming.message_id,
        now=now,
        encryption_key=encryption_key,
        # A subscriber's longer-memory perk: their memories start more stable and fade more slowly.
        stability=(await subscriptions.perks_for(session, pid, incoming.author_id, now=now)).memory_multiplier,
    )
    return Recorded(recorded, memory.id, decision.reason, affinity)


# ----------------------------------------------------------------------------------------------------
# Tools


def tool_context(
    database: Database,
    persona_id: int,
    *,
    incoming: Incoming,
    clock: Any,
    encryption_key: str | None = None,
) -> ToolContext:
    """The tools' view of the world for one reply: memory search and pinning each open their own short
    transaction (they run while the model works, when no session is held)."""

    async def search(query: str, limit: int) -> Sequence[RecalledMemory]:
        async with database.session() as session:
            found = await memories.search(
                session, persona_id, query, k=limit, now=clock(), encryption_key=encryption_key
            )
        return [RecalledMemory(r.memory.content, r.memory.created_at, r.memory.importance) for r in found]

    async def pin(content: str, importance: int) -> str:
        async with database.transaction() as session:
            persona = await session.get(_P, persona_id)
            if persona is None:
                raise DomainError("This persona no longer exists.")
            if not incoming.author_is_bot and incoming.author_persona_id is None:
                decision = await consent.decide(
                    session,
                    user_id=incoming.author_id,
                    guild_id=incoming.guild_id,
                    persona_id=persona_id,
                    privacy=PrivacySettings.from_dict(persona.privacy_settings),
                )
                if not decision.allowed:
                    raise DomainError(f"I may not remember things from {incoming.author_name} ({decision.reason}).")
            naming = await consent.memory_naming(
                session,
                content,
                author_id=None if incoming.author_is_bot else incoming.author_id,
                guild_id=incoming.guild_id,
                persona_id=persona_id,
            )
            memory = await memories.capture(
                session,
                persona_id,
                content=naming.text,
                subject_user_id=naming.subject_user_id,
                category="pinned",
                importance=importance,
                source_user_id=incoming.author_id,
                source_channel_id=incoming.channel_id,
                source_message_id=incoming.message_id,
                now=clock(),
                encryption_key=encryption_key,
            )
            await session.execute(
                update(models.Memory).where(models.Memory.id == memory.id).values(pinned=True)  # type: ignore[arg-type]
            )
        return "Pinned: I will keep that in mind."

    return ToolContext(persona_id=persona_id, clock=clock, search_memories=search, pin_memory=pin)
