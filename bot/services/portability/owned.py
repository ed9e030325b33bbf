"""What a persona owns beside its rows, in the native document: its lore book (``lore_book``: the book's columns
and its ``entries``), its model settings (``model_settings``: ``persona_models`` without the API key, which never
leaves the bot) and its picture (``picture``: ``content_type`` and ``data`` in base64). Each is an object, or
null when the persona has none; columns as ``bot/db/models.py`` names them, times in ISO 8601 with an offset.

Import checks all three before anything is written (:func:`check_owned`, pure, with the rest of the document): the
book and every entry through the lore rules (:mod:`bot.core.lore`: at most 500 entries, patterns safe, ...), the
model settings through :mod:`bot.core.model_settings` (a file holding an API key is refused), the picture as
a PNG, JPEG, WebP or GIF of at most :data:`~bot.services.portability.documents.MAX_PNG_BYTES` (a picture card's
own limit) whose bytes are the type it claims. A malformed section refuses the whole file with a sentence.

The model server is the one thing dropped rather than refused, with a note in the reply: one the server guard
refuses (private, or not resolving: :func:`guard_server`, before the transaction), or one this server's admins do
not allow (:func:`write_owned`, with a model name they do not allow). A kept server comes without its API key: the
owner sets it again.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import RowMapping, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core import card_charx
from bot.core import model_settings as model_rules
from bot.core.errors import DomainError
from bot.core.lore import BookRules, LoreEntry, check_book, check_entry, check_entry_count
from bot.core.server_urls import parse_server_url
from bot.core.text import clip
from bot.db import models
from bot.services import model_servers
from bot.services import model_settings as persona_models
from bot.services.lore import ENTRY_FIELDS
from bot.services.portability.checking import check_row
from bot.services.portability.documents import LORE_BOOK, MAX_PNG_BYTES, MB, MODEL_SETTINGS, PICTURE

_BOOK_SKIP = ("id", "scope", "scope_key", "persona_id", "guild_id", "channel_id")
_ENTRY_SKIP = ("id", "book_id")
_MODEL_SKIP = ("persona_id", "api_key_encrypted")
_MODEL_VALUES = ("model", "temperature", "top_p", "max_tokens", "presence_penalty", "frequency_penalty", "base_url")
MAX_PICTURE_BYTES = MAX_PNG_BYTES  # a PNG card's (and a CHARX's) limit, which bounds every kept picture
KEY_REFUSED = (
    "The model settings hold an API key; keys never travel in exports (the bot keeps them encrypted). "
    "Remove 'api_key_encrypted' from the file."
)


@dataclass(frozen=True)
class Owned:
    """A document's lore book, model settings and picture, checked (None: the persona has none)."""

    book: dict[str, Any] | None = None  # the book's columns
    entries: tuple[dict[str, Any], ...] = ()  # each entry's columns
    model: dict[str, Any] | None = None  # persona_models columns, no key
    picture: tuple[bytes, str, datetime] | None = None  # data, content type, updated_at
    notes: tuple[str, ...] = ()


# ------------------------------------------------------------------------------------------------------- export


def _plain(row: RowMapping, skip: tuple[str, ...]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in row.items() if k not in skip}


async def export_owned(session: AsyncSession, persona_id: int) -> dict[str, Any]:
    """The three sections of the persona's native document (the caller checked the asker owns it)."""
    books = models.metadata.tables["lore_books"]
    entries = models.metadata.tables["lore_entries"]
    book = (await session.execute(select(books).where(books.c.scope_key == f"persona:{persona_id}"))).mappings().first()
    lore = None
    if book is not None:
        rows = await session.execute(select(entries).where(entries.c.book_id == book["id"]).order_by(entries.c.id))
        lore = {**_plain(book, _BOOK_SKIP), "entries": [_plain(row, _ENTRY_SKIP) for row in rows.mappings()]}
    settings = models.metadata.tables["persona_models"]
    model = (await session.execute(select(settings).where(settings.c.persona_id == persona_id))).mappings().first()
    avatar = await session.get(models.PersonaAvatar, persona_id)
    picture = None
    if avatar is not None:
        picture = {
            "content_type": avatar.content_type,
            "data": base64.b64encode(bytes(avatar.data)).decode("ascii"),
            "updated_at": avatar.updated_at.isoformat(),
        }
    return {LORE_BOOK: lore, MODEL_SETTINGS: None if model is None else _plain(model, _MODEL_SKIP), PICTURE: picture}


