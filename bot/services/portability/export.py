"""Export: a persona as a native document (:func:`export_native`, then :func:`export_file` for the bytes) or as a
Character Card (:func:`export_card`: JSON, PNG or CHARX), for its owner only."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import RowMapping, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core import card_charx, cards, picture_png
from bot.core import memory as memory_rules
from bot.core.ownership import Actor, require_owner
from bot.db import models, offload
from bot.services import lore, personas
from bot.services.personas import PersonaRecord
from bot.services.portability.documents import EXPORT_PAGE, FORMAT, SECTIONS, VERSION, document_to_json
from bot.services.portability.owned import export_owned


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def _row_to_dict(row: RowMapping) -> dict[str, Any]:
    return {key: _plain(value) for key, value in row.items() if key not in ("id", "persona_id")}


def _persona_fields(record: PersonaRecord) -> dict[str, Any]:
    """The persona's settings with :class:`PersonaInput` names (``memory``: the configuration fields)."""
    return {
        "name": record.name,
        "description": record.description,
        "avatar_url": record.avatar_url,
        "traits": dict(record.traits),
        "custom_traits": [dict(t) for t in record.custom_traits],
        "behavior": dict(record.behavior),
        "privacy": dict(record.privacy),
        "memory": {k: record.memory_config[k] for k in memory_rules.CONFIG_FIELDS if k in record.memory_config},
        "plugins": list(record.plugins),
        "legacy_settings": record.legacy_settings,
    }


async def export_native(session: AsyncSession, actor: Actor, persona_id: int, *, now: datetime) -> dict[str, Any]:
    """The persona as a native document (owner only): see the module docstring for what it holds."""
    record = await personas.get(session, persona_id)
    require_owner(record, actor, "export it")
    persona = {
        "name": record.name,
        "description": record.description,
        "avatar_url": record.avatar_url,
        "status": record.status,
        "is_public": record.is_public,
        "interaction_count": record.interaction_count,
        "created_at": record.created_at.isoformat(),
        "updated_at": record.updated_at.isoformat(),
        "traits": dict(record.traits),
        "custom_traits": [dict(t) for t in record.custom_traits],
        "behavior": dict(record.behavior),
        "privacy": dict(record.privacy),
        "plugins": list(record.plugins),
        "legacy_settings": record.legacy_settings,
        "memory_config": {key: _plain(value) for key, value in record.memory_config.items()},
        **record.character,
    }
    document: dict[str, Any] = {
        "format": FORMAT,
        "version": VERSION,
        "exported_at": now.isoformat(),
        "persona": persona,
        "emotional_state": None,
    }
    state_table = models.EmotionalState.__table__  # type: ignore[attr-defined]
    state = (await session.execute(select(state_table).where(state_table.c.persona_id == persona_id))).mappings()
    for row in state:
        document["emotional_state"] = _row_to_dict(row)
    # A persona may hold 100,000 memories: read as bulk work, in pages by id (each a short conversion).
    with offload.bulk_work():
        for section, model in SECTIONS.items():
            table = model.__table__  # type: ignore[attr-defined]
            rows: list[dict[str, Any]] = []
            after = 0
            while True:
                query = (
                    select(table)
                    .where(table.c.persona_id == persona_id, table.c.id > after)
                    .order_by(table.c.id)
                    .limit(EXPORT_PAGE)
                )
                page = (await session.execute(query)).mappings().all()
                rows.extend(_row_to_dict(row) for row in page)
                if len(page) < EXPORT_PAGE:
                    break
                after = page[-1]["id"]
                await asyncio.sleep(0)
            document[section] = rows
    document.update(await export_owned(session, persona_id))
    return document


async def export_file(document: Mapping[str, Any]) -> bytes:
    """:func:`document_to_json` in a worker thread (the indented encoder is pure Python: it shares the GIL), for
    documents of thousands of rows."""
    return await asyncio.to_thread(document_to_json, document)


async def card_fields(session: AsyncSession, record: PersonaRecord) -> dict[str, Any]:
    """What :func:`bot.core.cards.persona_to_card` takes: the settings, the id, the dates and the character
    columns (read from the row)."""
    fields = _persona_fields(record)
    fields.update(id=record.id, created_at=record.created_at, updated_at=record.updated_at)
    row = await session.get(models.Persona, record.id)
    assert row is not None
    fields.update({column: getattr(row, column) for column in cards.CHARACTER_COLUMNS})
    return fields


async def kept_picture(session: AsyncSession, persona_id: int) -> bytes | None:
    """The picture the persona came with as a PNG, if it has one: a JPEG, WebP or GIF converted
    (:func:`bot.core.picture_png.as_png`, in a worker thread; the first frame of an animation), None when it
    cannot be read."""
    image = await kept_image(session, persona_id)
    if image is None:
        return None
    data, kind = image
    if kind == card_charx.PNG:
        return data
    return await asyncio.to_thread(picture_png.as_png, data)


async def kept_image(session: AsyncSession, persona_id: int) -> tuple[bytes, str] | None:
    """The picture the persona came with and its content type (PNG, JPEG, WebP or GIF), if it has one."""
    avatar = await session.get(models.PersonaAvatar, persona_id)
    kind = None if avatar is None else card_charx.picture_type(bytes(avatar.data))
    if avatar is None or kind is None:
        return None
    return bytes(avatar.data), kind


async def export_card(
    session: AsyncSession,
    actor: Actor,
    persona_id: int,
    version: int = 2,
    as_png: bool = False,
    avatar_png: bytes | None = None,
    as_charx: bool = False,
) -> bytes:
    """The persona as a Character Card (owner only): JSON; or a PNG with the card inside: the picture it came
    with (``persona_avatars``; a JPEG, WebP or GIF converted to PNG), else ``avatar_png`` (a PNG), else a plain
    square; or (``as_charx``, always V3) a ``.charx`` zip with that picture as its main icon and the asset files
    kept from a CHARX import."""
    record = await personas.get(session, persona_id)
    require_owner(record, actor, "export it")
    version = 3 if as_charx else version
    book = await lore.export_book(session, persona_id, version=version)  # the persona's book; None when empty
    card = cards.persona_to_card(await card_fields(session, record), version, book=book)
    if as_charx:
        image = await kept_image(session, persona_id)
        if image is None:
            image = (avatar_png or cards.solid_png(), card_charx.PNG)
        return await asyncio.to_thread(card_charx.charx_of, card, image, card_charx.kept_files(record.legacy_settings))
    if not as_png:
        return cards.card_to_json(card)
    picture = await kept_picture(session, persona_id) or avatar_png or cards.solid_png()
    return cards.card_to_png(card, picture)
