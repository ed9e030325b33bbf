"""The notification outbox: written in the same transaction as the event it announces, delivered later.

Guarantees, and how:
- Nothing is lost: a notification is a row committed with its event; a process that dies after claiming rows leaves
  them claimed, and the lease (``lease_seconds``) hands them to the next claimer.
- Nothing is queued twice: every row has an idempotency key (one per notification and recipient), unique in the
  table; enqueueing the same key again does nothing.
- Nothing is sent twice by two processes: claims are one UPDATE over rows selected ``FOR UPDATE SKIP LOCKED`` on
  PostgreSQL (SQLite has one writer). A process killed between Discord accepting a message and the row being marked
  sent is the one gap a database cannot close; delivery closes it with Discord's message nonce (``enforce_nonce``),
  derived from the row's key, so a re-send within minutes is refused by Discord as a duplicate.
- Shards deliver their own guilds: ``claim(shard=(count, ids))`` takes only rows whose guild maps to those shards
  (``(guild_id >> 22) % count``, Discord's rule); rows without a guild (DMs) belong to shard 0.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Integer, Table, and_, func, literal, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bot.db import models

PENDING, CLAIMED, SENT, FAILED = "pending", "claimed", "sent", "failed"
MAX_ATTEMPTS = 8
BACKOFF_BASE_SECONDS = 5.0
BACKOFF_MAX_SECONDS = 3600.0
# The table itself, for statements executed over many rows at once (an ORM insert of a list is another path).
TABLE: Table = models.metadata.tables["outbox"]


@dataclass(frozen=True)
class OutboxItem:
    id: int
    guild_id: int | None
    kind: str
    recipient_user_id: int | None
    channel_id: int | None
    payload: dict[str, Any]
    idempotency_key: str
    attempts: int

    @property
    def nonce(self) -> str:
        """Discord's message nonce for this row (at most 25 characters), stable across re-sends."""
        return hashlib.sha256(self.idempotency_key.encode()).hexdigest()[:25]


def _insert(session: AsyncSession) -> Any:
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(TABLE)


async def enqueue_many(session: AsyncSession, rows: Sequence[Mapping[str, Any]], *, now: datetime) -> int:
    """Queue notifications in the caller's transaction; rows whose ``idempotency_key`` exists are skipped.

    Each row: ``kind``, ``idempotency_key``, ``payload`` and optionally ``guild_id``, ``recipient_user_id``,
    ``channel_id``, ``deliver_after``. Returns how many were new.
    """
    if not rows:
        return 0
    values = [
        {
            "kind": row["kind"],
            "idempotency_key": row["idempotency_key"],
            "payload": dict(row.get("payload") or {}),
            "guild_id": row.get("guild_id"),
            "recipient_user_id": row.get("recipient_user_id"),
            "channel_id": row.get("channel_id"),
            "status": PENDING,
            "attempts": 0,
            "next_attempt_at": row.get("deliver_after") or now,
            "created_at": now,
        }
        for row in rows
    ]
    # One cached statement executed over the rows (SQLAlchemy batches them into multi-row INSERTs with RETURNING);
    # building a multi-VALUES statement per chunk instead costs ~0.2 ms a row to compile, too slow for a fan-out
    # to 10,000 followers. Skipped (existing) keys return no row, so the count is of new rows.
    statement = (
        _insert(session)
        .on_conflict_do_nothing(index_elements=["idempotency_key"])
        .returning(col(models.OutboxMessage.id))
    )
    return len((await session.execute(statement, values)).all())


async def enqueue(
    session: AsyncSession,
    *,
    kind: str,
    idempotency_key: str,
    payload: Mapping[str, Any],
    now: datetime,
    guild_id: int | None = None,
    recipient_user_id: int | None = None,
    channel_id: int | None = None,
    deliver_after: datetime | None = None,
) -> bool:
    """Queue one notification (see :func:`enqueue_many`); True when it was new."""
    row = {
        "kind": kind,
        "idempotency_key": idempotency_key,
        "payload": payload,
        "guild_id": guild_id,
        "recipient_user_id": recipient_user_id,
        "channel_id": channel_id,
        "deliver_after": deliver_after,
    }
    return await enqueue_many(session, [row], now=now) == 1


