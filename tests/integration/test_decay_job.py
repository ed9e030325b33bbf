"""The scheduled memory decay job on SQLite and PostgreSQL, with the clock passed in.

Each decay function's effect is checked against ``core.memory.retention`` (and hand-worked numbers), exemptions stay
untouched, a second run at the same time changes nothing, the schedules' due-ness matches ``core.memory.decay_due``,
and a run killed with SIGKILL in the middle of 200,000 memories is finished by the next run, every memory decayed
exactly once.
"""

from __future__ import annotations

import asyncio
import math
import os
import shutil
import signal
import sqlite3
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import select, update

from bot.core import memory as rules
from bot.db import models
from bot.db.engine import Database
from bot.runtime import scheduling
from bot.services import memories, personas
from bot.services.personas import Actor, PersonaInput

T = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
REPO = Path(__file__).resolve().parents[2]


async def _persona(database: Database, name: str, owner: int = 1, **memory: Any) -> int:
    async with database.transaction() as session:
        return (await personas.create(session, Actor(owner, 555), PersonaInput(name=name, memory=memory), now=T)).id


async def _memory(database: Database, persona_id: int, *, days_ago: float, **columns: Any) -> int:
    values = {"category": "conversation", "importance": 5, **columns}
    async with database.transaction() as session:
        record = await memories.capture(
            session,
            persona_id,
            content=f"memory {values}",
            category=values.pop("category"),
            importance=values.pop("importance"),
            source_user_id=7,
            source_channel_id=None,
            source_message_id=None,
            now=T,
        )
        values["last_accessed_at"] = T - timedelta(days=days_ago)
        await session.execute(update(models.Memory).where(models.Memory.id == record.id).values(**values))
    return record.id


async def _strengths(database: Database, ids: list[int]) -> dict[int, float]:
    async with database.session() as session:
        rows = await session.execute(select(models.Memory.id, models.Memory.strength).where(models.Memory.id.in_(ids)))
        return {row.id: row.strength for row in rows}


async def _last_runs(database: Database) -> dict[int, datetime | None]:
    async with database.session() as session:
        rows = await session.execute(select(models.MemoryConfig.persona_id, models.MemoryConfig.last_decay_run))
        return {row.persona_id: row.last_decay_run for row in rows}


async def test_each_decay_function_follows_retention_and_exemptions_stay(database: Database) -> None:
    exp = await _persona(database, "Exp", decay_function="exponential", decay_rate=0.05)
    lin = await _persona(database, "Lin", decay_function="linear", decay_rate=0.02)
    log = await _persona(database, "Log", decay_function="logarithmic", decay_rate=0.1)
    ids: dict[tuple[int, str], int] = {}
    for persona_id in (exp, lin, log):
        ids[(persona_id, "s1")] = await _memory(database, persona_id, days_ago=10)
        ids[(persona_id, "s2")] = await _memory(database, persona_id, days_ago=10, stability=2.0)
        ids[(persona_id, "pinned")] = await _memory(database, persona_id, days_ago=10, pinned=True)
        ids[(persona_id, "identity")] = await _memory(database, persona_id, days_ago=10, category="identity")
        ids[(persona_id, "important")] = await _memory(database, persona_id, days_ago=10, importance=9)

    report = await memories.decay_due_personas(database, T)
    assert (report.personas, report.decayed) == (3, 6)
    got = await _strengths(database, list(ids.values()))
    # t = 10 days, rate / stability:
    #   exponential e^(-0.05*10) = 0.606531, e^(-0.025*10) = 0.778801
    #   linear      1 - 0.02*10 = 0.8,       1 - 0.01*10 = 0.9
    #   logarithmic 1 - 0.1 ln 11 = 0.760210, 1 - 0.05 ln 11 = 0.880105
    hand = {
        exp: (0.606531, 0.778801),
        lin: (0.8, 0.9),
        log: (0.760210, 0.880105),
    }
    functions = {exp: ("exponential", 0.05), lin: ("linear", 0.02), log: ("logarithmic", 0.1)}
    for persona_id, (one, two) in hand.items():
        function, rate = functions[persona_id]
        assert got[ids[(persona_id, "s1")]] == pytest.approx(one, abs=1e-6)
        assert got[ids[(persona_id, "s2")]] == pytest.approx(two, abs=1e-6)
        assert got[ids[(persona_id, "s1")]] == pytest.approx(rules.retention(function, rate, 10), abs=1e-9)
        assert got[ids[(persona_id, "s2")]] == pytest.approx(rules.retention(function, rate / 2, 10), abs=1e-9)
        for exempt in ("pinned", "identity", "important"):
            assert got[ids[(persona_id, exempt)]] == 1.0, exempt

    # The same time again: nothing is due, nothing changes.
    again = await memories.decay_due_personas(database, T)
    assert (again.personas, again.decayed, again.chunks) == (0, 0, 0)
    assert await _strengths(database, list(ids.values())) == got

    # A day later (daily schedule): the increments telescope to one retention over t = 11 days:
    #   e^(-0.55) = 0.576950, 1 - 0.22 = 0.78, 1 - 0.1 ln 12 = 0.751509
    day_later = await memories.decay_due_personas(database, T + timedelta(days=1))
    assert day_later.personas == 3
    got = await _strengths(database, list(ids.values()))
    for persona_id, value in ((exp, 0.576950), (lin, 0.78), (log, 0.751509)):
        function, rate = functions[persona_id]
        assert got[ids[(persona_id, "s1")]] == pytest.approx(value, abs=1e-6)
        assert got[ids[(persona_id, "s1")]] == pytest.approx(rules.retention(function, rate, 11), abs=1e-9)
        assert got[ids[(persona_id, "s2")]] == pytest.approx(rules.retention(function, rate / 2, 11), abs=1e-9)


