"""A scan of the whole database for a person: every table of the schema's metadata, every column.

An integer column holding the person's id is a hit; so is a text or JSON value whose text holds their id (as digits)
or a marker text they wrote. The tables come from the metadata, so a table added later is scanned too.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import models, people

Hit = tuple[str, str, Any]  # (table, column, the row's primary key)


def _text_of(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return None


async def scan(session: AsyncSession, person: int, marker: str) -> dict[Hit, dict[str, Any]]:
    """Every (table, column, row key) where the person's id or the marker is stored, with the row."""
    hits: dict[Hit, dict[str, Any]] = {}
    for table in models.metadata.sorted_tables:
        [key] = table.primary_key.columns
        for row in (await session.execute(select(table))).mappings():
            for column, value in row.items():
                text = _text_of(value)
                named = isinstance(value, int) and not isinstance(value, bool) and value == person
                if named or (text is not None and (str(person) in text or marker in text)):
                    hits[(table.name, column, row[key.name])] = dict(row)
    return hits


def sections_of(table: str) -> set[str]:
    """The export sections that list rows of ``table`` (from the register)."""
    return {kind.section for kind in people.person_columns(table).values()} | {
        kind.section for kind in people.person_documents(table).values()
    }


def exported(export: dict[str, Any], hit: Hit, row: dict[str, Any]) -> bool:
    """Whether the export lists the row of ``hit`` (as a row, as parts of its document, or, for a link to another
    row, that row)."""
    table, column, row_key = hit
    kind = people.TABLES[table].columns.get(column)
    if isinstance(kind, people.PersonId) and kind.forget is people.Forget.DELETE_REFERENCED:
        assert kind.via is not None
        [foreign] = models.metadata.tables[table].c[kind.via].foreign_keys
        return any(entry.get(foreign.column.name) == row[kind.via] for entry in export.get(kind.section, []))
    [key] = models.metadata.tables[table].primary_key.columns
    return any(
        entry.get(key.name) == row_key or entry.get("row_id") == row_key
        for section in sections_of(table)
        for entry in export.get(section, [])
    )
