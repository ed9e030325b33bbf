"""Lore books and their entries: who may change them, and the changes (one transaction each).

A persona's book is its owner's to change; a channel's or the server's book belongs to the server, and members with
Manage Server change it (``Actor.can_manage_guild``). Reading a book for ``/lore list`` asks the same (lore can hold
a story's secrets). Every change is checked whole first (:func:`bot.core.lore.check_entry`) and refused with a
sentence, so nothing is half-saved.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bot.core.errors import DomainError, NotFound, PermissionDenied
from bot.core.lore import BookRules, LoreEntry, check_entry, check_entry_count
from bot.core.ownership import Actor
from bot.db import models
from bot.services.access import owned_persona

MANAGERS_ONLY = "Only members with Manage Server can change or read this server's and its channels' lore."
NO_ENTRY = "That lore entry does not exist (it may have been removed)."
_E = models.LoreEntryRow
_B = models.LoreBook
ENTRY_FIELDS = (
    "name", "keys", "secondary_keys", "logic", "case_sensitive", "whole_words", "use_regex", "content", "order",
    "position", "depth", "constant", "enabled", "probability", "scan_depth", "sticky", "cooldown", "delay",
    "exclude_recursion", "prevent_recursion",
)  # fmt: skip


@dataclass(frozen=True)
class Where:
    """Which book: a persona's (``persona_id``), a channel's (``channel_id``) or the server's."""

    scope: str
    persona_id: int | None = None
    channel_id: int | None = None

    def key(self, guild_id: int | None) -> str:
        if self.scope == "persona":
            return f"persona:{self.persona_id}"
        if self.scope == "channel":
            return f"channel:{self.channel_id}"
        return f"server:{guild_id}"


def entry_of(row: Any) -> LoreEntry:
    """A stored entry (a row or a row mapping) as :class:`LoreEntry`."""
    get = row.__getitem__ if isinstance(row, Mapping) else row.__getattribute__
    values = {name: get(name) for name in ENTRY_FIELDS}
    values["keys"] = tuple(values["keys"] or ())
    values["secondary_keys"] = tuple(values["secondary_keys"] or ())
    return LoreEntry(id=get("id"), book_id=get("book_id"), **values)


def rules_of(book: models.LoreBook) -> BookRules:
    return BookRules(
        id=book.id or 0, scan_depth=book.scan_depth, token_budget=book.token_budget, recursion=book.recursion
    )


async def _check_access(session: AsyncSession, actor: Actor, where: Where) -> int | None:
    """The guild the book belongs to, when ``actor`` may change it; refused otherwise."""
    if where.scope == "persona":
        if where.persona_id is None:
            raise DomainError("Choose the persona whose lore this is.")
        persona = await owned_persona(session, where.persona_id, actor, "change its lore")
        return persona.guild_id
    if where.scope not in ("channel", "server"):
        raise DomainError("A lore book belongs to a persona, a channel or the server.")
    if actor.guild_id is None:
        raise DomainError("Channel and server lore live in a server: use this command there.")
    if not actor.can_manage_guild:
        raise PermissionDenied(MANAGERS_ONLY)
    if where.scope == "channel" and where.channel_id is None:
        raise DomainError("Use this command in the channel whose lore it is.")
    return actor.guild_id


async def book(
    session: AsyncSession, actor: Actor, where: Where, *, create: bool = False, now: datetime | None = None
) -> models.LoreBook | None:
    """The book ``actor`` may change (made when ``create``), or None when it has none yet."""
    guild_id = await _check_access(session, actor, where)
    key = where.key(guild_id)
    found = (await session.execute(select(_B).where(col(_B.scope_key) == key))).scalar_one_or_none()
    if found is not None or not create:
        return found
    made = models.LoreBook(
        scope=where.scope,
        scope_key=key,
        persona_id=where.persona_id if where.scope == "persona" else None,
        guild_id=guild_id,
        channel_id=where.channel_id if where.scope == "channel" else None,
    )
    if now is not None:
        made.created_at = made.updated_at = now
    session.add(made)
    await session.flush()
    return made


