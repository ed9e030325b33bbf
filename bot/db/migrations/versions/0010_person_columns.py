"""person columns: indexed, and channel_bindings.activated_by may be empty

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 01:20:00

``/privacy forget-me`` and ``export-my-data`` find a person's rows by every column that holds their id
(``bot.db.people``); each such column gets an index, so neither reads a whole table (the outbox grows with every
notification). Forget-me keeps a persona speaking in a channel that the forgotten person switched it on in, and
forgets only who did: ``channel_bindings.activated_by`` becomes nullable.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXED = (
    ("consent_records", "recorded_by"),
    ("subscriptions", "granted_by"),
    ("endorsements", "user_id"),
    ("retirement_plans", "created_by"),
    ("channel_bindings", "activated_by"),
    ("outbox", "recipient_user_id"),
)


def upgrade() -> None:
    with op.batch_alter_table("channel_bindings", schema=None) as batch_op:
        batch_op.alter_column("activated_by", existing_type=sa.BigInteger(), nullable=True)
    for table, column in INDEXED:
        op.create_index(f"ix_{table}_{column}", table, [column], unique=False)


def downgrade() -> None:
    for table, column in INDEXED:
        op.drop_index(f"ix_{table}_{column}", table_name=table)
    # A forgotten activator has no id to restore; the persona's owner stands in for them.
    op.execute(
        "UPDATE channel_bindings SET activated_by = "
        "(SELECT owner_id FROM personas WHERE personas.id = channel_bindings.persona_id) WHERE activated_by IS NULL"
    )
    with op.batch_alter_table("channel_bindings", schema=None) as batch_op:
        batch_op.alter_column("activated_by", existing_type=sa.BigInteger(), nullable=False)
