"""Reactions: the burst path (:func:`apply_reactions`, many reactions in one transaction, people who may not be
remembered counted anonymously), the servers' reaction maps, and removing a reaction (which changes nothing; the
package docstring says why). The emoji behaviours a counted reaction fires are
:mod:`bot.services.emotions.reaction_behaviors`.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bot.core import emotions as core
from bot.core.errors import DomainError
from bot.db import models
from bot.services import achievements, consent, relationships
from bot.services.emotions.reaction_behaviors import emoji_behaviors
from bot.services.emotions.triggers import EMOJI_MAX, Entry, apply_entries
from bot.services.emotions.views import (
    BatchResult,
    Outcome,
    ReactionItem,
    RemovalResult,
)

_EventRow = models.EmotionalEvent


async def load_reaction_maps(session: AsyncSession, guild_ids: Iterable[int | None]) -> dict[int, dict[str, str]]:
    """The servers' own reaction maps (emoji -> trigger), one query; guilds without settings are left out."""
    ids = sorted({g for g in guild_ids if g is not None})
    if not ids:
        return {}
    query = select(col(models.GuildSettings.guild_id), col(models.GuildSettings.reaction_map)).where(
        col(models.GuildSettings.guild_id).in_(ids)
    )
    return {row[0]: dict(row[1] or {}) for row in (await session.execute(query)).all()}


def _entries(
    items: Sequence[ReactionItem], maps: Mapping[int, Mapping[str, str]], outcomes: dict[int, Outcome]
) -> list[Entry]:
    """An entry per item whose emoji stands for a trigger (the server's map, then the default one); the others are
    marked "ignored" in ``outcomes``."""
    cache: dict[tuple[int | None, str], str | None] = {}
    entries: list[Entry] = []
    for index, item in enumerate(items):
        emoji = item.emoji.strip()
        memo = (item.guild_id, emoji)
        if memo not in cache:
            try:
                valid = bool(emoji) and len(emoji) <= EMOJI_MAX
                cache[memo] = core.trigger_for_emoji(emoji, maps.get(item.guild_id or 0)) if valid else None
            except DomainError:  # a server map naming a trigger that does not exist
                cache[memo] = None
        trigger = cache[memo]
        if trigger is None:
            outcomes[index] = "ignored"
            continue
        entries.append(
            Entry(
                index=index,
                persona_id=item.persona_id,
                trigger=trigger,
                at=item.at,
                user_id=item.user_id,
                channel_id=item.channel_id,
                message_id=item.message_id,
                emoji=emoji,
            )
        )
    return entries


async def _anonymised(
    session: AsyncSession,
    items: Sequence[ReactionItem],
    entries: list[Entry],
    counted_anonymously: AbstractSet[bytes],
    outcomes: dict[int, Outcome],
) -> list[Entry]:
    """The entries to apply: those of people the persona may not remember lose their id and are keyed by
    :func:`anonymous_key` instead; one counted before (in ``counted_anonymously`` or earlier in the batch) is marked
    "duplicate" in ``outcomes`` and left out."""
    # People the persona may not remember are counted without their id (the package docstring's anonymous reactions).
    decisions = await consent.decide_many(
        session, {(item.user_id, item.guild_id, item.persona_id) for item in items if item.user_id is not None}
    )
    known = set(counted_anonymously)
    for entry in entries:
        item = items[entry.index]
        decision = decisions.get((item.user_id, item.guild_id, item.persona_id))
        if decision is not None and decision.allowed:
            continue
        entry.anonymous = anonymous_key(entry.persona_id, entry.message_id, entry.user_id, entry.emoji)
        entry.user_id = None
        if entry.anonymous in known:
            outcomes[entry.index] = "duplicate"
        known.add(entry.anonymous)
    return [entry for entry in entries if entry.index not in outcomes]


