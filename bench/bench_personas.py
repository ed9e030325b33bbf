"""Persona get-by-id and list-own at 10,000 personas, on SQLite and PostgreSQL.

Targets (issue 2): get p50 <= 1 ms and list p50 <= 5 ms on SQLite. Each call opens its own session, as a command
handler does.
"""

from __future__ import annotations

import random

from sqlalchemy import insert

from bench.common import database_kinds, fresh_database, note, report_latency, time_each
from bot.clock import utcnow
from bot.db import models
from bot.services import personas

PERSONAS = 10_000
OWNERS = 1_000  # ten personas each, the default limit
GUILD = 123_456_789_012_345_678
SAMPLES = 2_000


async def _fill(database) -> list[int]:
    now = utcnow()
    rows = [
        {
            "guild_id": GUILD,
            "owner_id": 10_000 + index % OWNERS,
            "name": f"Persona {index:05d}",
            "description": "A benchmark persona.",
            "status": "active",
            "is_active": False,
            "created_at": now,
            "updated_at": now,
            "custom_traits": [],
            "behavior_settings": {},
            "privacy_settings": {},
            "plugins": [],
            "is_public": False,
            "follower_count": 0,
            "interaction_count": 0,
            "verification_status": "unverified",
        }
        for index in range(PERSONAS)
    ]
    async with database.transaction() as session:
        await session.execute(insert(models.Persona), rows)
        ids = list(
            (await session.execute(models.Persona.__table__.select().with_only_columns(models.Persona.id))).scalars()
        )
        await session.execute(insert(models.MemoryConfig), [{"persona_id": i, "exempt_categories": []} for i in ids])
    return ids


async def main() -> None:
    for kind in database_kinds():
        async with fresh_database(kind) as database:
            ids = await _fill(database)
            chooser = random.Random(7)
            note(f"{kind}: {len(ids)} personas, {OWNERS} owners")

            async def get_one(_: int, database=database, chooser=chooser, ids=ids) -> None:
                async with database.session() as session:
                    await personas.get(session, chooser.choice(ids))

            async def list_own(_: int, database=database, chooser=chooser) -> None:
                async with database.session() as session:
                    result = await personas.list_own(session, 10_000 + chooser.randrange(OWNERS), GUILD)
                    assert len(result) == PERSONAS // OWNERS

            await time_each(get_one, 200)  # warm up the pool and caches
            report_latency(f"persona_get_{kind}", await time_each(get_one, SAMPLES))
            report_latency(f"persona_list_own_{kind}", await time_each(list_own, SAMPLES))
