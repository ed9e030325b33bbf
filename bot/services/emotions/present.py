"""The present: a persona's mood, active emotions (faded to now) and why (:func:`current_state`); reads only."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC as _UTC
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    CompoundSelect,
    Select,
    Subquery,
    Table,
    and_,
    bindparam,
    func,
    literal,
    null,
    or_,
    select,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core import catalog
from bot.core import emotions as core
from bot.core.errors import NotFound
from bot.core.ownership import PERSONA_NOT_FOUND
from bot.core.pad import describe, mood_intensity, mood_name
from bot.db import models
from bot.services.emotions import stored
from bot.services.emotions.stored import later, load_states
from bot.services.emotions.views import (
    ActiveEmotionView,
    MoodView,
)

# current_state(): at most this many events are read for the explanation (the newest in its window).
EXPLAIN_EVENT_LIMIT = 5_000


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


_EVENTS: Table = models.metadata.tables["emotional_events"]


@lru_cache(maxsize=16)
def _explain_query(longer: int) -> Select[Any]:
    """The explanation's query (:func:`_explain_events`) for ``longer`` emotion types counted over their own longer
    spans (``:kind_N`` and ``:since_N``), built once per count: the chat path explains the mood of every reply, and
    building this select and its cache key cost some 0.3 ms each time. Core columns: no ORM compile state."""
    recent = _recent_events(longer)
    return select(*_grouped(recent)).group_by(recent.c.trigger, recent.c.emotion_type)


def _recent_events(longer: int) -> Subquery:
    events = _EVENTS.c
    counted = [events.created_at >= bindparam("since")]
    counted += [
        and_(events.emotion_type == bindparam(f"kind_{n}"), events.created_at >= bindparam(f"since_{n}"))
        for n in range(longer)
    ]
    return (
        select(events.trigger, events.emotion_type, events.intensity, events.created_at)
        .where(
            events.persona_id == bindparam("persona_id"),
            events.created_at >= bindparam("oldest"),
            events.created_at <= bindparam("now"),
            or_(*counted),
        )
        .order_by(events.created_at.desc())
        .limit(EXPLAIN_EVENT_LIMIT)
        .subquery()
    )


def _grouped(recent: Subquery) -> list[Any]:
    """A group's trigger, emotion type, count, summed intensity and earliest time."""
    return [
        recent.c.trigger.label("event_trigger"),
        recent.c.emotion_type.label("event_type"),
        func.count().label("event_count"),
        func.sum(recent.c.intensity).label("event_total"),
        func.min(recent.c.created_at).label("event_earliest"),
    ]


def _state_and_window() -> CompoundSelect[Any]:
    """One round trip for the usual present: the persona's state read (stored.READ_COLUMNS, then five NULLs, then
    ``part`` 0) and the explanation's groups of the last window alone (NULLs, the groups' five columns, ``part`` 1),
    which is the whole explanation when no emotion still felt lasts longer than the window (:func:`current_state`).
    Rows in no order (the state's are sorted after)."""
    state = select(*stored.READ_COLUMNS, *(null() for _ in range(5)), literal(0).label("part"))
    recent = _recent_events(0)
    window = select(*(null() for _ in stored.READ_COLUMNS), *_grouped(recent), literal(1))
    return union_all(
        state.select_from(stored.READ_FROM).where(stored.READ_ONE),
        window.group_by(recent.c.trigger, recent.c.emotion_type),
    )


_STATE_AND_WINDOW = _state_and_window()
_GROUP = slice(len(stored.READ_COLUMNS), len(stored.READ_COLUMNS) + 5)  # a row's group columns


async def _explain_events(
    session: AsyncSession, persona_id: int, state: core.EmotionalState, now: datetime
) -> list[core.EventRecord]:
    """The events :func:`core.emotions.explain` can count at ``now``, aggregated in SQL.

    Explain counts an event if it is at most ``max(window, duration of that emotion type if still felt)`` old.
    The query is a range on (persona_id, created_at) (the index) with those cut-offs, grouped by trigger and
    emotion type; each group becomes ``count`` identical records carrying the group's mean intensity and its
    earliest time, which is all explain reads (counts, summed intensity, the earliest time)."""
    window = _window()
    longer = _longer(state, now, window)
    params: dict[str, Any] = {
        "persona_id": persona_id,
        "oldest": now - max([window, *longer.values()]),
        "now": now,
        "since": now - window,
    }
    for n, (kind, span) in enumerate(sorted(longer.items())):
        params[f"kind_{n}"], params[f"since_{n}"] = kind, now - span
    return _records((await session.execute(_explain_query(len(longer)), params)).all())


def _longer(state: core.EmotionalState, now: datetime, window: timedelta) -> dict[str, timedelta]:
    """The emotion types still felt at ``now`` whose duration is longer than the explanation's window."""
    return {
        e.type: timedelta(minutes=e.duration_minutes)
        for e in state.active
        if e.is_active(now) and timedelta(minutes=e.duration_minutes) > window
    }


def _window() -> timedelta:
    return timedelta(minutes=float(catalog.load("emotions")["dynamics"]["explain_window_minutes"]))


def _records(groups: Iterable[Sequence[Any]]) -> list[core.EventRecord]:
    """Each group (trigger, emotion type, count, summed intensity, earliest time) as ``count`` identical records
    with the group's mean intensity, which is all explain reads."""
    records: list[core.EventRecord] = []
    for trigger, kind, count, total, earliest in groups:
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

    Reads only: the state row, its active emotions, and the explanation's recent events (aggregated), in one
    round trip unless an emotion still felt outlasts the explanation's window (or the state is dated after
    ``now``): its older events are then read apart."""
    window = _window()
    since = now - window
    params = {"persona_id": persona_id, "oldest": since, "since": since, "now": now}
    rows = (await session.execute(_STATE_AND_WINDOW, params)).all()
    read = sorted((row for row in rows if row.part == 0), key=lambda row: row.active_id or 0)
    loaded = (await load_states(session, [persona_id], now, for_update=False, read=read)).get(persona_id)
    if loaded is None:
        raise NotFound(PERSONA_NOT_FOUND)
    at = later(now, loaded.state.as_of)
    present = core.advance(loaded.state, at)
    if at == now and not _longer(present, at, window):
        events = _records(row[_GROUP] for row in rows if row.part == 1)
    else:
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