async def apply_reactions(
    session: AsyncSession,
    items: Sequence[ReactionItem],
    now: datetime,
    *,
    server_maps: Mapping[int, Mapping[str, str]] | None = None,
    counted_anonymously: AbstractSet[bytes] | None = None,
) -> BatchResult:
    """The burst path: many reactions (many users, many personas) in the caller's one transaction.

    Reactions of people the persona may not remember are counted anonymously (the package docstring):
    ``counted_anonymously`` holds the keys of those counted before, the result's ``counted_anonymously`` the new ones.

    Emoji map to triggers (:func:`bot.core.emotions.trigger_for_emoji` over the server's map, loaded once per batch
    from ``guild_settings`` unless ``server_maps`` is given); unknown emoji are ignored. Per persona the state is
    loaded once, the reactions are applied in order in memory, and the final state written once; all events go in
    multi-row INSERTs that skip already-counted (persona, message, user, emoji) keys, and only reactions whose row
    was really inserted have an emotional effect. Reactions of deleted personas are skipped.

    The counted reactions fire their personas' emoji behaviours (:mod:`bot.services.emotions.reaction_behaviors`):
    emotional triggers are applied here; the reactions they ask for (``behavior_reactions``) and the persona's
    answers (``behavior_answers``) are the caller's to make once the transaction is committed."""
    if not items:
        return BatchResult(0, 0, 0, 0, ())
    maps = (
        dict(server_maps) if server_maps is not None else await load_reaction_maps(session, (i.guild_id for i in items))
    )
    outcomes: dict[int, Outcome] = {}
    entries = _entries(items, maps, outcomes)
    entries = await _anonymised(session, items, entries, counted_anonymously or frozenset(), outcomes)
    applied, event_ids = await apply_entries(session, entries, now)
    outcomes.update(applied)
    counted = [e for e in entries if applied.get(e.index) == "applied"]
    # How the persona feels about each person who reacted moves with the reaction (one upsert per batch).
    await relationships.record_reactions(
        session, [(e.persona_id, e.user_id, e.trigger) for e in counted if e.user_id is not None], now=now
    )
    for persona_id in sorted({e.persona_id for e in counted}):
        await achievements.check(session, persona_id, now, inputs_changed={"emotions"})
    behavior_reactions, answers = await emoji_behaviors(session, items, counted, event_ids, now)
    ordered = tuple(outcomes[i] for i in range(len(items)))
    return BatchResult(
        applied=ordered.count("applied"),
        duplicates=ordered.count("duplicate"),
        ignored=ordered.count("ignored"),
        missing_personas=ordered.count("missing_persona"),
        outcomes=ordered,
        behavior_reactions=behavior_reactions,
        behavior_answers=answers,
        counted_anonymously=tuple(e.anonymous for e in counted if e.anonymous is not None),
    )


# A per-process salt: the digests of anonymous reactions cannot be matched to a person outside this process.
_ANONYMOUS_SALT = os.urandom(16)


def anonymous_key(persona_id: int, message_id: int | None, user_id: int | None, emoji: str | None) -> bytes:
    """A salted digest standing for one person's reaction with one emoji on one message (never stored)."""
    text = f"{persona_id}:{message_id}:{user_id}:{emoji}".encode()
    return hashlib.blake2b(text, key=_ANONYMOUS_SALT, digest_size=16).digest()


async def remove_reaction(
    session: AsyncSession, persona_id: int, *, user_id: int, message_id: int, emoji: str
) -> RemovalResult:
    """A reaction was removed. Nothing changes: the emotion was felt and is not un-felt, and the event row stays,
    so re-adding the same emoji does not count again (one person, one message, one emoji: counted once).
    Returns whether the reaction had been counted."""
    query = select(col(_EventRow.id)).where(
        col(_EventRow.persona_id) == persona_id,
        col(_EventRow.message_id) == message_id,
        col(_EventRow.user_id) == user_id,
        col(_EventRow.emoji) == emoji.strip(),
    )
    event_id = (await session.execute(query.limit(1))).scalar_one_or_none()
    return RemovalResult(persona_id=persona_id, counted=event_id is not None, event_id=event_id)
