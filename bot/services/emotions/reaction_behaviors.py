"""The emoji behaviours a counted reaction fires: their emotional triggers are applied here, in the batch's
transaction; the reactions they ask for and the persona's answers (a ``reply`` action's template) are returned for
the caller to make once the batch is committed. An ``instruction`` action does nothing on a reaction (no model reply
is made for one).

**Answers** (issue 19; the bounds are :mod:`bot.core.reaction_answers`): only the first reaction with an emoji on a
persona's message is answered, read from the events (the reaction just counted must be the oldest with that emoji
there), and only while the persona speaks at all (active, not retiring). The template gets the persona's name and
mood now and the reacting person's name as shown (``ReactionItem.author_name``; "someone" when unknown). The
per-channel cooldown is the caller's, in memory. Two processes counting the first two reactions at the same moment
(PostgreSQL) could each see their own as the first: the cooldown is per process too, so that is at most one more.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bot.core import reaction_answers
from bot.core.behaviors import Behavior, ReplyAction, matching_behaviors
from bot.db import models
from bot.services import behavior_rules
from bot.services.emotions.present import current_state
from bot.services.emotions.triggers import Entry, apply_trigger
from bot.services.emotions.views import ReactionAnswer, ReactionItem
from bot.templating import behavior_templates

_EventRow = models.EmotionalEvent
_P = models.Persona
UNKNOWN_AUTHOR = "someone"


@dataclass(frozen=True)
class _Speaker:
    name: str
    avatar_url: str | None
    mood: str


def _replies(matched: Sequence[Behavior]) -> bool:
    return any(isinstance(b.action, ReplyAction) for b in matched)


async def _firsts(session: AsyncSession, candidates: Sequence[Entry]) -> dict[tuple[int, int, str], int]:
    """The oldest event per persona, message and normalised emoji among the candidates' messages (one query)."""
    query = (
        select(col(_EventRow.persona_id), col(_EventRow.message_id), col(_EventRow.emoji), func.min(col(_EventRow.id)))
        .where(
            col(_EventRow.persona_id).in_(sorted({e.persona_id for e in candidates})),
            col(_EventRow.message_id).in_(sorted({e.message_id for e in candidates if e.message_id is not None})),
            col(_EventRow.emoji).is_not(None),
        )
        .group_by(col(_EventRow.persona_id), col(_EventRow.message_id), col(_EventRow.emoji))
    )
    oldest: dict[tuple[int, int, str], int] = {}
    for persona_id, message_id, emoji, first_id in (await session.execute(query)).all():
        if message_id is not None and emoji is not None and first_id is not None:
            oldest[(persona_id, message_id, emoji)] = first_id
    return reaction_answers.first_event_ids(oldest)


async def _speakers(
    session: AsyncSession, candidates: Sequence[Entry], event_ids: Mapping[int, int], now: datetime
) -> dict[int, _Speaker]:
    """By item index, who answers: the candidates whose reaction is the first with its emoji on its message, and
    whose persona speaks (active, not retiring)."""
    firsts = await _firsts(session, candidates)
    eligible = [
        e
        for e in candidates
        if e.message_id is not None
        and e.emoji is not None
        and e.index in event_ids
        and reaction_answers.is_first(firsts, e.persona_id, e.message_id, e.emoji, event_ids[e.index])
    ]
    if not eligible:
        return {}
    query = select(col(_P.id), col(_P.name), col(_P.avatar_url)).where(
        col(_P.id).in_(sorted({e.persona_id for e in eligible})),
        col(_P.is_active).is_(True),
        col(_P.status) == "active",
    )
    found: dict[int, tuple[str, str | None]] = {
        row[0]: (row[1], row[2]) for row in (await session.execute(query)).all() if row[0] is not None
    }
    moods = {pid: (await current_state(session, pid, now)).mood_words for pid in sorted(found)}
    return {
        e.index: _Speaker(found[e.persona_id][0], found[e.persona_id][1], moods[e.persona_id])
        for e in eligible
        if e.persona_id in found
    }


async def emoji_behaviors(
    session: AsyncSession,
    items: Sequence[ReactionItem],
    counted: Sequence[Entry],
    event_ids: Mapping[int, int],
    now: datetime,
) -> tuple[dict[int, tuple[str, ...]], dict[int, ReactionAnswer]]:
    """The personas' emoji behaviours for the reactions just counted (``event_ids``: each counted item's event):
    emotional triggers applied; the reactions asked for, and the answers, returned by item index (module
    docstring). One query for the rules, and only when a reply template matched, one for which reactions came
    first and one for the personas answering."""
    rules = await behavior_rules.emoji_enabled_for(session, sorted({e.persona_id for e in counted if e.emoji}))
    if not rules:
        return {}, {}
    matched = {
        e.index: found
        for e in counted
        if (found := matching_behaviors(rules.get(e.persona_id, []), "", e.emoji, {}, now))
    }
    candidates = [e for e in counted if _replies(matched.get(e.index, ())) and e.channel_id is not None]
    speakers = await _speakers(session, candidates, event_ids, now) if candidates else {}
    plain = behavior_templates.template_variables(persona_name="", author_name="", mood="neutral", now=now)
    reactions: dict[int, tuple[str, ...]] = {}
    answers: dict[int, ReactionAnswer] = {}
    for entry in counted:
        found = matched.get(entry.index, [])
        if not found:
            continue
        speaker = speakers.get(entry.index)
        if speaker is None:  # no answer for this reaction: its reply templates are not even rendered
            found = [b for b in found if not isinstance(b.action, ReplyAction)]
        variables = plain
        if speaker is not None:
            author = (items[entry.index].author_name or "").strip() or UNKNOWN_AUTHOR
            variables = behavior_templates.template_variables(
                persona_name=speaker.name, author_name=author, mood=speaker.mood, now=now
            )
        effect = behavior_templates.plan_effects(found, variables)
        for name in effect.emotion_triggers:
            await apply_trigger(
                session, entry.persona_id, name, now=now, user_id=entry.user_id, channel_id=entry.channel_id,
                context=f"custom behaviour on a {entry.emoji} reaction",
            )  # fmt: skip
        if effect.reactions:
            reactions[entry.index] = tuple(effect.reactions)
        if speaker is not None and effect.reply is not None:
            answers[entry.index] = _answer(items[entry.index], entry, speaker, effect.reply)
    return reactions, answers


def _answer(item: ReactionItem, entry: Entry, speaker: _Speaker, text: str) -> ReactionAnswer:
    assert entry.channel_id is not None and entry.message_id is not None  # candidates have both
    return ReactionAnswer(
        persona_id=entry.persona_id,
        persona_name=speaker.name,
        avatar_url=speaker.avatar_url,
        guild_id=item.guild_id,
        channel_id=entry.channel_id,
        message_id=entry.message_id,
        text=text,
    )
