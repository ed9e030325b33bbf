"""Achievements: checked when their inputs change, awarded once, announced on the timeline.

Other features call :func:`check` in their own transaction after changing an input (``inputs_changed``):
``{"conversations"}`` after ``interaction_count`` moves, ``{"followers"}`` after a follow, ``{"emotions"}`` after
emotional events, ``{"endorsements"}`` after an endorsement, ``{"age"}`` from a daily job (:func:`check_ages`).
An award is a row unique per persona and key (a second check, even a concurrent one, inserts nothing), and each
new award is a public "achievement" timeline event, which reaches the followers who asked for achievements.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import exists, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bot.core import achievements as rules
from bot.core.emotions import emotion_types
from bot.db import models
from bot.services import personas, timeline
from bot.services.personas import Actor


@dataclass(frozen=True)
class Award:
    key: str
    title: str
    description: str
    emoji: str
    awarded_at: datetime
    is_public: bool = True


@dataclass(frozen=True)
class AchievementsView:
    persona_id: int
    persona_name: str
    is_owner: bool
    earned: list[Award]
    total: int  # how many achievements exist


async def _metrics(session: AsyncSession, persona: Any, needed: set[str], now: datetime) -> dict[str, float]:
    values: dict[str, float] = {
        "interaction_count": persona.interaction_count,
        "follower_count": persona.follower_count,
        "age_days": rules.age_days(persona.created_at, now),
    }
    if "distinct_emotions" in needed:
        # One index lookup per emotion type (ix_emotional_events_persona_emotion), not a scan of the history.
        event = models.EmotionalEvent
        felt = [
            exists().where(col(event.persona_id) == persona.id, col(event.emotion_type) == kind)
            for kind in emotion_types()
        ]
        values["distinct_emotions"] = sum(bool(v) for v in (await session.execute(select(*felt))).one())
    if "endorsement_count" in needed:
        query = select(func.count()).where(col(models.Endorsement.persona_id) == persona.id)
        values["endorsement_count"] = int((await session.execute(query)).scalar_one())
    return values


async def awarded_keys(session: AsyncSession, persona_id: int) -> set[str]:
    query = select(col(models.AchievementAward.achievement_key)).where(
        col(models.AchievementAward.persona_id) == persona_id
    )
    return set((await session.execute(query)).scalars().all())


async def check(
    session: AsyncSession, persona_id: int, now: datetime, inputs_changed: Collection[str] | None = None
) -> list[Award]:
    """Award what the persona has newly earned (rules fed by ``inputs_changed``; all when None), in the caller's
    transaction; each new award is announced on the timeline. Returns the new awards (empty for a missing persona)."""
    awarded = await awarded_keys(session, persona_id)
    # Only what is still to earn: an earned achievement never needs its (possibly costly) metric again.
    defs = tuple(a for a in rules.definitions() if a.key not in awarded)
    needed = rules.metrics_needed(inputs_changed, defs)
    if not needed:
        return []
    # Columns, not the ORM object: a counter just moved by an UPDATE in this transaction must be read fresh.
    columns = (col(models.Persona.id), col(models.Persona.interaction_count), col(models.Persona.follower_count))
    query = select(*columns, col(models.Persona.created_at)).where(col(models.Persona.id) == persona_id)
    persona = (await session.execute(query)).first()
    if persona is None:
        return []
    metrics = await _metrics(session, persona, needed, now)
    candidates = rules.newly_earned(metrics, awarded, inputs_changed=inputs_changed, defs=defs)
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    awards: list[Award] = []
    for achievement in candidates:
        # Unique per persona and key: a concurrent check that got there first makes this insert nothing.
        statement = (
            insert(models.AchievementAward)
            .values(persona_id=persona_id, achievement_key=achievement.key, is_public=True, awarded_at=now)
            .on_conflict_do_nothing(index_elements=["persona_id", "achievement_key"])
            .returning(col(models.AchievementAward.id))
        )
        if (await session.execute(statement)).first() is None:
            continue
        await timeline.record(
            session,
            persona_id,
            "achievement",
            f"{achievement.emoji} {achievement.title}",
            achievement.description,
            {"achievement": achievement.key},
            is_public=True,
            now=now,
        )
        awards.append(Award(achievement.key, achievement.title, achievement.description, achievement.emoji, now, True))
    return awards


async def check_ages(session: AsyncSession, now: datetime, *, limit: int = 1000) -> int:
    """The daily job's work: award age achievements to personas that crossed an age threshold in the last two days
    (a missed day is caught up). Returns how many awards were made."""
    thresholds = sorted({a.threshold for a in rules.definitions() if a.metric == "age_days"})
    made = 0
    for days in thresholds:
        newest = now - timedelta(days=days)
        query = (
            select(col(models.Persona.id))
            .where(
                col(models.Persona.created_at) <= newest, col(models.Persona.created_at) > newest - timedelta(days=2)
            )
            .order_by(col(models.Persona.id))
            .limit(limit)
        )
        for persona_id in (await session.execute(query)).scalars().all():
            assert persona_id is not None  # a primary key
            made += len(await check(session, persona_id, now, inputs_changed={"age"}))
    return made


async def list_awards(session: AsyncSession, persona_id: int, viewer: Actor) -> AchievementsView:
    """The persona's awards, newest first: all for the owner, the public ones for anyone who may see it."""
    persona = await personas.get(session, persona_id, viewer=viewer)
    is_owner = viewer.user_id == persona.owner_id
    table = models.AchievementAward
    query = (
        select(table)
        .where(col(table.persona_id) == persona_id)
        .order_by(col(table.awarded_at).desc(), col(table.id).desc())
    )
    if not is_owner:
        query = query.where(col(table.is_public).is_(True))
    known = rules.by_key()
    earned = []
    for row in (await session.execute(query)).scalars().all():
        definition = known.get(row.achievement_key)
        if definition is None:  # retired from data/: still earned, shown by key
            earned.append(Award(row.achievement_key, row.achievement_key, "", "🏆", row.awarded_at, row.is_public))
        else:
            earned.append(
                Award(
                    definition.key,
                    definition.title,
                    definition.description,
                    definition.emoji,
                    row.awarded_at,
                    row.is_public,
                )
            )
    return AchievementsView(persona.id, persona.name, is_owner, earned, len(known))
