"""The scheduled decay job: every due persona's memories decayed to ``now`` in set-based SQL, one transaction per
chunk of personas (the rules are ``core.memory``'s decay, written as SQL by ``decay_sql``)."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import CursorResult, bindparam, func, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from bot.core import catalog
from bot.core import memory as rules
from bot.db import models
from bot.db.types import UTCDateTime
from bot.services.memories.records import DecayRunReport

if TYPE_CHECKING:
    from bot.db.engine import Database

# A memory whose strength (retention) falls below this after a decay run moves to the cold tier (and starts its
# ``cold_memory_retention_days`` countdown). 0.1 = "90% forgotten": at the balanced preset (exponential, 0.05 a
# day) that is 46 days without a recall; a recall brings it back to warm.
COLD_BELOW = 0.1
# The decay job's transaction size: at most this many personas, and (after the first) this many memories.
DECAY_CHUNK_PERSONAS = 50
DECAY_CHUNK_MEMORIES = 50_000


def _days_sql(dialect: str, later: str, earlier: str) -> str:
    """Days from ``earlier`` to ``later`` (SQL fragments), clipped at 0 like ``core.memory.days_between``."""
    if dialect == "sqlite":
        return f"max(0.0, julianday({later}) - julianday({earlier}))"
    return f"GREATEST(0.0, CAST(EXTRACT(EPOCH FROM ({later} - {earlier})) AS DOUBLE PRECISION) / 86400.0)"


def _now_sql(dialect: str) -> str:
    """The bound ``:now``, typed for the dialect."""
    return ":now" if dialect == "sqlite" else "CAST(:now AS TIMESTAMPTZ)"


def _due_sql(alias: str = "c") -> str:
    """A persona is due: decay on, and never run or at least its schedule's period since the last run.

    A period of 0 (continuous) is due once per instant (``last_decay_run < now``): a second run at the same
    ``now`` would be ``decay_step`` with dt = 0, the identity, so skipping it changes nothing and keeps the job
    idempotent and its chunk loop finite.
    """
    clauses = [f"{alias}.last_decay_run IS NULL"]
    for schedule, period in catalog.load("memory")["decay_schedule"].items():
        operator = "<" if float(period) == 0 else "<="
        clauses.append(f"({alias}.decay_schedule = '{schedule}' AND {alias}.last_decay_run {operator} :cut_{schedule})")
    return f"({alias}.decay_enabled AND ({' OR '.join(clauses)}))"


def _not_exempt_sql(dialect: str) -> str:
    """``not core.memory.is_exempt`` for memory ``m`` of configuration ``c``."""
    if dialect == "sqlite":
        category = "m.category NOT IN (SELECT value FROM json_each(c.exempt_categories))"
    else:
        category = "NOT (c.exempt_categories @> to_jsonb(CAST(m.category AS TEXT)))"
    return (
        f"(NOT (m.pinned AND c.pinned_memories_exempt) AND m.importance < c.high_importance_threshold AND {category})"
    )


def _typed_text(body: str) -> Any:
    """``text(body)`` with the decay job's parameters typed: ``ids`` expanding, the times as ``UTCDateTime``."""
    names = ["now", *(f"cut_{name}" for name in catalog.load("memory")["decay_schedule"])]
    typed = [bindparam(name, type_=UTCDateTime) for name in names if f":{name}" in body]
    if ":ids" in body:
        typed.append(bindparam("ids", expanding=True))
    return text(body).bindparams(*typed)


def _decay_statements(dialect: str) -> dict[str, Any]:
    """The job's statements for the dialect: decay, move to cold, expire, mark the run, claim the chunk."""
    now = _now_sql(dialect)
    t = _days_sql(dialect, now, "m.last_accessed_at")
    # Never run: dt counts from the last access, i.e. dt = t. (COALESCE inside: PostgreSQL's GREATEST skips NULLs.)
    dt = _days_sql(dialect, now, "COALESCE(c.last_decay_run, m.last_accessed_at)")
    branches = " ".join(
        f"WHEN '{function}' THEN "
        + rules.decay_sql(function, strength="m.strength", stability="m.stability", rate="c.decay_rate", dt=dt, t=t)
        for function in rules.DECAY_FUNCTIONS
    )
    new_strength = f"CASE c.decay_function {branches} ELSE m.strength END"
    due = _due_sql()
    exempt = _not_exempt_sql(dialect)
    chunk = "c.persona_id IN :ids"
    sql = _typed_text
    decay = sql(
        f"UPDATE memories AS m SET strength = {new_strength} FROM memory_configs AS c "
        f"WHERE m.persona_id = c.persona_id AND {chunk} AND {due} AND {exempt} "
        "AND m.strength > 0 AND c.decay_rate > 0"
    )
    to_cold = sql(
        f"UPDATE memories AS m SET tier = 'cold', cold_since = {now} FROM memory_configs AS c "
        f"WHERE m.persona_id = c.persona_id AND {chunk} AND {due} AND {exempt} "
        "AND m.tier <> 'cold' AND NOT m.pinned AND m.strength < :cold_below"
    )
    expire = sql(
        "DELETE FROM memories WHERE id IN (SELECT m.id FROM memories AS m "
        "JOIN memory_configs AS c ON m.persona_id = c.persona_id "
        f"WHERE {chunk} AND {due} AND {exempt} AND m.tier = 'cold' AND m.cold_since IS NOT NULL AND NOT m.pinned "
        f"AND {_days_sql(dialect, now, 'm.cold_since')} > c.cold_memory_retention_days)"
    )
    mark = sql(f"UPDATE memory_configs AS c SET last_decay_run = {now} WHERE {chunk} AND {due}")
    claim = sql(f"SELECT c.persona_id FROM memory_configs AS c WHERE {chunk} AND {due} FOR UPDATE SKIP LOCKED")
    return {"decay": decay, "to_cold": to_cold, "expire": expire, "mark": mark, "claim": claim}


