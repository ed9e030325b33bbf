"""The event loop's longest stall while bulk work runs, on SQLite and PostgreSQL.

Target (issue 15): <= 100 ms for each of

- a legal import of 10 MB: a native export of 21,487 memories, just under the 10 MB limit, parsed, checked and
  written as ``/persona import`` does (read the upload, then one transaction);
- ``/memory optimize`` of a persona with 100,000 memories;
- ``/privacy export-my-data`` and ``/privacy forget-me`` of a person named by 100,000 memories and by a retired
  persona's legacy archive of 100,000 memories (one document of ~40 MB), as the cog runs them: the export read in
  short sessions and written as the attachment, forget-me in steps that commit every few thousand rows;
- a reply template at the size limit firing: the real bot in the sandbox, a behaviour added through the service,
  and a message that triggers it (the first accepted of: a chain of filters to the limit, then plain text with
  expressions to the limit).

A ticker task sleeps 5 ms again and again while the work runs; the stall is the longest overshoot of a sleep (how
long everything else on the loop, such as an interaction that must be answered within 3 s, would have waited). For
the database work, ``read_wait`` is also printed: the longest a one-row read session, opened every 50 ms, waited
meanwhile (on SQLite the process has one connection, held by a bulk transaction until it commits).
"""

from __future__ import annotations

import asyncio
import gc
import json
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

from sqlalchemy import select, text, update

from bench import reply_templates
from bench.common import database_kinds, fill_memories, fresh_database, note, report, running_bot
from bot.clock import utcnow
from bot.db import models
from bot.db.engine import Database
from bot.sandbox import Sandbox
from bot.services import bindings, memories, personas, portability, privacy
from bot.services.personas import Actor, PersonaInput

STORE = 100_000
ARCHIVED = 100_000
IMPORTED_MEMORIES = 21_487
TICK = 0.005
READ_EVERY = 0.05
OWNER = 111_111_111_111_111_111
PERSON = 222_222_222_222_222_222
GUILD = 333_333_333_333_333_333


