"""Applying triggers: one (:func:`apply_trigger`) or many in order (:func:`apply_entries`, which the reaction
burst uses), each counted once per (persona, message, user, emoji) and recorded as an event (the package
docstring says what an event holds).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Table, delete, text
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core import emotions as core
from bot.core.errors import DomainError, NotFound
from bot.core.ownership import PERSONA_NOT_FOUND
from bot.core.pad import PAD
from bot.db import bulk, models
from bot.services import achievements
from bot.services.emotions.stored import Loaded, dialect_of, later, load_states, store_states
from bot.services.emotions.views import (
    EventView,
    Outcome,
    ResponseView,
)

# Largest column values (the schema's lengths).
EMOJI_MAX = 100
_CONTEXT_MAX = 4_000

# The table, for bulk statements (SQLModel does not declare ``__table__`` to type checkers).
_EVENT_TABLE: Table = models.EmotionalEvent.__table__  # type: ignore[attr-defined]


@dataclass
class Entry:
    """One trigger to apply (internal)."""

    index: int
    persona_id: int
    trigger: str
    at: datetime | None
    user_id: int | None = None
    channel_id: int | None = None
    message_id: int | None = None
    emoji: str | None = None
    context: str | None = None
    row: dict[str, Any] | None = None
    responses: tuple[ResponseView, ...] = ()
    anonymous: bytes | None = None  # anonymous_key() when counted without the person's id

    @property
    def key(self) -> tuple[int, int, int, str] | None:
        """The dedupe key, or None when any part is missing (NULLs never conflict)."""
        if self.message_id is None or self.user_id is None or self.emoji is None:
            return None
        return (self.persona_id, self.message_id, self.user_id, self.emoji)


def _compute(loaded: Loaded, entries: Sequence[Entry], now: datetime) -> core.EmotionalState:
    """Apply ``entries`` in order to a copy of the loaded state; fill each entry's event row. Returns the final
    state advanced to the latest of ``now`` and the entries' times (the loaded state is left unchanged)."""
    state = loaded.state
    for entry in entries:
        at = later(entry.at or now, state.as_of)
        before = state.mood
        learned = loaded.learned.get(entry.trigger, core.Learned())
        # respond() reads intensities at ``at``, the same before and after advancing; apply() advances to ``at``.
        responses = core.respond(entry.trigger, loaded.traits, state, at, learned.scale, learned.override)
        state = core.apply(state, responses, at)
        current = state  # its mood is the mood at ``at`` (apply changes only the active emotions)
        main = max(responses, key=lambda r: r.intensity) if responses else None
        entry.responses = tuple(ResponseView(r.emotion_type, r.intensity, r.duration_minutes) for r in responses)
        entry.row = {
            "persona_id": entry.persona_id,
            "trigger": entry.trigger,
            "emoji": entry.emoji,
            "emotion_type": main.emotion_type if main else None,
            "intensity": main.intensity if main else 0.0,
            "user_id": entry.user_id,
            "channel_id": entry.channel_id,
            "message_id": entry.message_id,
            "previous_pleasure": before[0],
            "previous_arousal": before[1],
            "previous_dominance": before[2],
            "new_pleasure": current.mood[0],
            "new_arousal": current.mood[1],
            "new_dominance": current.mood[2],
            "context": entry.context,
            "created_at": at,
        }
    return core.advance(state, later(now, state.as_of))


@functools.cache
def _sqlite_insert_ignoring_duplicates() -> Any:
    """SQLite: INSERT ... ON CONFLICT (the reaction key) DO NOTHING RETURNING the key and id, for executemany
    (SQLAlchemy renders multi-row VALUES statements, "insertmanyvalues"). PostgreSQL uses column arrays instead."""
    table = _EVENT_TABLE
    statement = sqlite_dialect.insert(table).on_conflict_do_nothing(
        index_elements=[table.c.persona_id, table.c.message_id, table.c.user_id, table.c.emoji]
    )
    return statement.returning(table.c.id, table.c.persona_id, table.c.message_id, table.c.user_id, table.c.emoji)