def _due_params(now: datetime) -> dict[str, Any]:
    """``:now`` and each schedule's cut-off (``:cut_<schedule>``: a persona last run at or before it is due)."""
    params: dict[str, Any] = {"now": now}
    for schedule, period in catalog.load("memory")["decay_schedule"].items():
        params[f"cut_{schedule}"] = now - timedelta(days=float(period))
    return params


async def _next_chunk(database: Database, now: datetime, after: int, max_personas: int, max_memories: int) -> list[int]:
    """The next due personas after id ``after``: at most ``max_personas``, and no more memories than
    ``max_memories`` (but always at least one persona)."""
    select_due = _typed_text(
        f"SELECT c.persona_id FROM memory_configs AS c WHERE {_due_sql()} AND c.persona_id > :after "
        "ORDER BY c.persona_id LIMIT :limit"
    )
    async with database.session() as session:
        ids = [
            int(value)
            for value in (
                await session.execute(select_due, {**_due_params(now), "after": after, "limit": max_personas})
            ).scalars()
        ]
        if len(ids) <= 1:
            return ids
        counted = (
            await session.execute(
                select(col(models.Memory.persona_id), func.count())
                .where(col(models.Memory.persona_id).in_(ids))
                .group_by(col(models.Memory.persona_id))
            )
        ).all()
    sizes = {int(persona_id): int(count) for persona_id, count in counted}
    chosen: list[int] = []
    total = 0
    for persona_id in ids:
        size = sizes.get(persona_id, 0)
        if chosen and total + size > max_memories:
            break
        chosen.append(persona_id)
        total += size
    return chosen


async def _touched(session: AsyncSession, statement: Any, params: dict[str, Any]) -> int:
    """Run one of the job's UPDATE or DELETE statements; how many rows it touched."""
    result = await session.execute(statement, params)
    return int(result.rowcount or 0) if isinstance(result, CursorResult) else 0


async def decay_due_personas(
    database: Database,
    now: datetime,
    *,
    max_personas: int = DECAY_CHUNK_PERSONAS,
    max_memories: int = DECAY_CHUNK_MEMORIES,
    pause_seconds: float = 0.0,
) -> DecayRunReport:
    """The decay job: decay every due persona's memories to ``now``, in chunks, one transaction per chunk.

    Per chunk, set-based SQL (no Python loop over memories): one UPDATE applies ``decay_sql`` (the persona's
    function, ``decay_rate / stability``, dt since the persona's ``last_decay_run``, t since each memory's last
    access) to every memory ``is_exempt`` would not exempt; memories whose strength is now below ``COLD_BELOW``
    move to cold (``cold_since = now``; never pinned or exempt ones); cold memories past
    ``cold_memory_retention_days`` (``expired_cold``) are deleted; and the personas' ``last_decay_run`` becomes
    ``now``, all in the same transaction. Every statement re-checks due-ness, and on PostgreSQL the chunk's
    configurations are claimed with ``FOR UPDATE SKIP LOCKED``, so two processes never decay a persona twice.

    Idempotent (a second run at the same ``now`` finds nothing due) and resumable (a run killed mid-way leaves each
    persona either fully decayed, with ``last_decay_run = now``, or untouched, and the next run does the rest).
    Between chunks the loop yields (``pause_seconds``) so the bot's other work gets the connection.
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be a timezone-aware datetime")
    dialect = database.kind
    statements = _decay_statements(dialect)
    params = _due_params(now)
    personas = chunks = decayed = moved = expired = 0
    after = 0
    while True:
        ids = await _next_chunk(database, now, after, max_personas, max_memories)
        if not ids:
            break
        after = ids[-1]
        async with database.transaction() as session:
            if dialect != "sqlite":
                ids = [int(v) for v in (await session.execute(statements["claim"], {**params, "ids": ids})).scalars()]
            if ids:
                chunk_params = {**params, "ids": ids, "cold_below": COLD_BELOW}
                decayed += await _touched(session, statements["decay"], chunk_params)
                moved += await _touched(session, statements["to_cold"], chunk_params)
                expired += await _touched(session, statements["expire"], chunk_params)
                personas += await _touched(session, statements["mark"], chunk_params)
                chunks += 1
        await asyncio.sleep(pause_seconds)
    return DecayRunReport(
        now=now, personas=personas, chunks=chunks, decayed=decayed, moved_to_cold=moved, expired=expired
    )