class StallMeter:
    """The longest time the loop took to come back to a task that asked to sleep :data:`TICK`; with a database,
    also the longest a one-row read (what a command does before it answers) waited meanwhile."""

    def __init__(self, database: Database | None = None) -> None:
        self.worst = 0.0
        self.worst_read = 0.0
        self.database = database
        self._tasks: list[asyncio.Task[None]] = []

    async def _tick(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            asked = loop.time()
            await asyncio.sleep(TICK)
            self.worst = max(self.worst, loop.time() - asked - TICK)

    async def _read(self, database: Database) -> None:
        loop = asyncio.get_running_loop()
        while True:
            asked = loop.time()
            async with database.session() as session:
                await session.execute(text("SELECT 1"))
            self.worst_read = max(self.worst_read, loop.time() - asked)
            await asyncio.sleep(READ_EVERY)

    @asynccontextmanager
    async def running(self) -> AsyncIterator[StallMeter]:
        self._tasks = [asyncio.create_task(self._tick())]
        if self.database is not None:
            self._tasks.append(asyncio.create_task(self._read(self.database)))
        await asyncio.sleep(TICK * 2)
        try:
            yield self
        finally:
            for task in self._tasks:
                task.cancel()
                try:
                    await task
                except asyncio.CancelledError:
                    pass


async def measure(name: str, work: Callable[[], Awaitable[Any]], database: Database | None = None) -> Any:
    # As the bot does once ready (PersonaHubBot.on_ready): what lives before the work is out of the collector's
    # sight, so the figure is the work's own.
    gc.collect()
    gc.freeze()
    meter = StallMeter(database)
    started = time.perf_counter()
    async with meter.running():
        result = await work()
    note(f"{name}: {time.perf_counter() - started:.2f} s of work")
    report(f"loop_stall_{name}", meter.worst * 1000, "ms")
    if database is not None:
        report(f"read_wait_{name}", meter.worst_read * 1000, "ms")
    return result


def import_document(document: dict[str, Any], count: int = IMPORTED_MEMORIES) -> bytes:
    """A native export of ``count`` memories whose JSON is just under the import limit (a legal 10 MB file)."""
    chooser = random.Random(15)
    now = utcnow()

    def build(words: int) -> bytes:
        document["memories"] = [
            {
                "content": " ".join(f"word{chooser.randrange(5000)}" for _ in range(words)),
                "category": "conversation",
                "importance": chooser.randint(1, 10),
                "strength": chooser.random(),
                "stability": 1.0,
                "tier": "warm",
                "pinned": False,
                "sensitive": False,
                "encrypted": False,
                "created_at": (now - timedelta(days=30)).isoformat(),
                "last_accessed_at": (now - timedelta(days=1)).isoformat(),
                "access_count": chooser.randint(0, 5),
            }
            for _ in range(count)
        ]
        return portability.document_to_json(document)

    words = 10
    data = build(words)
    # Each word adds about the same number of bytes per memory: grow to just under the limit.
    per_word = (len(build(words + 1)) - len(data)) / count
    words += int((portability.MAX_NATIVE_BYTES * 0.995 - len(data)) / count / per_word)
    data = build(words)
    while len(data) > portability.MAX_NATIVE_BYTES:
        words -= 1
        data = build(words)
    return data


async def bulk_work(kind: str) -> None:
    async with fresh_database(kind) as database:
        await _bulk_work(database, kind)


async def _bulk_work(database: Database, kind: str) -> None:
    owner = Actor(OWNER, GUILD)
    now = utcnow()
    async with database.transaction() as session:
        tidy = await personas.create(session, owner, PersonaInput(name="Tidy"), now=now)
        keeper = await personas.create(session, owner, PersonaInput(name="Keeper"), now=now)
        template = await portability.export_native(session, owner, tidy.id, now=now)
    started = time.perf_counter()
    await fill_memories(database, tidy.id, random.Random(1), now=now, count=STORE)
    await fill_memories(database, keeper.id, random.Random(2), now=now, count=STORE)
    async with database.transaction() as session:
        await session.execute(
            update(models.Memory)
            .where(models.Memory.persona_id == keeper.id)  # type: ignore[arg-type]
            .values(source_user_id=PERSON, subject_user_id=PERSON)
        )
    note(f"{kind}: 2 x {STORE:,} memories filled in {time.perf_counter() - started:.1f} s")
    size = await fill_archive(database, owner, now)
    note(f"{kind}: a retired persona's archive of {ARCHIVED:,} memories, {size / 1e6:.1f} MB of JSON")

    data = import_document(template)
    note(f"{kind}: import file of {len(data):,} bytes, {IMPORTED_MEMORIES:,} memories")

    async def import_file() -> None:
        upload = await portability.read_upload(data, "persona.json", now=utcnow())
        async with database.transaction() as session:
            record = await portability.import_upload(session, owner, upload, now=utcnow(), max_per_user=10)
        assert record.name.startswith("Tidy"), record.name

    await measure(f"import_10mb_{kind}", import_file, database)

    async def optimize() -> None:  # as /memory optimize runs it
        await memories.optimize_store(database, tidy.id, utcnow(), actor=owner)

    await measure(f"optimize_100k_{kind}", optimize, database)

    async def export_my_data() -> None:
        document = await privacy.export_my_data(database, PERSON)
        assert len(document["archived_memories"]) == ARCHIVED // 2, len(document["archived_memories"])
        # The attachment, as the cog makes it, and the entries freed as it frees them.
        await asyncio.to_thread(privacy.export_json, document)
        await asyncio.to_thread(privacy.release_export, document)

    await measure(f"export_my_data_100k_{kind}", export_my_data, database)

    async def forget_me() -> None:
        await privacy.forget_me_in_steps(database, PERSON, GUILD, now=utcnow())

    await measure(f"forget_me_100k_{kind}", forget_me, database)
    async with database.session() as session:  # checked after the measure: this read parses 20 MB on the loop
        archive = (await session.execute(select(models.LegacyArchive.snapshot))).scalar_one()
    assert len(archive["memories"]) == ARCHIVED // 2, len(archive["memories"])


async def fill_archive(database: Database, owner: Actor, now: Any) -> int:
    """A retired persona of the owner's whose legacy archive keeps ``ARCHIVED`` memories, every other one from
    and about the person; returns the size of the snapshot as JSON."""
    chooser = random.Random(3)
    memories_ = [
        {
            "content": " ".join(f"word{chooser.randrange(5000)}" for _ in range(27)),
            "category": "conversation",
            "importance": chooser.randint(1, 10),
            "pinned": False,
            "encrypted": False,
            "source_user_id": PERSON if index % 2 else OWNER,
            "subject_user_id": PERSON if index % 2 else None,
            "created_at": (now - timedelta(days=index % 400)).isoformat(),
        }
        for index in range(ARCHIVED)
    ]
    async with database.transaction() as session:
        old = await personas.create(session, owner, PersonaInput(name="Old"), now=now)
        retired = update(models.Persona).where(models.Persona.id == old.id)  # type: ignore[arg-type]
        await session.execute(retired.values(status="retired"))
        session.add(
            models.LegacyArchive(
                persona_id=old.id, snapshot={"memories": memories_}, archived_memory_count=ARCHIVED, retired_at=now
            )
        )
    return len(json.dumps({"memories": memories_}))


async def reply_template() -> None:
    """The legal template as heavy as the budget allows (bench/reply_templates.py), added through the service and
    fired by five chat messages to the real bot; the first message comes after the cast cache is dropped, as after
    a restart."""
    async with Sandbox() as sandbox, running_bot(sandbox) as bot:
        actor = Actor(sandbox.alice.id, sandbox.guild.id)
        async with bot.db.transaction() as session:
            record = await personas.create(
                session,
                actor,
                PersonaInput(name="Ada", behavior={"cooldown_seconds": 0, "chattiness": 0}),
                now=utcnow(),
            )
            await bindings.activate(
                session, actor, record.id, sandbox.general.id, channel_guild_id=sandbox.guild.id, now=utcnow()
            )
            await reply_templates.add_limit_behavior(
                session, sandbox.alice.id, sandbox.guild.id, record.id, now=utcnow()
            )
        note(f"template at the limit: {len(reply_templates.limit_template())} characters")

        async def fire() -> None:
            for _ in range(5):
                sent = await sandbox.send(sandbox.general, reply_templates.firing_message("Ada"))
                await sandbox.wait_for_message(sandbox.general, author="Ada", after=sent, timeout=30)

        await measure("reply_template_at_limit_sqlite", fire)


async def main() -> None:
    for kind in database_kinds():
        await bulk_work(kind)
    await reply_template()


if __name__ == "__main__":
    asyncio.run(main())
