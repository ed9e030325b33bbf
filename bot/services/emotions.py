"""Emotion use cases: the present mood, triggers, reaction bursts, history, patterns and feedback.

Each function takes an open session (the caller owns the transaction), ids and plain data, calls
:mod:`bot.core.emotions`, writes rows and returns frozen dataclasses. The buffered reaction path
(:class:`ReactionBuffer`) lives in :mod:`bot.services.reactions`.

**Stored state.** ``emotional_states`` holds the mood true at ``as_of`` and the baseline (default mood);
``active_emotions`` holds the emotions felt at ``as_of``. The present is computed on read with
:func:`bot.core.emotions.advance` (closed form per sub-step, no per-second loop). Every write advances the state to
the write's time and stores it with ``as_of`` = that time; expired emotions are removed then.

**Events.** Each counted trigger writes one ``emotional_events`` row: the trigger, its strongest response (type and
intensity), who and where, ``previous_*`` = the mood as last recorded (the stored state's mood, at its old
``as_of``), and ``new_*`` = the mood at the event's moment (``created_at``). ALMA moves the mood continuously, not
in jumps, so an event's own pull shows in the moods of later moments; ``new_*`` is therefore an exact sample of
the mood timeline, which is what :func:`history` and :func:`patterns` read.

**Reactions count once.** The unique constraint on (persona, message, user, emoji) makes one person's reaction with
one emoji on one message count once, however often it is removed and re-added. :func:`remove_reaction` changes
nothing: a felt emotion is not un-felt, and the kept event row is what stops a re-add from counting again.

**Anonymous reactions.** A reaction from a person the persona may not remember (no consent under
:func:`bot.services.consent.decide_many`, or opted out) still moves the persona's feelings, but its event row has
no ``user_id`` and no relationship moves: such a person leaves no trace. Their "count once" is kept in the
caller's memory instead (``counted_anonymously``: salted digests of the keys, :func:`anonymous_key`; the
:class:`~bot.services.reactions.ReactionBuffer` keeps them while the process runs), so a re-add counts again only
after a restart.

**SQLite.** One connection per process (``bot/db/sqlite_inline.py``): nothing here awaits anything that opens
another session while its session is open.
"""

from __future__ import annotations

import functools
import hashlib
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from datetime import UTC as _UTC
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import Integer, and_, cast, delete, extract, func, insert, literal_column, or_, select, text, update
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core import catalog, personality
from bot.core import emotions as core
from bot.core.behaviors import matching_behaviors
from bot.core.emotion_patterns import MoodSample, Pattern, analyze_patterns
from bot.core.errors import DomainError, NotFound, PermissionDenied
from bot.core.pad import PAD, clamp_pad, describe, mood_intensity, mood_name
from bot.core.traits import ALL_TRAITS, BIG_FIVE
from bot.db import bulk, models
from bot.services import achievements, behaviors, consent, personas, relationships
from bot.services.personas import Actor, PersonaRecord
from bot.templating import behavior_templates

Outcome = Literal["applied", "duplicate", "ignored", "missing_persona"]

# current_state(): at most this many events are read for the explanation (the newest in its window).
EXPLAIN_EVENT_LIMIT = 5_000
# patterns(): the newest events read (and the mood samples derived from them, one per hour).
PATTERN_EVENT_LIMIT = 5_000
# Largest column values (the schema's lengths).
_EMOJI_MAX = 100
_CONTEXT_MAX = 4_000

_E = models.EmotionalEvent
_S = models.EmotionalState
_A = models.ActiveEmotion
_L = models.LearnedResponse
_P = models.Persona


# ----------------------------------------------------------------------------------------------------
# Plain data


@dataclass(frozen=True)
class ActiveEmotionView:
    """An emotion felt now: its current (linearly faded) intensity and band word, and how long it lasts."""

    type: str
    word: str
    intensity: float
    initial_intensity: float
    started_at: datetime
    ends_at: datetime
    remaining_minutes: float
    cause: str | None


@dataclass(frozen=True)
class MoodView:
    """A persona's emotional present at ``at``."""

    persona_id: int
    at: datetime
    mood: PAD
    mood_words: str  # bot.core.pad.describe: "moderately relaxed" or "neutral"
    mood_name: str  # the octant: exuberant, relaxed, ...
    intensity_word: str  # slightly | moderately | fully
    baseline: PAD
    baseline_words: str
    active: tuple[ActiveEmotionView, ...]
    explanation: str


@dataclass(frozen=True)
class ResponseView:
    emotion_type: str
    intensity: float
    duration_minutes: float


@dataclass(frozen=True)
class EventView:
    """One counted trigger and what it did."""

    id: int
    persona_id: int
    trigger: str
    emotion_type: str | None
    intensity: float
    responses: tuple[ResponseView, ...]
    emoji: str | None
    user_id: int | None
    channel_id: int | None
    message_id: int | None
    previous_mood: PAD
    new_mood: PAD
    created_at: datetime
    context: str | None


@dataclass(frozen=True)
class ReactionItem:
    """One reaction added to a message a persona spoke (ids as Discord gives them).

    ``guild_id`` selects the server's reaction map (None: DMs, the default map only); ``at`` is when the reaction
    happened (None: the batch's ``now``)."""

    persona_id: int
    user_id: int
    message_id: int
    emoji: str
    guild_id: int | None = None
    channel_id: int | None = None
    at: datetime | None = None


