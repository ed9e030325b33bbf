"""A person's rights over what the bot keeps about them: forget me, and export my data.

Both walk one register, :data:`bot.db.people.TABLES`, of every column that names a person, so a table or column
added there is erased and exported without a change here.

**Forget me** (:func:`forget_me`) is per server. Run in a server it erases that server's rows; run in DMs, the rows
of personal personas (made in DMs) and the rows made in DMs. A row's server is its persona's (a notification's:
the persona it is about), else its own ``guild_id``. In that scope:

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

**Export my data** (:func:`export_my_data`) gathers, across every server, every row and archived item that names
the person, one section per kind (see the function).

Bulk work never holds the event loop: rows go in batches with a pause between; documents are parsed, scrubbed
and serialised in a worker thread, a big one by the pure-Python JSON code that shares the GIL (a 40 MB legacy
archive through the C code held the loop for ~230 ms); both run as :func:`bot.db.offload.bulk_work` (SQLite's
statements in a worker thread). The bot's forget-me (:func:`forget_me_in_steps`) commits every
:data:`COMMIT_ROWS` rows and goes on where it paused, so each table and document is read once; the bot's export
reads in a short session per batch.
"""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache, partial
from typing import Any

from sqlalchemy import Table, Text, and_, case, cast, delete, func, literal, not_, or_, select, true, update
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.errors import DomainError
from bot.core.json_text import loads_sharing
from bot.db import models, offload, people
from bot.db.engine import Database
from bot.services import consent, crypto

# Rows per statement: small enough that no statement holds SQLite (which runs on the event loop) for long.
ID_BATCH = 250
DOCUMENT_WINDOW = 2000
FORGET_ME_NOTE = "forget-me"

# A document longer than this is parsed and written by the pure-Python JSON code, which hands the GIL to the event
# loop every few milliseconds; the C code holds it for a whole call (~230 ms for a 40 MB legacy archive).
SHARED_JSON_CHARS = 256 * 1024
# A document longer than SHARED_JSON_CHARS is read this many characters per statement.
PIECE_CHARS = 2_000_000

# Rows one transaction of forget_me_in_steps changes before it commits: a commit of far more holds SQLite for long.
COMMIT_ROWS = 2_000

_TABLES: Mapping[str, Table] = models.metadata.tables
_PERSONAS = _TABLES["personas"]


# --------------------------------------------------------------------------------------------------- scope

Reads = Callable[[], AbstractAsyncContextManager[AsyncSession]]


def _reads(source: AsyncSession | Database) -> Reads:
    """How to get a session for one short read: the caller's own session, or for a database a new session per
    read, so that a long export never holds a connection (SQLite's only one) for more than one batch."""
    if isinstance(source, AsyncSession):

        @asynccontextmanager
        async def same() -> AsyncIterator[AsyncSession]:
            yield source

        return same
    return source.session


def _in_guild(column: Any, guild_id: int | None) -> Any:
    return column.is_(None) if guild_id is None else column == guild_id


def _primary_key(table: Table) -> Any:
    [column] = table.primary_key.columns
    return column


def scope_clause(table_name: str, guild_id: int | None) -> Any:
    """SQL that holds for the rows of ``table_name`` that belong to server ``guild_id`` (None: DMs)."""
    scope = people.TABLES[table_name].scope
    table = _TABLES[table_name]
    if scope.persona is not None:
        return table.c[scope.persona].in_(select(_PERSONAS.c.id).where(_in_guild(_PERSONAS.c.guild_id, guild_id)))
    if scope.via is not None:
        [key] = table.c[scope.via].foreign_keys
        parent = key.column.table
        return table.c[scope.via].in_(select(_primary_key(parent)).where(scope_clause(parent.name, guild_id)))
    if scope.document is not None and scope.document_key is not None:
        persona = table.c[scope.document][scope.document_key].as_integer()
        live = select(_PERSONAS.c.id)
        here = select(_PERSONAS.c.id).where(_in_guild(_PERSONAS.c.guild_id, guild_id))
        orphan = or_(persona.is_(None), not_(persona.in_(live)))
        own = _in_guild(table.c[scope.column], guild_id) if scope.column is not None else true()
        return or_(persona.in_(here), and_(orphan, own))
    if scope.column is not None:
        return _in_guild(table.c[scope.column], guild_id)
    return true()


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
    pk = _primary_key(table)
    children = _cascading_children(table)
    while True:
        ids = list((await session.execute(select(pk).where(where).limit(ID_BATCH))).scalars())
        if not ids:
            return
        for child, key in children:
            await _delete_rows(session, child, key.in_(ids), tally, f"{child.name} (with {table.name})")
        result = await session.execute(
            delete(table).where(pk.in_(ids)), execution_options={"synchronize_session": False}
        )
        await asyncio.sleep(0)
        tally.add(kind, int(result.rowcount or 0))  # type: ignore[attr-defined]


