"""Export my data: everything the bot holds that names a person, across every server (:func:`export_my_data`),
as JSON (:func:`export_json`), one section per kind of row (see :data:`bot.db.people.TABLES`).

Bulk work never holds the event loop: rows are read a batch at a time (in a short session per batch when given
the database), entries are built and documents parsed in a worker thread, and the export is written and freed
in pieces (:func:`export_json`, :func:`release_export`).
"""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import Iterable
from datetime import datetime
from functools import partial
from typing import Any

from sqlalchemy import Table, literal, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import offload, people
from bot.db.engine import Database
from bot.services import crypto
from bot.services.privacy import register
from bot.services.privacy.register import (
    PERSONAS,
    TABLES,
    Reads,
    candidate_documents,
    items_naming,
    load_document,
    primary_key,
    reads_of,
    scrub_texts,
)


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
    for start in range(0, len(wanted), register.ID_BATCH):
        query = select(PERSONAS.c.id, PERSONAS.c.name).where(
            PERSONAS.c.id.in_(wanted[start : start + register.ID_BATCH])
        )
        async with reads() as session:
            names.update({int(i): n for i, n in (await session.execute(query)).all()})
    return names


async def _export_rows(
    reads: Reads, table: Table, where: Any, convert: Any = None, seen: set[Any] | None = None
) -> list[dict[str, Any]]:
    """The rows matching ``where`` in key order, a batch at a time; ``convert`` (a batch of row dicts in, entries
    out) runs in a worker thread; rows whose key is in ``seen`` are skipped (and new keys added to it)."""
    pk = primary_key(table)
    found: list[dict[str, Any]] = []
    last: Any = None
    while True:
        query = select(table).where(where)
        if last is not None:
            query = query.where(pk > last)
        async with reads() as session:
            result = (await session.execute(query.order_by(pk).limit(register.ID_BATCH))).all()
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
    async for rows in candidate_documents(reads, table, column, person, true(), extra):
        found.extend(tuple(row) for row in rows)
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
    named = await asyncio.to_thread(scrub_texts, [text for _, _, text in found], document.keys, person, True)
    pk = primary_key(table)
    known = {entry.get(pk.name) for entry in section}
    ids = [row_id for (row_id, _, _), hit in zip(found, named, strict=True) if hit is True and row_id not in known]
    for start in range(0, len(ids), register.ID_BATCH):
        rows = await _export_rows(reads, table, pk.in_(ids[start : start + register.ID_BATCH]))
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
    ``channel_activations``, ``consent_offers`` (the memory invitations they were sent and their answers),
    ``notifications`` (queued or sent to them, or naming them), and
    ``archived_memories`` (memories from or about them kept in retired personas' legacy archives).
    """
    # SQLite's statements in a worker thread and the collector paused while hundreds of thousands of entries are
    # built (see bot.db.offload).
    with offload.bulk_work():
        return await _export(reads_of(source), user_id, encryption_key)


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
    """Every section of the register, then the persona names (see :func:`export_my_data`)."""
    data: dict[str, Any] = {"user_id": user_id}
    for name in people.TABLES:
        table = TABLES[name]
        sections: dict[str, list[str]] = {}
        for column, kind in people.person_columns(name).items():
            sections.setdefault(kind.section, []).append(column)
        for section, columns in sections.items():
            entries = data.setdefault(section, [])
            await _export_columns(reads, entries, table, columns, user_id, encryption_key)
        for column, document in people.person_documents(name).items():
            await _export_documents(reads, data, table, column, document, user_id, encryption_key)
    await _name_personas(reads, data)
    return data


async def _export_columns(
    reads: Reads, entries: list[Any], table: Table, columns: list[str], user_id: int, encryption_key: str | None
) -> None:
    """The rows of ``table`` naming ``user_id`` in any of ``columns`` (one section), added to ``entries`` once each,
    in key order."""
    seen: set[Any] = set()
    sort_by: set[str] = set()
    # One column at a time: each is then one index range in key order (an OR of two would read and sort
    # every match for each batch).
    for column in columns:
        kind = people.person_columns(table.name)[column]
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
        sort_by.add(primary_key(origin).name)
    if len(columns) > 1 and len(sort_by) == 1:
        [pk_name] = sort_by
        entries.sort(key=lambda entry: entry[pk_name])


async def _name_personas(reads: Reads, data: dict[str, Any]) -> None:
    """Add ``persona_name`` to every entry that belongs to a persona (an owned persona: its own name)."""
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