_EVENT_COLUMNS = (
    "persona_id", "trigger", "emoji", "emotion_type", "intensity", "user_id", "channel_id", "message_id",
    "previous_pleasure", "previous_arousal", "previous_dominance", "new_pleasure", "new_arousal", "new_dominance",
    "context", "created_at",
)  # fmt: skip
_KEY_CLAUSE = "ON CONFLICT (persona_id, message_id, user_id, emoji) DO NOTHING"
_RETURNING = "RETURNING id, persona_id, message_id, user_id, emoji"


async def _insert_events(session: AsyncSession, dialect: str, rows: list[dict[str, Any]]) -> list[Any]:
    """Insert event rows, skipping already-recorded reaction keys; (id, persona, message, user, emoji) of each row
    really inserted. PostgreSQL: one statement of column arrays (:mod:`bot.db.bulk`); SQLite: executemany."""
    if dialect == "postgresql":
        table = _EVENT_TABLE
        statement = bulk.unnest_insert(table, _EVENT_COLUMNS, f"{_KEY_CLAUSE} {_RETURNING}")
        return list((await session.execute(statement, bulk.unnest_params(table, _EVENT_COLUMNS, rows))).all())
    return list((await session.execute(_sqlite_insert_ignoring_duplicates(), rows)).all())


_PG_KEYS_QUERY = text(
    "SELECT e.persona_id, e.message_id, e.user_id, e.emoji"
    " FROM unnest(CAST(:p AS BIGINT[]), CAST(:m AS BIGINT[]), CAST(:u AS BIGINT[]), CAST(:e AS VARCHAR[]))"
    " AS k(p, m, u, e)"
    " JOIN emotional_events e ON e.persona_id = k.p AND e.message_id = k.m AND e.user_id = k.u AND e.emoji = k.e"
)


@functools.cache
def _keys_query(count: int) -> Any:
    """SELECT the reaction keys among ``count`` given ones: an OR of exact keys, which both databases answer with one
    seek per key on the unique index (SQLite scans the whole index for a row-value IN list). Plain SQL text, as
    building the same thing from expression objects costs more than running it."""
    terms = " OR ".join(
        f"(persona_id = :p{i} AND message_id = :m{i} AND user_id = :u{i} AND emoji = :e{i})" for i in range(count)
    )
    return text(f"SELECT persona_id, message_id, user_id, emoji FROM emotional_events WHERE {terms}")


async def _existing_keys(session: AsyncSession, keyed: Sequence[Entry]) -> set[tuple[int, int, int, str]]:
    """Which of the entries' dedupe keys are already recorded."""
    wanted = sorted({entry.key for entry in keyed if entry.key is not None})
    found: set[tuple[int, int, int, str]] = set()
    if wanted and dialect_of(session) == "postgresql":  # the keys as four arrays, joined to the unique index
        columns = list(zip(*wanted, strict=True))
        arrays = {"p": list(columns[0]), "m": list(columns[1]), "u": list(columns[2]), "e": list(columns[3])}
        return {(r[0], r[1], r[2], r[3]) for r in (await session.execute(_PG_KEYS_QUERY, arrays)).all()}
    for start in range(0, len(wanted), 250):  # 1,000 parameters per query at most
        chunk = wanted[start : start + 250]
        params: dict[str, Any] = {}
        for i, (p, m, u, e) in enumerate(chunk):
            params.update({f"p{i}": p, f"m{i}": m, f"u{i}": u, f"e{i}": e})
        rows = (await session.execute(_keys_query(len(chunk)), params)).all()
        found.update((row[0], row[1], row[2], row[3]) for row in rows)
    return found


