"""The outbox on SQLite and PostgreSQL: queued once, claimed once, leased, retried, and split by shard."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from bot.db.engine import Database
from bot.services import outbox

NOW = datetime(2026, 11, 25, 12, tzinfo=UTC)


def _row(key: str, guild_id: int | None = None, **extra) -> dict:
    return {"kind": "test", "idempotency_key": key, "payload": {"key": key}, "guild_id": guild_id, **extra}


async def test_the_same_key_is_queued_once(database: Database) -> None:
    async with database.transaction() as session:
        assert await outbox.enqueue(session, kind="test", idempotency_key="a", payload={"n": 1}, now=NOW)
        assert not await outbox.enqueue(session, kind="test", idempotency_key="a", payload={"n": 2}, now=NOW)
        assert await outbox.enqueue_many(session, [_row("a"), _row("b"), _row("c")], now=NOW) == 2
    async with database.session() as session:
        assert await outbox.counts(session) == {"pending": 3}


async def test_a_rolled_back_event_queues_nothing(database: Database) -> None:
    with pytest.raises(RuntimeError):
        async with database.transaction() as session:
            await outbox.enqueue(session, kind="test", idempotency_key="x", payload={}, now=NOW)
            raise RuntimeError("the event failed")
    async with database.session() as session:
        assert await outbox.counts(session) == {}


async def test_claims_are_exclusive_and_leases_expire(database: Database) -> None:
    async with database.transaction() as session:
        await outbox.enqueue_many(session, [_row(f"k{i}") for i in range(5)], now=NOW)
    async with database.transaction() as session:
        first = await outbox.claim(session, worker="A", now=NOW, limit=3)
    async with database.transaction() as session:
        second = await outbox.claim(session, worker="B", now=NOW, limit=10)
    assert [i.idempotency_key for i in first] == ["k0", "k1", "k2"]
    assert [i.idempotency_key for i in second] == ["k3", "k4"]
    assert all(i.attempts == 1 for i in first + second)

    async with database.transaction() as session:
        assert await outbox.mark_sent(session, [i.id for i in second], worker="B", now=NOW) == 2

    # A dies holding k0..k2; after the lease, C takes them over. A's late "sent" no longer counts.
    later = NOW + timedelta(seconds=121)
    async with database.transaction() as session:
        assert await outbox.claim(session, worker="C", now=NOW + timedelta(seconds=119), lease_seconds=120) == []
        taken_over = await outbox.claim(session, worker="C", now=later, lease_seconds=120)
        assert await outbox.mark_sent(session, [i.id for i in first], worker="A", now=later) == 0
        assert await outbox.mark_sent(session, [i.id for i in taken_over], worker="C", now=later) == 3
    assert [i.idempotency_key for i in taken_over] == ["k0", "k1", "k2"]
    assert all(i.attempts == 2 for i in taken_over)
    async with database.session() as session:
        assert await outbox.counts(session) == {"sent": 5}
    assert first[0].nonce == taken_over[0].nonce and len(first[0].nonce) <= 25  # a re-send reuses Discord's nonce


async def test_failures_back_off_and_finally_give_up(database: Database) -> None:
    async with database.transaction() as session:
        await outbox.enqueue(session, kind="test", idempotency_key="flaky", payload={}, now=NOW)
    moment = NOW
    statuses = []
    for _ in range(outbox.MAX_ATTEMPTS):
        async with database.transaction() as session:
            assert await outbox.claim(session, worker="W", now=moment - timedelta(seconds=1)) == []  # not yet due
            (item,) = await outbox.claim(session, worker="W", now=moment)
            statuses.append(await outbox.mark_retry(session, item, worker="W", now=moment, error="503"))
        moment += outbox.backoff(item.attempts)
    assert statuses == ["pending"] * (outbox.MAX_ATTEMPTS - 1) + ["failed"]
    assert [outbox.backoff(n).total_seconds() for n in (1, 2, 3)] == [5, 10, 20]
    assert outbox.backoff(30).total_seconds() == 3600


async def test_each_shard_claims_only_its_guilds(database: Database) -> None:
    # Discord's rule: shard = (guild_id >> 22) % shard_count.
    guilds = {shard: (1000 + shard) << 22 for shard in range(4)}  # (1000 + s) % 4 == s when 1000 % 4 == 0
    async with database.transaction() as session:
        rows = [_row(f"g{shard}", guild) for shard, guild in guilds.items()] + [_row("dm", None)]
        await outbox.enqueue_many(session, rows, now=NOW)
    async with database.transaction() as session:
        odd = await outbox.claim(session, worker="odd", now=NOW, shard=(4, [1, 3]))
        even = await outbox.claim(session, worker="even", now=NOW, shard=(4, [0, 2]))
    assert sorted(i.idempotency_key for i in odd) == ["g1", "g3"]
    assert sorted(i.idempotency_key for i in even) == ["dm", "g0", "g2"]  # rows without a guild go to shard 0


@pytest.mark.postgres
async def test_concurrent_claimers_on_postgresql_never_share_a_row(migrated_postgres: str) -> None:
    database = Database(migrated_postgres)
    try:
        async with database.transaction() as session:
            await outbox.enqueue_many(session, [_row(f"c{i}") for i in range(300)], now=NOW)

        async def worker(name: str) -> list[int]:
            got: list[int] = []
            while True:
                async with database.transaction() as session:
                    items = await outbox.claim(session, worker=name, now=NOW, limit=7)
                if not items:
                    return got
                got.extend(i.id for i in items)

        results = await asyncio.gather(*(worker(f"w{i}") for i in range(6)))
        claimed = [item for result in results for item in result]
        assert len(claimed) == 300 and len(set(claimed)) == 300
    finally:
        from tests.conftest import _empty_all_tables

        await _empty_all_tables(database)
        await database.dispose()
