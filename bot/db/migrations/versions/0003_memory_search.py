"""memory search: full-text search over memories, and room for in-place updates on PostgreSQL

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 10:00:00

Hand-written (autogenerate cannot see any of this):

- SQLite: an FTS5 external-content table ``memories_fts(content)`` over ``memories`` (the text is stored once, in
  ``memories``; the index holds only tokens), three triggers that keep it in sync, and a ``rebuild`` that indexes
  the rows already there. The update trigger fires only ``OF content``, so the decay job's bulk strength updates
  never touch the index. ``bot.db.migrate.include_object`` hides ``memories_fts*`` from the schema comparison.
  Note for later migrations: a ``batch_alter_table('memories')`` on SQLite copies the table and drops these
  triggers; such a migration must re-create them (call ``_create_sqlite_fts`` again).
- PostgreSQL: an expression GIN index on ``to_tsvector('simple', content)`` (no new column; the model declares the
  same index so the schema comparison agrees, and autogenerate skips it on SQLite), and ``fillfactor = 50`` on
  ``memories``. Every memory's ``strength`` (an unindexed column) is rewritten at each decay run; with half of each
  page free, every such update can be a HOT update: the new row version stays on its page and no index entry (above
  all no GIN entry, which would re-run ``to_tsvector``) is written, and page pruning frees the old version for the
  next run. Measured on 1,000,000 memories: decay 13.5 s at the default fill (17% HOT), 11 s at 70 (42% HOT),
  4.8 s at 50 (100% HOT). The price is about twice the table's size on disk. It applies to pages written from now on.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PG_INDEX = "ix_memories_content_fts"

_SQLITE_UP = (
    "CREATE VIRTUAL TABLE memories_fts USING fts5(content, content='memories', content_rowid='id')",
    "CREATE TRIGGER memories_fts_after_insert AFTER INSERT ON memories BEGIN "
    "INSERT INTO memories_fts(rowid, content) VALUES (new.id, new.content); END",
    "CREATE TRIGGER memories_fts_after_delete AFTER DELETE ON memories BEGIN "
    "INSERT INTO memories_fts(memories_fts, rowid, content) VALUES ('delete', old.id, old.content); END",
    "CREATE TRIGGER memories_fts_after_update AFTER UPDATE OF content ON memories BEGIN "
    "INSERT INTO memories_fts(memories_fts, rowid, content) VALUES ('delete', old.id, old.content); "
    "INSERT INTO memories_fts(rowid, content) VALUES (new.id, new.content); END",
    "INSERT INTO memories_fts(memories_fts) VALUES ('rebuild')",
)

_SQLITE_DOWN = (
    "DROP TRIGGER IF EXISTS memories_fts_after_update",
    "DROP TRIGGER IF EXISTS memories_fts_after_delete",
    "DROP TRIGGER IF EXISTS memories_fts_after_insert",
    "DROP TABLE IF EXISTS memories_fts",
)


def _create_sqlite_fts() -> None:
    for statement in _SQLITE_UP:
        op.execute(statement)


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _create_sqlite_fts()
        return
    op.execute(f"CREATE INDEX {PG_INDEX} ON memories USING gin (to_tsvector('simple', content))")
    op.execute("ALTER TABLE memories SET (fillfactor = 50)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for statement in _SQLITE_DOWN:
            op.execute(statement)
        return
    op.execute("ALTER TABLE memories RESET (fillfactor)")
    op.execute(f"DROP INDEX IF EXISTS {PG_INDEX}")
