"""A ceremony's lease names the process holding it (issue 15, item 14), on SQLite and PostgreSQL.

A process that died mid-ceremony must not block it for the lease's five minutes: whoever sees the holder gone takes
it over (``resumed``), and nobody takes it from a live holder before the lease runs out. On PostgreSQL "gone" means
its identity lock has been missing for a grace period (a live process reconnecting misses it for a moment). A process
whose ceremony was taken over cannot write its progress or complete it.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from bot.db import presence
from bot.db.engine import Database
from bot.db.presence import Holder, ProcessIdentity
from bot.runtime import scheduling
from bot.services import personas, retirement
from bot.services.personas import Actor, PersonaInput
from bot.services.retirement import store as retirement_store

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
OWNER = Actor(user_id=1001, guild_id=555)


async def _planned(database: Database) -> int:
    async with database.transaction() as session:
        persona_id = (await personas.create(session, OWNER, PersonaInput(name="Ada"), now=NOW)).id
        await retirement.plan_retirement(
            session, OWNER, persona_id, retirement.PlanInput(manual=True, farewell_message="Goodbye."), now=NOW
        )
    return persona_id


async def _claim(database: Database, persona_id: int, holder: Holder | None, now: datetime = NOW) -> object:
    async with database.transaction() as session:
        return await retirement.claim_ceremony(session, persona_id, now=now, trigger="manual", holder=holder)


async def _due(database: Database, holder: Holder | None, now: datetime = NOW) -> list[tuple[int, str]]:
    async with database.session() as session:
        return await retirement.due_ceremonies(session, now, holder=holder)


async def _until(predicate: object, seconds: float) -> float:
    """Poll the async ``predicate`` until it holds; how long that took."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    while not await predicate():  # type: ignore[operator]
        assert loop.time() - started < seconds, f"not within {seconds} s"
        await asyncio.sleep(0.05)
    return loop.time() - started


async def test_a_lease_of_a_gone_process_is_taken_over_after_the_grace_and_a_live_one_is_not(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(presence, "KEEP_SECONDS", 0.2)  # grace: 0.4 s
    persona_id = await _planned(database)
    first, second = ProcessIdentity(database.engine), ProcessIdentity(database.engine)
    await first.start()
    await second.start()
    try:
        claim = await _claim(database, persona_id, first.holder())
        assert claim is not None and not claim.resumed  # type: ignore[attr-defined]
        later = NOW + timedelta(seconds=5)
        # The holder itself never takes its own ceremony twice.
        assert await _claim(database, persona_id, first.holder(), later) is None
        if database.kind == "postgresql":
            await asyncio.sleep(0.5)  # the second has looked for the grace period: it judges now
            # Another live process leaves it alone until the lease runs out ...
            assert await _due(database, second.holder(), later) == []
            assert await _claim(database, persona_id, second.holder(), later) is None
            await first.stop()
            # ... and while its lock has been missing for less than the grace (it may be reconnecting) ...
            assert await _due(database, second.holder(), later) == []
            assert await _claim(database, persona_id, second.holder(), later) is None

            async def due() -> bool:
                return await _due(database, second.holder(), later) == [(persona_id, "resume")]

            # ... and takes it once the lock stayed missing for the grace.
            assert 0.2 <= await _until(due, 5.0)
        # On SQLite one process uses the file: any other identity is the previous life of this one.
        assert await _due(database, second.holder(), later) == [(persona_id, "resume")]
        taken = await _claim(database, persona_id, second.holder(), later)
        assert taken is not None and taken.resumed  # type: ignore[attr-defined]
        # Now the new holder's: nobody else resumes it (on SQLite, the previous identity is the dead one).
        assert await _claim(database, persona_id, second.holder(), later) is None
        assert await _due(database, second.holder(), later) == []
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


async def test_a_restarted_process_resumes_its_previous_lifes_ceremony_after_the_grace(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    if database.kind != "postgresql":
        pytest.skip("SQLite: any other identity is dead at once (the test above)")
    # The start-up sweep runs after the grace, so a restart resumes within a minute (issue 15, item 14).
    assert presence.GRACE_KEEPS * presence.KEEP_SECONDS < scheduling.RETIREMENT_RESUME_DELAY_SECONDS < 60
    monkeypatch.setattr(presence, "KEEP_SECONDS", 0.2)
    persona_id = await _planned(database)
    previous = ProcessIdentity(database.engine)
    await previous.start()
    assert await _claim(database, persona_id, previous.holder()) is not None
    await previous.stop()  # the crash
    restarted = ProcessIdentity(database.engine)
    await restarted.start()
    try:
        # Just started, it has not looked long enough to tell a dead lock from a reconnecting one.
        assert restarted.holder().spared is None
        assert await _due(database, restarted.holder()) == []

        async def due() -> bool:
            return await _due(database, restarted.holder()) == [(persona_id, "resume")]

        await _until(due, 5.0)
        taken = await _claim(database, persona_id, restarted.holder())
        assert taken is not None and taken.resumed  # type: ignore[attr-defined]
    finally:
        await restarted.stop()


async def test_a_ceremony_taken_over_refuses_the_old_holders_progress_and_completion(database: Database) -> None:
    persona_id = await _planned(database)
    old, new = Holder(11), Holder(22)
    assert await _claim(database, persona_id, old) is not None
    async with database.transaction() as session:
        assert await retirement.keep_farewell(session, persona_id, "Goodbye.", holder=old) == "Goodbye."
        await retirement.hold_lease(session, persona_id, now=NOW, holder=old)
    # The old holder looked dead (its lease ran out here; a missing identity lock is the other way): taken over.
    expired = NOW + retirement.LEASE + timedelta(seconds=1)
    taken = await _claim(database, persona_id, new, expired)
    assert taken is not None and taken.resumed  # type: ignore[attr-defined]
    # The old holder's writes are refused: it stops and posts nothing more.
    with pytest.raises(retirement.LeaseLost):
        async with database.transaction() as session:
            await retirement.hold_lease(session, persona_id, now=expired, holder=old)
    with pytest.raises(retirement.LeaseLost):
        async with database.transaction() as session:
            await retirement.record_posted(session, persona_id, "farewell", 987, 654, holder=old)
    with pytest.raises(retirement.LeaseLost):
        async with database.transaction() as session:
            await retirement.complete_ceremony(session, persona_id, now=expired, holder=old)
    async with database.session() as session:
        row = await retirement_store.plan_row(session, persona_id)
        assert row is not None and "farewell_message_id" not in row.ceremony_settings["progress"]
        assert (await retirement.guild_of(session, persona_id)) is not None
    # The new holder's go through, once.
    async with database.transaction() as session:
        await retirement.record_posted(session, persona_id, "farewell", 321, 654, holder=new)
        result = await retirement.complete_ceremony(session, persona_id, now=expired, holder=new)
        assert not result.already_done and result.farewell_message_id == 321
