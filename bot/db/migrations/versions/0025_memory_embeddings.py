"""memory embeddings: each memory's meaning as a vector, for retrieval by meaning beside full text

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-06 08:10:00

``memory_embeddings`` holds one vector per memory (float32 bytes of ``dim`` values) with the name of the model that
made it (``bot/llm/embeddings.py``); a row of another model is stale and is embedded again by the backfill job. It
goes with its memory and with its persona (foreign keys with ``ON DELETE CASCADE``). Both databases keep the vector
as bytes and search it exactly in the process (``bot/services/memories/vectors.py`` says why: pgvector is not
available on every PostgreSQL, and the Python SQLite module here cannot load sqlite-vec). Existing memories have
no row: the backfill job embeds them in batches.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import bot.db.types


revision: str = "0025"
down_revision: str | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "memory_embeddings",
        sa.Column("memory_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=False, nullable=False),
        sa.Column("persona_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("model", sa.String(length=200), nullable=False),
        sa.Column("dim", sa.Integer(), nullable=False),
        sa.Column("vector", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", bot.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["memory_id"], ["memories.id"], name=op.f("fk_memory_embeddings_memory_id_memories"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["persona_id"], ["personas.id"], name=op.f("fk_memory_embeddings_persona_id_personas"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("memory_id", name=op.f("pk_memory_embeddings")),
    )
    op.create_index(
        "ix_memory_embeddings_persona_memory", "memory_embeddings", ["persona_id", "memory_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_memory_embeddings_persona_memory", table_name="memory_embeddings")
    op.drop_table("memory_embeddings")
