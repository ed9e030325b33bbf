"""Many-row INSERTs on PostgreSQL as one array per column (``INSERT ... SELECT FROM unnest(...)``).

SQLAlchemy sends a many-row INSERT as a multi-row VALUES statement: for 500 rows of 16 columns that is 8,000 bind
parameters, which PostgreSQL parses, plans and binds one by one on every batch, and which the client converts one
by one too. The same rows as 16 arrays are one small statement whose plan is reused: the reaction burst path
(the shared database's hottest write when the bot runs as several processes) costs PostgreSQL far less CPU.

Only for columns of scalar types (numbers, strings, timestamps); the columns' own bind processing (UTC datetimes)
is applied to every value. The statement text is made once per (table, columns, clauses) and cached. SQLite keeps
SQLAlchemy's executemany, which is cheap there (no parsing per row, no network).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Table, TextClause, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.types import JSON

_DIALECT = postgresql.dialect()


@functools.cache
def unnest_insert(table: Table, columns: tuple[str, ...], tail: str = "") -> TextClause:
    """``INSERT INTO table (columns) SELECT * FROM unnest(:columns arrays) <tail>``; ``tail`` is the ON CONFLICT and
    RETURNING clauses, written by the caller (constants only). Bind with :func:`unnest_params`."""
    casts = []
    for name in columns:
        column = table.c[name]
        if isinstance(column.type, JSON):
            raise TypeError(f"{table.name}.{name}: JSON columns cannot be sent as arrays")
        casts.append(f"CAST(:{name} AS {column.type.compile(dialect=_DIALECT)}[])")
    names = ", ".join(columns)
    return text(f"INSERT INTO {table.name} ({names}) SELECT * FROM unnest({', '.join(casts)}) {tail}".rstrip())


def unnest_params(table: Table, columns: Sequence[str], rows: Iterable[Mapping[str, Any]]) -> dict[str, list[Any]]:
    """The bind parameters of :func:`unnest_insert`: one list per column, rows in order (missing keys are NULL)."""
    rows = list(rows)
    params: dict[str, list[Any]] = {}
    for name in columns:
        values = [row.get(name) for row in rows]
        processor = _processor(table, name)
        if processor is not None:
            values = [processor(value) for value in values]
        params[name] = values
    return params


@functools.cache
def _processor(table: Table, name: str) -> Any:
    return table.c[name].type.bind_processor(_DIALECT)