# ------------------------------------------------------------------------------------------------------ checking


def _lore_entry(raw: Any, number: int, now: datetime) -> dict[str, Any]:
    what = f"Lore entry {number}"
    clean = check_row(models.LoreEntryRow, raw, what, now, skip=_ENTRY_SKIP)
    for name in ("keys", "secondary_keys"):
        if not isinstance(clean[name], list) or not all(isinstance(k, str) for k in clean[name]):
            raise DomainError(f"{what}: {name} must be a list of words.")
    if not isinstance(clean["extras"], dict):
        raise DomainError(f"{what}: extras must be an object.")
    values = {name: clean[name] for name in ENTRY_FIELDS}
    draft = LoreEntry(
        id=number, **{**values, "keys": tuple(values["keys"]), "secondary_keys": tuple(values["secondary_keys"])}
    )
    try:
        checked = check_entry(draft)
    except DomainError as error:
        raise DomainError(f"{what} ('{clip(draft.label, 40)}') is refused: {error}") from None
    return {**clean, "keys": list(checked.keys), "secondary_keys": list(checked.secondary_keys)}


def _check_book(raw: Any, now: datetime) -> tuple[dict[str, Any] | None, tuple[dict[str, Any], ...]]:
    if raw is None:
        return None, ()
    if not isinstance(raw, Mapping):
        raise DomainError("The file's 'lore_book' must be an object (or null).")
    given = raw.get("entries", [])
    if not isinstance(given, list):
        raise DomainError("The lore book's entries must be a list.")
    check_entry_count(len(given))
    book = check_row(
        models.LoreBook, {k: v for k, v in raw.items() if k != "entries"}, "The lore book", now, _BOOK_SKIP
    )
    if not isinstance(book["extras"], dict):
        raise DomainError("The lore book's extras must be an object.")
    try:
        check_book(
            BookRules(scan_depth=book["scan_depth"], token_budget=book["token_budget"], recursion=book["recursion"])
        )
    except DomainError as error:
        raise DomainError(f"The lore book is refused: {error}") from None
    return book, tuple(_lore_entry(entry, number, now) for number, entry in enumerate(given, start=1))


def _check_model(raw: Any, now: datetime) -> dict[str, Any] | None:
    if raw is None:
        return None
    if isinstance(raw, Mapping) and "api_key_encrypted" in raw:
        raise DomainError(KEY_REFUSED)
    clean = check_row(models.PersonaModel, raw, "The model settings", now, skip=_MODEL_SKIP)
    try:
        numbers = model_rules.check_numbers(
            **{k: clean[k] for k in ("temperature", "top_p", "max_tokens", "presence_penalty", "frequency_penalty")}
        )
        if clean["model"] is not None:
            clean["model"] = model_rules.model_name(clean["model"])
        if clean["base_url"] is not None:
            clean["base_url"] = parse_server_url(clean["base_url"]).url
    except DomainError as error:
        raise DomainError(f"The model settings are refused: {error}") from None
    clean.update(numbers)
    return clean


def _check_picture(raw: Any, now: datetime) -> tuple[bytes, str, datetime] | None:
    if raw is None:
        return None
    if not isinstance(raw, Mapping) or set(raw) - {"content_type", "data", "updated_at"}:
        raise DomainError("The file's 'picture' must be an object of content_type, data (base64) and updated_at.")
    kind, text = raw.get("content_type"), raw.get("data")
    if kind not in card_charx.PICTURE_TYPES:
        raise DomainError(f"The picture's content_type must be one of {', '.join(card_charx.PICTURE_TYPES)}.")
    if not isinstance(text, str) or len(text) > (MAX_PICTURE_BYTES + 2) // 3 * 4:
        raise DomainError(f"The picture's data must be base64 text of at most {MAX_PICTURE_BYTES // MB} MB.")
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise DomainError("The picture's data is not base64.") from None
    if card_charx.picture_type(data) != kind:
        raise DomainError(f"The picture's data is not the {kind} picture it claims to be.")
    stamp = {"updated_at": raw.get("updated_at", now.isoformat())}
    when = check_row(models.PersonaAvatar, stamp, "The picture", now, skip=("persona_id", "content_type", "data"))
    return data, kind, when["updated_at"]


