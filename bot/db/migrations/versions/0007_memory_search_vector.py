"""memory search on PostgreSQL: a stored search vector instead of an expression index

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25 15:00:00

Hand-written, PostgreSQL only (SQLite keeps its FTS5 table from 0003; nothing changes there).

With only the expression index of 0003, PostgreSQL re-ran ``to_tsvector`` on every matching memory twice per
search (the bitmap recheck, then ``ts_rank``): about 10 ms of a chat reply's budget at 100,000 memories. Now the
vector is stored once per memory in ``memories.content_search``, set by a trigger that fires on INSERT and on an
UPDATE *of content* only, so the decay job's strength updates neither recompute it nor lose HOT updates (0003's
``fillfactor`` note still holds: no indexed value changes). A stored generated column would be recomputed on
every UPDATE of the row on the PostgreSQL versions we support, which is why it is a trigger.

Upgrading fills the column for every memory already stored, in one transaction (about two seconds per 100,000 memories
here): on a large database run ``python -m bot db upgrade`` at a quiet time, before starting the new version.

The column and its GIN index are not in the SQLModel models (SQLite has no such type);
``bot.db.migrate.include_object`` hides them from the schema comparison, as it hides 0003's structures.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_UP = (
    "ALTER TABLE memories ADD COLUMN content_search tsvector",
    "CREATE FUNCTION memories_content_search() RETURNS trigger LANGUAGE plpgsql AS $$ "
    "BEGIN NEW.content_search := to_tsvector('simple', NEW.content); RETURN NEW; END $$",
    "CREATE TRIGGER memories_content_search BEFORE INSERT OR UPDATE OF content ON memories "
    "FOR EACH ROW EXECUTE FUNCTION memories_content_search()",
    "UPDATE memories SET content_search = to_tsvector('simple', content)",
    "CREATE INDEX ix_memories_content_search ON memories USING gin (content_search)",
    "DROP INDEX IF EXISTS ix_memories_content_fts",
)

_DOWN = (
    "CREATE INDEX ix_memories_content_fts ON memories USING gin (to_tsvector('simple', content))",
    "DROP INDEX IF EXISTS ix_memories_content_search",
    "DROP TRIGGER IF EXISTS memories_content_search ON memories",
    "DROP FUNCTION IF EXISTS memories_content_search()",
    "ALTER TABLE memories DROP COLUMN IF EXISTS content_search",
)


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for statement in _UP:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for statement in _DOWN:
        op.execute(statement)