async def test_memories_accessed_since_the_last_run_decay_only_from_their_access(database: Database) -> None:
    persona_id = await _persona(database, "Exp", decay_function="exponential", decay_rate=0.1)
    memory_id = await _memory(database, persona_id, days_ago=3)
    await memories.decay_due_personas(database, T)
    # Recalled half a day after the run (strength back to 1, stability 2), then a run two days after the first.
    async with database.transaction() as session:
        await session.execute(
            update(models.Memory)
            .where(models.Memory.id == memory_id)
            .values(strength=1.0, stability=2.0, last_accessed_at=T + timedelta(hours=12))
        )
    await memories.decay_due_personas(database, T + timedelta(days=2))
    # dt = 2 days is clipped to t = 1.5 days: e^(-0.05 * 1.5) = 0.927743
    assert (await _strengths(database, [memory_id]))[memory_id] == pytest.approx(0.927743, abs=1e-6)


async def test_weak_memories_go_cold_and_expired_cold_ones_are_deleted(database: Database) -> None:
    persona_id = await _persona(database, "Lin", decay_function="linear", decay_rate=0.5, cold_memory_retention_days=90)
    fading = await _memory(database, persona_id, days_ago=1.9)  # 1 - 0.95 = 0.05 < 0.1: to cold
    holding = await _memory(database, persona_id, days_ago=1.7)  # 1 - 0.85 = 0.15: stays hot
    expired = await _memory(database, persona_id, days_ago=200, tier="cold", cold_since=T - timedelta(days=91))
    kept_cold = await _memory(database, persona_id, days_ago=200, tier="cold", cold_since=T - timedelta(days=90))
    exempt_cold = await _memory(
        database, persona_id, days_ago=200, tier="cold", cold_since=T - timedelta(days=300), category="identity"
    )
    weak_pinned = await _memory(database, persona_id, days_ago=100, pinned=True, strength=0.01)

    report = await memories.decay_due_personas(database, T)
    assert (report.moved_to_cold, report.expired) == (1, 1)
    async with database.session() as session:
        rows = {
            row.id: row
            for row in (await session.execute(select(models.Memory).where(models.Memory.persona_id == persona_id)))
            .scalars()
            .all()
        }
    assert expired not in rows
    assert (rows[fading].tier, rows[fading].cold_since) == ("cold", T)
    assert rows[fading].strength == pytest.approx(0.05, abs=1e-9)
    assert (rows[holding].tier, rows[holding].strength) == ("hot", pytest.approx(0.15, abs=1e-9))
    assert rows[kept_cold].tier == "cold" and rows[kept_cold].strength == 0.0  # 90 days is not more than 90
    assert rows[exempt_cold].strength == 1.0  # exempt: neither decayed nor expired
    assert (rows[weak_pinned].tier, rows[weak_pinned].strength) == ("hot", 0.01)  # pinned: never cold


async def test_schedules_decide_who_is_due(database: Database) -> None:
    ids = {
        schedule: await _persona(database, schedule.title(), decay_schedule=schedule)
        for schedule in ("continuous", "daily", "weekly")
    }
    disabled = await _persona(database, "Off", decay_enabled=False)
    for persona_id in (*ids.values(), disabled):
        await _memory(database, persona_id, days_ago=1)
    first = await memories.decay_due_personas(database, T)
    assert first.personas == 3  # never run: due, except the disabled one
    assert (await _last_runs(database))[disabled] is None

    for offset, expected in (
        (timedelta(minutes=15), {"continuous"}),
        (timedelta(days=1), {"continuous", "daily"}),
        (timedelta(days=7), {"continuous", "daily", "weekly"}),
    ):
        before = await _last_runs(database)
        now = T + offset
        due_by_core = {s for s, pid in ids.items() if rules.decay_due(s, before[pid], now)}
        assert due_by_core == expected
        report = await memories.decay_due_personas(database, now)
        after = await _last_runs(database)
        assert {s for s, pid in ids.items() if after[pid] == now} == expected
        assert report.personas == len(expected)
        assert after[disabled] is None


