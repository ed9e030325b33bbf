"""Bulk work never blocks the event loop (issue 15, item 10), on SQLite and PostgreSQL.

SQLite runs inline on the loop, so a use case over thousands of rows that never hands the loop back holds every
other task (and every interaction's 3-second deadline) until it ends. These tests count how often another task gets
the loop while an import, an export and an optimisation of thousands of memories run: before, never. How long the
loop waits at most is the benchmark's business (bench/bench_loop_stall.py), not a test's.
"""

from __future__ import annotations

import asyncio
import gc
import json
import random
import threading
import time
from collections.abc import Awaitable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import insert, select, text

from bot import collector
from bot.core import json_text
from bot.core.memory.tiers import SORT_RUN, sorted_by
from bot.db import models, offload
from bot.db.engine import Database
from bot.services import memories, personas, portability
from bot.services.personas import Actor, PersonaInput

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
OWNER = Actor(user_id=1001, guild_id=555)
ROWS = 3_000


async def _turns_of_the_loop_during(work: Awaitable[Any]) -> tuple[Any, int]:
    """Run ``work``; how many times another task got the loop before it ended."""
    task = asyncio.ensure_future(work)
    turns = 0
    while not task.done():
        await asyncio.sleep(0)
        turns += 1
    return task.result(), turns - 1  # the last turn saw it done


async def _document(database: Database, count: int) -> bytes:
    """A native export of a fresh persona, given ``count`` memories."""
    async with database.transaction() as session:
        persona_id = (await personas.create(session, OWNER, PersonaInput(name="Bulk"), now=NOW)).id
        document = await portability.export_native(session, OWNER, persona_id, now=NOW)
    document["memories"] = [
        {
            "content": f"memory {index} about the garden, the bees and the weather",
            "category": "conversation",
            "importance": 1 + index % 10,
            "strength": (index % 100) / 100,
            "stability": 1.0,
            "tier": "warm",
            "pinned": False,
            "sensitive": False,
            "encrypted": False,
            "created_at": (NOW - timedelta(days=3)).isoformat(),
            "last_accessed_at": (NOW - timedelta(hours=index % 48)).isoformat(),
            "access_count": index % 4,
        }
        for index in range(count)
    ]
    return portability.document_to_json(document)


async def test_an_import_of_thousands_of_memories_lets_the_loop_serve_meanwhile(database: Database) -> None:
    data = await _document(database, ROWS)

    async def work() -> Any:
        # As /persona import does: read and check the file off the event loop, then write it in one transaction.
        upload = await portability.read_upload(data, "bulk.json", now=NOW)
        async with database.transaction() as session:
            return (await portability.import_upload(session, OWNER, upload, now=NOW)).record

    record, turns = await _turns_of_the_loop_during(work())
    assert turns >= 10, turns
    async with database.session() as session:
        stored = (
            await session.execute(text("SELECT count(*) FROM memories WHERE persona_id = :p"), {"p": record.id})
        ).scalar_one()
    assert stored == ROWS


async def _store(database: Database) -> int:
    async with database.transaction() as session:
        persona_id = (await personas.create(session, OWNER, PersonaInput(name="Ada"), now=NOW)).id
    async with database.transaction() as session:
        await session.execute(
            insert(models.Memory),
            [
                {
                    "persona_id": persona_id,
                    "content": f"memory {index} w{index % 97} w{index % 89} w{index % 83}",
                    "category": "conversation",
                    "importance": 1 + index % 10,
                    "strength": (index % 100) / 100,
                    "stability": 1.0,
                    "tier": "warm",
                    "pinned": False,
                    "sensitive": False,
                    "encrypted": False,
                    "created_at": NOW - timedelta(days=30),
                    "last_accessed_at": NOW - timedelta(hours=index % 700),
                    "access_count": 0,
                }
                for index in range(ROWS)
            ],
        )
    return persona_id


async def test_an_optimisation_of_thousands_of_memories_lets_the_loop_serve_meanwhile(database: Database) -> None:
    persona_id = await _store(database)
    before = gc.get_threshold()

    async def work() -> Any:
        return await memories.optimize_store(database, persona_id, NOW, actor=OWNER)

    report, turns = await _turns_of_the_loop_during(work())
    assert turns >= 10, turns
    assert report.evicted + report.retiered > 0  # it did the work: the default capacity is below 3,000
    assert gc.isenabled() and gc.get_threshold() == before  # full collections deferred for the work are back


