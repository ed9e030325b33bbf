"""History and patterns: a persona's events in a range as chart points (bucketed in SQL when there are many), and
the patterns :func:`bot.core.emotion_patterns.analyze_patterns` finds in a bounded sample.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC as _UTC
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Integer, cast, extract, func, literal_column, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bot.core import emotions as core
from bot.core.emotion_patterns import MoodSample, Pattern, analyze_patterns
from bot.core.errors import DomainError
from bot.core.pad import PAD
from bot.db import models
from bot.services.emotions.stored import dialect_of
from bot.services.emotions.views import (
    HistoryPoint,
    HistoryView,
)

# patterns(): the newest events read (and the mood samples derived from them, one per hour).
PATTERN_EVENT_LIMIT = 5_000

_EventRow = models.EmotionalEvent


def _bucket_expression(dialect: str, since: datetime, width: float) -> Any:
    """The bucket index of an event's ``created_at`` (whole ``width``-second steps since ``since``), in SQL.

    The constants are rendered inline (they are numbers and a timestamp we made), so the expression is
    self-contained."""
    if dialect == "postgresql":
        seconds = extract("epoch", col(_EventRow.created_at)) - literal_column(repr(since.timestamp()))
        return func.floor(seconds / literal_column(repr(float(width))))
    start = since.astimezone(_UTC).replace(tzinfo=None).isoformat(sep=" ")
    seconds = (func.julianday(col(_EventRow.created_at)) - func.julianday(literal_column(f"'{start}'"))) * 86_400.0
    # CAST truncates toward zero: the floor, as the values are not negative (created_at >= since).
    return cast(seconds / literal_column(repr(float(width))), Integer)


async def _bucketed_points(
    session: AsyncSession, in_range: tuple[ColumnElement[bool], ...], since: datetime, until: datetime, width: float
) -> tuple[HistoryPoint, ...]:
    """The events in range grouped by the database into ``width``-second buckets from ``since``: one point per
    bucket with events (an event past the last bucket's start counts in the last one)."""
    inner = (
        select(
            _bucket_expression(dialect_of(session), since, width).label("bucket"),
            col(_EventRow.emotion_type),
            col(_EventRow.intensity),
            col(_EventRow.new_pleasure),
            col(_EventRow.new_arousal),
            col(_EventRow.new_dominance),
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
    return points


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
    in_range = (
        col(_EventRow.persona_id) == persona_id,
        col(_EventRow.created_at) >= since,
        col(_EventRow.created_at) < until,
    )
    columns = (
        col(_EventRow.created_at),
        col(_EventRow.emotion_type),
        col(_EventRow.intensity),
        col(_EventRow.new_pleasure),
        col(_EventRow.new_arousal),
        col(_EventRow.new_dominance),
    )
    first = (
        await session.execute(
            select(*columns)
            .where(*in_range)
            .order_by(col(_EventRow.created_at), col(_EventRow.id))
            .limit(max_points + 1)
        )
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
    points = await _bucketed_points(session, in_range, since, until, width)
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
            col(_EventRow.trigger),
            col(_EventRow.emotion_type),
            col(_EventRow.intensity),
            col(_EventRow.user_id),
            col(_EventRow.channel_id),
            col(_EventRow.created_at),
            col(_EventRow.new_pleasure),
            col(_EventRow.new_arousal),
            col(_EventRow.new_dominance),
        )
        .where(
            col(_EventRow.persona_id) == persona_id,
            col(_EventRow.created_at) >= now - timedelta(days=days),
            col(_EventRow.created_at) <= now,
        )
        .order_by(col(_EventRow.created_at).desc())
        .limit(PATTERN_EVENT_LIMIT)
    )
    rows = list(reversed((await session.execute(query)).all()))
    events = [core.EventRecord(r[0], r[1], float(r[2]), r[3], r[4], r[5]) for r in rows if r[1] is not None]
    hourly: dict[datetime, MoodSample] = {}
    for r in rows:
        hour = r[5].replace(minute=0, second=0, microsecond=0)
        hourly[hour] = MoodSample(at=r[5], mood=PAD(r[6], r[7], r[8]))
    return analyze_patterns(events, [hourly[h] for h in sorted(hourly)])
