"""Following public personas: follow with notification settings, change them later, unfollow, list.

The seed's rules: only a public persona can be followed ("This persona is not public"), once ("You already follow
this persona"); new followers get new posts and achievements, not collaborations. The persona's ``follower_count``
always equals its number of follow rows: it moves by an atomic ``UPDATE ... SET follower_count = follower_count
+ 1`` in the follow's own transaction (on PostgreSQL the row lock orders concurrent follows; SQLite has one writer).
The owner hears of new followers in a digest (:func:`bot.services.notifications.new_follower`), and a follow checks
the follower achievements.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bot.core.errors import DomainError, NotFound
from bot.core.ownership import PERSONA_NOT_FOUND
from bot.db import models
from bot.services import achievements, notifications

SETTING_NAMES: tuple[str, ...] = ("new_posts", "achievements", "collaborations", "by_dm")
_COLUMNS = {
    "new_posts": "notify_new_posts",
    "achievements": "notify_achievements",
    "collaborations": "notify_collaborations",
    "by_dm": "deliver_by_dm",
}
NOT_PUBLIC = "This persona is not public."
ALREADY = "You already follow this persona."
NOT_FOLLOWING = "You do not follow this persona."


@dataclass(frozen=True)
class NotificationSettings:
    """What a follower wants to hear about, and where (the server's notifications channel, or DM)."""

    new_posts: bool = True
    achievements: bool = True
    collaborations: bool = False
    by_dm: bool = False

    def with_changes(self, changes: Mapping[str, bool | None]) -> NotificationSettings:
        unknown = set(changes) - set(SETTING_NAMES)
        if unknown:
            raise DomainError(f"Unknown notification setting(s): {', '.join(sorted(unknown))}.")
        current = {name: getattr(self, name) for name in SETTING_NAMES}
        current.update({k: bool(v) for k, v in changes.items() if v is not None})
        return NotificationSettings(**current)


@dataclass(frozen=True)
class FollowRecord:
    persona_id: int
    persona_name: str
    user_id: int
    settings: NotificationSettings
    followed_at: datetime
    follower_count: int


def _settings(row: models.Follow) -> NotificationSettings:
    return NotificationSettings(
        new_posts=row.notify_new_posts,
        achievements=row.notify_achievements,
        collaborations=row.notify_collaborations,
        by_dm=row.deliver_by_dm,
    )


@dataclass(frozen=True)
class _Followed:
    """What following needs of the persona: read as columns, so the persona row is not loaded into the session
    (its ``follower_count`` moves by UPDATE in the same transaction)."""

    name: str
    owner_id: int
    is_public: bool
    status: str


async def _persona(session: AsyncSession, persona_id: int) -> _Followed:
    persona = models.Persona
    query = select(col(persona.name), col(persona.owner_id), col(persona.is_public), col(persona.status)).where(
        col(persona.id) == persona_id
    )
    row = (await session.execute(query)).first()
    if row is None:
        raise NotFound(PERSONA_NOT_FOUND)
    name, owner_id, is_public, status = row
    return _Followed(name, owner_id, is_public, status)


async def follow(
    session: AsyncSession,
    *,
    user_id: int,
    persona_id: int,
    now: datetime,
    guild_id: int | None = None,
    settings: NotificationSettings | None = None,
) -> FollowRecord:
    """``user_id`` follows the persona (in the caller's transaction); DomainError when it is not public or already
    followed. ``guild_id`` is where they followed from."""
    persona = await _persona(session, persona_id)
    name, owner_id = persona.name, persona.owner_id
    if not persona.is_public or persona.status == "retired":
        raise DomainError(NOT_PUBLIC)
    existing = await session.execute(
        select(col(models.Follow.id)).where(
            col(models.Follow.persona_id) == persona_id, col(models.Follow.user_id) == user_id
        )
    )
    if existing.first() is not None:
        raise DomainError(ALREADY)
    chosen = settings or NotificationSettings()
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    statement = (
        insert(models.Follow)
        .values(
            persona_id=persona_id,
            user_id=user_id,
            guild_id=guild_id,
            notify_new_posts=chosen.new_posts,
            notify_achievements=chosen.achievements,
            notify_collaborations=chosen.collaborations,
            deliver_by_dm=chosen.by_dm,
            followed_at=now,
        )
        .on_conflict_do_nothing(index_elements=["persona_id", "user_id"])
        .returning(col(models.Follow.id))
    )
    inserted = (await session.execute(statement)).scalar_one_or_none()
    if inserted is None:  # a concurrent follow by the same person won
        raise DomainError(ALREADY)
    count = (
        await session.execute(
            update(models.Persona)
            .where(col(models.Persona.id) == persona_id)
            .values(follower_count=col(models.Persona.follower_count) + 1)
            .returning(col(models.Persona.follower_count)),
            execution_options={"synchronize_session": False},
        )
    ).scalar_one()
    await notifications.new_follower(
        session,
        follow_id=int(inserted),
        persona_id=persona_id,
        persona_name=name,
        owner_id=owner_id,
        follower_id=user_id,
        now=now,
    )
    await achievements.check(session, persona_id, now, inputs_changed={"followers"})
    return FollowRecord(persona_id, name, user_id, chosen, now, int(count))


async def unfollow(session: AsyncSession, *, user_id: int, persona_id: int) -> FollowRecord:
    """Stop following (in the caller's transaction); DomainError when not following."""
    name = (await _persona(session, persona_id)).name
    removed = (
        await session.execute(
            delete(models.Follow)
            .where(col(models.Follow.persona_id) == persona_id, col(models.Follow.user_id) == user_id)
            .returning(
                col(models.Follow.notify_new_posts),
                col(models.Follow.notify_achievements),
                col(models.Follow.notify_collaborations),
                col(models.Follow.deliver_by_dm),
                col(models.Follow.followed_at),
            ),
            execution_options={"synchronize_session": False},
        )
    ).first()
    if removed is None:
        raise DomainError(NOT_FOLLOWING)
    count = (
        await session.execute(
            update(models.Persona)
            .where(col(models.Persona.id) == persona_id)
            .values(follower_count=col(models.Persona.follower_count) - 1)
            .returning(col(models.Persona.follower_count)),
            execution_options={"synchronize_session": False},
        )
    ).scalar_one()
    settings = NotificationSettings(*removed[:4])
    return FollowRecord(persona_id, name, user_id, settings, removed[4], int(count))


async def get_follow(session: AsyncSession, *, user_id: int, persona_id: int) -> FollowRecord | None:
    query = (
        select(models.Follow, col(models.Persona.name), col(models.Persona.follower_count))
        .join(models.Persona, col(models.Persona.id) == col(models.Follow.persona_id))
        .where(col(models.Follow.persona_id) == persona_id, col(models.Follow.user_id) == user_id)
    )
    found = (await session.execute(query)).first()
    if found is None:
        return None
    row, name, count = found
    return FollowRecord(persona_id, name, user_id, _settings(row), row.followed_at, count)


async def update_settings(
    session: AsyncSession, *, user_id: int, persona_id: int, changes: Mapping[str, bool | None]
) -> FollowRecord:
    """Change what a follower hears about (``changes``: names of :data:`SETTING_NAMES`; None keeps a value)."""
    current = await get_follow(session, user_id=user_id, persona_id=persona_id)
    if current is None:
        raise DomainError(NOT_FOLLOWING)
    chosen = current.settings.with_changes(changes)
    await session.execute(
        update(models.Follow)
        .where(col(models.Follow.persona_id) == persona_id, col(models.Follow.user_id) == user_id)
        .values(**{_COLUMNS[name]: getattr(chosen, name) for name in SETTING_NAMES}),
        execution_options={"synchronize_session": False},
    )
    return FollowRecord(persona_id, current.persona_name, user_id, chosen, current.followed_at, current.follower_count)


async def list_following(
    session: AsyncSession, user_id: int, *, guild_id: int | None = None, limit: int = 25, name_prefix: str = ""
) -> list[FollowRecord]:
    """The personas ``user_id`` follows (those of ``guild_id`` when given), by name."""
    query = (
        select(models.Follow, col(models.Persona.name), col(models.Persona.follower_count))
        .join(models.Persona, col(models.Persona.id) == col(models.Follow.persona_id))
        .where(col(models.Follow.user_id) == user_id)
        .order_by(func.lower(col(models.Persona.name)), col(models.Persona.id))
        .limit(limit)
    )
    if guild_id is not None:
        query = query.where(col(models.Persona.guild_id) == guild_id)
    if name_prefix:
        query = query.where(func.lower(col(models.Persona.name)).startswith(name_prefix.lower(), autoescape=True))
    return [
        FollowRecord(row.persona_id, name, user_id, _settings(row), row.followed_at, count)
        for row, name, count in (await session.execute(query)).all()
    ]