async def test_the_command_optimises_in_short_sessions_so_other_reads_go_through_meanwhile(
    database: Database,
) -> None:
    persona_id = await _store(database)
    task = asyncio.ensure_future(memories.optimize_store(database, persona_id, NOW, actor=OWNER))
    reads = 0
    while not task.done():
        # On SQLite the process has one connection: a read gets it only between the optimisation's sessions.
        async with database.session() as session:
            await session.execute(text("SELECT 1"))
        if not task.done():
            reads += 1
        await asyncio.sleep(0)
    report = task.result()
    assert reads >= 3, reads
    assert report.evicted + report.retiered > 0
    async with database.session() as session:
        left = (
            await session.execute(text("SELECT count(*) FROM memories WHERE persona_id = :p"), {"p": persona_id})
        ).scalar_one()
    assert left == ROWS - report.merged - report.evicted - report.expired


async def test_a_native_export_of_thousands_of_memories_lets_the_loop_serve_meanwhile(database: Database) -> None:
    data = await _document(database, ROWS)
    upload = await portability.read_upload(data, "bulk.json", now=NOW)
    async with database.transaction() as session:
        record = (await portability.import_upload(session, OWNER, upload, now=NOW)).record

    async def work() -> bytes:
        async with database.session() as session:
            document = await portability.export_native(session, OWNER, record.id, now=NOW)
        return await portability.export_file(document)

    exported, turns = await _turns_of_the_loop_during(work())
    assert turns >= 10, turns
    assert len(json.loads(exported)["memories"]) == ROWS


async def test_bulk_work_runs_sqlite_statements_off_the_loop_thread_and_defers_full_collections(
    database: Database,
) -> None:
    async with database.session() as session:
        connection = await session.connection()
        raw = (await connection.get_raw_connection()).driver_connection
        if database.kind == "sqlite":
            raw._connection.create_function("thread_id", 0, threading.get_ident)
        where = "SELECT thread_id()" if database.kind == "sqlite" else "SELECT 1"

        outside = (await session.execute(text(where))).scalar_one()
        usual = gc.get_threshold()
        with offload.bulk_work():
            # The collector stays on (young objects, cycles among them, are collected as usual): only full
            # collections, which walk the whole heap, wait.
            assert gc.isenabled()
            deferred = gc.get_threshold()
            assert deferred[:2] == usual[:2] and deferred[2] >= collector.BULK_THRESHOLD2
            with offload.bulk_work():  # overlapping bulk work: full collections come back when the last one ends
                pass
            assert gc.get_threshold() == deferred
            inside = (await session.execute(text(where))).scalar_one()
            assert (await session.execute(select(models.Persona.id))).all() == []
        assert gc.isenabled() and gc.get_threshold() == usual
        after = (await session.execute(text(where))).scalar_one()
    if database.kind == "sqlite":
        loop_thread = threading.get_ident()
        assert outside == after == loop_thread
        assert inside != loop_thread


def test_release_empties_containers_and_the_sharing_parser_reads_what_json_reads() -> None:
    rows, index, seen = [[1], [2]], {"a": [1]}, {1, 2}
    offload.release(rows, index, seen)
    assert rows == [] and index == {} and seen == set()
    for document in ('{"a": [1, 2.5, "x\\u00e9", null, true, false]}', "[]", '"text"', "-0.5e3"):
        assert json_text.loads_sharing(document) == json.loads(document)


def test_the_run_wise_sort_gives_the_tuple_order() -> None:
    chooser = random.Random(15)
    items = [(chooser.randint(0, 40), chooser.choice([0.25, 0.5, 1.0]), index) for index in range(3 * SORT_RUN + 5)]
    chooser.shuffle(items)
    expected = sorted(items, key=lambda item: (-item[1], item[0]))
    assert sorted_by(items, lambda item: -item[1], lambda item: item[0]) == expected
    assert sorted_by(items[:50], lambda item: -item[1], lambda item: item[0]) == expected_of(items[:50])


def expected_of(items: list[tuple[int, float, int]]) -> list[tuple[int, float, int]]:
    return sorted(items, key=lambda item: (-item[1], item[0]))


def test_full_collections_are_deferred_for_a_bounded_time_however_long_bulk_work_lasts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    usual = gc.get_threshold()
    monkeypatch.setattr(collector, "BULK_SECONDS", 0.05)
    with collector.bulk_allocation():
        assert gc.get_threshold()[2] >= collector.BULK_THRESHOLD2
        time.sleep(0.1)
        gc.collect(0)  # any collection past the bound puts the thresholds back, while the bulk work goes on
        assert gc.get_threshold() == usual
        with collector.bulk_allocation():  # nor does more overlapping bulk work defer them again
            gc.collect(0)
            assert gc.get_threshold() == usual
    assert gc.get_threshold() == usual
    assert collector._bounded not in gc.callbacks
    with collector.bulk_allocation():  # the next bulk work, after a moment without, has its own bound
        assert gc.get_threshold()[2] >= collector.BULK_THRESHOLD2
    assert gc.get_threshold() == usual
