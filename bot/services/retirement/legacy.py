"""The legacy of a retired persona: finding it by name, and reading it as the archive access allows
(:func:`bot.core.retirement.can_view_legacy`: the owner always; then followers, the server, or anyone).
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bot.core import retirement as rules
from bot.core.errors import NotFound, PermissionDenied
from bot.core.inputs import parse_id
from bot.core.ownership import Actor
from bot.db import models
from bot.db.models import LegacyArchive, Persona
from bot.services.access import persona_or_not_found
from bot.services.retirement.store import archive_row, count_rows
from bot.services.retirement.views import LegacyView


def _on_server(guild_id: int | None) -> ColumnElement[bool]:
    """SQL: the persona lives on this server (a personal persona: ``guild_id`` None)."""
    return col(Persona.guild_id).is_(None) if guild_id is None else col(Persona.guild_id) == guild_id


async def find_retired(session: AsyncSession, guild_id: int | None, value: str) -> int:
    """A retired persona by id, or by exact name on this server."""
    text = value.strip()
    typed_id = parse_id(text)
    if typed_id is not None and (await session.get(Persona, typed_id)) is not None:
        return typed_id
    query = (
        select(col(Persona.id))
        .where(func.lower(col(Persona.name)) == text.lower(), col(Persona.status) == "retired")
        .where(_on_server(guild_id))
    )
    found = (await session.execute(query.order_by(col(Persona.id).desc()).limit(1))).scalar_one_or_none()
    if found is None:
        raise NotFound(f"I found no retired persona called '{text[:80]}' here.")
    return int(found)


async def retired_choices(
    session: AsyncSession, guild_id: int | None, prefix: str, limit: int = 25
) -> list[tuple[int, str]]:
    """Retired personas on this server whose names start with ``prefix`` (for autocomplete)."""
    query = (
        select(col(Persona.id), col(Persona.name)).where(col(Persona.status) == "retired").where(_on_server(guild_id))
    )
    if prefix:
        query = query.where(func.lower(col(Persona.name)).startswith(prefix.lower(), autoescape=True))
    rows = (await session.execute(query.order_by(func.lower(col(Persona.name))).limit(limit))).all()
    return [(int(i), n) for i, n in rows if i is not None]


async def archive_for(session: AsyncSession, viewer: Actor, persona_id: int) -> tuple[Persona, LegacyArchive]:
    """The retired persona and its archive, when ``viewer`` may read them (:class:`NotFound` before it retired,
    :class:`PermissionDenied` when the archive access does not admit the viewer)."""
    persona = await persona_or_not_found(session, persona_id)
    archive = await archive_row(session, persona_id)
    if archive is None or persona.status != "retired":
        raise NotFound(f"{persona.name} has not retired; it has no legacy yet.")
    follow = models.Follow
    follows = await count_rows(
        session, follow, col(follow.persona_id) == persona_id, col(follow.user_id) == viewer.user_id
    )
    allowed = rules.can_view_legacy(
        archive.archive_access,
        is_owner=persona.owner_id == viewer.user_id,
        is_follower=follows > 0,
        same_guild=viewer.guild_id is not None and viewer.guild_id == persona.guild_id,
    )
    if not allowed:
        raise PermissionDenied(rules.access_refusal(archive.archive_access, persona.name))
    return persona, archive


async def legacy(session: AsyncSession, viewer: Actor, persona_id: int) -> LegacyView:
    """A retired persona's preserved legacy, for a viewer the archive access admits (others: PermissionDenied)."""
    persona, archive = await archive_for(session, viewer, persona_id)
    snapshot = archive.snapshot or {}
    access = snapshot.get("access") or {}
    is_owner = persona.owner_id == viewer.user_id
    memories = list(snapshot.get("memories") or [])
    shown = [m for m in memories if not m.get("encrypted")] if is_owner or access.get("community") else None
    assert persona.id is not None
    return LegacyView(
        persona_id=persona.id,
        name=persona.name,
        owner_id=persona.owner_id,
        archive_access=archive.archive_access,
        retired_at=archive.retired_at,
        retention_until=archive.retention_until,
        profile=dict(snapshot.get("profile") or {}),
        stats=dict(snapshot.get("stats") or {}),
        achievements=list(snapshot.get("achievements") or []),
        timeline=list(snapshot.get("timeline") or []),
        memory_count=len(memories),
        memories=shown,
        farewell=(snapshot.get("ceremony") or {}).get("farewell"),
        research_available=bool(access.get("research")),
        deleted_at=archive.deleted_at,
        deletion_report=dict(archive.deletion_report or {}),
    )
