"""lore books and entries notify changes on PostgreSQL

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-06 06:30:00

Hand-written, PostgreSQL only (on SQLite one process owns the database and sees its own writes).

The conversation keeps each channel's lore books prepared (keys compiled, lookups made once) instead of reading
every entry on every message (issue 17's figure: a 200-entry book adds at most 5 ms at p99 to the chat path). A
copy must not outlive a change made by another process, so ``lore_books`` and ``lore_entries`` get 0012's change
triggers: deferred row triggers that bump the change counter at commit and notify, and a TRUNCATE statement
trigger (``bot/db/changes.py``). ``lore_entry_states`` (when timed entries fired) is read fresh per reply and is not
watched.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TABLES = ("lore_books", "lore_entries")


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in _TABLES:
        op.execute(
            f"CREATE CONSTRAINT TRIGGER {table}_notify_change AFTER INSERT OR UPDATE OR DELETE ON {table} "
            "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION persona_hub_notify_change()"
        )
        op.execute(
            f"CREATE TRIGGER {table}_notify_truncate AFTER TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION persona_hub_notify_change()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in _TABLES:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_notify_truncate ON {table}")
        op.execute(f"DROP TRIGGER IF EXISTS {table}_notify_change ON {table}")
