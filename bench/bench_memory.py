"""Memory: the decay job at 1,000,000 memories, retrieval and health at 100,000, on SQLite and PostgreSQL.

Targets (issue 7): decay of 1,000,000 memories across 1,000 personas within 5x a raw single UPDATE of the same
rows on SQLite (both measured here, in the same run) and within 10 s on PostgreSQL; retrieval of the top 10 of
100,000 memories p50 <= 20 ms on SQLite; ``/memory health`` at 100,000 memories p99 <= 200 ms. Then half of the
100,000 memories are made to hold one word, as a speaker's name would, and a query with that word and two others is
timed (``memory_retrieve_common_word_of_100k``; issue 20: bounded work whatever the query: SQLite ranks at most
about ``MATCH_BUDGET`` matches, PostgreSQL reads at most ``WORD_MATCH_LIMIT`` + 1 per word).
"""

from __future__ import annotations

import random
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert, text

from bench.common import (
    MEMORY_VOCABULARY,
    MEMORY_WORDS,
    database_kinds,
    fill_memories,
    fresh_database,
    note,
    report,
    report_latency,
    time_each,
)
from bot.core import memory as rules
from bot.db import models
from bot.db.engine import Database
from bot.services import memories

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
DECAY_PERSONAS = 1_000
DECAY_PER_PERSONA = 1_000
STORE = 100_000
HOT = 50
SAMPLES = 300
HEALTH_SAMPLES = 60
COMMON_SAMPLES = 100


async def _personas(database: Database, count: int, **config: object) -> list[int]:
    rows = [
        {
            "guild_id": 1,
            "owner_id": 10_000 + index,
            "name": f"Persona {index:05d}",
            "description": "",
            "status": "active",
            "is_active": False,
            "created_at": NOW,
            "updated_at": NOW,
            "custom_traits": [],
            "behavior_settings": {},
            "privacy_settings": {},
            "plugins": [],
            "is_public": False,
            "follower_count": 0,
            "interaction_count": 0,
            "verification_status": "unverified",
        }
        for index in range(count)
    ]
    base = {**rules.config_to_dict(rules.default_config()), "exempt_categories": [], **config}
    async with database.transaction() as session:
        await session.execute(insert(models.Persona), rows)
        ids = sorted((await session.execute(text("SELECT id FROM personas"))).scalars())
        await session.execute(insert(models.MemoryConfig), [{"persona_id": i, **base} for i in ids])
    return ids


_SQLITE_FILL = """
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < :count - 1)
INSERT INTO memories (persona_id, content, category, importance, strength, stability, tier, pinned, sensitive,
                      encrypted, created_at, last_accessed_at, access_count)
SELECT :first + i / :per, 'm' || i, 'conversation', 1 + i % 8, 1.0, 1.0 + i % 3, 'warm', 0, 0, 0,
       '2026-01-01 00:00:00.000000',
       strftime('%Y-%m-%d %H:%M:%S', '2026-03-01 12:00:00', '-' || (1 + i % 40) || ' days', '-' || (i % 24) || ' hours')
           || '.000000',
       0
FROM n
"""

_POSTGRES_FILL = """
INSERT INTO memories (persona_id, content, category, importance, strength, stability, tier, pinned, sensitive,
                      encrypted, created_at, last_accessed_at, access_count)
SELECT :first + i / :per, 'm' || i, 'conversation', 1 + i % 8, 1.0, 1.0 + i % 3, 'warm', false, false, false,
       TIMESTAMPTZ '2026-01-01 00:00:00+00',
       TIMESTAMPTZ '2026-03-01 12:00:00+00' - make_interval(days => 1 + i % 40, hours => i % 24),
       0
FROM generate_series(0, :count - 1) AS i
"""