async def apply_entries(
    session: AsyncSession, entries: Sequence[Entry], now: datetime
) -> tuple[dict[int, Outcome], dict[int, int]]:
    """Apply entries in order, per persona, counting each dedupe key once. Returns each entry's outcome by index
    and the event id of each applied entry."""
    outcomes: dict[int, Outcome] = {}
    ids: dict[int, int] = {}
    loaded = await load_states(session, (e.persona_id for e in entries), now, for_update=True)
    live: list[Entry] = []
    for entry in entries:
        if entry.persona_id not in loaded:
            outcomes[entry.index] = "missing_persona"
        else:
            live.append(entry)
    existing = await _existing_keys(session, live)
    seen: set[tuple[int, int, int, str]] = set()
    fresh: list[Entry] = []
    for entry in live:
        key = entry.key
        if key is not None and (key in existing or key in seen):
            outcomes[entry.index] = "duplicate"
            continue
        if key is not None:
            seen.add(key)
        fresh.append(entry)
    dialect = dialect_of(session)
    # Normally one round. If another transaction recorded some of the same keys between our read and our insert
    # (PostgreSQL, several processes), those rows are skipped by ON CONFLICT: we delete what we inserted and
    # redo the computation without them, so only really-inserted rows ever have an emotional effect.
    while fresh:
        by_persona: dict[int, list[Entry]] = {}
        for entry in fresh:
            by_persona.setdefault(entry.persona_id, []).append(entry)
        finals = {pid: _compute(loaded[pid], group, now) for pid, group in by_persona.items()}
        rows = [entry.row for entry in fresh if entry.row is not None]
        returned = await _insert_events(session, dialect, rows)
        if len(returned) == len(rows):
            keyed_ids = {(r[1], r[2], r[3], r[4]): r[0] for r in returned if None not in (r[2], r[3], r[4])}
            unkeyed = sorted(r[0] for r in returned if None in (r[2], r[3], r[4]))
            for entry in fresh:
                key = entry.key
                outcomes[entry.index] = "applied"
                if key is not None:
                    ids[entry.index] = keyed_ids[key]
                elif unkeyed:
                    ids[entry.index] = unkeyed.pop(0)
            for pid, final in finals.items():
                loaded[pid].state = final
            await store_states(session, (loaded[pid] for pid in finals))
            break
        inserted = {(r[1], r[2], r[3], r[4]) for r in returned}
        table = _EVENT_TABLE
        await session.execute(delete(table).where(table.c.id.in_([r[0] for r in returned])))
        kept = []
        for entry in fresh:
            if entry.key is None or entry.key in inserted:
                kept.append(entry)
            else:
                outcomes[entry.index] = "duplicate"
        fresh = kept
    return outcomes, ids


def _check_emoji(emoji: str | None) -> str | None:
    if emoji is None:
        return None
    text = emoji.strip()
    if not text or len(text) > EMOJI_MAX:
        raise DomainError(f"An emoji must be 1 to {EMOJI_MAX} characters.")
    return text


async def apply_trigger(
    session: AsyncSession,
    persona_id: int,
    trigger: str,
    *,
    now: datetime,
    user_id: int | None = None,
    channel_id: int | None = None,
    message_id: int | None = None,
    emoji: str | None = None,
    context: str | None = None,
) -> EventView | None:
    """The persona's response to ``trigger`` at ``now`` (traits, learned scale and override), applied and stored,
    with an event recorded. None, and nothing changed, when this (message, user, emoji) was already counted.

    :class:`NotFound` for a missing persona, :class:`DomainError` for an unknown trigger."""
    core.trigger_label(trigger)  # raises DomainError naming the known triggers
    if context is not None and len(context) > _CONTEXT_MAX:
        context = context[:_CONTEXT_MAX]
    entry = Entry(
        index=0,
        persona_id=persona_id,
        trigger=trigger,
        at=now,
        user_id=user_id,
        channel_id=channel_id,
        message_id=message_id,
        emoji=_check_emoji(emoji),
        context=context,
    )
    outcomes, ids = await apply_entries(session, [entry], now)
    outcome = outcomes[0]
    if outcome == "missing_persona":
        raise NotFound(PERSONA_NOT_FOUND)
    if outcome != "applied" or entry.row is None:
        return None
    await achievements.check(session, persona_id, now, inputs_changed={"emotions"})
    row = entry.row
    return EventView(
        id=ids[0],
        persona_id=persona_id,
        trigger=trigger,
        emotion_type=row["emotion_type"],
        intensity=row["intensity"],
        responses=entry.responses,
        emoji=entry.emoji,
        user_id=user_id,
        channel_id=channel_id,
        message_id=message_id,
        previous_mood=PAD(row["previous_pleasure"], row["previous_arousal"], row["previous_dominance"]),
        new_mood=PAD(row["new_pleasure"], row["new_arousal"], row["new_dominance"]),
        created_at=row["created_at"],
        context=context,
    )