async def test_the_job_entry_point_and_its_registration(database: Database, tmp_path: Path) -> None:
    persona_id = await _persona(database, "Exp", decay_function="exponential", decay_rate=0.05)
    memory_id = await _memory(database, persona_id, days_ago=10)
    scheduling.set_runtime(SimpleNamespace(db=database))  # type: ignore[arg-type]
    try:
        result = await scheduling.run_decay(T.isoformat())
        again = await scheduling.run_decay(T.isoformat())
    finally:
        scheduling.set_runtime(None)
    assert (result["personas"], result["decayed"], again["personas"]) == (1, 1, 0)
    assert (await _strengths(database, [memory_id]))[memory_id] == pytest.approx(math.exp(-0.5), abs=1e-9)

    scheduler = scheduling.build_scheduler(f"sqlite:///{tmp_path / 'jobs.db'}")
    scheduler.start(paused=True)
    try:
        scheduling.register_memory_jobs(scheduler)
        scheduling.register_memory_jobs(scheduler)  # at every start: replaced, never duplicated
        jobs = [job for job in scheduler.get_jobs() if job.id == "memory:decay"]
        assert len(jobs) == 1
        assert isinstance(jobs[0].trigger, IntervalTrigger)
        assert jobs[0].trigger.interval == timedelta(minutes=15)
        assert jobs[0].func is scheduling.run_decay
    finally:
        scheduler.shutdown(wait=False)


# ------------------------------------------------------------------------------------------------ crash and resume

PERSONAS = 200
PER_PERSONA = 1_000
FUNCTIONS = (("exponential", 0.05), ("linear", 0.02), ("logarithmic", 0.1))
_CHILD = """
import asyncio, sys
from datetime import datetime
from bot.db.engine import Database
from bot.services.memories import decay_due_personas

async def main():
    database = Database(sys.argv[1])
    try:
        await decay_due_personas(database, datetime.fromisoformat(sys.argv[2]), max_personas=10, pause_seconds=0.05)
    finally:
        await database.dispose()

asyncio.run(main())
"""


_DONE = "SELECT count(*) FROM memory_configs WHERE last_decay_run IS NOT NULL"


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def _fill(path: Path) -> None:
    """200 personas with 1,000 memories each, written straight into the file (setup, not the code under test)."""
    with sqlite3.connect(path) as connection:
        personas_rows = [(p, 555, 1, f"P{p}", "", "active", 0, _stamp(T), _stamp(T)) for p in range(1, PERSONAS + 1)]
        connection.executemany(
            "INSERT INTO personas (id, guild_id, owner_id, name, description, status, is_active, created_at, "
            "updated_at, openness, conscientiousness, extraversion, agreeableness, neuroticism, creativity, curiosity, "
            "empathy, humor, assertiveness, adaptability, technical_focus, social_orientation, task_orientation, "
            "custom_traits, behavior_settings, privacy_settings, plugins, is_public, follower_count, "
            "interaction_count, verification_status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 50, 50, 50, 50, 50, 50, 50, "
            "50, 50, 50, 50, 50, 50, 50, '[]', '{}', '{}', '[]', 0, 0, 0, 'unverified')",
            personas_rows,
        )
        config = rules.config_to_dict(rules.default_config())
        columns = [name for name in rules.CONFIG_FIELDS if name not in ("decay_function", "decay_rate")]
        config_rows = []
        for p in range(1, PERSONAS + 1):
            function, rate = FUNCTIONS[p % 3]
            values = ['["identity"]' if name == "exempt_categories" else config[name] for name in columns]
            config_rows.append((p, function, rate, *values))
        connection.executemany(
            f"INSERT INTO memory_configs (persona_id, decay_function, decay_rate, {', '.join(columns)}) "
            f"VALUES ({', '.join('?' for _ in range(len(columns) + 3))})",
            config_rows,
        )
        memory_rows = []
        for i in range(PERSONAS * PER_PERSONA):
            accessed = T - timedelta(days=1 + i % 50, hours=i % 24)
            memory_rows.append(
                (
                    1 + i // PER_PERSONA,
                    f"m{i}",
                    "identity" if i % 17 == 0 else "conversation",
                    1 + i % 10,
                    1.0 + i % 3,
                    int(i % 23 == 0),
                    _stamp(T - timedelta(days=60)),
                    _stamp(accessed),
                )
            )
        connection.executemany(
            "INSERT INTO memories (persona_id, content, category, importance, strength, stability, tier, pinned, "
            "sensitive, encrypted, created_at, last_accessed_at, access_count) "
            "VALUES (?, ?, ?, ?, 1.0, ?, 'warm', ?, 0, 0, ?, ?, 0)",
            memory_rows,
        )