def check_owned(document: Mapping[str, Any], *, now: datetime) -> Owned:
    """The document's lore book, model settings and picture, checked whole (:class:`DomainError` at the first
    fault; nothing is written)."""
    book, entries = _check_book(document.get(LORE_BOOK), now)
    return Owned(
        book=book,
        entries=entries,
        model=_check_model(document.get(MODEL_SETTINGS), now),
        picture=_check_picture(document.get(PICTURE), now),
    )


# ------------------------------------------------------------------------------------------------------ writing


def _without(model: dict[str, Any], *names: str) -> dict[str, Any]:
    return {**model, **dict.fromkeys(names)}


async def guard_server(owned: Owned, *, allow_private: bool, resolver: model_servers.Resolver | None = None) -> Owned:
    """``owned`` with its model server checked by the server guard (:func:`bot.services.model_servers.
    check_server_url`), before the transaction; one it refuses is dropped (with the model named on it) and noted."""
    url = (owned.model or {}).get("base_url")
    if owned.model is None or url is None:
        return owned
    try:
        await model_servers.check_server_url(url, allow_private=allow_private, resolver=resolver)
    except DomainError as error:
        note = f"Its own model server ({clip(url, 80)}) was left out, with the model named on it: {error}"
        return replace(owned, model=_without(owned.model, "base_url", "model", "vision"), notes=(*owned.notes, note))
    return owned


async def _write_model(
    session: AsyncSession, persona_id: int, guild_id: int | None, model: dict[str, Any]
) -> tuple[str, ...]:
    allowed = await persona_models.allowances(session, guild_id)
    notes: list[str] = []
    if model["base_url"] is not None and not allowed.own_servers:
        notes.append(
            f"Its own model server ({clip(model['base_url'], 80)}) was left out, with the model named on it: "
            "this server's admins do not let personas use another model server."
        )
        model = _without(model, "base_url", "model", "vision")
    if model["model"] is not None and not allowed.allows_model(model["model"]):
        notes.append(f"Its model {model['model']} was left out: this server's admins do not allow it.")
        model = _without(model, "model", "vision")
    if model["base_url"] is not None:
        notes.append(
            "Its own model server came without its API key (keys never leave the bot): set it again with "
            "/persona model if the server needs one."
        )
    if all(model[name] is None for name in (*_MODEL_VALUES, "vision")):
        return tuple(notes)
    session.add(models.PersonaModel(persona_id=persona_id, api_key_encrypted=None, **model))
    return tuple(notes)


async def write_owned(session: AsyncSession, persona_id: int, guild_id: int | None, owned: Owned) -> tuple[str, ...]:
    """Write the checked sections for the persona just made (the caller's transaction); the notes for the reply
    (what :func:`guard_server` and the server's allowances left out)."""
    notes = owned.notes
    if owned.picture is not None:
        data, kind, when = owned.picture
        session.add(models.PersonaAvatar(persona_id=persona_id, content_type=kind, data=data, updated_at=when))
    if owned.model is not None:
        notes = (*notes, *await _write_model(session, persona_id, guild_id, owned.model))
    if owned.book is not None:
        book = models.LoreBook(
            **owned.book, scope="persona", scope_key=f"persona:{persona_id}", persona_id=persona_id, guild_id=guild_id
        )
        session.add(book)
        await session.flush()
        if owned.entries:
            table = models.metadata.tables["lore_entries"]
            await session.execute(insert(table), [{**entry, "book_id": book.id} for entry in owned.entries])
    await session.flush()
    return notes
