"""memory receipts: which memories each reply used

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-06 08:00:00

Each persona reply records the memories that reached its prompt, with their rank (issue 20, "memory receipts"):
``memory_receipts`` (the reply's first message, the persona, the memory, the rank, whom the reply answered). A row
goes with the reply's message record, with the memory (forgetting a memory forgets that it was used) and with the
persona. Whom the reply answered is a person's id: ``/privacy export-my-data`` lists the rows and forget-me deletes
them (``bot/db/people.py``). Replies sent before this revision have no receipt.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "0024"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "memory_receipts",
        sa.Column("id", _ID, nullable=False),
        sa.Column("reply_message_id", sa.BigInteger(), nullable=False),
        sa.Column("persona_id", _ID, nullable=False),
        sa.Column("memory_id", _ID, nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("answered_author_id", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["reply_message_id"],
            ["persona_messages.message_id"],
            name=op.f("fk_memory_receipts_reply_message_id_persona_messages"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["persona_id"], ["personas.id"], name=op.f("fk_memory_receipts_persona_id_personas"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["memory_id"], ["memories.id"], name=op.f("fk_memory_receipts_memory_id_memories"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_memory_receipts")),
        sa.UniqueConstraint("reply_message_id", "memory_id", name=op.f("uq_memory_receipts_reply_message_id_memory_id")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("memory_receipts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_memory_receipts_reply_message_id"), ["reply_message_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_memory_receipts_persona_id"), ["persona_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_memory_receipts_memory_id"), ["memory_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_memory_receipts_answered_author_id"), ["answered_author_id"], unique=False
        )


def downgrade() -> None:
    op.drop_table("memory_receipts")
