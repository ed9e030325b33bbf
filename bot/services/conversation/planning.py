"""Planning a reply (reads only; on PostgreSQL outside a transaction, ``Database.reads``).

:func:`plan`: who answers a message (:func:`bot.core.conversation.plan_turns`, on the facts read here: when each
persona last spoke, which persona's message it replies to, the author's subscription perks), then for each persona
that speaks the prompt context (identity, traits, mood and active emotions, behaviour settings, relationships with
the people and personas present, the whole character (:func:`~bot.services.conversation.casting.active_personas`),
memories retrieved by :func:`bot.services.memories.retrieve` (only read here),
custom behaviour instructions, the recent channel history the cog kept) rendered into a
:class:`~bot.llm.base.ChatRequest`. Custom behaviours' reactions and emotional triggers are returned; the cog adds
the reactions and applies the triggers (:func:`bot.services.conversation.apply_behavior_triggers`, a transaction of
its own, only when there are some). :func:`plan_waiting`: one turn answering every message that waited while the
persona spoke.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from datetime import datetime
from functools import partial

from sqlalchemy.ext.asyncio import AsyncSession

from bot.core import behaviors as behavior_rules
from bot.core.conversation import HeardMessage, PresentPersona, addressed_by_name, plan_turns
from bot.core.errors import DomainError, NotFound
from bot.core.prompt_words import ANSWER_EVERY_WAITING
from bot.core.social import Perks
from bot.db import models
from bot.llm.tools import ToolRegistry, default_registry
from bot.llm.tuning import tuned
from bot.services import behaviors, emotions, memories, persona_messages, relationships, subscriptions
from bot.services import model_settings as persona_models
from bot.services.conversation.casting import last_replies
from bot.services.conversation.data import (
    BehaviorSideEffects,
    Cast,
    ChannelLine,
    Incoming,
    Plan,
    ReplyJob,
    RequestOptions,
    Speaker,
)
from bot.services.conversation.images import attachment_tokens, sees_images, with_attachments
from bot.services.conversation.recalling import Reader, Retrieval, drop, prompt_memories, search_early
from bot.services.conversation.remembering import retrieval_query
from bot.services.conversation.world import fired_lore
from bot.services.emotions import MoodView
from bot.templating import behavior_templates
from bot.templating.prompts import (
    FeltEmotion,
    HistoryLine,
    MemoryNote,
    PersonaTie,
    PersonPresent,
    PromptContext,
    draft_request,
    reply_labels,
)

MAX_SPEAKERS = 2  # personas answering one message
MAX_PEOPLE = 8  # people present named in the prompt


# ----------------------------------------------------------------------------------------------------
# Who answers


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
    options: RequestOptions | None = None,
    cast: Cast | None = None,
    reader: Reader | None = None,
) -> Plan:
    """Decide who answers ``incoming`` and build each reply's request (module docstring).

    ``history`` is the channel before the message (oldest first); ``exchange_depth`` the persona messages in a row
    that led to it; ``random_value`` a draw from [0, 1) for chattiness; ``recent_replies`` when the cog last started
    a reply per persona (newer than the stored messages while a reply is on its way); ``busy`` personas already
    replying here: they do not answer now, and when the message addresses one of them directly it is in the plan's
    ``waiting`` (the cog keeps it for :func:`plan_waiting`). ``options``: how requests are built (tools, encryption
    key). ``cast`` is what the caller knows of the speakers (:func:`~bot.services.conversation.cast`: behaviours,
    retrieval weights, subscription tiers); without it those are read. A persona deleted since its speaker was read
    is skipped. ``reader`` opens another read session (``Database.reads``, where reads can run side by side: not on
    SQLite): memory searches then run on it while the rest is read on ``session``."""
    if not speakers:
        return Plan()
    options = options or RequestOptions()
    registry = options.tools or default_registry()
    weights = cast.memory_weights if cast is not None else {}
    search = partial(search_early, reader, incoming, now=now, key=options.encryption_key, weights=weights)
    # A persona the message names nearly always answers: its memory search starts before the turns are decided.
    early = search([s for s in speakers if addressed_by_name(incoming.content, s.name)])
    ids = [s.persona_id for s in speakers]
    human_ids = _human_ids(incoming, history)
    jobs: list[ReplyJob] = []
    effects: list[BehaviorSideEffects] = []
    try:
        if early:  # let the searches send their queries first: the database works on them while the rest is read
            await asyncio.sleep(0)
        heard = await _heard(session, incoming, exchange_depth=exchange_depth, random_value=random_value)
        present = await _present(
            session, incoming, speakers, recent=recent_replies or {}, busy=busy, cast=cast, now=now
        )
        turns = plan_turns(heard, present, now=now, max_speakers=MAX_SPEAKERS)
        for pid in [pid for pid in early if pid not in turns.speakers]:  # named, but it does not speak now
            await drop([early.pop(pid)])
        early |= search([s for s in speakers if s.persona_id in turns.speakers and s.persona_id not in early])
        # Behaviours of every persona here: reactions and emotional triggers apply even when it does not speak.
        rules_by_persona = cast.behaviors if cast is not None else await behaviors.enabled_for(session, ids)
        for speaker in speakers:
            pid = speaker.persona_id
            effect, job = await _persona_plan(
                session,
                speaker,
                incoming,
                history,
                rules=rules_by_persona.get(pid, ()),
                reason=turns.decisions[pid] if pid in turns.speakers else None,
                others=[s for s in speakers if s.persona_id != pid],
                human_ids=human_ids,
                now=now,
                registry=registry,
                options=options,
                weights=weights.get(pid),
                retrieval=early.get(pid),
            )
            if effect is not None:
                effects.append(effect)
            if job is not None:
                jobs.append(job)
    finally:
        await drop(early.values())
    order = {pid: index for index, pid in enumerate(turns.speakers)}
    jobs.sort(key=lambda job: order[job.speaker.persona_id])
    return Plan(tuple(jobs), turns.decisions, tuple(effects), turns.waiting)


async def _heard(
    session: AsyncSession, incoming: Incoming, *, exchange_depth: int, random_value: float
) -> HeardMessage:
    """The message as the turn rules see it: which persona's message it replies to, and whether this server lets
    personas answer other bots (asked only for a bot's message)."""
    replied_persona = None
    if incoming.reply_to_message_id is not None:
        replied_persona = await persona_messages.persona_for_message(session, incoming.reply_to_message_id)
    answer_bots = False
    if incoming.author_is_bot and incoming.author_persona_id is None:
        settings = await session.get(models.GuildSettings, incoming.guild_id)
        answer_bots = bool(settings is not None and settings.answer_bots)
    return HeardMessage(
        message_id=incoming.message_id,
        content=incoming.content,
        mentions_bot=incoming.mentions_bot,
        author_is_bot=incoming.author_is_bot,
        author_persona_id=incoming.author_persona_id,
        replied_persona_id=replied_persona,
        answer_bots=answer_bots,
        exchange_depth=exchange_depth,
        random_value=random_value,
    )


async def _present(
    session: AsyncSession,
    incoming: Incoming,
    speakers: Sequence[Speaker],
    *,
    recent: Mapping[int, datetime],
    busy: frozenset[int],
    cast: Cast | None,
    now: datetime,
) -> list[PresentPersona]:
    """Each speaker with when it last spoke here, whether the author's subscription gives priority replies, and
    whether it is busy replying here."""
    ids = [s.persona_id for s in speakers]
    # What the cog saw itself is at least as new as what is stored: ask the database only about the others.
    stored = await last_replies(session, incoming.channel_id, [pid for pid in ids if pid not in recent])
    perks: Mapping[int, Perks] = {}
    tiered = ids if cast is None else [pid for pid in ids if pid in cast.with_tiers]
    if tiered and not incoming.author_is_bot and incoming.author_persona_id is None:
        perks = await subscriptions.perks_by_persona(session, tiered, incoming.author_id, now=now)
    present: list[PresentPersona] = []
    for speaker in speakers:
        pid = speaker.persona_id
        times = [t for t in (stored.get(pid), recent.get(pid)) if t is not None]
        # A subscriber with priority replies is answered even during the persona's cooldown, and first.
        priority = bool(pid in perks and perks[pid].priority_replies)
        last = max(times) if times else None
        present.append(PresentPersona(pid, speaker.name, speaker.behavior, last, priority, pid in busy))
    return present


async def _persona_plan(
    session: AsyncSession,
    speaker: Speaker,
    incoming: Incoming,
    history: Sequence[ChannelLine],
    *,
    rules: Sequence[behavior_rules.Behavior],
    reason: str | None,
    others: Sequence[Speaker],
    human_ids: Sequence[int],
    now: datetime,
    registry: ToolRegistry,
    options: RequestOptions,
    weights: tuple[float, float, float] | None,
    retrieval: Retrieval | None,
) -> tuple[BehaviorSideEffects | None, ReplyJob | None]:
    """What one persona does with the message: its behaviours' side effects (None: nothing), and its reply when it
    speaks (``reason``: why; None when it does not speak)."""
    pid = speaker.persona_id
    speaking = reason is not None
    if not speaking and not any(
        isinstance(r.action, behavior_rules.ReactionAction | behavior_rules.EmotionAction) for r in rules
    ):
        return None, None
    state: MoodView | None = None
    if speaking or any(isinstance(r.trigger, behavior_rules.EmotionTrigger) for r in rules):
        try:
            state = await emotions.current_state(session, pid, now)
        except NotFound:
            return None, None  # deleted since its speaker was read
    felt = behaviors.active_intensities(state) if state is not None else {}
    matched = behavior_rules.matching_behaviors(rules, incoming.content, None, felt, now)
    variables = behavior_templates.template_variables(
        persona_name=speaker.name,
        author_name=incoming.author_name,
        mood=state.mood_words if state is not None else "neutral",
        now=now,
    )
    effect = behavior_templates.plan_effects(matched, variables)
    side = None
    if effect.reactions or effect.emotion_triggers or effect.problems:
        side = BehaviorSideEffects(
            pid, effect.reactions, effect.emotion_triggers, effect.problems, effect.trigger_behaviors
        )
    if reason is None or state is None:
        return side, None
    job = await _job(
        session,
        speaker,
        incoming,
        history,
        state=state,
        others=others,
        human_ids=human_ids,
        instructions=effect.instructions,
        template_reply=effect.reply,
        reason=reason,
        now=now,
        registry=registry,
        options=options,
        weights=weights,
        retrieval=retrieval,
    )
    return side, job


# ----------------------------------------------------------------------------------------------------
# The messages that waited


async def plan_waiting(
    session: AsyncSession,
    speaker: Speaker,
    waiting: Sequence[Incoming],
    *,
    reason: str,
    cast: Cast,
    history: Sequence[ChannelLine],
    now: datetime,
    options: RequestOptions | None = None,
) -> ReplyJob | None:
    """The reply of a persona to the messages that waited while it spoke in their channel (``waiting``, oldest
    first; each was addressed to it, :func:`plan`'s ``waiting``): one turn that answers them all, planned for the
    newest, the others in the job's ``earlier``. ``reason`` is why the newest was to be answered; ``history`` the
    channel's recent messages without them. Their behaviours' reactions and emotional triggers were applied when each
    arrived (:func:`plan`): only instructions, and a reply template when a single message waited, apply here.
    None when the persona was deleted meanwhile."""
    options = options or RequestOptions()
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
        instructions.append(ANSWER_EVERY_WAITING)
    return await _job(
        session,
        speaker,
        newest,
        history,
        state=state,
        others=[s for s in cast.speakers if s.persona_id != pid],
        human_ids=_human_ids(newest, [*history, *(m.as_line() for m in earlier)]),
        instructions=instructions,
        template_reply=effect.reply if not earlier else None,
        reason=reason,
        now=now,
        registry=options.tools or default_registry(),
        options=options,
        weights=cast.memory_weights.get(pid),
        earlier=earlier,
    )


# ----------------------------------------------------------------------------------------------------
# One reply's request


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
    options: RequestOptions,
    weights: tuple[float, float, float] | None,
    retrieval: Retrieval | None = None,
    earlier: tuple[Incoming, ...] = (),
) -> ReplyJob:
    pid = speaker.persona_id
    # Everything that does not need the memories first: an early memory search (``retrieval``) runs meanwhile.
    ties = await relationships.people(session, pid, human_ids)
    linked = await relationships.links(session, pid, [o.persona_id for o in others])
    fired = await fired_lore(session, pid, incoming, history, earlier, now=now, shelf=options.lore_shelf)
    choice = await persona_models.for_reply(session, speaker.model, incoming.guild_id)
    try:
        offered = registry.for_plugins(list(speaker.plugins))
    except DomainError:
        offered = ToolRegistry()
    tool_names = offered.names() if options.supports_tools else ()
    vision = sees_images(options, choice)
    context = PromptContext(
        persona=speaker.profile,
        now=now,
        author=incoming.author_name,
        message=incoming.content,
        mood=state.mood,
        mood_explanation=state.explanation,
        emotions=[FeltEmotion(item.type, item.intensity) for item in state.active],
        people=_people(incoming, [*history, *(m.as_line() for m in earlier)], ties),
        personas=[PersonaTie(link.other_name, link.kind, link.strength) for link in linked.values()],
        instructions=tuple(instructions),
        history=[HistoryLine(line.author_name, line.content, line.persona_id == pid) for line in history],
        token_budget=options.token_budget,
        channel=incoming.channel_name,
        tools=tool_names,
        earlier=[(m.author_name, m.content) for m in earlier],
        seed=str(incoming.message_id),
        lore=fired.texts,
        attachment_tokens=attachment_tokens([*earlier, incoming], vision=vision),
    )
    draft = draft_request(context)  # the prompt but its memories, made while the memory search may still run
    found: list[memories.RetrievedMemory] = []
    query = retrieval_query(" ".join([*(m.content for m in earlier), incoming.content]), speaker.name)
    if template_reply is None and retrieval is not None:
        found = await retrieval
    elif template_reply is None:  # no content word ("hi"): recency, importance and strength alone
        found = await prompt_memories(session, pid, query, now=now, key=options.encryption_key, weights=weights)
    left_out = options.leave_out_exchange
    if left_out is not None:
        found = [r for r in found if r.memory.source_message_id != left_out]
    found = await memories.without_summarised(session, found, now=now)  # old exchanges give way to their summary
    readable = [r.memory for r in found if r.memory.readable]
    notes = [MemoryNote(m.content, m.created_at, m.pinned) for m in readable]
    request = tuned(draft.request(notes, tools=offered.definitions() if tool_names else None), choice)
    request = with_attachments(request, [*earlier, incoming], vision=vision)
    return ReplyJob(
        speaker=speaker,
        reason=reason,
        request=request,
        tool_names=tuple(tool_names),
        template_reply=template_reply,
        recall=memories.recall_of(found, now),
        used=_reached(readable, request.system),
        earlier=earlier,
        labels=reply_labels(context),
        model=choice,
        lore_timing=fired.timing,
    )


def _reached(readable: Sequence[memories.MemoryRecord], system: str) -> tuple[int, ...]:
    """The ids of the memories that reached the prompt (best first): the token budget may have left the last out,
    and a memory is in the system prompt as one line of the memories list (``prompts/system.j2``)."""
    return tuple(m.id for m in readable if m.content.strip() and f"- {m.content.strip()} (" in system)


def _people(
    incoming: Incoming, history: Sequence[ChannelLine], ties: Mapping[int, relationships.PersonTie]
) -> list[PersonPresent]:
    """The people present (the author first, then who spoke lately, at most :data:`MAX_PEOPLE`) and the persona's
    relationship with each."""
    names: dict[int, str] = {}
    for line in history:
        if line.persona_id is None and not line.is_bot:
            names[line.author_id] = line.author_name
    if incoming.author_persona_id is None and not incoming.author_is_bot:
        names.pop(incoming.author_id, None)
        names = {incoming.author_id: incoming.author_name, **names}  # the author first
    out = []
    for user_id, name in list(names.items())[:MAX_PEOPLE]:
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