async def _anonymise_rows(
    session: AsyncSession, table: Table, where: Any, columns: Iterable[str], tally: _Tally, kind: str
) -> None:
    pk = _primary_key(table)
    blank = dict.fromkeys(columns)
    while True:
        ids = list((await session.execute(select(pk).where(where).limit(ID_BATCH))).scalars())
        if not ids:
            return
        await session.execute(
            update(table).where(pk.in_(ids)).values(blank), execution_options={"synchronize_session": False}
        )
        await asyncio.sleep(0)
        tally.add(kind, len(ids))


def _id_matches(value: Any, person: int) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return value == person
    if isinstance(value, str):
        return value.strip() == str(person)
    if isinstance(value, list):
        return any(_id_matches(item, person) for item in value)
    return False


def _names(item: Any, keys: tuple[str, ...], person: int) -> bool:
    """Whether the dict ``item`` itself names ``person`` under one of ``keys``."""
    return isinstance(item, dict) and any(_id_matches(item.get(key), person) for key in keys)


def _mentions(value: Any, keys: tuple[str, ...], person: int) -> bool:
    if isinstance(value, dict):
        return _names(value, keys, person) or any(_mentions(v, keys, person) for v in value.values())
    if isinstance(value, list):
        return any(_mentions(v, keys, person) for v in value)
    return False


def scrub(value: Any, keys: tuple[str, ...], person: int) -> Any:
    """``value`` without ``person``: list items that name them (under ``keys``) are removed, with whatever they
    hold; a key naming them elsewhere is blanked."""
    if isinstance(value, list):
        return [scrub(item, keys, person) for item in value if not _names(item, keys, person)]
    if isinstance(value, dict):
        return {
            key: None if key in keys and _id_matches(item, person) else scrub(item, keys, person)
            for key, item in value.items()
        }
    return value


def items_naming(value: Any, keys: tuple[str, ...], person: int) -> list[Any]:
    """Every part of ``value`` that names ``person`` (the dicts holding their id under ``keys``)."""
    if isinstance(value, dict):
        if _names(value, keys, person):
            return [value]
        return [found for item in value.values() for found in items_naming(item, keys, person)]
    if isinstance(value, list):
        return [found for item in value for found in items_naming(item, keys, person)]
    return []


def load_document(text: str) -> Any:
    """A stored JSON document, parsed so that a worker thread parsing a big one does not stop the event loop."""
    return loads_sharing(text) if len(text) > SHARED_JSON_CHARS else json.loads(text)


def dump_document(value: Any) -> str:
    """``value`` as compact JSON text (non-ASCII kept), in pieces: for a big document, the pure-Python encoder
    (``iterencode``) lets the event loop run between pieces, where one ``json.dumps`` call would hold the GIL."""
    return "".join(json.JSONEncoder(ensure_ascii=False).iterencode(value))


def _scrub_texts(texts: list[str], keys: tuple[str, ...], person: int, whole_row: bool) -> list[str | bool | None]:
    """For each stored document: None when it does not name the person, True when the row should go
    (``whole_row``), else the scrubbed document as JSON text. Runs in a worker thread."""
    results: list[str | bool | None] = []
    for text in texts:
        document = load_document(text)
        if not _mentions(document, keys, person):
            results.append(None)
        elif whole_row:
            results.append(True)
        else:
            scrubbed = scrub(document, keys, person)
            text = (
                json.dumps(scrubbed, ensure_ascii=False) if len(text) <= SHARED_JSON_CHARS else dump_document(scrubbed)
            )
            results.append(text)
    return results


def _document_value(session: AsyncSession, text: str) -> Any:
    # The scrubbed document is already JSON text; hand it over as text so it is not serialised again on the loop.
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        return cast(literal(text, Text), JSONB)
    return literal(text, Text)


def _prefilter(table: Table, column: str, person: int) -> Any:
    # Any document holding the id, as a number or a string, holds its digits: this never misses one (the parse
    # decides), and spares parsing every document.
    return cast(table.c[column], Text).like(f"%{person}%")


