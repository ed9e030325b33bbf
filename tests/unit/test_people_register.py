"""The register of where the schema names a person (``bot.db.people``) covers the whole schema.

Forget-me and export-my-data walk only that register, so a table or column missing from it would keep a person's id
or words out of both. These tests fail when a table, or a column that could hold a Discord user id (a BIGINT that is
neither the row's own id nor a foreign key) or someone's words (text or JSON), is not classified.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import JSON, BigInteger, MetaData, String, Text
from sqlalchemy.sql.schema import Column, Table

from bot.db import models, people

TABLES = models.metadata.tables


def _needs_classifying(table: Table, column: Column) -> bool:
    if column.foreign_keys:
        return False  # a row id of another table
    if column.primary_key and column.name == "id" and column.autoincrement in (True, "auto"):
        return False  # the row's own number, made by the database
    return isinstance(column.type, BigInteger | String | Text | JSON)


def test_every_table_is_in_the_register() -> None:
    assert sorted(people.TABLES) == sorted(TABLES)


def unclassified(tables: Iterable[Table]) -> list[str]:
    """Tables, and columns that could name a person, that the register does not classify."""
    missing = []
    for table in tables:
        rules = people.TABLES.get(table.name)
        if rules is None:
            missing.append(table.name)
            continue
        missing.extend(
            f"{table.name}.{column.name}"
            for column in table.columns
            if _needs_classifying(table, column) and column.name not in rules.columns
        )
    return missing


def test_every_column_that_could_name_a_person_is_classified() -> None:
    missing = unclassified(TABLES.values())
    assert missing == [], f"classify these in bot/db/people.py: {missing}"


def test_the_register_names_only_real_columns_and_consistent_rules() -> None:
    for name, rules in people.TABLES.items():
        table = TABLES[name]
        for column, kind in rules.columns.items():
            where = f"{name}.{column}"
            assert column in table.c, f"{where} is not a column"
            if isinstance(kind, people.PersonId):
                assert isinstance(table.c[column].type, BigInteger), where
                # Forget-me and the export look rows up by it: an index, so they never read a whole table.
                assert any(next(iter(index.columns)).name == column for index in table.indexes), (
                    f"{where} names a person: index it"
                )
                if kind.forget is people.Forget.ANONYMISE:
                    for blanked in (column, *kind.also):
                        assert table.c[blanked].nullable, f"{name}.{blanked} must be nullable to be anonymised"
                if kind.forget is people.Forget.DELETE_REFERENCED:
                    assert kind.via is not None and table.c[kind.via].foreign_keys, where
            elif isinstance(kind, people.PersonDocument):
                assert isinstance(table.c[column].type, JSON), where
                assert kind.keys, where
            elif isinstance(kind, people.Beside):
                for other in kind.columns:
                    rule = rules.columns.get(other)
                    assert isinstance(rule, people.PersonId), f"{where}: {other} is not a person column"
                    assert rule.forget is people.Forget.DELETE or column in rule.also, (
                        f"{where} must go when {other} is forgotten (the row deleted, or it blanked with it)"
                    )
            elif isinstance(kind, people.OfPersona):
                cascades = [
                    key
                    for key in table.foreign_keys
                    if key.column.table.name == "personas" and (key.ondelete or "").upper() == "CASCADE"
                ]
                assert cascades, f"{where} is the persona's, so its table must go with the persona"
            else:
                assert isinstance(kind, people.NotPersonal) and kind.reason, where
        scope = rules.scope
        for column in (scope.column, scope.persona, scope.via, scope.document):
            assert column is None or column in table.c, f"{name}'s scope names no column {column}"
        if people.person_columns(name) or people.person_documents(name):
            assert scope != people.Scope(), f"{name} names people, so forget-me must know its server"


def test_a_table_or_column_added_later_is_caught() -> None:
    """What the check above would say of a schema grown by a table and by a column nobody classified."""
    grown = MetaData()
    endorsements = TABLES["endorsements"].to_metadata(grown)
    endorsements.append_column(Column("reply_text", Text))
    reviews = Table("reviews", grown, Column("id", BigInteger, primary_key=True), Column("author_id", BigInteger))
    assert unclassified([endorsements, reviews]) == ["endorsements.reply_text", "reviews"]


def test_every_table_has_one_key_column() -> None:
    """forget-me and export-my-data read and delete rows in steps by their key: a table with a composite key (or
    none) could not be walked, so it is refused here, the day it is added, not on a person's request."""
    composite = sorted(t.name for t in models.metadata.sorted_tables if len(t.primary_key.columns) != 1)
    assert composite == [], f"tables without exactly one key column: {composite}"
