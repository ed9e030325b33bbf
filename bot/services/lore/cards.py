"""``/lore test`` (:func:`preview`), and a Character Card's ``character_book`` as the persona's book and back."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bot.core.lore import Activation, ScanMessage, activate
from bot.core.lore.card_books import book_from_card, book_to_card
from bot.core.ownership import Actor
from bot.db import models
from bot.services.lore.books import Where, book, entry_of, replace_persona_book, rules_of

_E = models.LoreEntryRow


async def preview(session: AsyncSession, actor: Actor, where: Where, text: str) -> tuple[Activation, dict[int, str]]:
    """Which entries of the book would fire if ``text`` were the message answered, and why (every entry is
    considered, timed effects as if the channel had no history); entry labels by id."""
    found = await book(session, actor, where)
    if found is None:
        return Activation(), {}
    rows = (await session.execute(select(_E).where(col(_E.book_id) == found.id))).scalars()
    entries = [entry_of(row) for row in rows]
    activation = activate([(rules_of(found), entries)], [ScanMessage(text)], draw=lambda _entry_id: 0.0)
    return activation, {e.id: e.label for e in entries}


async def import_book(
    session: AsyncSession, persona_id: int, guild_id: int | None, character_book: Any, *, now: datetime
) -> int:
    """A card's ``character_book`` as the new persona's book (checked whole first: a malformed book, too many
    entries, an entry too long or a pattern not safe is refused with a sentence); how many entries it brought. The
    caller created the persona in this transaction."""
    card_book = book_from_card(character_book)
    drafts = list(zip(card_book.entries, card_book.entry_extras, strict=True))
    return await replace_persona_book(session, persona_id, guild_id, card_book.rules, drafts, card_book.extras, now=now)


async def export_book(
    session: AsyncSession, persona_id: int, *, name: str = "", version: int = 2
) -> dict[str, Any] | None:
    """The persona's book as a card's ``character_book`` (None: it has none, or an empty one). The caller checked
    that the asker owns the persona."""
    found = (
        await session.execute(select(models.LoreBook).where(col(models.LoreBook.scope_key) == f"persona:{persona_id}"))
    ).scalar_one_or_none()
    if found is None:
        return None
    rows = list((await session.execute(select(_E).where(col(_E.book_id) == found.id).order_by(col(_E.id)))).scalars())
    if not rows:
        return None
    extras: list[Mapping[str, Any]] = [row.extras or {} for row in rows]
    return book_to_card(
        rules_of(found),
        [entry_of(r) for r in rows],
        extras,
        found.extras or {},
        name=found.name or name,
        version=version,
    )
