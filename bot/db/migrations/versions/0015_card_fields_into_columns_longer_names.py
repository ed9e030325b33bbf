"""personas: imported card fields move into the character columns; names up to 200 characters

Revision ID: 0015
Revises: 0013
Create Date: 2026-12-06 05:14:03.330900

Before issue 17 a card import kept the card's character fields in ``legacy_settings["card"]`` and wrote the
persona's description as the card's description, ``Personality: ...`` and ``Scenario: ...`` merged (cut at
2,000 characters). The persona now has a column for each (migration 0013). This data migration moves them:
``personality`` -> ``personality_text``, ``scenario``, ``first_mes`` -> ``greeting``, ``mes_example`` ->
``example_dialogue``, ``alternate_greetings``, ``system_prompt``, ``post_history_instructions``,
``creator_notes``, ``nickname`` (a column already filled is left alone); the description goes back to the
card's own where the persona's is still the merged one an import made (an owner's edit is kept); the moved keys
leave ``legacy_settings["card"]`` (the metadata with no column stays). The merge rule is spelled out here, as it
was, so later changes to the card code cannot change what this revision does.

``personas.name`` widens from 80 to 200 characters on PostgreSQL: a card's full name is kept (Discord is given a
display name of at most 80 where it needs one). SQLite enforces no declared length, so nothing changes there.

Downgrade narrows the name back (longer names are cut to 80 first); the moved card fields are not moved back: a
schema at 0013 reads them from the columns it has, and nothing is lost.
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_MOVED = {
    "personality": "personality_text",
    "scenario": "scenario",
    "first_mes": "greeting",
    "mes_example": "example_dialogue",
    "alternate_greetings": "alternate_greetings",
    "system_prompt": "system_prompt",
    "post_history_instructions": "post_history_instructions",
    "creator_notes": "creator_notes",
    "nickname": "nickname",
}
# PostgreSQL cannot change the type of a column a trigger names: 0012's personas trigger is dropped around the
# change and made again as 0012 made it.
_PERSONA_COLUMNS = (
    "id, guild_id, owner_id, name, description, avatar_url, status, is_active, custom_traits, behavior_settings, "
    "privacy_settings, plugins, openness, conscientiousness, extraversion, agreeableness, neuroticism, creativity, "
    "curiosity, empathy, humor, assertiveness, adaptability, technical_focus, social_orientation, task_orientation"
)
_DROP_TRIGGER = "DROP TRIGGER IF EXISTS personas_notify_change ON personas"
_CREATE_TRIGGER = (
    f"CREATE CONSTRAINT TRIGGER personas_notify_change AFTER INSERT OR DELETE OR UPDATE OF {_PERSONA_COLUMNS} "
    "ON personas DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION persona_hub_notify_change()"
)
_DESCRIPTION_MAX = 2000
_ELLIPSIS = "…"


def _json() -> Any:
    from sqlalchemy.dialects import postgresql

    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


_personas = sa.table(
    "personas",
    sa.column("id", sa.BigInteger),
    sa.column("description", sa.Text),
    sa.column("legacy_settings", _json()),
    *(sa.column(name, _json() if name == "alternate_greetings" else sa.Text) for name in _MOVED.values()),
)


def _merged(description: str, personality: str, scenario: str) -> str:
    """The description the import before issue 17 made of a card (its rule, frozen here)."""
    parts = [description.strip()]
    if personality.strip():
        parts.append(f"Personality: {personality.strip()}")
    if scenario.strip():
        parts.append(f"Scenario: {scenario.strip()}")
    text = "\n\n".join(part for part in parts if part)
    if len(text) > _DESCRIPTION_MAX:
        text = text[: _DESCRIPTION_MAX - len(_ELLIPSIS)].rstrip() + _ELLIPSIS
    return text


def _changes(row: Any) -> dict[str, Any] | None:
    legacy = row.legacy_settings
    card = legacy.get("card") if isinstance(legacy, dict) else None
    if not isinstance(card, dict):
        return None
    card = dict(card)
    values: dict[str, Any] = {}
    kept_description = card.pop("description", None)
    merged = _merged(str(kept_description or ""), str(card.get("personality") or ""), str(card.get("scenario") or ""))
    if kept_description is not None and row.description == merged:
        values["description"] = str(kept_description)
    for field, column in _MOVED.items():
        value = card.pop(field, None)
        if value in (None, "", []) or getattr(row, column) not in ("", [], None):
            continue
        values[column] = [str(v) for v in value] if column == "alternate_greetings" else str(value)
    new_legacy = {k: v for k, v in legacy.items() if k != "card"}
    if card:
        new_legacy["card"] = card
    values["legacy_settings"] = new_legacy if new_legacy else sa.null()
    return values


def _name_length(old: int, new: int) -> None:
    """PostgreSQL only: SQLite enforces no length (its declared type stays, see ``models.Persona.name``), and a
    type change there copies the table, whose old copy's drop would cascade to every row naming a persona."""
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(_DROP_TRIGGER)
    op.alter_column("personas", "name", existing_type=sa.String(length=old), type_=sa.String(length=new),
                    existing_nullable=False)  # fmt: skip
    op.execute(_CREATE_TRIGGER)


def upgrade() -> None:
    _name_length(80, 200)
    connection = op.get_bind()
    rows = connection.execute(sa.select(_personas).where(_personas.c.legacy_settings.is_not(None))).all()
    for row in rows:
        values = _changes(row)
        if values is not None:
            connection.execute(sa.update(_personas).where(_personas.c.id == row.id).values(**values))


def downgrade() -> None:
    names = sa.table("personas", sa.column("name", sa.String))
    op.execute(
        sa.update(names).where(sa.func.length(names.c.name) > 80).values(name=sa.func.substr(names.c.name, 1, 80))
    )
    _name_length(200, 80)
