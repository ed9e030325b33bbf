"""Retrieval by meaning at 100,000 memories, on SQLite and PostgreSQL (issue 20), with the embedded default.

Figures:

- ``backfill_100k``: embedding the 100,000 memories of one persona (the backfill job's body: batches of 256, one
  transaction each), seconds; target <= 120 s on 2 cores. ``backfill_loop_stall``: the event loop's longest stall
  meanwhile. The model is loaded first, as the bot does in its ``setup_hook``, before the gateway connection:
  ``model_load`` and ``model_load_loop_stall`` (the tokenizer's parsing holds the interpreter's lock for some 40
  ms, a stall nobody waits on at start-up).
- ``vector_top10``: :func:`bot.services.memories.vectors.vector_candidates`, the top 10 of the 100,000 by cosine,
  query embedding included, p50 and p99 over 50 different queries once the persona's vectors are held (target p50
  <= 20 ms). ``first_answer``: the first query, which finds the persona's vectors not held yet, answers with no
  vector candidate and starts reading them in the background; ``load_100k``: until they are held, and
  ``load_loop_stall`` the loop's longest stall meanwhile.
- ``embed_message_loop_stall``: the event loop's longest stall while 200 chat messages are remembered one by one
  (``memories.capture``, as the chat does) and embedded by the background queue after each commit (target <= 20
  ms; the stall includes the capture's own transaction). ``remember_only_loop_stall``: the same 200 messages
  remembered with no embedding queue running, for comparison (the stall the capture alone causes).

The stall: a ticker task sleeps 2 ms again and again; the stall is the longest overshoot of a sleep. As the bot
does once started, the heap is frozen out of the garbage collector (``gc.freeze()``) after the store is filled.
``index_build``: the IVF index built in a worker thread after the first search (bot/services/memories/held.py),
and ``index_loop_stall`` the loop's longest stall meanwhile; ``vector_top10`` is measured through it. ``scan_only``:
the search alone (the index's probed lists), ``exact_scan`` the exact matrix product and top 10 it replaces, and
``index_recall10`` the share of the exact top 10 the index finds, over the same queries.

Also measured once, by hand, to choose how to search (see bot/services/memories/vectors.py): sqlite-vec 0.1.9's
exact KNN over the same shape (100,000 x 256, random unit vectors) with a Python whose sqlite3 can load extensions:
97 ms through ``vec_distance_cosine`` on a table, 68 ms through a ``vec0`` table; the numpy matrix product here
is several times faster, and the bot's Python cannot load extensions anyway.
"""

from __future__ import annotations

import asyncio
import gc
import random
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from bench.common import MEMORY_VOCABULARY, database_kinds, fill_memories, fresh_database, note, report, report_latency
from bot.core.memory.vectors import top_k
from bot.db.engine import Database
from bot.services import memories, personas
from bot.services.memories import vectors
from bot.services.memories.held import HeldVectors, indexed
from bot.services.personas import Actor, PersonaInput

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
COUNT = 100_000
QUERIES = 50
MESSAGES = 200


@asynccontextmanager
async def stall_meter() -> AsyncIterator[list[float]]:
    """Yields a list that holds, once the block ends, the longest overshoot of a 2 ms sleep (ms)."""
    worst = [0.0]
    running = True

    async def tick() -> None:
        while running:
            began = time.perf_counter()
            await asyncio.sleep(0.002)
            worst[0] = max(worst[0], (time.perf_counter() - began) * 1000 - 2)

    task = asyncio.create_task(tick())
    try:
        yield worst
    finally:
        running = False
        await task


