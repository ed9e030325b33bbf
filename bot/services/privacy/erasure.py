"""Forget me: erase a person from one server (:func:`forget_me`, and :func:`forget_me_in_steps` for the live bot).

Run in a server it erases that server's rows; run in DMs, the rows of personal personas (made in DMs) and the rows
made in DMs. A row's server is its persona's (a notification's: the persona it is about), else its own
``guild_id`` (:func:`bot.services.privacy.scope_clause`). In that scope:

- the personas the person owns are deleted, with everything that belongs to them (memories, mood, followers,
  tiers, archive, ..., and queued notifications about them);
- every row keyed by them goes: memories from or about them, relationship records, follows, endorsements,
  subscriptions (a paid one is Discord's record and comes back from Discord's entitlements), wizard drafts,
  queued and sent notifications to them or naming them, consent records;
- what is the personas' history keeps its place without them: reactions they caused stay as anonymous
  emotional events, a subscription they granted or a channel binding they made loses only their name, and the
  legacy archive of someone else's retired persona loses the memories from or about them;
- one consent record, refused and noted ``forget-me``, keeps them forgotten: recorded first (so nothing new is
  remembered while the rest goes), it is the only row left that names them.

Rows go in batches with a pause between; documents are scrubbed in a worker thread. The bot's forget-me commits
every :data:`COMMIT_ROWS` rows and goes on where it paused, so each table and document is read once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import Table, Text, and_, cast, delete, func, literal, select, update
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.errors import DomainError
from bot.db import models, offload, people
from bot.db.engine import Database
from bot.services import consent
from bot.services.privacy import register
from bot.services.privacy.register import (
    PERSONAS,
    TABLES,
    candidate_documents,
    primary_key,
    reads_of,
    scope_clause,
    scrub_texts,
)

FORGET_ME_NOTE = "forget-me"
# Rows one transaction of forget_me_in_steps changes before it commits: a commit of far more holds SQLite for long.
COMMIT_ROWS = 2_000


# --------------------------------------------------------------------------------------------------- erasing


@cache
def _cascading_children(table: Table) -> list[tuple[Table, Any]]:
    """Tables whose rows the database deletes with a row of ``table`` (``ON DELETE CASCADE``), and their key."""
    found = []
    for child in models.metadata.sorted_tables:
        for key in child.foreign_keys:
            if key.column.table is table and (key.ondelete or "").upper() == "CASCADE":
                found.append((child, key.parent))
    return found


class _Paused(Exception):
    """This transaction's share of the work is done: commit it, and go on in the next."""


@dataclass
class _Tally:
    """Rows changed, by kind; with a ``limit``, :class:`_Paused` once that many were changed in one transaction."""

    limit: int | None = None
    spent: int = 0
    rows: dict[str, int] = field(default_factory=dict)

    def add(self, kind: str, count: int) -> None:
        self.rows[kind] = self.rows.get(kind, 0) + count
        self.spent += count
        if self.limit is not None and self.spent >= self.limit:
            raise _Paused


async def _delete_rows(session: AsyncSession, table: Table, where: Any, tally: _Tally, kind: str) -> None:
    """Delete the rows of ``table`` matching ``where``, and what cascades from them, a batch at a time (children
    first), so that deleting a persona with 100,000 memories is many short statements, not one long one."""
    pk = primary_key(table)
    children = _cascading_children(table)
    while True:
        ids = list((await session.execute(select(pk).where(where).limit(register.ID_BATCH))).scalars())
        if not ids:
            return
        for child, key in children:
            await _delete_rows(session, child, key.in_(ids), tally, f"{child.name} (with {table.name})")
        result = await session.execute(
            delete(table).where(pk.in_(ids)), execution_options={"synchronize_session": False}
        )
        await asyncio.sleep(0)
        assert isinstance(result, CursorResult)  # a DELETE answers with a cursor result, which counts its rows
        tally.add(kind, int(result.rowcount or 0))


async def _anonymise_rows(
    session: AsyncSession, table: Table, where: Any, columns: Iterable[str], tally: _Tally, kind: str
) -> None:
    pk = primary_key(table)
    blank = dict.fromkeys(columns)
    while True:
        ids = list((await session.execute(select(pk).where(where).limit(register.ID_BATCH))).scalars())
        if not ids:
            return
        await session.execute(
            update(table).where(pk.in_(ids)).values(blank), execution_options={"synchronize_session": False}
        )
        await asyncio.sleep(0)
        tally.add(kind, len(ids))


def _document_value(session: AsyncSession, text: str) -> Any:
    # The scrubbed document is already JSON text; hand it over as text so it is not serialised again on the loop.
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        return cast(literal(text, Text), JSONB)
    return literal(text, Text)


