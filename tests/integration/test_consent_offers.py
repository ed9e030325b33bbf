"""The invitation to choose (``consent_offers``) and the server's memory mode, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bot.core.errors import DomainError, PermissionDenied
from bot.core.personas import PrivacySettings
from bot.db import models
from bot.db.engine import Database
from bot.services import consent, guild_settings, personas, privacy
from bot.services.personas import Actor, PersonaInput

GUILD = 333
ALICE = 501
BOB = 502
NOW = datetime(2026, 12, 6, 12, tzinfo=UTC)


async def _claim(database: Database, now: datetime = NOW, user: int = BOB) -> consent.Invitation | None:
    async with database.transaction() as session:
        return await consent.claim_offer(session, user_id=user, guild_id=GUILD, now=now)


async def _answer(database: Database, answer: str, now: datetime = NOW) -> None:
    async with database.transaction() as session:
        await consent.answer_offer(session, user_id=BOB, guild_id=GUILD, answer=answer, now=now)


async def _mode(database: Database, mode: str) -> None:
    async with database.transaction() as session:
        await guild_settings.set_memory_mode(session, guild_id=GUILD, can_manage_guild=True, mode=mode, now=NOW)


async def test_a_person_is_invited_once_and_the_claim_is_one_row(database: Database) -> None:
    first = await _claim(database)
    assert first == consent.Invitation(user_id=BOB, guild_id=GUILD, server_mode="opt-in")
    assert await _claim(database, NOW + timedelta(days=400)) is None  # unanswered: asked once
    async with database.transaction() as session:
        await consent.offer_sent(session, user_id=BOB, guild_id=GUILD, via="dm")
    async with database.session() as session:
        [row] = (await session.execute(select(models.ConsentOffer))).scalars()
    assert (row.user_id, row.guild_id, row.via, row.answer) == (BOB, GUILD, "dm", None)


async def test_two_claims_at_once_invite_once(database: Database) -> None:
    found = await asyncio.gather(*(_claim(database, user=ALICE) for _ in range(4)), return_exceptions=True)
    assert sum(isinstance(each, consent.Invitation) for each in found) == 1, found


@pytest.mark.parametrize(
    ("answer", "granted", "again"), [("yes", True, False), ("later", None, True), ("never", False, False)]
)
async def test_each_answer_is_recorded_and_decides_whether_to_ask_again(
    database: Database, answer: str, granted: bool | None, again: bool
) -> None:
    assert await _claim(database) is not None
    await _answer(database, answer, NOW + timedelta(minutes=1))
    async with database.session() as session:
        history = await consent.history(session, user_id=BOB, guild_id=GUILD)
    assert [entry.granted for entry in history] == ([] if granted is None else [granted])
    assert await _claim(database, NOW + timedelta(days=29)) is None
    assert (await _claim(database, NOW + timedelta(days=31)) is not None) is again


async def test_the_server_mode_is_for_managers_and_never_remembers_anyone(database: Database) -> None:
    async with database.transaction() as session:
        persona = await personas.create(session, Actor(ALICE, GUILD), PersonaInput(name="Echo"), now=NOW)
        await consent.record(session, user_id=BOB, guild_id=GUILD, granted=True, recorded_by=BOB, now=NOW)
    remembers = PrivacySettings()

    async def decide() -> bool:
        async with database.session() as session:
            found = await consent.decide(session, user_id=BOB, guild_id=GUILD, persona_id=persona.id, privacy=remembers)
        return found.allowed

    assert await decide()
    with pytest.raises(PermissionDenied):
        async with database.transaction() as session:
            await guild_settings.set_memory_mode(session, guild_id=GUILD, can_manage_guild=False, mode="never", now=NOW)
    with pytest.raises(DomainError):
        await _mode(database, "sometimes")
    await _mode(database, "never")
    assert not await decide()
    assert await _claim(database, user=ALICE) is None  # nobody is asked in a server that remembers no one
    async with database.session() as session:
        assert await consent.server_mode(session, GUILD) == "never"
    await _mode(database, "opt-in")
    assert await decide()


async def test_export_lists_and_forget_me_erases_the_invitation(database: Database) -> None:
    await _claim(database)
    await _answer(database, "later")
    data = await privacy.export_my_data(database, BOB)
    assert [(row["guild_id"], row["answer"]) for row in data["consent_offers"]] == [(GUILD, "later")]
    async with database.transaction() as session:
        await privacy.forget_me(session, BOB, GUILD, now=NOW + timedelta(minutes=2))
    async with database.session() as session:
        assert list((await session.execute(select(models.ConsentOffer))).scalars()) == []
    # forget-me's refusal keeps them from being asked again
    assert await _claim(database, NOW + timedelta(days=60)) is None
