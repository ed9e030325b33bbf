"""change sequence on PostgreSQL: a counter bumped once by every transaction that changes a cached table

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 01:00:00

Hand-written, PostgreSQL only (on SQLite one process owns the database and sees its own writes).

0008's notifications alone leave a race: a change committed by one process and a Discord message sent right after
reach another process in either order, and a message that comes first was planned with the copy the change made
stale. With this counter a process can tell, in one cheap read, whether it has heard every change committed so far
(``bot/db/changes.py``): ``change_sequence`` holds one row, and each transaction that changes a watched table adds
one to it and sends the new value with each table's name (``"personas 42"``). The bump runs in deferred constraint
triggers, that is at commit, so the row is locked only while the transaction commits: two transactions that touch
the watched tables in different orders cannot deadlock on it, and a long one does not hold up the others. Counter
values are therefore given out in commit order, the order in which PostgreSQL delivers the notifications. TRUNCATE
has no row triggers; its statement trigger bumps at once (tests and maintenance truncate, the bot never does).

The table is not in the SQLModel models (it exists only here); ``bot.db.migrate.include_object`` hides it from the
schema comparison. The watched columns are 0008's.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_PERSONA_COLUMNS = (
    "id, guild_id, owner_id, name, description, avatar_url, status, is_active, custom_traits, behavior_settings, "
    "privacy_settings, plugins, openness, conscientiousness, extraversion, agreeableness, neuroticism, creativity, "
    "curiosity, empathy, humor, assertiveness, adaptability, technical_focus, social_orientation, task_orientation"
)

# Row events (deferred to commit) per table; each table also gets a TRUNCATE statement trigger.
_ROW_EVENTS = {
    "channel_bindings": "INSERT OR UPDATE OR DELETE",
    "custom_behaviors": "INSERT OR UPDATE OR DELETE",
    "subscription_tiers": "INSERT OR UPDATE OR DELETE",
    "personas": f"INSERT OR DELETE OR UPDATE OF {_PERSONA_COLUMNS}",
    "memory_configs": "INSERT OR DELETE OR UPDATE OF persona_id, weight_recency, weight_importance, weight_relevance",
}

# The transaction's counter value, once bumped (a setting local to the transaction: rolled back with it).
_NOTIFY = """
CREATE OR REPLACE FUNCTION persona_hub_notify_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    seq bigint := NULLIF(current_setting('persona_hub.change_seq', true), '')::bigint;
BEGIN
    IF seq IS NULL THEN
        UPDATE change_sequence SET value = value + 1 WHERE id = 1 RETURNING value INTO seq;
        PERFORM set_config('persona_hub.change_seq', seq::text, true);
    END IF;
    PERFORM pg_notify('persona_hub_changes', TG_TABLE_NAME || ' ' || seq);
    RETURN NULL;
END $$
"""

_NOTIFY_0008 = (
    "CREATE OR REPLACE FUNCTION persona_hub_notify_change() RETURNS trigger LANGUAGE plpgsql AS $$ "
    "BEGIN PERFORM pg_notify('persona_hub_changes', TG_TABLE_NAME); RETURN NULL; END $$"
)


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("CREATE TABLE change_sequence (id smallint PRIMARY KEY CHECK (id = 1), value bigint NOT NULL)")
    op.execute("INSERT INTO change_sequence (id, value) VALUES (1, 0)")
    op.execute(_NOTIFY)
    for table, events in _ROW_EVENTS.items():
        op.execute(f"DROP TRIGGER IF EXISTS {table}_notify_change ON {table}")
        op.execute(
            f"CREATE CONSTRAINT TRIGGER {table}_notify_change AFTER {events} ON {table} "
            "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION persona_hub_notify_change()"
        )
        op.execute(
            f"CREATE TRIGGER {table}_notify_truncate AFTER TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION persona_hub_notify_change()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(_NOTIFY_0008)
    for table, events in _ROW_EVENTS.items():
        op.execute(f"DROP TRIGGER IF EXISTS {table}_notify_truncate ON {table}")
        op.execute(f"DROP TRIGGER IF EXISTS {table}_notify_change ON {table}")
        op.execute(
            f"CREATE TRIGGER {table}_notify_change AFTER {events} OR TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION persona_hub_notify_change()"
        )
    op.execute("DROP TABLE change_sequence")