async def entries(session: AsyncSession, actor: Actor, where: Where) -> list[LoreEntry]:
    """The book's entries, in order (then by id)."""
    found = await book(session, actor, where)
    if found is None:
        return []
    rows = (
        await session.execute(select(_E).where(col(_E.book_id) == found.id).order_by(col(_E.order), col(_E.id)))
    ).scalars()
    return [entry_of(row) for row in rows]


async def _count(session: AsyncSession, book_id: int) -> int:
    return int(
        (await session.execute(select(func.count()).select_from(_E).where(col(_E.book_id) == book_id))).scalar_one()
    )


async def add_entry(session: AsyncSession, actor: Actor, where: Where, draft: LoreEntry, *, now: datetime) -> LoreEntry:
    """A new entry in the book (made if it has none), checked whole first."""
    checked = check_entry(draft)
    found = await book(session, actor, where, create=True, now=now)
    assert found is not None and found.id is not None
    check_entry_count(await _count(session, found.id) + 1)
    row = _E(book_id=found.id or 0, created_at=now, updated_at=now, **_values(checked))
    session.add(row)
    await session.flush()
    return entry_of(row)


def _values(entry: LoreEntry) -> dict[str, Any]:
    values = {name: getattr(entry, name) for name in ENTRY_FIELDS}
    values["keys"] = list(entry.keys)
    values["secondary_keys"] = list(entry.secondary_keys)
    return values


async def _row(session: AsyncSession, actor: Actor, where: Where, entry_id: int) -> models.LoreEntryRow:
    found = await book(session, actor, where)
    row = await session.get(_E, entry_id)
    if found is None or row is None or row.book_id != found.id:
        raise NotFound(NO_ENTRY)
    return row


async def edit_entry(
    session: AsyncSession, actor: Actor, where: Where, entry_id: int, changes: Mapping[str, Any], *, now: datetime
) -> LoreEntry:
    """The entry with ``changes`` (field -> value, :data:`ENTRY_FIELDS`), checked whole before anything is saved."""
    unknown = set(changes) - set(ENTRY_FIELDS)
    if unknown:
        raise DomainError(f"An entry has no field {', '.join(sorted(unknown))}.")
    row = await _row(session, actor, where, entry_id)
    updated = check_entry(replace(entry_of(row), **dict(changes)))
    for name, value in _values(updated).items():
        setattr(row, name, value)
    row.updated_at = now
    await session.flush()
    return entry_of(row)


async def remove_entry(session: AsyncSession, actor: Actor, where: Where, entry_id: int) -> LoreEntry:
    """Remove the entry; what it was."""
    row = await _row(session, actor, where, entry_id)
    gone = entry_of(row)
    await session.delete(row)
    await session.flush()
    return gone


async def replace_persona_book(
    session: AsyncSession,
    persona_id: int,
    guild_id: int | None,
    rules: BookRules,
    drafts: Sequence[tuple[LoreEntry, dict[str, Any]]],
    extras: dict[str, Any],
    *,
    now: datetime,
) -> int:
    """The persona's book made anew from checked entries (a card's import: the caller checked the persona and the
    entries); how many entries it holds."""
    check_entry_count(len(drafts))
    key = f"persona:{persona_id}"
    old = (await session.execute(select(_B).where(col(_B.scope_key) == key))).scalar_one_or_none()
    if old is not None:
        await session.delete(old)
        await session.flush()
    made = models.LoreBook(
        scope="persona", scope_key=key, persona_id=persona_id, guild_id=guild_id,
        name=str(extras.get("name") or "")[:100],
        scan_depth=rules.scan_depth, token_budget=rules.token_budget, recursion=rules.recursion, extras=extras,
        created_at=now, updated_at=now,
    )  # fmt: skip
    session.add(made)
    await session.flush()
    for entry, entry_extras in drafts:
        session.add(
            _E(book_id=made.id or 0, extras=entry_extras, created_at=now, updated_at=now, **_values(check_entry(entry)))
        )
    await session.flush()
    return len(drafts)