async def _bench_decay(kind: str) -> None:
    async with fresh_database(kind) as database:
        ids = await _personas(database, DECAY_PERSONAS, decay_function="exponential", decay_rate=0.05)
        started = time.perf_counter()
        async with database.transaction() as session:
            await session.execute(
                text(_SQLITE_FILL if kind == "sqlite" else _POSTGRES_FILL),
                {"count": DECAY_PERSONAS * DECAY_PER_PERSONA, "first": ids[0], "per": DECAY_PER_PERSONA},
            )
        note(f"{kind}: {DECAY_PERSONAS * DECAY_PER_PERSONA:,} memories in {time.perf_counter() - started:.1f} s")

        async def raw() -> float:
            began = time.perf_counter()
            async with database.transaction() as session:
                await session.execute(text("UPDATE memories SET strength = strength * 0.999 WHERE strength > 0"))
            return time.perf_counter() - began

        async def vacuum() -> None:
            async with database.engine.connect() as connection:
                await connection.execute(text("COMMIT"))
                await connection.execute(text("VACUUM ANALYZE memories"))

        # Both start from the same state: SQLite's caches warmed by one raw pass; PostgreSQL freshly vacuumed
        # (so each finds the free space its fill factor left on every page).
        if kind == "sqlite":
            await raw()
        else:
            await vacuum()
        began = time.perf_counter()
        result = await memories.decay_due_personas(database, NOW)
        job = time.perf_counter() - began
        assert result.personas == DECAY_PERSONAS and result.decayed == DECAY_PERSONAS * DECAY_PER_PERSONA
        if kind == "postgresql":
            await vacuum()
        single = await raw()
        report(f"memory_decay_1m_{kind}", job, "s")
        report(f"memory_decay_1m_raw_update_{kind}", single, "s")
        report(f"memory_decay_1m_ratio_{kind}", job / single, "x")
        note(f"{kind}: {result.chunks} chunks of at most {memories.DECAY_CHUNK_PERSONAS} personas")


async def _fill_store(database: Database, chooser: random.Random) -> tuple[int, list[str]]:
    (persona_id,) = await _personas(database, 1)
    await fill_memories(database, persona_id, chooser, now=NOW, count=STORE, hot=HOT)
    return persona_id, list(MEMORY_VOCABULARY)


async def _bench_store(kind: str) -> None:
    async with fresh_database(kind) as database:
        chooser = random.Random(7)
        persona_id, vocabulary = await _fill_store(database, chooser)
        note(f"{kind}: {STORE:,} memories of {MEMORY_WORDS} words from {len(MEMORY_VOCABULARY):,}, {HOT} hot")

        async def retrieve(index: int) -> None:
            query = " ".join(chooser.choices(vocabulary, k=3))
            async with database.transaction() as session:
                found = await memories.retrieve(session, persona_id, query, k=10, now=NOW + timedelta(seconds=index))
            assert len(found) == 10

        async def health(_: int) -> None:
            async with database.session() as session:
                await memories.health(session, persona_id, NOW)

        await time_each(retrieve, 30)
        report_latency(f"memory_retrieve_top10_of_100k_{kind}", await time_each(retrieve, SAMPLES))
        await time_each(health, 5)
        report_latency(f"memory_health_100k_{kind}", await time_each(health, HEALTH_SAMPLES))
        await _a_common_word(database, persona_id)

        async def common(index: int) -> None:
            query = "alice " + " ".join(chooser.choices(vocabulary, k=2))
            async with database.reads() as session:
                found = await memories.retrieve(
                    session, persona_id, query, k=10, now=NOW + timedelta(seconds=index), mark_accessed=False
                )
            assert len(found) == 10

        await time_each(common, 10)
        report_latency(f"memory_retrieve_common_word_of_100k_{kind}", await time_each(common, COMMON_SAMPLES))


async def _a_common_word(database: Database, persona_id: int) -> None:
    """Every other memory of the persona made to start with "Alice said:" (its search index follows)."""
    async with database.transaction() as session:
        await session.execute(
            text("UPDATE memories SET content = 'Alice said: ' || content WHERE persona_id = :p AND id % 2 = 0"),
            {"p": persona_id},
        )
    if database.kind == "postgresql":
        async with database.engine.connect() as connection:
            await connection.execute(text("COMMIT"))
            await connection.execute(text("VACUUM ANALYZE memories"))


async def main() -> None:
    for kind in database_kinds():
        await _bench_store(kind)
        await _bench_decay(kind)