@dataclass
class _Progress:
    """How far a stepped forget-me got, so that a transaction after a pause goes on where the last one stopped
    instead of scanning every table again: the steps finished, and for a scan over keys the last key handled. Kept
    in memory only: after a crash, a new run starts again from the beginning (every step is idempotent)."""

    done: set[str] = field(default_factory=set)
    after: dict[str, int] = field(default_factory=dict)


async def _step(progress: _Progress, name: str, work: Callable[..., Awaitable[None]], *args: Any) -> None:
    """Run one step of the erasure, ``work(*args)``, unless an earlier transaction finished it."""
    if name in progress.done:
        return
    await work(*args)
    progress.done.add(name)


async def _delete_in_windows(
    session: AsyncSession, table: Table, where: Any, tally: _Tally, kind: str, progress: _Progress, step: str
) -> None:
    """Delete the rows matching ``where`` (which no index answers), reading a window of keys per statement, from
    where the last transaction stopped."""
    pk = primary_key(table)
    low, high = (await session.execute(select(func.min(pk), func.max(pk)))).one()
    if low is None:
        return
    start = max(int(low), progress.after.get(step, int(low) - 1) + 1)
    while start <= int(high):
        await _delete_rows(session, table, and_(pk >= start, pk < start + register.DOCUMENT_WINDOW, where), tally, kind)
        progress.after[step] = start + register.DOCUMENT_WINDOW - 1  # this window is done
        start += register.DOCUMENT_WINDOW
        await asyncio.sleep(0)


async def _forget_in_documents(
    session: AsyncSession,
    table: Table,
    column: str,
    rules: people.PersonDocument,
    person: int,
    where: Any,
    tally: _Tally,
    progress: _Progress,
    step: str,
) -> None:
    pk = primary_key(table)
    kind = f"{table.name}.{column}"
    after = progress.after.get(step)
    async for rows in candidate_documents(reads_of(session), table, column, person, where, after=after):
        results = await asyncio.to_thread(scrub_texts, [row[1] for row in rows], rules.keys, person, rules.whole_row)
        for row, result in zip(rows, results, strict=True):
            # One row at a time, its key noted once it is handled: a pause after it resumes at the next row, so
            # each document is read and parsed once.
            if result is True:
                await _delete_rows(session, table, pk == row[0], _Tally(), kind)
            elif isinstance(result, str):
                await session.execute(
                    update(table).where(pk == row[0]).values({column: _document_value(session, result)}),
                    execution_options={"synchronize_session": False},
                )
            progress.after[step] = int(row[0])
            if result is not None:
                tally.add(kind, 1)


@dataclass(frozen=True)
class ForgetReport:
    """What forget-me did: memories from or about the person erased, the names of their personas deleted, and how
    many rows of each table were deleted or anonymised (``table`` or ``table.column``)."""

    memories: int
    personas: tuple[str, ...]
    rows: dict[str, int] = field(default_factory=dict)


async def owned_personas(session: AsyncSession, user_id: int, guild_id: int | None) -> list[tuple[int, str]]:
    """(id, name) of the personas ``user_id`` owns in ``guild_id`` (None: personal ones), by name: forget-me
    deletes them."""
    query = select(PERSONAS.c.id, PERSONAS.c.name).where(
        PERSONAS.c.owner_id == user_id, scope_clause("personas", guild_id)
    )
    rows = (await session.execute(query.order_by(func.lower(PERSONAS.c.name), PERSONAS.c.id))).all()
    return [(int(persona_id), name) for persona_id, name in rows]


async def _recount_followers(session: AsyncSession, persona_ids: Iterable[int]) -> None:
    follow = TABLES["follows"]
    for persona_id in sorted(set(persona_ids)):
        count = select(func.count()).select_from(follow).where(follow.c.persona_id == persona_id).scalar_subquery()
        await session.execute(update(PERSONAS).where(PERSONAS.c.id == persona_id).values(follower_count=count))


@dataclass(frozen=True)
class _Plan:
    owned: list[tuple[int, str]]  # the person's personas in scope (id, name)
    followed: list[int]  # personas they follow in scope (their follower counts are recounted)
    refusal_id: int  # the refusal that keeps them forgotten: recorded first, the one row that stays


async def _plan(
    session: AsyncSession, user_id: int, guild_id: int | None, announced: int | None, now: datetime
) -> _Plan:
    """What forget-me will erase, checked against what the question named, and the refusal recorded."""
    owned = await owned_personas(session, user_id, guild_id)
    if announced is not None and any(persona_id > announced for persona_id, _ in owned):
        raise DomainError(
            "You made a persona after this question was asked, so nothing was erased. Run /privacy forget-me again "
            "to see everything it deletes."
        )
    follow = TABLES["follows"]
    query = select(follow.c.persona_id).where(follow.c.user_id == user_id, scope_clause("follows", guild_id))
    followed = list((await session.execute(query)).scalars())
    refusal = await consent.record(
        session,
        user_id=user_id,
        guild_id=guild_id,
        granted=False,
        recorded_by=user_id,
        now=now,
        note=FORGET_ME_NOTE,
    )
    return _Plan(owned, followed, refusal.id)


