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


async def scan(session: AsyncSession, person: int, marker: str) -> set[Hit]:
    """Every (table, column, row key) where the person's id or the marker is stored."""
    hits: set[Hit] = set()
    for table in models.metadata.sorted_tables:
        [key] = table.primary_key.columns
        for row in (await session.execute(select(table))).mappings():
            for column, value in row.items():
                text = _text_of(value)
                if isinstance(value, int) and not isinstance(value, bool) and value == person:
                    hits.add((table.name, column, row[key.name]))
                elif text is not None and (str(person) in text or marker in text):
                    hits.add((table.name, column, row[key.name]))
    return hits


def sections_of(table: str) -> set[str]:
    """The export sections that list rows of ``table`` (from the register)."""
    return {kind.section for kind in people.person_columns(table).values()} | {
        kind.section for kind in people.person_documents(table).values()
    }


def exported(export: dict[str, Any], table: str, row_key: Any) -> bool:
    """Whether the export lists the row ``row_key`` of ``table`` (as a row, or as parts of its document)."""
    [key] = models.metadata.tables[table].primary_key.columns
    for section in sections_of(table):
        for entry in export.get(section, []):
            if entry.get(key.name) == row_key or entry.get("row_id") == row_key:
                return True
    return False
