"""Reaction bursts and the mood read, on SQLite (and PostgreSQL when configured).

Targets (issue 6, end to end later): >= 2,000 reactions/s on SQLite; ``/mood show`` p99 <= 100 ms with 1,000,000
emotional events in the persona's history.

1. 20,000 distinct reactions from 2,000 users on 10 personas, through ``apply_reactions`` in batches of 500 (one
   transaction each), then through the ``ReactionBuffer`` with concurrent ``add_and_wait`` callers (as the cog will
   use it); events in must equal events recorded.
2. ``current_state`` p50/p99 for a persona with 1,000,000 events (one every ~30 s over a year, filled by one
   INSERT ... SELECT in the database), each call in its own session as a command handler does; also ``history``
   over the last 30 days (~86,000 events grouped in SQL) and ``patterns``.
"""

from __future__ import annotations

import asyncio
import random
import time
from datetime import timedelta

from sqlalchemy import func, insert, select, text

from bench.common import database_kinds, fresh_database, note, report, report_latency, time_each
from bot.clock import utcnow
from bot.core.traits import ALL_TRAITS
from bot.db import models
from bot.db.engine import Database
from bot.services import emotions
from bot.services.emotions import ReactionItem
from bot.services.reactions import ReactionBuffer

GUILD = 123_456_789_012_345_678
PERSONAS = 10
USERS = 2_000
REACTIONS = 20_000
BATCH = 500
HISTORY_EVENTS = 1_000_000
SAMPLES = 500
EMOJI = ("❤️", "👍", "😂", "😢", "🎉", "😮", "👏", "🤔", "😡", "🔥")


_CALM = {f"{part}_{axis}": 0.0 for part in ("mood", "baseline") for axis in ("pleasure", "arousal", "dominance")}


async def _personas(database: Database, count: int) -> list[int]:
    now = utcnow()
    rows = [
        {
            "guild_id": GUILD,
            "owner_id": 10_000 + index,
            "name": f"Persona {index}",
            "status": "active",
            "created_at": now,
            "updated_at": now,
            "custom_traits": [],
            "behavior_settings": {},
            "privacy_settings": {},
            "plugins": [],
            "is_active": True,
            "is_public": False,
            "follower_count": 0,
            "interaction_count": 0,
            "verification_status": "unverified",
            **dict.fromkeys(ALL_TRAITS, 50.0),
        }
        for index in range(count)
    ]
    async with database.transaction() as session:
        # An opt-out server: the reacting people are remembered, so their reactions are recorded by id and move
        # relationships (the heavier path; people a persona may not remember are counted anonymously).
        if await session.get(models.GuildSettings, GUILD) is None:
            session.add(models.GuildSettings(guild_id=GUILD, memory_consent_default="opt-out"))
            await session.flush()
        before = (await session.execute(select(func.coalesce(func.max(models.Persona.id), 0)))).scalar_one()
        await session.execute(insert(models.Persona), rows)
        query = select(models.Persona.id).where(models.Persona.id > before).order_by(models.Persona.id)
        ids = list((await session.execute(query)).scalars())
        await session.execute(
            insert(models.EmotionalState),
            [{"persona_id": i, "as_of": now - timedelta(hours=1), **_CALM} for i in ids],
        )
    return ids


def _reactions(ids: list[int], message_base: int) -> list[ReactionItem]:
    chooser = random.Random(6)
    seen: set[tuple[int, int, int, str]] = set()
    items: list[ReactionItem] = []
    while len(items) < REACTIONS:
        persona = chooser.choice(ids)
        key = (persona, message_base + chooser.randrange(200), 1_000 + chooser.randrange(USERS), chooser.choice(EMOJI))
        if key in seen:
            continue
        seen.add(key)
        items.append(ReactionItem(persona_id=key[0], message_id=key[1], user_id=key[2], emoji=key[3], guild_id=GUILD))
    return items


async def _count(database: Database, persona_ids: list[int] | None = None) -> int:
    query = select(func.count()).select_from(models.EmotionalEvent)
    if persona_ids is not None:
        query = query.where(models.EmotionalEvent.persona_id.in_(persona_ids))
    async with database.session() as session:
        return int((await session.execute(query)).scalar_one())


