"""A persona's timeline: events with public flags, recorded by every feature, read by ``/timeline``.

``record`` is the one way an event is written; a public event of a published persona also reaches the followers
who asked for it (through the outbox, in the same transaction). Reading applies privacy: the owner sees everything,
others only public events of a persona they may see, and subscribers-only events only when they subscribe.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bot.core.errors import DomainError
from bot.db import models
from bot.services import notifications, personas, subscriptions
from bot.services.personas import Actor

MAX_PAGE = 25


@dataclass(frozen=True)
class TimelineRecord:
    id: int
    persona_id: int
    kind: str
    title: str
    description: str
    details: dict[str, Any]
    is_public: bool
    subscribers_only: bool
    created_at: datetime


@dataclass(frozen=True)
class Recorded:
    """An event written, and what its fan-out queued (None when it reached nobody's outbox)."""

    event: TimelineRecord
    fan_out: notifications.FanOut | None = None


@dataclass(frozen=True)
class TimelinePage:
    persona_id: int
    persona_name: str
    is_owner: bool
    events: list[TimelineRecord] = field(default_factory=list)
    hidden: int = 0  # events that exist but this viewer may not see


def _record(row: models.TimelineEvent) -> TimelineRecord:
    assert row.id is not None
    return TimelineRecord(
        id=row.id,
        persona_id=row.persona_id,
        kind=row.kind,
        title=row.title,
        description=row.description,
        details=dict(row.details or {}),
        is_public=row.is_public,
        subscribers_only=row.subscribers_only,
        created_at=row.created_at,
    )


async def record(
    session: AsyncSession,
    persona_id: int,
    kind: str,
    title: str,
    description: str = "",
    details: Mapping[str, Any] | None = None,
    is_public: bool = False,
    subscribers_only: bool = False,
    *,
    now: datetime,
) -> Recorded:
    """Write a timeline event in the caller's transaction; a public event of a published persona is queued for
    its followers (those whose settings ask for this kind) in the same transaction."""
    kind = (kind or "").strip()
    if not kind or len(kind) > 32:
        raise DomainError("A timeline event needs a kind of 1..32 characters.")
    title = (title or "").strip()[:256] or kind
    row = models.TimelineEvent(
        persona_id=persona_id,
        kind=kind,
        title=title,
        description=description or "",
        details=dict(details or {}),
        is_public=is_public,
        subscribers_only=subscribers_only,
        created_at=now,
    )
    session.add(row)
    await session.flush()
    assert row.id is not None
    fanned = None
    if is_public:
        fanned = await notifications.fan_out(
            session,
            persona_id=persona_id,
            event_id=row.id,
            kind=kind,
            title=title,
            description=description,
            subscribers_only=subscribers_only,
            now=now,
        )
    return Recorded(_record(row), fanned)


async def list_events(
    session: AsyncSession,
    persona_id: int,
    viewer: Actor,
    *,
    now: datetime,
    limit: int = 10,
    before_id: int | None = None,
) -> TimelinePage:
    """The newest events ``viewer`` may see (NotFound when they may not see the persona at all); subscribers-only
    events when the viewer subscribes at ``now``."""
    persona = await personas.get(session, persona_id, viewer=viewer)
    is_owner = viewer.user_id == persona.owner_id
    table = models.TimelineEvent
    mine = [col(table.persona_id) == persona_id]
    if before_id is not None:
        mine.append(col(table.id) < before_id)
    query = select(table).where(*mine)
    hidden = 0
    if not is_owner:
        visible = [col(table.is_public).is_(True)]
        if not await subscriptions.is_subscriber(session, persona_id, viewer.user_id, now=now):
            visible.append(col(table.subscribers_only).is_(False))
        query = query.where(*visible)
        total = (await session.execute(select(func.count()).where(*mine))).scalar_one()
        shown = (await session.execute(select(func.count()).where(*mine, *visible))).scalar_one()
        hidden = int(total) - int(shown)
    limit = max(1, min(limit, MAX_PAGE))
    newest_first = query.order_by(col(table.created_at).desc(), col(table.id).desc())
    rows = (await session.execute(newest_first.limit(limit))).scalars()
    return TimelinePage(
        persona_id=persona.id,
        persona_name=persona.name,
        is_owner=is_owner,
        events=[_record(r) for r in rows.all()],
        hidden=hidden,
    )
