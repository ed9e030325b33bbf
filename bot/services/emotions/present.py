"""The present: a persona's mood, active emotions (faded to now) and why (:func:`current_state`); reads only."""

from __future__ import annotations

from datetime import UTC as _UTC
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import Select, Table, and_, bindparam, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core import catalog
from bot.core import emotions as core
from bot.core.errors import NotFound
from bot.core.ownership import PERSONA_NOT_FOUND
from bot.core.pad import describe, mood_intensity, mood_name
from bot.db import models
from bot.services.emotions.stored import later, load_states
from bot.services.emotions.views import (
    ActiveEmotionView,
    MoodView,
)

# current_state(): at most this many events are read for the explanation (the newest in its window).
EXPLAIN_EVENT_LIMIT = 5_000

_EventRow = models.EmotionalEvent


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
    events = _EVENTS.c
    counted = [events.created_at >= bindparam("since")]
    counted += [
        and_(events.emotion_type == bindparam(f"kind_{n}"), events.created_at >= bindparam(f"since_{n}"))
        for n in range(longer)
    ]
    recent = (
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
    return select(
        recent.c.trigger,
        recent.c.emotion_type,
        func.count(),
        func.sum(recent.c.intensity),
        func.min(recent.c.created_at),
    ).group_by(recent.c.trigger, recent.c.emotion_type)


async def _explain_events(
    session: AsyncSession, persona_id: int, state: core.EmotionalState, now: datetime
) -> list[core.EventRecord]:
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
    params: dict[str, Any] = {
        "persona_id": persona_id,
        "oldest": now - max([window, *longer.values()]),
        "now": now,
        "since": now - window,
    }
    for n, (kind, span) in enumerate(sorted(longer.items())):
        params[f"kind_{n}"], params[f"since_{n}"] = kind, now - span
    records: list[core.EventRecord] = []
    for trigger, kind, count, total, earliest in (await session.execute(_explain_query(len(longer)), params)).all():
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
    loaded = (await load_states(session, [persona_id], now, for_update=False)).get(persona_id)
    if loaded is None:
        raise NotFound(PERSONA_NOT_FOUND)
    at = later(now, loaded.state.as_of)
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
