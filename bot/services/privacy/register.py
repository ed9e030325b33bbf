"""The register both privacy rights walk: which rows of :data:`bot.db.people.TABLES` belong to a server, and the
stored JSON documents that may name a person (found, parsed, scrubbed).

Shared by :mod:`bot.services.privacy.erasure` (forget me) and :mod:`bot.services.privacy.export` (export my data).
The constants are read through this module at call time (``register.DOCUMENT_WINDOW``), so a test that lowers one
here lowers it for both.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from sqlalchemy import Table, Text, and_, case, cast, func, not_, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.json_text import loads_sharing
from bot.db import models, people
from bot.db.engine import Database

# Rows per statement: small enough that no statement holds SQLite (which runs on the event loop) for long.
ID_BATCH = 250
# Rows of a table whose documents (which no index searches) one statement reads.
DOCUMENT_WINDOW = 2000
# A document longer than this is parsed and written by the pure-Python JSON code, which hands the GIL to the event
# loop every few milliseconds; the C code holds it for a whole call (~230 ms for a 40 MB legacy archive).
SHARED_JSON_CHARS = 256 * 1024
# A document longer than SHARED_JSON_CHARS is read this many characters per statement.
PIECE_CHARS = 2_000_000

TABLES: Mapping[str, Table] = models.metadata.tables
PERSONAS = TABLES["personas"]


# --------------------------------------------------------------------------------------------------- scope

Reads = Callable[[], AbstractAsyncContextManager[AsyncSession]]


def reads_of(source: AsyncSession | Database) -> Reads:
    """How to get a session for one short read: the caller's own session, or for a database a new session per
    read, so that a long export never holds a connection (SQLite's only one) for more than one batch."""
    if isinstance(source, AsyncSession):

        @asynccontextmanager
        async def same() -> AsyncIterator[AsyncSession]:
            yield source

        return same
    return source.session


def in_guild(column: Any, guild_id: int | None) -> Any:
    return column.is_(None) if guild_id is None else column == guild_id


def primary_key(table: Table) -> Any:
    [column] = table.primary_key.columns
    return column


def scope_clause(table_name: str, guild_id: int | None) -> Any:
    """SQL that holds for the rows of ``table_name`` that belong to server ``guild_id`` (None: DMs)."""
    scope = people.TABLES[table_name].scope
    table = TABLES[table_name]
    if scope.persona is not None:
        return table.c[scope.persona].in_(select(PERSONAS.c.id).where(in_guild(PERSONAS.c.guild_id, guild_id)))
    if scope.via is not None:
        [key] = table.c[scope.via].foreign_keys
        parent = key.column.table
        return table.c[scope.via].in_(select(primary_key(parent)).where(scope_clause(parent.name, guild_id)))
    if scope.document is not None and scope.document_key is not None:
        persona = table.c[scope.document][scope.document_key].as_integer()
        live = select(PERSONAS.c.id)
        here = select(PERSONAS.c.id).where(in_guild(PERSONAS.c.guild_id, guild_id))
        orphan = or_(persona.is_(None), not_(persona.in_(live)))
        own = in_guild(table.c[scope.column], guild_id) if scope.column is not None else true()
        return or_(persona.in_(here), and_(orphan, own))
    if scope.column is not None:
        return in_guild(table.c[scope.column], guild_id)
    return true()


# --------------------------------------------------------------------------------------------------- documents


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


def scrub_texts(texts: list[str], keys: tuple[str, ...], person: int, whole_row: bool) -> list[str | bool | None]:
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


def _prefilter(table: Table, column: str, person: int) -> Any:
    # Any document holding the id, as a number or a string, holds its digits: this never misses one (the parse
    # decides), and spares parsing every document.
    return cast(table.c[column], Text).like(f"%{person}%")


async def candidate_documents(
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
    pk = primary_key(table)
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
    pk = primary_key(table)
    pieces = []
    for start in range(1, length + 1, PIECE_CHARS):
        query = select(func.substr(text, start, PIECE_CHARS)).where(pk == key)
        pieces.append((await session.execute(query)).scalar_one())
        await asyncio.sleep(0)
    return "".join(pieces)
