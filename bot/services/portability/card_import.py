"""Writing a Character Card (pure checking done by :mod:`bot.core.cards`): a new persona, or, for a card
exported from here whose persona the importer still owns in this place, that persona updated with the fields
edited elsewhere (:mod:`bot.core.card_updates`). One transaction, the caller's: an error leaves nothing.

The character columns are written on the ``models.Persona`` row after :func:`bot.services.personas.create`
made it, exactly as the card has them (not trimmed), within the limits every persona has (:mod:`bot.core.character`:
the same whether typed or imported), so the persona can then be edited, cloned and exported like any other. The
card's picture (a PNG card without its card chunks, a CHARX's main icon) is kept in ``persona_avatars`` and written
back by the export; a CHARX's other asset files in ``legacy_settings["card_files"]`` (replaced when a re-imported
CHARX carries others).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bot.core.card_updates import plan_reimport
from bot.core.cards import CHARACTER_COLUMNS, LEGACY_FILES_KEY, CardImport
from bot.core.character import validate_character
from bot.core.errors import DomainError
from bot.core.inputs import require_storable
from bot.core.ownership import Actor
from bot.core.personas import DESCRIPTION_MAX, validate_name
from bot.db import models
from bot.services import personas
from bot.services.personas import PersonaInput, PersonaRecord

PNG_TYPE = "image/png"


@dataclass(frozen=True)
class Imported:
    """What an import did: the persona, whether an existing one was updated (a card exported from it), the
    card fields that changed it (updated) or that were edited elsewhere since the export (a new persona), and
    notes for the reply."""

    record: PersonaRecord
    updated: bool = False
    changed: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()  # sentences for the reply (a CHARX's assets that were not kept)

    @property
    def id(self) -> int:
        """The persona's id."""
        return self.record.id


def check_columns(columns: Mapping[str, Any]) -> dict[str, Any]:
    """The card's character columns, checked against a persona's limits (:mod:`bot.core.character`, the
    description's among them) and kept as written."""
    given = {column: value for column, value in columns.items() if column in CHARACTER_COLUMNS}
    clean = validate_character({k: v for k, v in given.items() if k != "description"}, as_written=True)
    if "description" in given:
        what = "The card's description"
        text = require_storable(str(given["description"] or ""), what)
        if len(text) > DESCRIPTION_MAX:
            raise DomainError(f"{what} is {len(text):,} characters long; the limit is {DESCRIPTION_MAX:,}.")
        clean["description"] = text
    return clean


Picture = tuple[bytes, str]  # the picture a card came with and its content type


async def _set_avatar(session: AsyncSession, persona_id: int, picture: Picture, now: datetime) -> bool:
    """Keep ``picture`` as the persona's avatar; whether it changed."""
    data, kind = picture
    row = await session.get(models.PersonaAvatar, persona_id)
    if row is None:
        session.add(models.PersonaAvatar(persona_id=persona_id, content_type=kind, data=data, updated_at=now))
        return True
    if row.data == data and row.content_type == kind:
        return False
    row.data, row.content_type, row.updated_at = data, kind, now
    return True


def _files_update(legacy: Mapping[str, Any] | None, card: CardImport) -> dict[str, Any] | None:
    """``legacy`` with a CHARX's kept asset files when they differ from the persona's (None: unchanged or not
    a CHARX)."""
    files = (card.settings.get("legacy_settings") or {}).get(LEGACY_FILES_KEY)
    if files is None or files == (legacy or {}).get(LEGACY_FILES_KEY, {}):
        return None
    return {**(legacy or {}), LEGACY_FILES_KEY: files}


async def create_from_card(
    session: AsyncSession,
    actor: Actor,
    card: CardImport,
    name: str,
    picture: Picture | None,
    *,
    now: datetime,
    max_per_user: int,
) -> Imported:
    """A new persona from ``card`` named ``name`` (already free here)."""
    columns = check_columns(card.columns)
    data = PersonaInput(name=name, **card.settings)
    record = await personas.create(session, actor, data, max_per_user=max_per_user, now=now)
    row = await session.get(models.Persona, record.id)
    assert row is not None
    row.name = name
    for column, value in columns.items():
        setattr(row, column, value)
    if picture is not None:
        await _set_avatar(session, record.id, picture, now)
    await session.flush()
    return Imported(record=await personas.get(session, record.id), changed=card.edited or ())


async def _name_free(session: AsyncSession, row: models.Persona, name: str) -> None:
    query = select(col(models.Persona.id)).where(
        col(models.Persona.owner_id) == row.owner_id,
        col(models.Persona.guild_id).is_(None)
        if row.guild_id is None
        else col(models.Persona.guild_id) == row.guild_id,
        func.lower(col(models.Persona.name)) == name.lower(),
        col(models.Persona.id) != row.id,
    )
    if (await session.execute(query.limit(1))).first() is not None:
        raise DomainError(f"The card renames the persona to '{name}', and you already have a persona called that here.")


async def origin_row(session: AsyncSession, actor: Actor, card: CardImport) -> models.Persona | None:
    """The persona a card was exported from, when the importer owns it here and it can still change."""
    if card.origin is None or card.edited is None:
        return None
    row = await session.get(models.Persona, card.origin)
    if row is None or row.owner_id != actor.user_id or row.guild_id != actor.guild_id:
        return None
    return None if row.status in personas.READ_ONLY_STATUSES else row


async def update_from_card(
    session: AsyncSession, row: models.Persona, card: CardImport, picture: Picture | None, *, now: datetime
) -> Imported:
    """The persona a card came from, with the fields edited elsewhere since (see :mod:`bot.core.card_updates`)."""
    current = {"name": row.name, "legacy_settings": row.legacy_settings}
    current.update({column: getattr(row, column) for column in CHARACTER_COLUMNS})
    plan = plan_reimport(current, card)
    changed = list(plan.changed)
    if plan.name is not None:
        name = validate_name(plan.name)
        await _name_free(session, row, name)
        row.name = name
    for column, value in check_columns(plan.columns).items():
        setattr(row, column, value)
    if plan.legacy_settings is not None:
        row.legacy_settings = plan.legacy_settings
    files = _files_update(row.legacy_settings, card)
    if files is not None:
        row.legacy_settings = files
        if "assets" not in changed:
            changed.append("assets")
    assert row.id is not None
    if picture is not None and await _set_avatar(session, row.id, picture, now):
        changed.append("avatar")
    if changed:
        row.updated_at = now
    await session.flush()
    return Imported(record=await personas.get(session, row.id), updated=True, changed=tuple(changed))
