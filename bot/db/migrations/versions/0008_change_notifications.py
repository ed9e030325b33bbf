"""change notifications on PostgreSQL: triggers that NOTIFY persona_hub_changes when a cached table changes

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-25 16:30:00

Hand-written, PostgreSQL only (on SQLite one process owns the database and sees its own writes).

Each bot process keeps copies of rows read on every message (which personas speak in a channel, their behaviours,
retrieval weights and subscription tiers) and ``LISTEN``s on ``persona_hub_changes`` to drop them when another
process changes those rows (``bot/db/changes.py``). These statement-level triggers send the table's name at commit. A persona's counters and
timestamps are left out (``UPDATE OF`` lists the columns that matter), so replies and follows, which bump them all
the time, notify nobody. The list is the one in ``bot.db.changes.WATCHED``, written out here because a migration
is a record of the schema at its time. Notifications with the same payload in one transaction are sent once.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_PERSONA_COLUMNS = (
    "id, guild_id, owner_id, name, description, avatar_url, status, is_active, custom_traits, behavior_settings, "
    "privacy_settings, plugins, openness, conscientiousness, extraversion, agreeableness, neuroticism, creativity, "
    "curiosity, empathy, humor, assertiveness, adaptability, technical_focus, social_orientation, task_orientation"
)

_TRIGGERS = {
    "channel_bindings": "INSERT OR UPDATE OR DELETE OR TRUNCATE",
    "custom_behaviors": "INSERT OR UPDATE OR DELETE OR TRUNCATE",
    "subscription_tiers": "INSERT OR UPDATE OR DELETE OR TRUNCATE",
    "personas": f"INSERT OR DELETE OR TRUNCATE OR UPDATE OF {_PERSONA_COLUMNS}",
    "memory_configs": "INSERT OR DELETE OR TRUNCATE OR UPDATE OF persona_id, weight_recency, weight_importance, "
    "weight_relevance",
}


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        "CREATE FUNCTION persona_hub_notify_change() RETURNS trigger LANGUAGE plpgsql AS $$ "
        "BEGIN PERFORM pg_notify('persona_hub_changes', TG_TABLE_NAME); RETURN NULL; END $$"
    )
    for table, events in _TRIGGERS.items():
        op.execute(
            f"CREATE TRIGGER {table}_notify_change AFTER {events} ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION persona_hub_notify_change()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in _TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_notify_change ON {table}")
    op.execute("DROP FUNCTION IF EXISTS persona_hub_notify_change()")