async def _candidate_documents(
    reads: Reads,
    table: Table,
    column: str,
    person: int,
    where: Any,
    *extra: Any,
    after: Any = None,
) -> AsyncIterator[list[Any]]:
    """(row key, *extra, document as JSON text) of the rows matching ``where`` whose document may name ``person``,
    a window of keys at a time, from the first key above ``after`` (None: from the start): each statement reads at
    most ``DOCUMENT_WINDOW`` rows (the documents have no index to search by), and the text is parsed off the loop
    by the caller."""
    pk = _primary_key(table)
    async with reads() as session:
        low, high = (await session.execute(select(func.min(pk), func.max(pk)))).one()
    if low is None:
        return
    start = int(low) if after is None else max(int(low), int(after) + 1)
    text = cast(table.c[column], Text)
    async with reads() as session:
        # PostgreSQL's driver decodes an answer on the loop: a big document comes in pieces. SQLite's statements
        # run in a worker thread here (bulk work), and a piece there would read the whole document again.
        in_pieces = session.bind is not None and session.bind.dialect.name == "postgresql"
    small = case((func.length(text) <= SHARED_JSON_CHARS, text), else_=None) if in_pieces else text
    while start <= int(high):
        query = select(pk, *extra, small, func.length(text)).where(
            pk >= start, pk < start + DOCUMENT_WINDOW, where, _prefilter(table, column, person)
        )
        async with reads() as session:
            found = list((await session.execute(query.order_by(pk))).all())
            rows = []
            for key, *values, document, length in found:
                if document is None:  # a big one, read in pieces
                    document = await _read_in_pieces(session, table, text, key, int(length))
                rows.append((key, *values, document))
        if rows:
            yield rows
        start += DOCUMENT_WINDOW
        await asyncio.sleep(0)


async def _read_in_pieces(session: AsyncSession, table: Table, text: Any, key: Any, length: int) -> str:
    """A big document's text, :data:`PIECE_CHARS` characters per statement: the driver decodes each answer on the
    event loop in one call (45 MB at once held it for ~100 ms on PostgreSQL)."""
    pk = _primary_key(table)
    pieces = []
    for start in range(1, length + 1, PIECE_CHARS):
        query = select(func.substr(text, start, PIECE_CHARS)).where(pk == key)
        pieces.append((await session.execute(query)).scalar_one())
        await asyncio.sleep(0)
    return "".join(pieces)


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
    pk = _primary_key(table)
    low, high = (await session.execute(select(func.min(pk), func.max(pk)))).one()
    if low is None:
        return
    start = max(int(low), progress.after.get(step, int(low) - 1) + 1)
    while start <= int(high):
        await _delete_rows(session, table, and_(pk >= start, pk < start + DOCUMENT_WINDOW, where), tally, kind)
        progress.after[step] = start + DOCUMENT_WINDOW - 1  # this window is done
        start += DOCUMENT_WINDOW
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
    pk = _primary_key(table)
    kind = f"{table.name}.{column}"
    after = progress.after.get(step)
    async for rows in _candidate_documents(_reads(session), table, column, person, where, after=after):
        results = await asyncio.to_thread(_scrub_texts, [row[1] for row in rows], rules.keys, person, rules.whole_row)
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
    query = select(_PERSONAS.c.id, _PERSONAS.c.name).where(
        _PERSONAS.c.owner_id == user_id, scope_clause("personas", guild_id)
    )
    rows = (await session.execute(query.order_by(func.lower(_PERSONAS.c.name), _PERSONAS.c.id))).all()
    return [(int(persona_id), name) for persona_id, name in rows]


