"""memory search on PostgreSQL: each stored word keyed by its persona, one GIN index over the words alone

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-06 18:30:00

Hand-written, PostgreSQL only (SQLite's FTS5 table of 0026 is unchanged).

Every memory search is one persona's. 0009's GIN index on ``(persona_id, content_search)`` finds one persona's
matches, but each search intersects the word's posting list with the persona's, which holds every memory of the
persona: about 0.35 ms per query word at 100,000 memories, against 0.03 ms for the word's own posting list. So the
stored search vector now holds each stem keyed by the persona, ``'<persona id>:<stem>'`` (``'7:lighthous'``), and
one GIN index over the vector alone finds one persona's matches of a word in a single posting list, whatever the
other personas remember:

- ``memory_search_vector(persona, content)``: a memory's keyed stems (the ``english`` configuration of 0026, no
  positions: retrieval tests presence only). The trigger of 0007 sets it on INSERT and on an UPDATE of the content
  or of the persona; every row is recomputed here.
- ``memory_search_query(persona, word)``: the query that matches the memories of ``persona`` holding ``word``'s
  stems (all of them, for a word the parser splits); NULL, which matches nothing, for a stop word.

Upgrading recomputes every memory's vector and builds the index again (a few seconds per 100,000 memories): on a
large database run ``python -m bot db upgrade`` at a quiet time. A downgrade restores 0026's vectors and 0009's index
(0007's where ``btree_gin`` is not available).
"""

import logging
from collections.abc import Sequence

from alembic import op
from sqlalchemy.exc import DBAPIError

revision: str = "0027"
down_revision: str | None = "0026"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

log = logging.getLogger("alembic.runtime.migration")

_VECTOR_FUNCTION = (
    "CREATE OR REPLACE FUNCTION memory_search_vector(persona bigint, content text) RETURNS tsvector "
    "LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ "
    "SELECT array_to_tsvector(ARRAY(SELECT persona || ':' || stem "
    "FROM unnest(tsvector_to_array(to_tsvector('english', content))) AS stem)) $$"
)
# A stem in quotes, its backslashes and quotes escaped (tsquery's syntax); stems of 2+ parts must all be held.
_QUERY_FUNCTION = (
    "CREATE OR REPLACE FUNCTION memory_search_query(persona bigint, word text) RETURNS tsquery "
    "LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ "
    "SELECT CAST(string_agg('''' || persona || ':' || replace(replace(stem, '\\', '\\\\'), '''', '\\''') || '''', "
    "' & ') AS tsquery) FROM unnest(tsvector_to_array(to_tsvector('english', word))) AS stem $$"
)
_KEYED_TRIGGER = (
    "CREATE OR REPLACE FUNCTION memories_content_search() RETURNS trigger LANGUAGE plpgsql AS $$ "
    "BEGIN NEW.content_search := memory_search_vector(NEW.persona_id, NEW.content); RETURN NEW; END $$"
)
_WORDS_TRIGGER = (  # 0026's
    "CREATE OR REPLACE FUNCTION memories_content_search() RETURNS trigger LANGUAGE plpgsql AS $$ "
    "BEGIN NEW.content_search := to_tsvector('english', NEW.content); RETURN NEW; END $$"
)


def _on(columns: str) -> tuple[str, ...]:
    return (
        "DROP TRIGGER IF EXISTS memories_content_search ON memories",
        f"CREATE TRIGGER memories_content_search BEFORE INSERT OR UPDATE OF {columns} ON memories "
        "FOR EACH ROW EXECUTE FUNCTION memories_content_search()",
    )


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for statement in (
        _VECTOR_FUNCTION,
        _QUERY_FUNCTION,
        _KEYED_TRIGGER,
        *_on("content, persona_id"),
        # The indexes go first: recomputing is faster without them, and the new one is built once.
        "DROP INDEX IF EXISTS ix_memories_persona_content_search",
        "DROP INDEX IF EXISTS ix_memories_content_search",
        "UPDATE memories SET content_search = memory_search_vector(persona_id, content)",
        "CREATE INDEX ix_memories_content_search ON memories USING gin (content_search)",
    ):
        op.execute(statement)


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    for statement in (
        _WORDS_TRIGGER,
        *_on("content"),
        "DROP INDEX IF EXISTS ix_memories_content_search",
        "UPDATE memories SET content_search = to_tsvector('english', content)",
        "DROP FUNCTION IF EXISTS memory_search_query(bigint, text)",
        "DROP FUNCTION IF EXISTS memory_search_vector(bigint, text)",
    ):
        op.execute(statement)
    try:
        with bind.begin_nested():
            op.execute("CREATE INDEX ix_memories_persona_content_search ON memories USING gin (persona_id, content_search)")
    except DBAPIError as error:  # 0009 kept 0007's index where btree_gin was not available
        log.warning("btree_gin is not available (%s): memory search keeps its slower index", error.orig)
        op.execute("CREATE INDEX ix_memories_content_search ON memories USING gin (content_search)")
