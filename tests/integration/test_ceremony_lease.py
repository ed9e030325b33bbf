"""A ceremony's lease names the process holding it (issue 15, item 14), on SQLite and PostgreSQL.

A process that died mid-ceremony must not block it for the lease's five minutes: whoever sees the holder gone takes
it over at once (``resumed``), and nobody takes it from a live holder before the lease runs out.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from bot.db import presence
from bot.db.engine import Database
from bot.db.presence import ProcessIdentity
from bot.services import personas, retirement
from bot.services.personas import Actor, PersonaInput

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
OWNER = Actor(user_id=1001, guild_id=555)


async def _planned(database: Database) -> int:
    async with database.transaction() as session:
        persona_id = (await personas.create(session, OWNER, PersonaInput(name="Ada"), now=NOW)).id
        await retirement.plan_retirement(
            session, OWNER, persona_id, retirement.PlanInput(manual=True, farewell_message="Goodbye."), now=NOW
        )
    return persona_id


async def _claim(database: Database, persona_id: int, holder: int | None, now: datetime = NOW) -> object:
    async with database.transaction() as session:
        return await retirement.claim_ceremony(session, persona_id, now=now, trigger="manual", holder=holder)


async def _due(database: Database, holder: int | None, now: datetime = NOW) -> list[tuple[int, str]]:
    async with database.session() as session:
        return await retirement.due_ceremonies(session, now, holder=holder)


async def test_a_lease_of_a_gone_process_is_taken_over_at_once_and_a_live_one_is_not(database: Database) -> None:
    persona_id = await _planned(database)
    first, second = ProcessIdentity(database.engine), ProcessIdentity(database.engine)
    await first.start()
    await second.start()
    try:
        claim = await _claim(database, persona_id, first.value)
        assert claim is not None and not claim.resumed  # type: ignore[attr-defined]
        later = NOW + timedelta(seconds=5)
        # The holder itself never takes its own ceremony twice.
        assert await _claim(database, persona_id, first.value, later) is None
        if database.kind == "postgresql":
            # Another live process leaves it alone until the lease runs out ...
            assert await _due(database, second.value, later) == []
            assert await _claim(database, persona_id, second.value, later) is None
            await first.stop()  # ... and takes it at once when its holder is gone (the lock went with it).
        # On SQLite one process uses the file: any other identity is the previous life of this one.
        assert await _due(database, second.value, later) == [(persona_id, "resume")]
        taken = await _claim(database, persona_id, second.value, later)
        assert taken is not None and taken.resumed  # type: ignore[attr-defined]
        # Now the new holder's: nobody else resumes it (on SQLite, the previous identity is the dead one).
        assert await _claim(database, persona_id, second.value, later) is None
        assert await _due(database, second.value, later) == []
    finally:
        await first.stop()
        await second.stop()


async def test_without_an_identity_only_the_lease_time_decides(database: Database) -> None:
    persona_id = await _planned(database)
    assert await _claim(database, persona_id, None) is not None
    assert await _due(database, None, NOW + timedelta(minutes=1)) == []
    assert await _claim(database, persona_id, None, NOW + timedelta(minutes=1)) is None
    expired = NOW + retirement.LEASE + timedelta(seconds=1)
    assert await _due(database, None, expired) == [(persona_id, "resume")]
    taken = await _claim(database, persona_id, None, expired)
    assert taken is not None and taken.resumed  # type: ignore[attr-defined]


async def test_a_lost_identity_lock_is_taken_again(database: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    if database.kind != "postgresql":
        pytest.skip("SQLite has no identity lock: one process per file")
    monkeypatch.setattr(presence, "KEEP_SECONDS", 0.1)
    identity = ProcessIdentity(database.engine)
    await identity.start()
    held = text(
        "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 2 "
        f"AND classid = {presence.LOCK_SPACE} AND objid = :identity "
        "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
    )
    try:
        async with database.engine.connect() as connection:
            pid = (await connection.execute(held, {"identity": identity.value})).scalar_one()
            await connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            await connection.commit()
        for _ in range(100):  # the server drops the lock with the session; the keeper takes it again
            await asyncio.sleep(0.1)
            async with database.engine.connect() as connection:
                again = (await connection.execute(held, {"identity": identity.value})).scalar_one_or_none()
            if again is not None and again != pid:
                break
        assert again is not None and again != pid
    finally:
        await identity.stop()