async def _burst(database: Database, kind: str) -> None:
    ids = await _personas(database, PERSONAS)
    items = _reactions(ids, 1_000_000)
    started = time.perf_counter()
    for start in range(0, REACTIONS, BATCH):
        async with database.transaction() as session:
            await emotions.apply_reactions(session, items[start : start + BATCH], utcnow())
    elapsed = time.perf_counter() - started
    recorded = await _count(database, ids)
    note(f"{kind}: {REACTIONS} reactions in, {recorded} events recorded")
    assert recorded == REACTIONS, f"{recorded} events for {REACTIONS} reactions"
    report(f"reactions_apply_batched_{kind}", REACTIONS / elapsed, "reactions/s")

    # Replaying the same burst: every reaction is a duplicate, nothing is recorded.
    started = time.perf_counter()
    for start in range(0, REACTIONS, BATCH):
        async with database.transaction() as session:
            result = await emotions.apply_reactions(session, items[start : start + BATCH], utcnow())
            assert result.duplicates == len(items[start : start + BATCH])
    report(f"reactions_duplicates_{kind}", REACTIONS / (time.perf_counter() - started), "reactions/s")
    assert await _count(database, ids) == REACTIONS

    # Through the buffer, every reaction awaited until committed, 20,000 concurrent callers.
    more = await _personas(database, PERSONAS)
    items = _reactions(more, 2_000_000)
    buffer = ReactionBuffer(database, interval=0.05, max_batch=BATCH, clock=utcnow)
    started = time.perf_counter()
    outcomes = await asyncio.gather(*(buffer.add_and_wait(item) for item in items))
    elapsed = time.perf_counter() - started
    await buffer.close()
    assert outcomes.count("applied") == REACTIONS and await _count(database, more) == REACTIONS
    report(f"reactions_buffer_add_and_wait_{kind}", REACTIONS / elapsed, "reactions/s")


async def _fill_history(database: Database, persona_id: int, kind: str) -> None:
    """1,000,000 events, one every 31.5 s up to now, by one INSERT ... SELECT over a generated series."""
    now = utcnow().replace(microsecond=0)
    step = 31.5
    columns = (
        "persona_id, trigger, emoji, emotion_type, intensity, user_id, channel_id, message_id, "
        "previous_pleasure, previous_arousal, previous_dominance, new_pleasure, new_arousal, new_dominance, created_at"
    )
    values = (
        ":persona, CASE n % 3 WHEN 0 THEN 'affection' WHEN 1 THEN 'humour' ELSE 'criticism' END, "
        "CASE n % 3 WHEN 0 THEN '❤' WHEN 1 THEN '😂' ELSE '👎' END, "
        "CASE n % 3 WHEN 0 THEN 'trust' WHEN 1 THEN 'joy' ELSE 'frustration' END, 30.0, 1000 + n % 2000, 77, n, "
        "0.1, 0.1, 0.1, 0.2, 0.1, 0.0"
    )
    async with database.transaction() as session:
        if kind == "sqlite":
            statement = text(
                f"WITH RECURSIVE seq(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM seq WHERE n < :last) "
                f"INSERT INTO emotional_events ({columns}) SELECT {values}, "
                f"strftime('%Y-%m-%d %H:%M:%S', :start, '+' || (n * {step}) || ' seconds') || '.000000' FROM seq"
            )
            start = (now - timedelta(seconds=step * (HISTORY_EVENTS - 1))).replace(tzinfo=None).isoformat(sep=" ")
        else:
            statement = text(
                f"INSERT INTO emotional_events ({columns}) SELECT {values}, "
                f"CAST(:start AS timestamptz) + n * interval '{step} seconds' "
                "FROM generate_series(0, :last) AS n"
            )
            start = now - timedelta(seconds=step * (HISTORY_EVENTS - 1))  # type: ignore[assignment]
        await session.execute(statement, {"persona": persona_id, "last": HISTORY_EVENTS - 1, "start": start})
    if kind == "postgresql":
        async with database.engine.connect() as connection:
            await (await connection.execution_options(isolation_level="AUTOCOMMIT")).execute(
                text("VACUUM ANALYZE emotional_events")
            )
    else:
        async with database.transaction() as session:
            await session.execute(text("ANALYZE"))


async def _mood_read(database: Database, kind: str) -> None:
    (persona_id,) = await _personas(database, 1)
    started = time.perf_counter()
    await _fill_history(database, persona_id, kind)
    note(f"{kind}: {HISTORY_EVENTS} events filled in {time.perf_counter() - started:.1f} s")
    assert await _count(database, [persona_id]) == HISTORY_EVENTS
    # A live state: a few reactions just now, so emotions are active and the explanation has causes.
    async with database.transaction() as session:
        await emotions.apply_reactions(
            session,
            [ReactionItem(persona_id, 5_000 + n, 1, "❤️", GUILD) for n in range(20)],
            utcnow(),
        )

    async def show(_: int) -> None:
        async with database.session() as session:
            view = await emotions.current_state(session, persona_id, utcnow())
            assert view.explanation

    await time_each(show, 50)
    report_latency(f"mood_show_1m_events_{kind}", await time_each(show, SAMPLES))

    async def month(_: int) -> None:
        now = utcnow()
        async with database.session() as session:
            view = await emotions.history(session, persona_id, now - timedelta(days=30), now, max_points=500)
            assert len(view.points) <= 500 and view.total > 80_000

    report_latency(f"mood_history_30d_{kind}", await time_each(month, 20))

    async def found(_: int) -> None:
        async with database.session() as session:
            await emotions.patterns(session, persona_id, utcnow())

    report_latency(f"mood_patterns_30d_{kind}", await time_each(found, 20))


async def main() -> None:
    for kind in database_kinds():
        async with fresh_database(kind) as database:
            await _burst(database, kind)
        async with fresh_database(kind) as database:
            await _mood_read(database, kind)
