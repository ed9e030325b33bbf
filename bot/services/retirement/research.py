"""The research export of a legacy: what the persona was and lived, anonymised (no person's id or name), when its
plan opened the legacy to research and the viewer may read the legacy (:mod:`bot.services.retirement.legacy`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bot.core import retirement as rules
from bot.core.errors import PermissionDenied
from bot.core.ownership import Actor
from bot.db import models, people
from bot.services.access import persona_or_not_found
from bot.services.retirement.legacy import archive_for
from bot.services.retirement.store import aware


def _named(value: Any, keys: tuple[str, ...]) -> Iterator[int]:
    """The person ids a document holds under ``keys`` (at any depth; numbers, or digits as text)."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key in keys and isinstance(item, int) and not isinstance(item, bool) and item:
                yield item
            elif key in keys and isinstance(item, str) and item.strip().isdigit():
                yield int(item)
            else:
                yield from _named(item, keys)
    elif isinstance(value, list):
        for item in value:
            yield from _named(item, keys)


async def people_of(session: AsyncSession, persona_id: int) -> set[int]:
    """Every person's id the persona's data names: the ids an anonymised export must not hold, and whose names the
    caller looks up. Read from the register of person columns (:mod:`bot.db.people`): every such column of a table
    that belongs to the persona, and the ids inside its documents (the archive's memories), so a column added there
    is covered here too."""
    persona = await persona_or_not_found(session, persona_id)
    ids = {persona.owner_id}
    for name in people.TABLES:
        table = models.metadata.tables[name]
        owner = table.c.get("persona_id")
        if owner is None:
            continue
        for column in people.person_columns(name):
            query = select(table.c[column]).where(owner == persona_id, table.c[column].is_not(None)).distinct()
            ids.update(int(v) for v in (await session.execute(query)).scalars())
        for column, document in people.person_documents(name).items():
            for value in (await session.execute(select(table.c[column]).where(owner == persona_id))).scalars():
                ids.update(_named(value, document.keys))
    return ids


async def _emotional_events(session: AsyncSession, persona_id: int) -> list[dict[str, Any]]:
    """The persona's emotional events, oldest first, as the export writes them."""
    event = models.EmotionalEvent
    query = (
        select(
            col(event.trigger),
            col(event.emotion_type),
            col(event.intensity),
            col(event.new_pleasure),
            col(event.new_arousal),
            col(event.new_dominance),
            col(event.context),
            col(event.created_at),
        )
        .where(col(event.persona_id) == persona_id)
        .order_by(col(event.created_at), col(event.id))
    )
    return [
        {
            "trigger": e.trigger,
            "emotion": e.emotion_type,
            "intensity": e.intensity,
            "mood_after": [e.new_pleasure, e.new_arousal, e.new_dominance],
            "context": e.context,
            "at": aware(e.created_at).isoformat(),
        }
        for e in (await session.execute(query)).all()
    ]


async def research_export(
    session: AsyncSession, viewer: Actor, persona_id: int, *, names: Iterable[str] = (), now: datetime
) -> dict[str, Any]:
    """The anonymised research export of a legacy (when the plan allows research and the viewer may read the
    legacy): what the persona was and lived, without any person's id or name. ``names`` are the display names of
    :func:`people_of`, looked up by the caller."""
    persona, archive = await archive_for(session, viewer, persona_id)
    snapshot = archive.snapshot or {}
    if not (snapshot.get("access") or {}).get("research"):
        raise PermissionDenied(f"{persona.name}'s legacy is not open to research.")
    ids = await people_of(session, persona_id)
    events = await _emotional_events(session, persona_id)
    profile = dict(snapshot.get("profile") or {})
    document = {
        "format": "persona-hub-research",
        "version": 1,
        "exported_at": now.isoformat(),
        "persona": {k: profile.get(k) for k in ("name", "description", "traits", "born", "retired", "lifespan")},
        "stats": dict(snapshot.get("stats") or {}),
        "memories": [
            {k: m.get(k) for k in ("content", "category", "importance", "pinned", "created_at")}
            for m in snapshot.get("memories") or []
            if not m.get("encrypted")
        ],
        "achievements": list(snapshot.get("achievements") or []),
        "timeline": list(snapshot.get("timeline") or []),
        "emotional_events": events,
    }
    anonymised: dict[str, Any] = rules.anonymise(document, names=names, ids=ids)
    return anonymised
