"""Import: a new persona from an uploaded file, read and checked off the event loop (:func:`read_upload`), then
written in the caller's one transaction (:func:`import_upload`): a native document row by row, a Character Card
like ``/persona create``."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bot.core import card_charx, cards, personality
from bot.core.card_books import card_book as kept_card_book
from bot.core.card_updates import LOREBOOK
from bot.core.character import NAME_MAX
from bot.core.errors import DomainError
from bot.core.ownership import Actor
from bot.core.personas import validate_name
from bot.db import models, offload
from bot.services import lore, personas
from bot.services.model_servers import Resolver
from bot.services.personas import PersonaRecord
from bot.services.portability.card_import import (
    PNG_TYPE,
    Imported,
    create_from_card,
    origin_row,
    update_from_card,
)
from bot.services.portability.checking import Plan, check_native
from bot.services.portability.documents import (
    IMPORTED_SUFFIX,
    INSERT_CHUNK,
    MAX_CARD_JSON_BYTES,
    MAX_CHARX_BYTES,
    MAX_NATIVE_BYTES,
    MAX_PNG_BYTES,
    SECTIONS,
    parse_json,
    too_big,
)
from bot.services.portability.owned import Owned, check_owned, guard_server, write_owned


async def _owned_count(session: AsyncSession, owner_id: int, guild_id: int | None) -> int:
    guild_clause = (
        col(models.Persona.guild_id).is_(None) if guild_id is None else col(models.Persona.guild_id) == guild_id
    )
    query = select(func.count()).where(
        col(models.Persona.owner_id) == owner_id, guild_clause, col(models.Persona.status) != "retired"
    )
    return int((await session.execute(query)).scalar_one())


async def _taken_names(session: AsyncSession, actor: Actor) -> set[str]:
    guild_clause = (
        col(models.Persona.guild_id).is_(None)
        if actor.guild_id is None
        else col(models.Persona.guild_id) == actor.guild_id
    )
    query = select(func.lower(col(models.Persona.name))).where(
        col(models.Persona.owner_id) == actor.user_id, guild_clause
    )
    return {name for (name,) in (await session.execute(query)).all()}


async def free_name(session: AsyncSession, actor: Actor, name: str) -> str:
    """``name``, or ``name (imported)``, ``name (imported 2)``, ... : the first the actor does not use here."""
    taken = await _taken_names(session, actor)
    if name.lower() not in taken:
        return name
    for number in range(1, 1000):
        suffix = IMPORTED_SUFFIX if number == 1 else f" (imported {number})"
        candidate = name[: NAME_MAX - len(suffix)].rstrip() + suffix
        if candidate.lower() not in taken:
            return candidate
    raise DomainError(f"You already have too many personas called '{name}' here.")


async def _check_room(session: AsyncSession, actor: Actor, max_per_user: int) -> None:
    if await _owned_count(session, actor.user_id, actor.guild_id) >= max_per_user:
        where = "on this server" if actor.guild_id is not None else "as personal personas"
        raise DomainError(f"You already have {max_per_user} personas {where}, the most allowed. Delete one first.")


async def _write_native(
    session: AsyncSession, actor: Actor, plan: Plan, *, now: datetime, max_per_user: int
) -> PersonaRecord:
    await _check_room(session, actor, max_per_user)
    persona = dict(plan.persona)
    traits = persona.pop("traits")
    persona["name"] = await free_name(session, actor, persona["name"])
    row = models.Persona(
        guild_id=actor.guild_id,
        owner_id=actor.user_id,
        is_active=False,
        updated_at=now,
        **persona,
        **traits,
    )
    session.add(row)
    await session.flush()
    persona_id = row.id
    assert persona_id is not None
    session.add(models.MemoryConfig(persona_id=persona_id, **plan.memory))
    if plan.state is not None:
        session.add(models.EmotionalState(persona_id=persona_id, **plan.state))
    else:
        mood = personality.default_mood(traits)
        session.add(
            models.EmotionalState(
                persona_id=persona_id,
                mood_pleasure=mood[0],
                mood_arousal=mood[1],
                mood_dominance=mood[2],
                baseline_pleasure=mood[0],
                baseline_arousal=mood[1],
                baseline_dominance=mood[2],
                as_of=now,
            )
        )
    await session.flush()
    # Plain multi-row INSERTs of the checked values (no ORM objects to build), in bounded chunks, as bulk work
    # (thousands of rows and their search index would hold the event loop for seconds on SQLite inline).
    with offload.bulk_work():
        for section, model in SECTIONS.items():
            items = plan.rows[section]
            table = model.__table__  # type: ignore[attr-defined]
            for start in range(0, len(items), INSERT_CHUNK):
                chunk = [{**values, "persona_id": persona_id} for values in items[start : start + INSERT_CHUNK]]
                await session.execute(insert(table), chunk)
    return await personas.get(session, persona_id)


@dataclass(frozen=True)
class Upload:
    """An uploaded file, read and fully checked (:func:`read_upload`): what :func:`import_upload` writes."""

    native: Plan | None = None
    owned: Owned = field(default_factory=Owned)  # a native document's lore book, model settings and picture
    card: cards.CardImport | None = None  # what a Character Card describes
    picture: bytes | None = None  # a PNG card's picture, without its card; a CHARX's main icon
    picture_type: str = PNG_TYPE
    notes: tuple[str, ...] = ()  # what the import reply adds (a CHARX's assets not kept)


def _read_charx(data: bytes) -> Upload:
    if len(data) > MAX_CHARX_BYTES:
        raise too_big("CHARX card", data, MAX_CHARX_BYTES)
    charx = card_charx.read_charx(data)
    imported = card_charx.with_files(cards.card_to_persona(charx.card), charx.files)
    validate_name(imported.name)
    return Upload(
        card=imported,
        picture=charx.picture,
        picture_type=charx.picture_type or PNG_TYPE,
        notes=charx.notes,
    )


def _read_upload(data: bytes, filename: str | None, now: datetime) -> Upload:
    picture = None
    if card_charx.looks_like_charx(data, filename):
        return _read_charx(data)
    if _is_png(data, filename):
        if len(data) > MAX_PNG_BYTES:
            raise too_big("PNG card", data, MAX_PNG_BYTES)
        card = cards.card_from_png(data)  # read with parse_json_text, which checks what it holds
        picture = cards.picture_of(data)
    else:
        parsed = parse_json(data, limit=MAX_NATIVE_BYTES)
        if isinstance(parsed, Mapping) and "format" in parsed:
            return Upload(native=check_native(parsed, now=now), owned=check_owned(parsed, now=now))
        if len(data) > MAX_CARD_JSON_BYTES:
            raise too_big("JSON card", data, MAX_CARD_JSON_BYTES)
        card = parsed
    imported = cards.card_to_persona(card)
    validate_name(imported.name)
    return Upload(card=imported, picture=picture)


async def _import_card_book(
    session: AsyncSession, record: PersonaRecord, fields: Mapping[str, Any], now: datetime
) -> None:
    """The card's lorebook becomes the persona's lore book (same transaction as the persona; the card was read,
    its book checked by the lore rules, in :func:`read_upload`). An empty book empties the lore book."""
    book = kept_card_book(fields.get("legacy_settings"))
    await lore.import_book(session, record.id, record.guild_id, book or {"entries": []}, now=now)


async def read_upload(
    data: bytes,
    filename: str | None = None,
    *,
    now: datetime,
    allow_private_servers: bool = False,
    resolver: Resolver | None = None,
) -> Upload:
    """Parse and check an uploaded file (a Character Card V1/V2/V3 as JSON or PNG, a V3 ``.charx``, or a native
    Persona Hub export) in a worker thread, before any session is opened: a 10 MB file takes seconds of checking, during
    which the event loop keeps serving and the database stays free. Raises :class:`DomainError` as the import
    would. A native document's own model server then passes the server guard (``allow_private_servers``: the
    operator's ``ALLOW_PRIVATE_MODEL_SERVERS``) or is dropped with a note (:mod:`~bot.services.portability.owned`)."""
    upload = await asyncio.to_thread(_read_upload, data, filename, now)
    if upload.native is None:
        return upload
    owned = await guard_server(upload.owned, allow_private=allow_private_servers, resolver=resolver)
    return replace(upload, owned=owned)


