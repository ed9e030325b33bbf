"""retirement plans: the lease holder of a ceremony in progress

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 01:24:24.526979

A ceremony in progress names the process running it (``bot/db/presence.py``), so a process that starts again
after a crash resumes its own previous life's ceremony at once instead of waiting for the lease to run out.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('retirement_plans', schema=None) as batch_op:
        batch_op.add_column(sa.Column('lease_holder', sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('retirement_plans', schema=None) as batch_op:
        batch_op.drop_column('lease_holder')