def _expected(path: Path) -> tuple[dict[int, float], dict[int, int]]:
    """Each memory's strength after one decay to T (``core.memory.decayed_strength``), and its persona."""
    configs: dict[int, rules.MemoryConfig] = {}
    base = rules.config_to_dict(rules.default_config())
    for p in range(1, PERSONAS + 1):
        function, rate = FUNCTIONS[p % 3]
        configs[p] = rules.validate_config({**base, "decay_function": function, "decay_rate": rate})
    expected: dict[int, float] = {}
    owner: dict[int, int] = {}
    with sqlite3.connect(path) as connection:
        rows = connection.execute(
            "SELECT id, persona_id, category, importance, strength, stability, pinned, last_accessed_at, created_at "
            "FROM memories"
        ).fetchall()
    for memory_id, persona_id, category, importance, strength, stability, pinned, accessed, created in rows:
        item = rules.MemoryItem(
            id=memory_id,
            content_size=1,
            category=category,
            importance=importance,
            strength=strength,
            stability=stability,
            tier="warm",
            pinned=bool(pinned),
            created_at=datetime.fromisoformat(created).replace(tzinfo=UTC),
            last_accessed_at=datetime.fromisoformat(accessed).replace(tzinfo=UTC),
            access_count=0,
        )
        expected[memory_id] = rules.decayed_strength(item, configs[persona_id], T, None)
        owner[memory_id] = persona_id
    return expected, owner


def _state(path: Path) -> tuple[dict[int, float], set[int]]:
    with sqlite3.connect(path) as connection:
        strengths = dict(connection.execute("SELECT id, strength FROM memories").fetchall())
        done = {
            row[0]
            for row in connection.execute("SELECT persona_id FROM memory_configs WHERE last_decay_run IS NOT NULL")
        }
    return strengths, done


@pytest.mark.slow
async def test_a_run_killed_mid_way_is_finished_by_the_next_exactly_once(sqlite_template: Path, tmp_path: Path) -> None:
    path = tmp_path / "decay.db"
    shutil.copy(sqlite_template, path)
    _fill(path)
    expected, owner = _expected(path)
    url = f"sqlite+aiosqlite:///{path}"

    child = await asyncio.create_subprocess_exec(sys.executable, "-c", _CHILD, url, T.isoformat(), cwd=REPO)
    killed_after: int | None = None
    deadline = time.monotonic() + 40
    poll = sqlite3.connect(path)
    try:
        while time.monotonic() < deadline and child.returncode is None:
            try:
                done = poll.execute(_DONE).fetchone()[0]
            except sqlite3.OperationalError:  # busy for a moment while the child checkpoints
                done = 0
            if done > 0:
                os.kill(child.pid, signal.SIGKILL)
                killed_after = done
                break
            await asyncio.sleep(0.002)
    finally:
        poll.close()
        await asyncio.wait_for(child.wait(), timeout=10)
    assert killed_after is not None, "the child finished or stalled before it could be killed"
    assert child.returncode == -signal.SIGKILL

    # After the kill: every persona either fully decayed (and marked) or untouched, never half.
    strengths, done = _state(path)
    assert 0 < len(done) < PERSONAS
    for memory_id, strength in strengths.items():
        want = expected[memory_id] if owner[memory_id] in done else 1.0
        assert strength == pytest.approx(want, abs=1e-9), (memory_id, owner[memory_id] in done)

    # The next run finishes the rest, and every memory has decayed exactly once.
    database = Database(url)
    try:
        report = await memories.decay_due_personas(database, T)
    finally:
        await database.dispose()
    assert report.personas == PERSONAS - len(done)
    strengths, done = _state(path)
    assert len(done) == PERSONAS and len(strengths) == PERSONAS * PER_PERSONA
    wrong = [m for m, s in strengths.items() if not math.isclose(s, expected[m], rel_tol=0, abs_tol=1e-9)]
    assert wrong == []
    assert sum(1 for m, s in strengths.items() if s < 1.0) > PERSONAS * PER_PERSONA // 2  # most did decay
