"""forget who activated a persona in a channel: channel_bindings.activated_by may be empty

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 01:20:00

``/privacy forget-me`` keeps a persona speaking in a channel that the forgotten person switched it on in, and
forgets only who did (``bot.db.people``): the column becomes nullable.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("channel_bindings", schema=None) as batch_op:
        batch_op.alter_column("activated_by", existing_type=sa.BigInteger(), nullable=True)


def downgrade() -> None:
    # A forgotten activator has no id to restore; the persona's owner stands in for them.
    op.execute(
        "UPDATE channel_bindings SET activated_by = "
        "(SELECT owner_id FROM personas WHERE personas.id = channel_bindings.persona_id) WHERE activated_by IS NULL"
    )
    with op.batch_alter_table("channel_bindings", schema=None) as batch_op:
        batch_op.alter_column("activated_by", existing_type=sa.BigInteger(), nullable=False)