@dataclass(frozen=True)
class BatchResult:
    """What a batch did: counts, and each item's outcome in the order given."""

    applied: int
    duplicates: int
    ignored: int  # emoji with no trigger (no emotional effect), nothing recorded
    missing_personas: int  # the persona no longer exists
    outcomes: tuple[Outcome, ...] = ()
    # item index -> emoji the persona's emoji behaviours react with (the caller adds them, after commit)
    behavior_reactions: Mapping[int, tuple[str, ...]] = field(default_factory=dict)
    # anonymous_key() of each reaction counted without its person's id (the caller remembers them, after commit)
    counted_anonymously: tuple[bytes, ...] = ()

    @property
    def total(self) -> int:
        return self.applied + self.duplicates + self.ignored + self.missing_personas


@dataclass(frozen=True)
class RemovalResult:
    """A reaction was removed: whether it had been counted. Nothing changes either way (see the module doc)."""

    persona_id: int
    counted: bool
    event_id: int | None


@dataclass(frozen=True)
class HistoryPoint:
    """A bucket of events (or one event, when the range holds few): its start, how many events of each emotion
    type, their mean intensity per type, and the mean mood after them (None without events)."""

    at: datetime
    count: int
    by_emotion: Mapping[str, int]
    intensity_by_emotion: Mapping[str, float]
    mood: PAD | None


@dataclass(frozen=True)
class HistoryView:
    persona_id: int
    since: datetime
    until: datetime
    bucket_seconds: float | None  # None: one point per event
    points: tuple[HistoryPoint, ...]
    total: int
    by_emotion: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class FeedbackResult:
    event_id: int
    trigger: str
    verdict: str | None  # right | wrong | too_strong | too_weak, None when withdrawn
    should_be: str | None
    scale_before: float
    scale: float
    override_before: str | None
    override: str | None
    feedback_count: int
    replaced: bool  # an earlier verdict on this event was undone first


# ----------------------------------------------------------------------------------------------------
# Loading and storing state


@dataclass
class _Loaded:
    """A persona's state as loaded for a write (mutable while a batch works on it)."""

    persona_id: int
    traits: dict[str, float]
    state: core.EmotionalState
    has_row: bool
    learned: dict[str, core.Learned]


_STATE_COLUMNS = (
    _S.persona_id, _S.mood_pleasure, _S.mood_arousal, _S.mood_dominance,
    _S.baseline_pleasure, _S.baseline_arousal, _S.baseline_dominance, _S.as_of,
)  # fmt: skip


_ACTIVE_COLUMNS = (
    _A.id.label("active_id"), _A.emotion_type, _A.intensity, _A.duration_minutes, _A.started_at, _A.cause,
)  # fmt: skip


def _active(row: Any) -> core.ActiveEmotion:
    """An active emotion from a row with its columns (an ``ActiveEmotion`` or a joined read)."""
    return core.ActiveEmotion(
        type=row.emotion_type,
        intensity=min(100.0, max(0.0, row.intensity)),
        duration_minutes=row.duration_minutes,
        started_at=row.started_at,
        cause=row.cause,
    )


def _trait_columns() -> list[Any]:
    return [getattr(_P, name) for name in ALL_TRAITS]


def _later(a: datetime, b: datetime) -> datetime:
    return a if a >= b else b


async def _load_states(
    session: AsyncSession, persona_ids: Iterable[int], now: datetime, *, for_update: bool
) -> dict[int, _Loaded]:
    """Traits, state, active emotions and learned responses of existing personas: four queries for all of them to
    write, one to read.

    ``for_update`` locks the state rows (PostgreSQL; SQLite has one writer anyway), in persona order. A read
    (``for_update`` false) is for showing the state, which learned responses do not change: they are not read."""
    ids = sorted(set(persona_ids))
    if not ids:
        return {}
    states: dict[int, Any] = {}
    actives: dict[int, list[core.ActiveEmotion]] = {}
    if for_update:
        traits_rows = (await session.execute(select(_P.id, *_trait_columns()).where(_P.id.in_(ids)))).all()
    else:
        # A read: traits, state and active emotions in one query, a row per active emotion (a lock cannot take
        # the outer side of a join, so a write reads them apart).
        query = (
            select(_P.id, *_trait_columns(), *_STATE_COLUMNS, *_ACTIVE_COLUMNS)
            .outerjoin(_S, _S.persona_id == _P.id)  # type: ignore[arg-type]
            .outerjoin(_A, _A.persona_id == _P.id)  # type: ignore[arg-type]
            .where(_P.id.in_(ids))
            .order_by(_P.id, _A.id)
        )
        joined = (await session.execute(query)).all()
        traits_rows = list({row.id: row for row in reversed(joined)}.values())
        states = {row.id: row for row in traits_rows if row.persona_id is not None}
        for row in joined:
            if row.active_id is not None:
                actives.setdefault(row.id, []).append(_active(row))
    width = 1 + len(ALL_TRAITS)
    traits = {
        row[0]: {name: float(value) for name, value in zip(ALL_TRAITS, row[1:width], strict=True)}
        for row in traits_rows
    }
    found = sorted(traits)
    if not found:
        return {}
    if for_update:
        state_query = select(_S).where(_S.persona_id.in_(found)).order_by(_S.persona_id)
        if _dialect(session) == "postgresql":
            state_query = state_query.with_for_update()
        states = {row.persona_id: row for row in (await session.execute(state_query)).scalars()}
    learned: dict[int, dict[str, core.Learned]] = {}
    if for_update:  # a read has its active emotions already, and does not use learned responses
        for row in (await session.execute(select(_A).where(_A.persona_id.in_(found)).order_by(_A.id))).scalars():
            actives.setdefault(row.persona_id, []).append(_active(row))
        for row in (await session.execute(select(_L).where(_L.persona_id.in_(found)))).scalars():
            learned.setdefault(row.persona_id, {})[row.trigger] = core.Learned(row.scale, row.override_emotion)
    out: dict[int, _Loaded] = {}
    for persona_id in found:
        row = states.get(persona_id)
        if row is None:
            home = personality.default_mood({k: traits[persona_id][k] for k in BIG_FIVE})
            state = core.new_state(home, now)
        else:
            state = core.EmotionalState(
                mood=clamp_pad((row.mood_pleasure, row.mood_arousal, row.mood_dominance)),
                baseline=clamp_pad((row.baseline_pleasure, row.baseline_arousal, row.baseline_dominance)),
                active=tuple(actives.get(persona_id, ())),
                as_of=row.as_of,
            )
        out[persona_id] = _Loaded(persona_id, traits[persona_id], state, row is not None, learned.get(persona_id, {}))
    return out


