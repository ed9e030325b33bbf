"""Column-array INSERTs on PostgreSQL (bot.db.bulk): values, NULLs, UTC times, conflicts and RETURNING."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from bot.db import bulk, models
from bot.db.engine import Database

pytestmark = pytest.mark.postgres

COLUMNS = (
    "persona_id", "trigger", "emoji", "intensity", "user_id", "message_id", "previous_pleasure", "previous_arousal",
    "previous_dominance", "new_pleasure", "new_arousal", "new_dominance", "created_at",
)  # fmt: skip
TAIL = "ON CONFLICT (persona_id, message_id, user_id, emoji) DO NOTHING RETURNING id, user_id"


def _row(persona_id: int, user_id: int | None, at: datetime, emoji: str | None = "❤️") -> dict[str, object]:
    return {
        "persona_id": persona_id, "trigger": "affection", "emoji": emoji, "intensity": 0.5, "user_id": user_id,
        "message_id": 10, "previous_pleasure": 0.0, "previous_arousal": 0.0, "previous_dominance": 0.0,
        "new_pleasure": 0.25, "new_arousal": -0.125, "new_dominance": 0.0, "created_at": at,
    }  # fmt: skip


async def test_rows_as_column_arrays_round_trip_and_skip_conflicts(migrated_postgres: str) -> None:
    database = Database(migrated_postgres)
    table = models.EmotionalEvent.__table__
    try:
        async with database.transaction() as session:
            session.add(models.Persona(guild_id=1, owner_id=2, name="Ada"))
        async with database.session() as session:
            persona_id = (await session.execute(select(models.Persona.id))).scalar_one()
        at = datetime(2026, 11, 25, 13, 0, tzinfo=timezone(timedelta(hours=2)))  # stored as 11:00 UTC
        rows = [_row(persona_id, 1, at), _row(persona_id, None, at), _row(persona_id, 3, at, emoji=None)]
        statement = bulk.unnest_insert(table, COLUMNS, TAIL)
        assert statement is bulk.unnest_insert(table, COLUMNS, TAIL)  # made once
        async with database.transaction() as session:
            first = (await session.execute(statement, bulk.unnest_params(table, COLUMNS, rows))).all()
        assert [row[1] for row in first] == [1, None, 3]  # in the given order
        async with database.transaction() as session:  # the first row's key conflicts: skipped, the rest go in
            again = (await session.execute(statement, bulk.unnest_params(table, COLUMNS, rows))).all()
        assert sorted(row[1] or 0 for row in again) == [0, 3]  # NULL keys never conflict
        async with database.session() as session:
            stored = (await session.execute(select(models.EmotionalEvent).order_by(models.EmotionalEvent.id))).scalars()
            events = list(stored)
        assert len(events) == 5
        assert events[0].created_at == datetime(2026, 11, 25, 11, 0, tzinfo=UTC)
        assert (events[0].new_arousal, events[1].user_id, events[2].emoji) == (-0.125, None, None)
        with pytest.raises(TypeError, match="JSON"):
            bulk.unnest_insert(models.Persona.__table__, ("name", "behavior_settings"))
    finally:
        async with database.engine.begin() as connection:
            await connection.exec_driver_sql("TRUNCATE personas RESTART IDENTITY CASCADE")
        await database.dispose()