async def _bench(kind: str, chooser: random.Random) -> None:
    async with fresh_database(kind) as database:
        persona_id = await _persona(database)
        started = time.perf_counter()
        await fill_memories(database, persona_id, chooser, now=NOW, count=COUNT)
        note(f"{kind}: {COUNT:,} memories in {time.perf_counter() - started:.1f} s")
        vectors.configure(None)
        _settle()
        async with stall_meter() as stall:
            started = time.perf_counter()
            await vectors.warm(vectors.embedder())
        report(f"vectors_{kind}_model_load", (time.perf_counter() - started) * 1000, "ms")
        report(f"vectors_{kind}_model_load_loop_stall", stall[0], "ms")
        async with stall_meter() as stall:
            started = time.perf_counter()
            embedded = await vectors.backfill(database, now=NOW)
            took = time.perf_counter() - started
        assert embedded == COUNT, embedded
        report(f"vectors_{kind}_backfill_100k", took, "s")
        report(f"vectors_{kind}_backfill_loop_stall", stall[0], "ms")

        vectors.configure(None)  # nothing held: the first query loads the persona's vectors
        words = [" ".join(chooser.choices(MEMORY_VOCABULARY, k=6)) for _ in range(QUERIES)]
        async with stall_meter() as stall:
            started = time.perf_counter()
            assert await _top10(database, persona_id, "how is your pet doing?") == []  # read in the background
            report(f"vectors_{kind}_first_answer", (time.perf_counter() - started) * 1000, "ms")
            await vectors.loaded(persona_id)
            report(f"vectors_{kind}_load_100k", (time.perf_counter() - started) * 1000, "ms")
        report(f"vectors_{kind}_load_loop_stall", stall[0], "ms")
        _settle()
        async with stall_meter() as stall:
            started = time.perf_counter()
            assert len(await _top10(database, persona_id, words[0])) == 10  # exact; starts building the index
            await indexed(persona_id)
            report(f"vectors_{kind}_index_build", (time.perf_counter() - started) * 1000, "ms")
        report(f"vectors_{kind}_index_loop_stall", stall[0], "ms")
        held = vectors.held_vectors(persona_id)
        assert held is not None and held.index is not None
        durations = []
        for query in words:
            began = time.perf_counter()
            found = await _top10(database, persona_id, query)
            durations.append((time.perf_counter() - began) * 1000)
            assert len(found) == 10
        report_latency(f"vectors_{kind}_top10", durations)
        _scans(kind, held, vectors.embedder().embed_sync(words))

        async with stall_meter() as stall:
            for index in range(MESSAGES):
                await _remember(database, persona_id, f"baseline {index}: " + " ".join(chooser.choices(words, k=8)))
                await asyncio.sleep(0.005)
        report(f"vectors_{kind}_remember_only_loop_stall", stall[0], "ms")
        queue = vectors.EmbeddingQueue(database, now=lambda: NOW)
        queue.start()
        try:
            async with stall_meter() as stall:
                for index in range(MESSAGES):
                    await _remember(database, persona_id, f"message {index}: " + " ".join(chooser.choices(words, k=8)))
                    await asyncio.sleep(0.005)  # messages arrive apart; the queue embeds each after its commit
                await asyncio.wait_for(queue.idle.wait(), 30)
        finally:
            await queue.stop()
        report(f"vectors_{kind}_embed_message_loop_stall", stall[0], "ms")


def _scans(kind: str, held: HeldVectors, queries: Any) -> None:
    """The search alone, through the index and exactly, and how much of the exact top 10 the index finds."""
    through_index, exact, found = [], [], 0
    matrix = held.matrix[: held.size]
    for query in queries:
        began = time.perf_counter()
        near = {memory_id for memory_id, _ in held.search(query, 10)}
        through_index.append((time.perf_counter() - began) * 1000)
        began = time.perf_counter()
        best = top_k(matrix, query, 10)
        exact.append((time.perf_counter() - began) * 1000)
        found += len(near & {int(held.ids[row]) for row, _ in best})
    report_latency(f"vectors_{kind}_scan_only", through_index)
    report_latency(f"vectors_{kind}_exact_scan", exact)
    report(f"vectors_{kind}_index_recall10", found / (10 * len(queries)), "recall")


def _settle() -> None:
    """As the bot does once started (bot/app.py): what exists now is frozen out of the garbage collector's passes,
    whose full pass over the fill's rows would otherwise be measured as a stall of whatever runs next."""
    gc.collect()
    gc.freeze()


async def _top10(database: Database, persona_id: int, query: str) -> list[tuple[int, float]]:
    async with database.reads() as session:
        return await vectors.vector_candidates(session, persona_id, query, k=10)


async def _remember(database: Database, persona_id: int, content: str) -> None:
    async with database.transaction() as session:
        await memories.capture(
            session, persona_id, content=content, category="conversation", importance=5,
            source_user_id=7, source_channel_id=10, source_message_id=20, now=NOW,
        )  # fmt: skip


async def _persona(database: Database) -> int:
    async with database.transaction() as session:
        return (await personas.create(session, Actor(user_id=1, guild_id=1), PersonaInput(name="Ada"), now=NOW)).id


async def main() -> None:
    for kind in database_kinds():
        await _bench(kind, random.Random(20))
        gc.unfreeze()


if __name__ == "__main__":
    asyncio.run(main())