async def _store_states(session: AsyncSession, loaded: Iterable[_Loaded]) -> None:
    """Write each persona's state once: the state row (updated, or inserted if it had none) and its active
    emotions (replaced by the current set; expired ones are gone)."""
    items = list(loaded)
    if not items:
        return
    updates, inserts, emotions = [], [], []
    for item in items:
        state = item.state
        values = {
            "persona_id": item.persona_id,
            "mood_pleasure": state.mood[0],
            "mood_arousal": state.mood[1],
            "mood_dominance": state.mood[2],
            "baseline_pleasure": state.baseline[0],
            "baseline_arousal": state.baseline[1],
            "baseline_dominance": state.baseline[2],
            "as_of": state.as_of,
        }
        (updates if item.has_row else inserts).append(values)
        emotions.extend(
            {
                "persona_id": item.persona_id,
                "emotion_type": e.type,
                "intensity": e.intensity,
                "duration_minutes": e.duration_minutes,
                "cause": e.cause,
                "started_at": e.started_at,
            }
            for e in state.active
            if state.as_of < e.ends_at
        )
    table = _S.__table__  # type: ignore[attr-defined]
    for values in updates:
        await session.execute(
            update(table)
            .where(table.c.persona_id == values["persona_id"])
            .values({k: v for k, v in values.items() if k != "persona_id"})
        )
    if inserts:
        await session.execute(insert(table), inserts)
        for item in items:
            item.has_row = True
    ids = [item.persona_id for item in items]
    await session.execute(delete(_A.__table__).where(_A.__table__.c.persona_id.in_(ids)))  # type: ignore[attr-defined]
    if emotions:
        await session.execute(insert(_A.__table__), emotions)  # type: ignore[attr-defined]


# ----------------------------------------------------------------------------------------------------
# The present


def _active_views(state: core.EmotionalState, now: datetime) -> tuple[ActiveEmotionView, ...]:
    views = []
    for e in state.active:
        if not e.is_active(now):
            continue
        level = e.intensity_at(now)
        views.append(
            ActiveEmotionView(
                type=e.type,
                word=core.emotion_word(e.type, level),
                intensity=level,
                initial_intensity=e.intensity,
                started_at=e.started_at,
                ends_at=e.ends_at,
                remaining_minutes=e.remaining_minutes(now),
                cause=e.cause,
            )
        )
    return tuple(sorted(views, key=lambda v: (-v.intensity, v.type)))


async def _explain_events(session: AsyncSession, persona_id: int, state: core.EmotionalState, now: datetime) -> list:
    """The events :func:`core.emotions.explain` can count at ``now``, aggregated in SQL.

    Explain counts an event if it is at most ``max(window, duration of that emotion type if still felt)`` old.
    The query is a range on (persona_id, created_at) (the index) with those cut-offs, grouped by trigger and
    emotion type; each group becomes ``count`` identical records carrying the group's mean intensity and its
    earliest time, which is all explain reads (counts, summed intensity, the earliest time)."""
    window = timedelta(minutes=float(catalog.load("emotions")["dynamics"]["explain_window_minutes"]))
    longer = {
        e.type: timedelta(minutes=e.duration_minutes)
        for e in state.active
        if e.is_active(now) and timedelta(minutes=e.duration_minutes) > window
    }
    oldest = now - max([window, *longer.values()])
    clauses = [_E.created_at >= now - window]
    clauses += [and_(_E.emotion_type == kind, _E.created_at >= now - span) for kind, span in longer.items()]
    recent = (
        select(_E.trigger, _E.emotion_type, _E.intensity, _E.created_at)
        .where(_E.persona_id == persona_id, _E.created_at >= oldest, _E.created_at <= now, or_(*clauses))
        .order_by(_E.created_at.desc())
        .limit(EXPLAIN_EVENT_LIMIT)
        .subquery()
    )
    query = select(
        recent.c.trigger,
        recent.c.emotion_type,
        func.count(),
        func.sum(recent.c.intensity),
        func.min(recent.c.created_at),
    ).group_by(recent.c.trigger, recent.c.emotion_type)
    records: list[core.EventRecord] = []
    for trigger, kind, count, total, earliest in (await session.execute(query)).all():
        if kind is None or count <= 0:
            continue
        at = _as_datetime(earliest)
        record = core.EventRecord(trigger, kind, float(total or 0.0) / count, None, None, at)
        records.extend([record] * int(count))
    return records


