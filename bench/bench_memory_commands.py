"""``/memory health`` end to end: the real bot against the sandbox, on SQLite, for a persona with 100,000 memories.

Target (issue 7): p99 <= 200 ms, timed from the slash interaction to the answer (report embed and tier chart) in
the sandbox, as the person sees it. Measured twice: with the tier chart remembered (the tiers of an idle persona do
not change between two looks) and with it rendered every time (cold).

The store: 100,000 memories (one INSERT ... SELECT), 50 hot, 300 warm and the rest cold, strengths, importances and
access times spread, contents of ten words; then ANALYZE, as a database that has run a while has statistics.
Sandbox, gateway and bot share one process, one event loop and one core: the figures are upper bounds of the
bot's own share.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from sqlalchemy import func, select, text

from bench.common import note, report_latency, running_bot
from bot.app import PersonaHubBot
from bot.clock import utcnow
from bot.db import models
from bot.sandbox import Sandbox
from bot.services import personas
from bot.services.personas import Actor, PersonaInput

STORE = 100_000
HOT = 50
WARM = 300
SAMPLES = 300
COLD_SAMPLES = 60

_FILL = """
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < :count - 1)
INSERT INTO memories (persona_id, content, category, importance, strength, stability, tier, pinned, sensitive,
                      encrypted, created_at, last_accessed_at, access_count, cold_since)
SELECT :persona,
       'memory ' || i || ' about w' || (i % 997) || ' and w' || (i % 4999) || ' with w' || (i % 53)
           || ' then w' || (i % 211) || ' end',
       CASE i % 4 WHEN 0 THEN 'conversation' WHEN 1 THEN 'preference' WHEN 2 THEN 'fact' ELSE 'event' END,
       1 + i % 10, (i % 1000) / 1000.0, 1.0 + i % 3,
       CASE WHEN i < :hot THEN 'hot' WHEN i < :hot + :warm THEN 'warm' ELSE 'cold' END,
       i % 5000 = 0, 0, 0,
       '2026-01-01 00:00:00.000000',
       strftime('%Y-%m-%d %H:%M:%S', 'now', '-' || (i % 60) || ' days', '-' || (i % 24) || ' hours') || '.000000',
       i % 7,
       CASE WHEN i < :hot + :warm THEN NULL ELSE strftime('%Y-%m-%d %H:%M:%S', 'now', '-1 days') || '.000000' END
FROM n
"""


async def fill(bot: PersonaHubBot, sandbox: Sandbox) -> int:
    async with bot.db.transaction() as session:
        record = await personas.create(
            session, Actor(sandbox.alice.id, sandbox.guild.id), PersonaInput(name="Ada"), now=utcnow()
        )
    async with bot.db.transaction() as session:
        await session.execute(text(_FILL), {"persona": record.id, "count": STORE, "hot": HOT, "warm": WARM})
    async with bot.db.transaction() as session:
        await session.execute(text("ANALYZE"))
    async with bot.db.session() as session:
        stored = int((await session.execute(select(func.count()).select_from(models.Memory))).scalar_one())
    assert stored == STORE, stored
    return record.id


async def health_e2e() -> None:
    async with Sandbox() as sandbox, running_bot(sandbox) as bot:
        started = time.perf_counter()
        persona_id = await fill(bot, sandbox)
        note(f"{STORE:,} memories ({HOT} hot, {WARM} warm) filled in {time.perf_counter() - started:.1f} s")
        cog: Any = bot.get_cog("MemoryCog")

        async def look(cold: bool) -> float:
            if cold:
                cog._charts.clear()
            begun = time.perf_counter()
            answer = await (await sandbox.slash("memory health", persona=str(persona_id))).message(timeout=10)
            took = (time.perf_counter() - begun) * 1000
            assert answer.embeds and answer.attachments, answer
            assert f"for {STORE:,} memories" in answer.embeds[0]["description"], answer.embeds[0]["description"]
            return took

        for _ in range(10):
            await look(False)
        report_latency("memory_health_e2e_100k_sqlite", [await look(False) for _ in range(SAMPLES)])
        report_latency("memory_health_e2e_100k_cold_chart_sqlite", [await look(True) for _ in range(COLD_SAMPLES)])


async def main() -> None:
    await health_e2e()


if __name__ == "__main__":
    asyncio.run(main())
