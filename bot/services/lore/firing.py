"""Which lore reaches a reply (read on the chat path) and the timed effects it starts (written with the exchange).

:func:`activated_lore` reads the books of the persona, of the channel (and of the thread's channel) and of the
server, in two or three queries (or takes them prepared from a shelf: a :class:`~bot.db.changes.ChangeCache` of
:data:`LORE_TABLES`, which the conversation keeps, so a message reads only the timed entries' state), and runs
:func:`bot.core.lore.activate` on the recent messages. It writes nothing:
planning reads only (``Database.reads``); the entries whose sticky or cooldown start now are in the result's
``timing``, which :func:`save_timing` stores in the exchange's transaction
(:func:`bot.services.conversation.record`).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bot.core.lore import Activation, BookRules, LoreEntry, LoreText, ScanMessage, activate
from bot.core.lore.prepared import PreparedBooks, prepare
from bot.db import models
from bot.db.changes import CacheAsOf, ChangeCache
from bot.services.lore.books import entry_of, rules_of

_B = models.LoreBook
_E = models.LoreEntryRow
_S = models.LoreEntryState

# The tables a shelf's prepared books are read from; personas too, since a persona's book goes with it (a cascade
# the statements do not name) and SQLite may give its id to the next persona.
LORE_TABLES = ("lore_books", "lore_entries", "personas")
LoreBooks = ChangeCache[tuple[str, ...], PreparedBooks]  # the books a cog keeps prepared
LoreShelf = LoreBooks | CacheAsOf[tuple[str, ...], PreparedBooks]  # ... or the same for one message (as_of)


@dataclass(frozen=True)
class LoreTiming:
    """Timed entries that fired now in a channel: entry id -> the message id they fired on."""

    channel_id: int
    guild_id: int | None
    started: dict[int, int] = field(default_factory=dict)


@dataclass(frozen=True)
class ActivatedLore:
    """The lore for one reply: the texts for the prompt, what fired and why, and the timing to save."""

    texts: tuple[LoreText, ...] = ()
    activation: Activation = field(default_factory=Activation)
    timing: LoreTiming | None = None
    labels: dict[int, str] = field(default_factory=dict)  # entry id -> how a person names it


def scope_keys(persona_id: int | None, guild_id: int | None, channel_ids: Sequence[int]) -> list[str]:
    keys = [f"channel:{c}" for c in channel_ids]
    if persona_id is not None:
        keys.append(f"persona:{persona_id}")
    if guild_id is not None:
        keys.append(f"server:{guild_id}")
    return keys


async def books_for(
    session: AsyncSession, keys: Sequence[str], *, enabled_only: bool = True
) -> list[tuple[BookRules, list[LoreEntry]]]:
    """The books named by ``keys`` with their entries (enabled ones only, unless told)."""
    found = list((await session.execute(select(_B).where(col(_B.scope_key).in_(list(keys))))).scalars())
    if not found:
        return []
    table = models.metadata.tables["lore_entries"]
    query = select(table).where(table.c.book_id.in_([b.id for b in found]))
    if enabled_only:
        query = query.where(table.c.enabled.is_(True))
    rows = (await session.execute(query)).mappings().all()
    by_book: dict[int, list[LoreEntry]] = {}
    for row in rows:
        by_book.setdefault(row["book_id"], []).append(entry_of(row))
    return [(rules_of(b), by_book.get(b.id or 0, [])) for b in found]


async def prepared_books(session: AsyncSession, keys: Sequence[str]) -> PreparedBooks:
    """The enabled entries of the books named by ``keys``, prepared to scan."""
    return prepare(await books_for(session, keys))


async def _timing(session: AsyncSession, channel_id: int, entry_ids: Sequence[int]) -> dict[int, int]:
    if not entry_ids:
        return {}
    query = select(col(_S.entry_id), col(_S.message_id)).where(
        col(_S.channel_id) == channel_id, col(_S.entry_id).in_(list(entry_ids))
    )
    return {entry_id: message_id for entry_id, message_id in (await session.execute(query)).all()}


def _draw(seed: int) -> Callable[[int], float]:
    def draw(entry_id: int) -> float:
        return random.Random(f"{seed}:{entry_id}").random()

    return draw


async def activated_lore(
    session: AsyncSession,
    persona_id: int | None,
    guild_id: int | None,
    channel_id: int,
    recent: Sequence[ScanMessage],
    now: datetime,
    *,
    parent_id: int | None = None,
    shelf: LoreShelf | None = None,
) -> ActivatedLore:
    """The lore that fires for a reply of ``persona_id`` in ``channel_id`` (a thread's ``parent_id`` channel's book
    counts too) to ``recent`` (oldest first; the message answered last). Reads only (module docstring); ``now`` is
    when the caller asks (kept for the timing rows). ``shelf``: prepared books kept until a lore table changes."""
    del now  # the timing rows get their time when saved
    channels = [channel_id] if parent_id is None else [channel_id, parent_id]
    keys = tuple(scope_keys(persona_id, guild_id, channels))
    if shelf is None:
        books = await prepared_books(session, keys)
    else:
        books = await shelf.get(keys, lambda: prepared_books(session, keys))
    if books.empty:
        return ActivatedLore()
    timing = await _timing(session, channel_id, books.timed_ids)
    seed = recent[-1].message_id if recent and recent[-1].message_id is not None else 0
    activation = activate(books, recent, timing=timing, draw=_draw(seed))
    started = LoreTiming(channel_id, guild_id, dict(activation.started)) if activation.started else None
    return ActivatedLore(activation.texts, activation, started, dict(books.labels))


async def save_timing(session: AsyncSession, timing: LoreTiming | None, *, now: datetime) -> int:
    """Store when timed entries fired (entries removed meanwhile are skipped); how many rows were written."""
    if timing is None or not timing.started:
        return 0
    alive = set((await session.execute(select(col(_E.id)).where(col(_E.id).in_(list(timing.started))))).scalars())
    written = 0
    for entry_id, message_id in timing.started.items():
        if entry_id not in alive:
            continue
        query = select(_S).where(col(_S.entry_id) == entry_id, col(_S.channel_id) == timing.channel_id)
        row = (await session.execute(query)).scalar_one_or_none()
        if row is None:
            session.add(
                _S(
                    entry_id=entry_id,
                    channel_id=timing.channel_id,
                    guild_id=timing.guild_id,
                    message_id=message_id,
                    updated_at=now,
                )
            )
        else:
            row.message_id = message_id
            row.updated_at = now
        written += 1
    await session.flush()
    return written
