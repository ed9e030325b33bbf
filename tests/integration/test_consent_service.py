"""Consent records and the capture decision, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.core.errors import DomainError
from bot.core.personas import PrivacySettings
from bot.db import models
from bot.db.engine import Database
from bot.services import consent, personas
from bot.services.personas import Actor, PersonaInput

GUILD = 333
ALICE = 501
BOB = 502
NOW = datetime(2026, 11, 25, 12, tzinfo=UTC)


async def _persona(database: Database) -> int:
    async with database.transaction() as session:
        record = await personas.create(
            session, Actor(user_id=ALICE, guild_id=GUILD), PersonaInput(name="Echo"), now=NOW
        )
    return record.id


async def test_answers_are_recorded_and_decide_capture(database: Database) -> None:
    persona_id = await _persona(database)
    privacy = PrivacySettings.from_dict({"ask_before_remembering": False})

    async with database.session() as session:
        assert not (
            await consent.decide(session, user_id=BOB, guild_id=GUILD, persona_id=persona_id, privacy=privacy)
        ).allowed  # opt-in server, no answer yet
    async with database.transaction() as session:
        await consent.record(session, user_id=BOB, guild_id=GUILD, granted=True, recorded_by=BOB, now=NOW)
    async with database.session() as session:
        assert (
            await consent.decide(session, user_id=BOB, guild_id=GUILD, persona_id=persona_id, privacy=privacy)
        ).allowed
    async with database.transaction() as session:
        await consent.record(
            session,
            user_id=BOB,
            guild_id=GUILD,
            granted=False,
            recorded_by=BOB,
            now=NOW + timedelta(minutes=1),
            persona_id=persona_id,
        )
    async with database.session() as session:
        decision = await consent.decide(session, user_id=BOB, guild_id=GUILD, persona_id=persona_id, privacy=privacy)
        records = await consent.history(session, user_id=BOB, guild_id=GUILD)
    assert not decision.allowed and "for this persona" in decision.reason
    assert [r.granted for r in records] == [False, True]  # newest first, nothing overwritten


async def test_an_opt_out_server_remembers_until_someone_refuses(database: Database) -> None:
    persona_id = await _persona(database)
    privacy = PrivacySettings.from_dict({"ask_before_remembering": False})
    async with database.transaction() as session:
        session.add(models.GuildSettings(guild_id=GUILD, memory_consent_default="opt-out"))
    async with database.session() as session:
        assert (
            await consent.decide(session, user_id=BOB, guild_id=GUILD, persona_id=persona_id, privacy=privacy)
        ).allowed
    async with database.transaction() as session:
        await consent.record(session, user_id=BOB, guild_id=GUILD, granted=False, recorded_by=BOB, now=NOW)
    async with database.session() as session:
        assert not (
            await consent.decide(session, user_id=BOB, guild_id=GUILD, persona_id=persona_id, privacy=privacy)
        ).allowed


async def test_nobody_answers_for_someone_else(database: Database) -> None:
    with pytest.raises(DomainError, match="Only you"):
        async with database.transaction() as session:
            await consent.record(session, user_id=BOB, guild_id=GUILD, granted=True, recorded_by=ALICE, now=NOW)
    async with database.session() as session:
        assert await consent.history(session, user_id=BOB) == []