async def _recount_followers(session: AsyncSession, persona_ids: Iterable[int]) -> None:
    follow = _TABLES["follows"]
    for persona_id in sorted(set(persona_ids)):
        count = select(func.count()).select_from(follow).where(follow.c.persona_id == persona_id).scalar_subquery()
        await session.execute(update(_PERSONAS).where(_PERSONAS.c.id == persona_id).values(follower_count=count))


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
    follow = _TABLES["follows"]
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
        table = _TABLES[name]
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
            table = _TABLES[name]
            about = table.c[scope.document][scope.document_key].as_integer().in_(owned_ids)
            step = f"{name}.{scope.document}.persona_id"
            await _step(progress, step, _delete_in_windows, session, table, about, tally, step, progress, step)
    mine = and_(_PERSONAS.c.owner_id == user_id, scope_clause("personas", guild_id))
    await _step(progress, "personas.owner_id", _delete_rows, session, _PERSONAS, mine, tally, "personas.owner_id")
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
    it again finishes the work (the refusal is already recorded)."""
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


# --------------------------------------------------------------------------------------------------- export


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value


def _plain_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{column: _plain(value) for column, value in row.items()} for row in rows]


def _readable(content: Any, encrypted: bool, key: str | None) -> tuple[Any, bool]:
    if not encrypted or not isinstance(content, str):
        return content, True
    try:
        return crypto.decrypt(content, key), True
    except crypto.EncryptionUnavailable:
        return None, False


def _memory_entries(rows: list[dict[str, Any]], user_id: int, key: str | None) -> list[dict[str, Any]]:
    """Export entries for memory rows (decrypted where the key opens them). Runs in a worker thread."""
    entries = []
    for row in rows:
        content, readable = _readable(row["content"], row["encrypted"], key)
        entries.append(
            {
                **{name: _plain(value) for name, value in row.items() if name != "content"},
                "content": content,
                "readable": readable,
                "from_you": row["source_user_id"] == user_id,
                "about_you": row["subject_user_id"] == user_id,
            }
        )
    return entries


def _document_entries(
    found: list[tuple[Any, int | None, str]], keys: tuple[str, ...], user_id: int, key: str | None
) -> list[dict[str, Any]]:
    """The parts of stored documents that name the person, decrypted where the key opens them (a worker thread)."""
    entries = []
    for row_id, persona_id, text in found:
        for item in items_naming(load_document(text), keys, user_id):
            item = dict(item)
            if item.get("encrypted"):
                item["content"], item["readable"] = _readable(item.get("content"), True, key)
            entries.append({"row_id": row_id, "persona_id": persona_id, "item": _plain(item)})
    return entries


async def _persona_names(reads: Reads, ids: Iterable[int | None]) -> dict[int, str]:
    wanted = sorted({i for i in ids if i is not None})
    names: dict[int, str] = {}
    for start in range(0, len(wanted), ID_BATCH):
        query = select(_PERSONAS.c.id, _PERSONAS.c.name).where(_PERSONAS.c.id.in_(wanted[start : start + ID_BATCH]))
        async with reads() as session:
            names.update({int(i): n for i, n in (await session.execute(query)).all()})
    return names


async def _export_rows(
    reads: Reads, table: Table, where: Any, convert: Any = None, seen: set[Any] | None = None
) -> list[dict[str, Any]]:
    """The rows matching ``where`` in key order, a batch at a time; ``convert`` (a batch of row dicts in, entries
    out) runs in a worker thread; rows whose key is in ``seen`` are skipped (and new keys added to it)."""
    pk = _primary_key(table)
    found: list[dict[str, Any]] = []
    last: Any = None
    while True:
        query = select(table).where(where)
        if last is not None:
            query = query.where(pk > last)
        async with reads() as session:
            result = (await session.execute(query.order_by(pk).limit(ID_BATCH))).all()
        batch = [dict(row._mapping) for row in result]
        if not batch:
            return found
        last = batch[-1][pk.name]
        if seen is not None:
            batch = [row for row in batch if row[pk.name] not in seen]
            seen.update(row[pk.name] for row in batch)
        found.extend(await asyncio.to_thread(convert, batch) if convert is not None else batch)
        await asyncio.sleep(0)


async def _documents_naming(reads: Reads, table: Table, column: str, person: int) -> list[tuple[Any, int | None, str]]:
    """(row key, persona id, document as JSON text) of the rows whose document may name ``person``."""
    persona = table.c.get("persona_id")
    found: list[tuple[Any, int | None, str]] = []
    extra = persona if persona is not None else literal(None)
    async for rows in _candidate_documents(reads, table, column, person, true(), extra):
        found.extend(tuple(row) for row in rows)  # type: ignore[misc]
    return found


async def _export_documents(
    reads: Reads,
    data: dict[str, Any],
    table: Table,
    column: str,
    document: people.PersonDocument,
    person: int,
    encryption_key: str | None,
) -> None:
    found = await _documents_naming(reads, table, column, person)
    section = data.setdefault(document.section, [])
    if not document.whole_row:
        section.extend(await asyncio.to_thread(_document_entries, found, document.keys, person, encryption_key))
        return
    named = await asyncio.to_thread(_scrub_texts, [text for _, _, text in found], document.keys, person, True)
    pk = _primary_key(table)
    known = {entry.get(pk.name) for entry in section}
    ids = [row_id for (row_id, _, _), hit in zip(found, named, strict=True) if hit is True and row_id not in known]
    for start in range(0, len(ids), ID_BATCH):
        rows = await _export_rows(reads, table, pk.in_(ids[start : start + ID_BATCH]))
        section.extend({key: _plain(value) for key, value in row.items()} for row in rows)


async def export_my_data(
    source: AsyncSession | Database, user_id: int, *, encryption_key: str | None = None
) -> dict[str, Any]:
    """Everything the bot holds that names ``user_id``, across every server, as JSON-able data (times as ISO 8601).

    ``source``: a session to read in, or (as the bot does) the database, read in a new short session per batch so
    that the export never holds a connection for long (on SQLite the process has one, which chat and every command
    wait for).

    Keys: ``user_id``, then one list per section of :data:`bot.db.people.TABLES` (rows with every column, and the
    persona's name where the row belongs to a persona): ``memories`` (from or about them; an encrypted memory is
    decrypted with ``encryption_key``, or ``readable: false`` without it; ``from_you``/``about_you``),
    ``owned_personas``, ``consent_records``, ``relationships``, ``emotional_events``, ``follows``,
    ``endorsements``, ``subscriptions``, ``subscriptions_granted``, ``retirement_plans``, ``wizard_drafts``,
    ``channel_activations``, ``notifications`` (queued or sent to them, or naming them), and
    ``archived_memories`` (memories from or about them kept in retired personas' legacy archives).
    """
    # SQLite's statements in a worker thread and the collector paused while hundreds of thousands of entries are
    # built (see bot.db.offload).
    with offload.bulk_work():
        return await _export(_reads(source), user_id, encryption_key)


def export_json(data: dict[str, Any]) -> bytes:
    """The export as indented JSON (UTF-8), written in pieces so that a worker thread writing a big one lets the
    event loop run (one ``json.dumps`` call, or encoding one 100 MB string, would hold the GIL throughout)."""
    out = io.BytesIO()
    pieces: list[str] = []
    for piece in json.JSONEncoder(ensure_ascii=False, indent=2).iterencode(data):
        pieces.append(piece)
        if len(pieces) >= 4096:
            out.write("".join(pieces).encode("utf-8"))
            pieces.clear()
    out.write("".join(pieces).encode("utf-8"))
    return out.getvalue()


def release_export(data: dict[str, Any]) -> None:
    """Free an export entry by entry (call it in a worker thread): dropping a list of 100,000 entries in one go
    holds the GIL until all are freed."""
    for section in data.values():
        if isinstance(section, list):
            offload.release(section)
    offload.release(data)


async def _export(reads: Reads, user_id: int, encryption_key: str | None) -> dict[str, Any]:
    data: dict[str, Any] = {"user_id": user_id}
    for name in people.TABLES:
        table = _TABLES[name]
        sections: dict[str, list[str]] = {}
        for column, kind in people.person_columns(name).items():
            sections.setdefault(kind.section, []).append(column)
        for section, columns in sections.items():
            entries = data.setdefault(section, [])
            seen: set[Any] = set()
            sort_by: set[str] = set()
            # One column at a time: each is then one index range in key order (an OR of two would read and sort
            # every match for each batch).
            for column in columns:
                kind = people.person_columns(name)[column]
                origin, where = table, table.c[column] == user_id
                if kind.forget is people.Forget.DELETE_REFERENCED:
                    # A link ("this memory names you"): what is exported is the row it links to.
                    assert kind.via is not None
                    [key] = table.c[kind.via].foreign_keys
                    origin = key.column.table
                    where = key.column.in_(select(table.c[kind.via]).where(where))
                convert: Any = _plain_rows
                if origin.name == "memories":
                    convert = partial(_memory_entries, user_id=user_id, key=encryption_key)
                entries.extend(await _export_rows(reads, origin, where, convert, seen))
                sort_by.add(_primary_key(origin).name)
            if len(columns) > 1 and len(sort_by) == 1:
                [pk_name] = sort_by
                entries.sort(key=lambda entry: entry[pk_name])
        for column, document in people.person_documents(name).items():
            await _export_documents(reads, data, table, column, document, user_id, encryption_key)
    names = await _persona_names(
        reads,
        (entry.get("persona_id") for section in data.values() if isinstance(section, list) for entry in section),
    )
    for section in data.values():
        if isinstance(section, list):
            for index, entry in enumerate(section):
                if "persona_id" in entry:
                    entry["persona_name"] = names.get(entry["persona_id"])
                if index % 1000 == 999:
                    await asyncio.sleep(0)
    for entry in data.get("owned_personas", []):
        entry["persona_name"] = entry.get("name")
    return data