async def _erase(
    session: AsyncSession, user_id: int, guild_id: int | None, plan: _Plan, tally: _Tally, progress: _Progress
) -> None:
    for name in people.TABLES:
        if name == "personas":
            continue  # last: what others left in the person's own personas goes with them
        table = TABLES[name]
        here = scope_clause(name, guild_id)
        for column, kind in people.person_columns(name).items():
            mine = and_(table.c[column] == user_id, here)
            if name == "consent_records":
                mine = and_(mine, table.c.id != plan.refusal_id)
            step = f"{name}.{column}"
            if kind.forget is people.Forget.DELETE:
                await _step(progress, step, _delete_rows, session, table, mine, tally, step)
            elif kind.forget is people.Forget.ANONYMISE:
                await _step(progress, step, _anonymise_rows, session, table, mine, (column, *kind.also), tally, step)
            else:
                assert kind.via is not None
                [key] = table.c[kind.via].foreign_keys
                parent = key.column.table
                linked = key.column.in_(select(table.c[kind.via]).where(mine))
                kind_name = f"{parent.name}.named-by.{name}.{column}"
                await _step(progress, step, _delete_rows, session, parent, linked, tally, kind_name)
        for column, document in people.person_documents(name).items():
            step = f"{name}.{column}.document"
            args = (session, table, column, document, user_id, here, tally, progress, step)
            await _step(progress, step, _forget_in_documents, *args)
    owned_ids = [persona_id for persona_id, _ in plan.owned]
    for name, rules in people.TABLES.items():
        # Rows about a persona by an id inside a document (no foreign key cascades them): a notification about
        # the person's own persona goes with it (its name is their words).
        scope = rules.scope
        if owned_ids and scope.document is not None and scope.document_key == "persona_id":
            table = TABLES[name]
            about = table.c[scope.document][scope.document_key].as_integer().in_(owned_ids)
            step = f"{name}.{scope.document}.persona_id"
            await _step(progress, step, _delete_in_windows, session, table, about, tally, step, progress, step)
    mine = and_(PERSONAS.c.owner_id == user_id, scope_clause("personas", guild_id))
    await _step(progress, "personas.owner_id", _delete_rows, session, PERSONAS, mine, tally, "personas.owner_id")
    await _recount_followers(session, plan.followed)


def _report(plan: _Plan, tally: _Tally) -> ForgetReport:
    memories = sum(count for kind, count in tally.rows.items() if kind.startswith("memories."))
    return ForgetReport(memories=memories, personas=tuple(name for _, name in plan.owned), rows=dict(tally.rows))


async def forget_me(
    session: AsyncSession, user_id: int, guild_id: int | None, *, now: datetime, announced: int | None = None
) -> ForgetReport:
    """Erase ``user_id`` from server ``guild_id`` (None: from DMs and personal personas), as the module says, and
    record their refusal, in the caller's one transaction. Only that refusal names them here afterwards.

    ``announced``: the newest of their personas the confirmation named (0: none); a persona made since then was not
    named, so nothing is erased (DomainError). For the live bot, :func:`forget_me_in_steps`."""
    plan = await _plan(session, user_id, guild_id, announced, now)
    tally = _Tally()
    await _erase(session, user_id, guild_id, plan, tally, _Progress())
    return _report(plan, tally)


async def forget_me_in_steps(
    database: Database, user_id: int, guild_id: int | None, *, now: datetime, announced: int | None = None
) -> ForgetReport:
    """:func:`forget_me` for the live bot, in several transactions: first the check and the refusal (so nothing
    new is remembered while the rest goes), then the erasure, committed every :data:`COMMIT_ROWS` rows so that no
    commit holds SQLite (which runs on the event loop) for long. Every step is idempotent: after a crash, running
    it again finishes the work (the refusal is already recorded).

    It takes the :class:`~bot.db.engine.Database`, not a session, because it owns its transactions: committing
    the refusal first and then every :data:`COMMIT_ROWS` rows is the point (one caller's transaction would hold
    SQLite's only connection, and every lock, for the whole erasure). This is the one service here that commits;
    :func:`forget_me` is the same work inside the caller's transaction."""
    async with database.transaction() as session:
        plan = await _plan(session, user_id, guild_id, announced, now)
    tally = _Tally(limit=COMMIT_ROWS)
    progress = _Progress()
    # SQLite's statements (a legacy archive of 40 MB read and written) in a worker thread, the collector paused.
    with offload.bulk_work():
        while True:
            tally.spent = 0
            async with database.transaction() as session:
                try:
                    # Goes on where the last transaction paused: each table and each document is read once.
                    await _erase(session, user_id, guild_id, plan, tally, progress)
                except _Paused:
                    continue
            return _report(plan, tally)