def _shard_clause(shard: tuple[int, Sequence[int]] | None) -> Any:
    if shard is None:
        return True
    count, ids = shard
    owned = col(models.OutboxMessage.guild_id).op(">>")(literal(22, Integer)) % count  # PostgreSQL: bigint >> integer
    clause = and_(col(models.OutboxMessage.guild_id).is_not(None), owned.in_(list(ids)))
    if 0 in ids:
        clause = or_(clause, col(models.OutboxMessage.guild_id).is_(None))
    return clause


async def claim(
    session: AsyncSession,
    *,
    worker: str,
    now: datetime,
    limit: int = 50,
    lease_seconds: float = 120.0,
    shard: tuple[int, Sequence[int]] | None = None,
    kinds: Sequence[str] | None = None,
) -> list[OutboxItem]:
    """Claim up to ``limit`` due rows for ``worker``: pending ones whose time has come, and claimed ones whose lease
    ran out (their claimer died). Commit the caller's transaction promptly: the claim is the commit."""
    table = models.OutboxMessage
    due = or_(
        and_(col(table.status) == PENDING, col(table.next_attempt_at) <= now),
        and_(col(table.status) == CLAIMED, col(table.claimed_at) <= now - timedelta(seconds=lease_seconds)),
    )
    candidates = select(col(table.id)).where(due, _shard_clause(shard)).order_by(col(table.id)).limit(limit)
    if kinds:
        candidates = candidates.where(col(table.kind).in_(list(kinds)))
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    if dialect == "postgresql":
        candidates = candidates.with_for_update(skip_locked=True)
    statement = (
        update(table)
        .where(col(table.id).in_(candidates.scalar_subquery()))
        .values(status=CLAIMED, claimed_by=worker, claimed_at=now, attempts=col(table.attempts) + 1)
        .returning(
            col(table.id),
            col(table.guild_id),
            col(table.kind),
            col(table.recipient_user_id),
            col(table.channel_id),
            col(table.payload),
            col(table.idempotency_key),
            col(table.attempts),
        )
    )
    rows = (await session.execute(statement, execution_options={"synchronize_session": False})).all()
    return sorted((OutboxItem(*row) for row in rows), key=lambda item: item.id)


async def mark_sent(session: AsyncSession, ids: Sequence[int], *, worker: str, now: datetime) -> int:
    """Mark rows delivered (only rows this worker still holds: a row re-claimed after a lease is not ours)."""
    if not ids:
        return 0
    table = models.OutboxMessage
    result = await session.execute(
        update(table)
        .where(col(table.id).in_(list(ids)), col(table.status) == CLAIMED, col(table.claimed_by) == worker)
        .values(status=SENT, sent_at=now, last_error=None),
        execution_options={"synchronize_session": False},
    )
    assert isinstance(result, CursorResult)  # an UPDATE answers with a cursor result, which counts its rows
    return int(result.rowcount or 0)


def backoff(attempts: int) -> timedelta:
    """5 s, 10 s, 20 s, ... up to an hour."""
    return timedelta(seconds=min(BACKOFF_MAX_SECONDS, BACKOFF_BASE_SECONDS * 2 ** max(0, attempts - 1)))


async def mark_retry(
    session: AsyncSession, item: OutboxItem, *, worker: str, now: datetime, error: str, permanent: bool = False
) -> str:
    """A delivery failed: try again later with backoff, or give up (``permanent``, or after ``MAX_ATTEMPTS``).
    Returns the row's new status."""
    table = models.OutboxMessage
    status = FAILED if permanent or item.attempts >= MAX_ATTEMPTS else PENDING
    await session.execute(
        update(table)
        .where(col(table.id) == item.id, col(table.claimed_by) == worker)
        .values(status=status, next_attempt_at=now + backoff(item.attempts), last_error=error[:2000], claimed_by=None),
        execution_options={"synchronize_session": False},
    )
    return status


async def counts(session: AsyncSession) -> dict[str, int]:
    """How many rows are in each status."""
    rows = await session.execute(
        select(col(models.OutboxMessage.status), func.count()).group_by(col(models.OutboxMessage.status))
    )
    return {status: int(count) for status, count in rows.all()}
