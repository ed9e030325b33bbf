"""summaries stand for exchanges

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-06 08:00:00

A person's conversation with a persona in a channel rolls up into a summary memory once it is over
(``bot/services/memories/summaries.py``). ``memory_summary_members`` links each exchange memory to the summary that
stands for it (one at most), so it is summarised once, and the prompt can prefer the summary for old periods. Either
memory forgotten takes the link with it; the persona's deletion takes all.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    big_id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
    op.create_table(
        "memory_summary_members",
        sa.Column("member_id", big_id, nullable=False, autoincrement=False),
        sa.Column("summary_id", big_id, nullable=False),
        sa.Column("persona_id", big_id, nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["memories.id"],
            name=op.f("fk_memory_summary_members_member_id_memories"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["summary_id"],
            ["memories.id"],
            name=op.f("fk_memory_summary_members_summary_id_memories"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["persona_id"],
            ["personas.id"],
            name=op.f("fk_memory_summary_members_persona_id_personas"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("member_id", name=op.f("pk_memory_summary_members")),
    )
    op.create_index(op.f("ix_memory_summary_members_summary_id"), "memory_summary_members", ["summary_id"])
    op.create_index(op.f("ix_memory_summary_members_persona_id"), "memory_summary_members", ["persona_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_memory_summary_members_persona_id"), table_name="memory_summary_members")
    op.drop_index(op.f("ix_memory_summary_members_summary_id"), table_name="memory_summary_members")
    op.drop_table("memory_summary_members")
