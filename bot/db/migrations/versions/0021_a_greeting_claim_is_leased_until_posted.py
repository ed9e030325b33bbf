"""a greeting claim is leased until its greeting is posted

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-06 07:20:00

A persona claims its greeting in a channel before posting it (``persona_greetings``, 0019), so two activations never
post it twice. A process that died between the claim and the post left the channel marked as greeted with nothing
posted. Now an unposted claim says so: ``claimed_at`` (when it was claimed) and ``claim_holder`` (the process that
claimed it, ``bot/db/presence.py``), both cleared once the greeting's first message is posted (``message_id``). An
unposted claim whose lease ran out or whose process is gone is claimed again (``bot/services/greetings.py``). Rows
already there were posted, or stand for a channel the persona already spoke in: they stay as they are (NULL).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import bot.db.types


revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("persona_greetings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("claimed_at", bot.db.types.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("claim_holder", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("persona_greetings", schema=None) as batch_op:
        batch_op.drop_column("claim_holder")
        batch_op.drop_column("claimed_at")