async def import_upload(
    session: AsyncSession, actor: Actor, upload: Upload, *, now: datetime, max_per_user: int = 10
) -> Imported:
    """The persona a file :func:`read_upload` checked makes: a new one owned by ``actor`` in
    ``actor.guild_id``; or, for a card exported from a persona ``actor`` owns here, that persona updated with
    the fields edited elsewhere since (``updated``; ``changed`` names them)."""
    if upload.native is not None:
        record = await _write_native(session, actor, upload.native, now=now, max_per_user=max_per_user)
        notes = await write_owned(session, record.id, record.guild_id, upload.owned)
        return Imported(record=record, notes=(*upload.notes, *notes))
    assert upload.card is not None
    row = await origin_row(session, actor, upload.card)
    picture = None if upload.picture is None else (upload.picture, upload.picture_type)
    if row is not None:
        imported = await update_from_card(session, row, upload.card, picture, now=now)
        if LOREBOOK in imported.changed:  # the card's book differs from the one exported: it replaces the lore book
            await _import_card_book(session, imported.record, upload.card.settings, now)
    else:
        name = await free_name(session, actor, validate_name(upload.card.name))
        imported = await create_from_card(
            session, actor, upload.card, name, picture, now=now, max_per_user=max_per_user
        )
        if kept_card_book(upload.card.settings.get("legacy_settings")) is not None:
            await _import_card_book(session, imported.record, upload.card.settings, now)
    return replace(imported, notes=upload.notes)


def _is_png(data: bytes, filename: str | None) -> bool:
    return data.startswith(cards.PNG_SIGNATURE) or (filename or "").lower().endswith(".png")
