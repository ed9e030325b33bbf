"""memory search on PostgreSQL: one index over (persona, search vector)

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-25 17:30:00

Hand-written, PostgreSQL only.

Every memory search is one persona's. With 0007's index on the search vector alone, PostgreSQL found the matches
of *every* persona and then either filtered them or intersected them with a scan of the persona's whole
``(persona_id, tier)`` range: about 1.4 ms of a chat reply at 100,000 memories per persona, and growing with every
other persona's memories. A GIN index on ``(persona_id, content_search)`` finds one persona's matches directly
(0.7 ms against 2.3 ms measured for the text part, two personas of 100,000 memories each).

A GIN index on a bigint needs the ``btree_gin`` extension, which ships with PostgreSQL (contrib) and is trusted:
a database owner may create it. Where it cannot be created the migration keeps 0007's index and says why; search
works the same, only slower. Building the index takes about a second per 100,000 memories. A downgrade leaves the
extension installed (other schemas may use it).

The index is not in the SQLModel models; ``bot.db.migrate.include_object`` hides it from the schema comparison.
"""

import logging
from collections.abc import Sequence

from alembic import op
from sqlalchemy.exc import DBAPIError

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

log = logging.getLogger("alembic.runtime.migration")


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    try:
        with bind.begin_nested():
            op.execute("CREATE EXTENSION IF NOT EXISTS btree_gin")
    except DBAPIError as error:
        log.warning("btree_gin is not available (%s): memory search keeps its slower index", error.orig)
        return
    op.execute("CREATE INDEX ix_memories_persona_content_search ON memories USING gin (persona_id, content_search)")
    op.execute("DROP INDEX IF EXISTS ix_memories_content_search")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("CREATE INDEX IF NOT EXISTS ix_memories_content_search ON memories USING gin (content_search)")
    op.execute("DROP INDEX IF EXISTS ix_memories_persona_content_search")
