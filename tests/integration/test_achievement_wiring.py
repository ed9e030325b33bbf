"""Achievements are checked where their inputs change: emotions felt, conversations held, endorsements given, age."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from bot.core.emotions import emotion_types
from bot.db import models
from bot.db.engine import Database
from bot.services import achievements, emotions, endorsements, personas, profiles
from bot.services.personas import Actor, PersonaInput

GUILD = 4_000
OWNER = Actor(user_id=41, guild_id=GUILD)
FAN = Actor(user_id=42, guild_id=GUILD)
NOW = datetime(2026, 11, 25, 12, tzinfo=UTC)


async def _persona(database: Database) -> int:
    async with database.transaction() as session:
        return (await personas.create(session, OWNER, PersonaInput(name="Iris"), now=NOW)).id


async def _awarded(database: Database, persona_id: int) -> set[str]:
    async with database.session() as session:
        return await achievements.awarded_keys(session, persona_id)


async def test_the_twelfth_emotion_felt_earns_all_emotions(database: Database) -> None:
    persona_id = await _persona(database)
    kinds = list(emotion_types())
    async with database.transaction() as session:
        for index, kind in enumerate(kinds):
            if kind == "joy":
                continue  # the one still missing
            session.add(
                models.EmotionalEvent(
                    persona_id=persona_id,
                    trigger="test",
                    emotion_type=kind,
                    intensity=10,
                    created_at=NOW - timedelta(minutes=index + 1),
                )
            )
    async with database.transaction() as session:
        await emotions.apply_trigger(session, persona_id, "criticism", now=NOW)  # no joy in criticism
    assert "all_emotions" not in await _awarded(database, persona_id)
    async with database.transaction() as session:
        await emotions.apply_trigger(session, persona_id, "praise", now=NOW + timedelta(seconds=1))
    assert "all_emotions" in await _awarded(database, persona_id)
    async with database.session() as session:
        titles = (
            (
                await session.execute(
                    select(models.TimelineEvent.kind).where(models.TimelineEvent.persona_id == persona_id)
                )
            )
            .scalars()
            .all()
        )
    assert titles.count("achievement") == 1


async def test_an_endorsement_earns_first_endorsement(database: Database) -> None:
    persona_id = await _persona(database)
    async with database.transaction() as session:
        await profiles.publish(session, OWNER, persona_id, profiles.PublishSettings(), now=NOW)
    async with database.transaction() as session:
        await endorsements.endorse(session, FAN, persona_id, "Lovely", now=NOW)
    assert "first_endorsement" in await _awarded(database, persona_id)


async def test_age_is_checked_by_the_daily_sweep(database: Database) -> None:
    persona_id = await _persona(database)
    async with database.transaction() as session:
        assert await achievements.check_ages(session, NOW + timedelta(days=6)) == 0
    async with database.transaction() as session:
        assert await achievements.check_ages(session, NOW + timedelta(days=7, minutes=1)) == 1
    assert "one_week_old" in await _awarded(database, persona_id)