def _as_datetime(value: Any) -> datetime:
    """An aggregate's datetime (SQLite hands ``min()`` of a datetime column back as text)."""
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=_UTC)
    parsed = datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=_UTC)


async def current_state(session: AsyncSession, persona_id: int, now: datetime) -> MoodView:
    """The persona's emotional present at ``now``: mood, baseline, active emotions (faded) and why.

    Reads only: the state row, its active emotions, and the explanation's recent events (aggregated)."""
    loaded = (await _load_states(session, [persona_id], now, for_update=False)).get(persona_id)
    if loaded is None:
        raise NotFound("That persona does not exist (it may have been deleted).")
    at = _later(now, loaded.state.as_of)
    present = core.advance(loaded.state, at)
    events = await _explain_events(session, persona_id, present, at)
    explanation = core.explain(present, events, at)
    return MoodView(
        persona_id=persona_id,
        at=at,
        mood=present.mood,
        mood_words=describe(present.mood),
        mood_name=mood_name(present.mood),
        intensity_word=mood_intensity(present.mood),
        baseline=present.baseline,
        baseline_words=describe(present.baseline),
        active=_active_views(present, at),
        explanation=explanation,
    )


# ----------------------------------------------------------------------------------------------------
# Applying triggers (one, or a burst)


@dataclass
class _Entry:
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


def _compute(loaded: _Loaded, entries: Sequence[_Entry], now: datetime) -> core.EmotionalState:
    """Apply ``entries`` in order to a copy of the loaded state; fill each entry's event row. Returns the final
    state advanced to the latest of ``now`` and the entries' times (the loaded state is left unchanged)."""
    state = loaded.state
    for entry in entries:
        at = _later(entry.at or now, state.as_of)
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
    return core.advance(state, _later(now, state.as_of))


@functools.cache
def _sqlite_insert_ignoring_duplicates() -> Any:
    """SQLite: INSERT ... ON CONFLICT (the reaction key) DO NOTHING RETURNING the key and id, for executemany
    (SQLAlchemy renders multi-row VALUES statements, "insertmanyvalues"). PostgreSQL uses column arrays instead."""
    table = _E.__table__  # type: ignore[attr-defined]
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
        table = _E.__table__  # type: ignore[attr-defined]
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


async def _existing_keys(session: AsyncSession, keyed: Sequence[_Entry]) -> set[tuple[int, int, int, str]]:
    """Which of the entries' dedupe keys are already recorded."""
    wanted = sorted({entry.key for entry in keyed if entry.key is not None})
    found: set[tuple[int, int, int, str]] = set()
    if wanted and _dialect(session) == "postgresql":  # the keys as four arrays, joined to the unique index
        columns = list(zip(*wanted, strict=True))
        params = {"p": list(columns[0]), "m": list(columns[1]), "u": list(columns[2]), "e": list(columns[3])}
        return {(r[0], r[1], r[2], r[3]) for r in (await session.execute(_PG_KEYS_QUERY, params)).all()}
    for start in range(0, len(wanted), 250):  # 1,000 parameters per query at most
        chunk = wanted[start : start + 250]
        params: dict[str, Any] = {}
        for i, (p, m, u, e) in enumerate(chunk):
            params.update({f"p{i}": p, f"m{i}": m, f"u{i}": u, f"e{i}": e})
        rows = (await session.execute(_keys_query(len(chunk)), params)).all()
        found.update((row[0], row[1], row[2], row[3]) for row in rows)
    return found


async def _apply_entries(
    session: AsyncSession, entries: Sequence[_Entry], now: datetime
) -> tuple[dict[int, Outcome], dict[int, int]]:
    """Apply entries in order, per persona, counting each dedupe key once. Returns each entry's outcome by index
    and the event id of each applied entry."""
    outcomes: dict[int, Outcome] = {}
    ids: dict[int, int] = {}
    loaded = await _load_states(session, (e.persona_id for e in entries), now, for_update=True)
    live: list[_Entry] = []
    for entry in entries:
        if entry.persona_id not in loaded:
            outcomes[entry.index] = "missing_persona"
        else:
            live.append(entry)
    existing = await _existing_keys(session, live)
    seen: set[tuple[int, int, int, str]] = set()
    fresh: list[_Entry] = []
    for entry in live:
        key = entry.key
        if key is not None and (key in existing or key in seen):
            outcomes[entry.index] = "duplicate"
            continue
        if key is not None:
            seen.add(key)
        fresh.append(entry)
    dialect = _dialect(session)
    # Normally one round. If another transaction recorded some of the same keys between our read and our insert
    # (PostgreSQL, several processes), those rows are skipped by ON CONFLICT: we delete what we inserted and
    # redo the computation without them, so only really-inserted rows ever have an emotional effect.
    while fresh:
        by_persona: dict[int, list[_Entry]] = {}
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
            await _store_states(session, (loaded[pid] for pid in finals))
            break
        inserted = {(r[1], r[2], r[3], r[4]) for r in returned}
        table = _E.__table__  # type: ignore[attr-defined]
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
    if not text or len(text) > _EMOJI_MAX:
        raise DomainError(f"An emoji must be 1 to {_EMOJI_MAX} characters.")
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
    entry = _Entry(
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
    outcomes, ids = await _apply_entries(session, [entry], now)
    outcome = outcomes[0]
    if outcome == "missing_persona":
        raise NotFound("That persona does not exist (it may have been deleted).")
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


async def load_reaction_maps(session: AsyncSession, guild_ids: Iterable[int | None]) -> dict[int, dict[str, str]]:
    """The servers' own reaction maps (emoji -> trigger), one query; guilds without settings are left out."""
    ids = sorted({g for g in guild_ids if g is not None})
    if not ids:
        return {}
    query = select(models.GuildSettings.guild_id, models.GuildSettings.reaction_map).where(
        models.GuildSettings.guild_id.in_(ids)
    )
    return {row[0]: dict(row[1] or {}) for row in (await session.execute(query)).all()}


async def apply_reactions(
    session: AsyncSession,
    items: Sequence[ReactionItem],
    now: datetime,
    *,
    server_maps: Mapping[int, Mapping[str, str]] | None = None,
    counted_anonymously: AbstractSet[bytes] | None = None,
) -> BatchResult:
    """The burst path: many reactions (many users, many personas) in the caller's one transaction.

    Reactions of people the persona may not remember are counted anonymously (module doc); ``counted_anonymously``
    holds the keys of those counted before, the result's ``counted_anonymously`` the new ones.

    Emoji map to triggers (:func:`bot.core.emotions.trigger_for_emoji` over the server's map, loaded once per batch
    from ``guild_settings`` unless ``server_maps`` is given); unknown emoji are ignored. Per persona the state is
    loaded once, the reactions are applied in order in memory, and the final state written once; all events go in
    multi-row INSERTs that skip already-counted (persona, message, user, emoji) keys, and only reactions whose row
    was really inserted have an emotional effect. Reactions of deleted personas are skipped."""
    if not items:
        return BatchResult(0, 0, 0, 0, ())
    maps = (
        dict(server_maps) if server_maps is not None else await load_reaction_maps(session, (i.guild_id for i in items))
    )
    cache: dict[tuple[int | None, str], str | None] = {}
    outcomes: dict[int, Outcome] = {}
    entries: list[_Entry] = []
    for index, item in enumerate(items):
        emoji = item.emoji.strip()
        memo = (item.guild_id, emoji)
        if memo not in cache:
            try:
                valid = bool(emoji) and len(emoji) <= _EMOJI_MAX
                cache[memo] = core.trigger_for_emoji(emoji, maps.get(item.guild_id or 0)) if valid else None
            except DomainError:  # a server map naming a trigger that does not exist
                cache[memo] = None
        trigger = cache[memo]
        if trigger is None:
            outcomes[index] = "ignored"
            continue
        entries.append(
            _Entry(
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
    # People the persona may not remember are counted without their id (the module doc's anonymous reactions).
    decisions = await consent.decide_many(
        session, {(item.user_id, item.guild_id, item.persona_id) for item in items if item.user_id is not None}
    )
    known = set(counted_anonymously or ())
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
    entries = [entry for entry in entries if entry.index not in outcomes]
    applied, _ = await _apply_entries(session, entries, now)
    outcomes.update(applied)
    counted = [e for e in entries if applied.get(e.index) == "applied"]
    # How the persona feels about each person who reacted moves with the reaction (one upsert per batch).
    await relationships.record_reactions(
        session, [(e.persona_id, e.user_id, e.trigger) for e in counted if e.user_id is not None], now=now
    )
    for persona_id in sorted({e.persona_id for e in counted}):
        await achievements.check(session, persona_id, now, inputs_changed={"emotions"})
    behavior_reactions = await _emoji_behaviors(session, counted, now)
    ordered = tuple(outcomes[i] for i in range(len(items)))
    return BatchResult(
        applied=ordered.count("applied"),
        duplicates=ordered.count("duplicate"),
        ignored=ordered.count("ignored"),
        missing_personas=ordered.count("missing_persona"),
        outcomes=ordered,
        behavior_reactions=behavior_reactions,
        counted_anonymously=tuple(e.anonymous for e in counted if e.anonymous is not None),
    )


# A per-process salt: the digests of anonymous reactions cannot be matched to a person outside this process.
_ANONYMOUS_SALT = os.urandom(16)


def anonymous_key(persona_id: int, message_id: int | None, user_id: int | None, emoji: str | None) -> bytes:
    """A salted digest standing for one person's reaction with one emoji on one message (never stored)."""
    text = f"{persona_id}:{message_id}:{user_id}:{emoji}".encode()
    return hashlib.blake2b(text, key=_ANONYMOUS_SALT, digest_size=16).digest()


async def _emoji_behaviors(
    session: AsyncSession, counted: Sequence[_Entry], now: datetime
) -> dict[int, tuple[str, ...]]:
    """The personas' emoji behaviours for the reactions just counted (one query per batch): their emotional triggers
    are applied here; the reactions they ask for are returned by item index for the caller to add."""
    rules = await behaviors.emoji_enabled_for(session, sorted({e.persona_id for e in counted if e.emoji}))
    if not rules:
        return {}
    reactions: dict[int, tuple[str, ...]] = {}
    variables = behavior_templates.template_variables(persona_name="", author_name="", mood="neutral", now=now)
    for entry in counted:
        matched = matching_behaviors(rules.get(entry.persona_id, []), "", entry.emoji, {}, now)
        if not matched:
            continue
        effect = behavior_templates.plan_effects(matched, variables)
        for name in effect.emotion_triggers:
            await apply_trigger(
                session, entry.persona_id, name, now=now, user_id=entry.user_id, channel_id=entry.channel_id,
                context=f"custom behaviour on a {entry.emoji} reaction",
            )  # fmt: skip
        if effect.reactions:
            reactions[entry.index] = tuple(effect.reactions)
    return reactions


async def remove_reaction(
    session: AsyncSession, persona_id: int, *, user_id: int, message_id: int, emoji: str
) -> RemovalResult:
    """A reaction was removed. Nothing changes: the emotion was felt and is not un-felt, and the event row stays,
    so re-adding the same emoji does not count again (one person, one message, one emoji: counted once).
    Returns whether the reaction had been counted."""
    query = select(_E.id).where(
        _E.persona_id == persona_id, _E.message_id == message_id, _E.user_id == user_id, _E.emoji == emoji.strip()
    )
    event_id = (await session.execute(query.limit(1))).scalar_one_or_none()
    return RemovalResult(persona_id=persona_id, counted=event_id is not None, event_id=event_id)


# ----------------------------------------------------------------------------------------------------
# History and patterns


def _dialect(session: AsyncSession) -> str:
    return session.get_bind().dialect.name


def _bucket_expression(dialect: str, since: datetime, width: float) -> Any:
    """The bucket index of an event's ``created_at`` (whole ``width``-second steps since ``since``), in SQL.

    The constants are rendered inline (they are numbers and a timestamp we made), so the expression is
    self-contained."""
    if dialect == "postgresql":
        seconds = extract("epoch", _E.created_at) - literal_column(repr(since.timestamp()))
        return func.floor(seconds / literal_column(repr(float(width))))
    start = since.astimezone(_UTC).replace(tzinfo=None).isoformat(sep=" ")
    seconds = (func.julianday(_E.created_at) - func.julianday(literal_column(f"'{start}'"))) * 86_400.0
    # CAST truncates toward zero: the floor, as the values are not negative (created_at >= since).
    return cast(seconds / literal_column(repr(float(width))), Integer)


async def history(
    session: AsyncSession, persona_id: int, since: datetime, until: datetime, *, max_points: int = 500
) -> HistoryView:
    """Events in ``[since, until)`` for a chart: at most ``max_points`` points.

    With at most ``max_points`` events each is its own point; with more, the range is cut into ``max_points``
    equal buckets and the database groups the events (an index range on (persona_id, created_at); no event is
    loaded into Python)."""
    if until <= since:
        raise DomainError("The end of a history range must be after its start.")
    if max_points < 1:
        raise DomainError("A history needs at least one point.")
    in_range = (_E.persona_id == persona_id, _E.created_at >= since, _E.created_at < until)
    columns = (_E.created_at, _E.emotion_type, _E.intensity, _E.new_pleasure, _E.new_arousal, _E.new_dominance)
    first = (
        await session.execute(select(*columns).where(*in_range).order_by(_E.created_at, _E.id).limit(max_points + 1))
    ).all()
    if len(first) <= max_points:
        points = tuple(
            HistoryPoint(
                at=row[0],
                count=1,
                by_emotion={row[1]: 1} if row[1] else {},
                intensity_by_emotion={row[1]: float(row[2])} if row[1] else {},
                mood=PAD(row[3], row[4], row[5]),
            )
            for row in first
        )
        return HistoryView(persona_id, since, until, None, points, len(points), _totals(points))
    width = max(1.0, math.ceil((until - since).total_seconds() / max_points))
    inner = (
        select(
            _bucket_expression(_dialect(session), since, width).label("bucket"),
            _E.emotion_type,
            _E.intensity,
            _E.new_pleasure,
            _E.new_arousal,
            _E.new_dominance,
        )
        .where(*in_range)
        .subquery()
    )
    query = select(
        inner.c.bucket,
        inner.c.emotion_type,
        func.count(),
        func.avg(inner.c.intensity),
        func.sum(inner.c.new_pleasure),
        func.sum(inner.c.new_arousal),
        func.sum(inner.c.new_dominance),
    ).group_by(inner.c.bucket, inner.c.emotion_type)
    grouped: dict[int, dict[str, Any]] = {}
    last = max(0, math.ceil((until - since).total_seconds() / width) - 1)
    for index, kind, count, mean, p, a, d in (await session.execute(query)).all():
        slot = grouped.setdefault(min(last, max(0, int(index))), {"n": 0, "by": {}, "mean": {}, "pad": [0.0] * 3})
        slot["n"] += int(count)
        slot["pad"] = [slot["pad"][0] + float(p), slot["pad"][1] + float(a), slot["pad"][2] + float(d)]
        if kind:
            slot["by"][kind] = slot["by"].get(kind, 0) + int(count)
            slot["mean"][kind] = float(mean)
    points = tuple(
        HistoryPoint(
            at=since + timedelta(seconds=index * width),
            count=slot["n"],
            by_emotion=slot["by"],
            intensity_by_emotion=slot["mean"],
            mood=PAD(*(value / slot["n"] for value in slot["pad"])),
        )
        for index, slot in sorted(grouped.items())
    )
    return HistoryView(persona_id, since, until, width, points, sum(p.count for p in points), _totals(points))


def _totals(points: Sequence[HistoryPoint]) -> dict[str, int]:
    totals: dict[str, int] = {}
    for point in points:
        for kind, count in point.by_emotion.items():
            totals[kind] = totals.get(kind, 0) + count
    return totals


async def patterns(session: AsyncSession, persona_id: int, now: datetime, days: int = 30) -> list[Pattern]:
    """Patterns in the last ``days`` (:func:`bot.core.emotion_patterns.analyze_patterns`) from a bounded sample:
    the newest :data:`PATTERN_EVENT_LIMIT` events, and one mood sample per hour with events (the mood after the
    hour's last event)."""
    if days < 1:
        raise DomainError("Look at least one day back.")
    query = (
        select(
            _E.trigger,
            _E.emotion_type,
            _E.intensity,
            _E.user_id,
            _E.channel_id,
            _E.created_at,
            _E.new_pleasure,
            _E.new_arousal,
            _E.new_dominance,
        )
        .where(_E.persona_id == persona_id, _E.created_at >= now - timedelta(days=days), _E.created_at <= now)
        .order_by(_E.created_at.desc())
        .limit(PATTERN_EVENT_LIMIT)
    )
    rows = list(reversed((await session.execute(query)).all()))
    events = [core.EventRecord(r[0], r[1], float(r[2]), r[3], r[4], r[5]) for r in rows if r[1] is not None]
    hourly: dict[datetime, MoodSample] = {}
    for r in rows:
        hour = r[5].replace(minute=0, second=0, microsecond=0)
        hourly[hour] = MoodSample(at=r[5], mood=PAD(r[6], r[7], r[8]))
    return analyze_patterns(events, [hourly[h] for h in sorted(hourly)])


# ----------------------------------------------------------------------------------------------------
# Feedback


_VERDICTS = ("right", "wrong")


def _decode(stored: str | None) -> tuple[str | None, str | None]:
    """A stored feedback verdict as (verdict, adjustment)."""
    if stored in ("too_strong", "too_weak"):
        return "wrong", stored
    return stored, None


async def _feedback_target(
    session: AsyncSession, actor_user_id: int, persona_id: int, event_id: int
) -> tuple[models.EmotionalEvent, models.LearnedResponse | None]:
    owner = (await session.execute(select(_P.owner_id).where(_P.id == persona_id))).scalar_one_or_none()
    if owner is None:
        raise NotFound("That persona does not exist (it may have been deleted).")
    if owner != actor_user_id:
        raise PermissionDenied("Only the persona's owner can give feedback on its emotions.")
    event = (
        await session.execute(select(_E).where(_E.id == event_id, _E.persona_id == persona_id))
    ).scalar_one_or_none()
    if event is None:
        raise NotFound("That emotional event does not exist for this persona.")
    learned = (
        await session.execute(select(_L).where(_L.persona_id == persona_id, _L.trigger == event.trigger))
    ).scalar_one_or_none()
    return event, learned


def _undo(learned: core.Learned, event: models.EmotionalEvent) -> core.Learned:
    """Take back what an earlier verdict on ``event`` taught (the opposite adjustment; its override cleared if it
    is still the one in force)."""
    _, adjustment = _decode(event.feedback_verdict)
    scale = learned.scale
    if adjustment is not None:
        opposite = "too_weak" if adjustment == "too_strong" else "too_strong"
        scale = core.apply_feedback(scale, "wrong", opposite)  # type: ignore[arg-type]
    override = learned.override
    if event.feedback_emotion is not None and override == event.feedback_emotion:
        override = None
    return core.Learned(scale=scale, override=override)


async def feedback(
    session: AsyncSession,
    actor_user_id: int,
    persona_id: int,
    event_id: int,
    verdict: str,
    adjustment: str | None = None,
    should_be: str | None = None,
    *,
    now: datetime | None = None,
) -> FeedbackResult:
    """The owner says whether the persona's response in one event was right (owner only).

    ``"wrong"`` needs ``adjustment`` (``"too_strong"`` / ``"too_weak"``), ``should_be`` (an emotion type), or both;
    the learned response to the event's trigger changes as :func:`bot.core.emotions.learn` says, and the event is
    marked. Reversible: a new verdict on the same event first undoes the earlier one (so "right" after "too strong"
    restores the scale), and :func:`withdraw_feedback` undoes it and clears the mark."""
    if verdict not in _VERDICTS:
        raise DomainError("A verdict is 'right' or 'wrong'.")
    if adjustment not in (None, "too_strong", "too_weak"):
        raise DomainError("An adjustment is 'too_strong' or 'too_weak'.")
    event, row = await _feedback_target(session, actor_user_id, persona_id, event_id)
    before = core.Learned(row.scale, row.override_emotion) if row is not None else core.Learned()
    replaced = event.feedback_verdict is not None
    base = _undo(before, event) if replaced else before
    after = core.learn(base, event.trigger, verdict, adjustment, should_be)  # type: ignore[arg-type]
    when = now or event.created_at
    count = (row.feedback_count if row is not None else 0) + (0 if replaced else 1)
    if row is None:
        row = models.LearnedResponse(persona_id=persona_id, trigger=event.trigger, updated_at=when)
        session.add(row)
    row.scale, row.override_emotion, row.feedback_count, row.updated_at = after.scale, after.override, count, when
    event.feedback_verdict = adjustment if verdict == "wrong" and adjustment else verdict
    event.feedback_emotion = should_be if verdict == "wrong" else None
    await session.flush()
    return FeedbackResult(
        event_id=event_id,
        trigger=event.trigger,
        verdict=event.feedback_verdict,
        should_be=event.feedback_emotion,
        scale_before=before.scale,
        scale=after.scale,
        override_before=before.override,
        override=after.override,
        feedback_count=count,
        replaced=replaced,
    )


async def withdraw_feedback(
    session: AsyncSession, actor_user_id: int, persona_id: int, event_id: int, *, now: datetime | None = None
) -> FeedbackResult:
    """Undo the verdict given on an event (owner only): the learned response goes back and the mark is cleared."""
    event, row = await _feedback_target(session, actor_user_id, persona_id, event_id)
    before = core.Learned(row.scale, row.override_emotion) if row is not None else core.Learned()
    if event.feedback_verdict is None or row is None:
        raise DomainError("There is no feedback on that event to withdraw.")
    after = _undo(before, event)
    row.scale, row.override_emotion = after.scale, after.override
    row.feedback_count = max(0, row.feedback_count - 1)
    row.updated_at = now or event.created_at
    event.feedback_verdict = None
    event.feedback_emotion = None
    await session.flush()
    return FeedbackResult(
        event_id=event_id,
        trigger=event.trigger,
        verdict=None,
        should_be=None,
        scale_before=before.scale,
        scale=after.scale,
        override_before=before.override,
        override=after.override,
        feedback_count=row.feedback_count,
        replaced=True,
    )


# Who may read a persona's emotions, and its recent events (for /mood feedback).

EVENT_SCAN_LIMIT = 200
_E = models.EmotionalEvent


@dataclass(frozen=True)
class EventSummary:
    """One emotional event, for choosing it (``/mood feedback``)."""

    id: int
    created_at: datetime
    trigger: str
    emoji: str | None
    emotion_type: str | None
    intensity: float
    user_id: int | None
    feedback_verdict: str | None


async def mood_access(session: AsyncSession, actor: Actor, persona_id: int, *, owner_only: bool) -> PersonaRecord:
    """The persona, if ``actor`` may read its emotions; else :class:`NotFound` (may not know it exists) or
    :class:`PermissionDenied`.

    The present mood (``owner_only=False``): anyone who may see the persona and, by its privacy settings, its
    ``mood`` field. History, patterns and events (``owner_only=True``): the owner only."""
    record = await personas.get(session, persona_id, viewer=actor)
    is_owner = record.owner_id == actor.user_id
    if owner_only:
        if not is_owner:
            raise PermissionDenied(f"Only {record.name}'s owner can look into its emotional history.")
        return record
    same_guild = actor.guild_id is not None and actor.guild_id == record.guild_id
    if not record.privacy_settings.can_see("mood", is_owner=is_owner, same_guild=same_guild):
        raise PermissionDenied(f"{record.name}'s owner keeps its mood private.")
    return record


async def recent_events(
    session: AsyncSession,
    actor: Actor,
    persona_id: int,
    *,
    limit: int = 25,
    text: str | None = None,
) -> list[EventSummary]:
    """The persona's newest emotional events, newest first (owner only). With ``text``, only events whose id,
    trigger, emotion or emoji contain it (among the newest :data:`EVENT_SCAN_LIMIT`)."""
    await mood_access(session, actor, persona_id, owner_only=True)
    wanted = (text or "").strip().casefold()
    query = (
        select(
            _E.id,
            _E.created_at,
            _E.trigger,
            _E.emoji,
            _E.emotion_type,
            _E.intensity,
            _E.user_id,
            _E.feedback_verdict,
        )
        .where(_E.persona_id == persona_id)
        .order_by(_E.created_at.desc(), _E.id.desc())
        .limit(EVENT_SCAN_LIMIT if wanted else max(1, limit))
    )
    out: list[EventSummary] = []
    for row in (await session.execute(query)).all():
        event = EventSummary(*row)
        if wanted:
            haystack = " ".join(str(part) for part in (event.id, event.trigger, event.emotion_type, event.emoji))
            if wanted not in haystack.casefold():
                continue
        out.append(event)
        if len(out) >= limit:
            break
    return out
