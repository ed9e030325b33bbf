"""Which messages are a persona's.

A persona speaks through its channel's webhook (or the bot speaks on its behalf); whoever sends the message calls
:func:`record` right after Discord accepted it, in its own short transaction. Reactions on those messages are the
persona's emotional triggers: the reaction listener asks :func:`lookup` (or :func:`persona_for_message`) which
persona, if any, a message belongs to; the conversation service asks which persona a reply was addressed to, and
which messages make up a reply (:func:`reply_parts`: another take, a memory receipt). Rows
go with their persona (``ON DELETE CASCADE``), so a deleted persona's messages stop counting. (Who may read a
persona's mood is :func:`bot.services.emotions.mood_access`.)

Plain ids and data in and out; the caller owns the transaction. SQLite runs inline with one connection per
process: nothing here awaits anything but its own session.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Table, select
from sqlalchemy.dialects import postgresql as pg_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bot.core.errors import DomainError
from bot.db import models
from bot.services.access import persona_or_not_found

_M = models.PersonaMessage
_P = models.Persona


@dataclass(frozen=True)
class PersonaMessageView:
    """A persona's message, with what the reaction listener needs to know about its persona now."""

    message_id: int
    persona_id: int
    guild_id: int | None
    channel_id: int
    via_webhook: bool
    react_with_mood: bool


# ----------------------------------------------------------------------------------------------------
# Persona messages


def _check_id(value: int, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 2**63:
        raise DomainError(f"The {what} must be a Discord id (a positive integer).")
    return value


async def record(
    session: AsyncSession,
    *,
    message_id: int,
    persona_id: int,
    guild_id: int | None,
    channel_id: int,
    via_webhook: bool = True,
    now: datetime,
    answered_message_id: int | None = None,
    answered_author_id: int | None = None,
    part: int = 0,
) -> bool:
    """Remember that ``persona_id`` sent ``message_id``. Idempotent: recording the same message again changes
    nothing (the first record wins). Returns whether a row was written. A persona that does not exist is
    :class:`NotFound`. A reply to someone also keeps the message it answered and its author, and which ``part`` of
    the reply this message is (0: the first): what another take needs (``bot/core/regeneration.py``)."""
    _check_id(message_id, "message id")
    _check_id(channel_id, "channel id")
    if guild_id is not None:
        _check_id(guild_id, "server id")
    if now.tzinfo is None:
        raise DomainError("The time must be timezone-aware (UTC).")
    await persona_or_not_found(session, persona_id)
    table: Table = _M.__table__  # type: ignore[attr-defined]  # SQLModel declares no __table__
    maker = pg_dialect.insert if session.get_bind().dialect.name == "postgresql" else sqlite_dialect.insert
    statement = (
        maker(table)
        .values(
            message_id=message_id,
            persona_id=persona_id,
            guild_id=guild_id,
            channel_id=channel_id,
            via_webhook=via_webhook,
            created_at=now,
            answered_message_id=answered_message_id,
            answered_author_id=answered_author_id,
            part=part,
        )
        .on_conflict_do_nothing(index_elements=[table.c.message_id])
    )
    result = await session.execute(statement)
    assert isinstance(result, CursorResult)  # an INSERT's result: it counts the rows written
    return bool(result.rowcount)


async def persona_for_message(session: AsyncSession, message_id: int) -> int | None:
    """The persona that sent ``message_id``, or None (not a persona's message, or its persona was deleted)."""
    query = select(col(_M.persona_id)).where(col(_M.message_id) == message_id)
    return (await session.execute(query)).scalar_one_or_none()


async def reply_parts(session: AsyncSession, message_id: int) -> list[models.PersonaMessage]:
    """The messages of the persona's reply that ``message_id`` is part of, in order (first part first); empty when
    ``message_id`` is not a persona's reply to someone."""
    row = await session.get(_M, message_id)
    if row is None or row.answered_message_id is None:
        return []
    query = (
        select(_M)
        .where(
            col(_M.persona_id) == row.persona_id,
            col(_M.channel_id) == row.channel_id,
            col(_M.answered_message_id) == row.answered_message_id,
        )
        .order_by(col(_M.part), col(_M.message_id))
    )
    return list((await session.execute(query)).scalars())


async def lookup(session: AsyncSession, message_id: int) -> PersonaMessageView | None:
    """The persona message ``message_id`` with its persona's current ``react_with_mood`` setting (one query)."""
    return (await lookup_many(session, [message_id])).get(message_id)


async def lookup_many(session: AsyncSession, message_ids: Iterable[int]) -> dict[int, PersonaMessageView]:
    """:func:`lookup` for many messages in one query: the persona messages among ``message_ids``, by id."""
    ids = sorted(set(message_ids))
    if not ids:
        return {}
    query = (
        select(
            col(_M.message_id),
            col(_M.persona_id),
            col(_M.guild_id),
            col(_M.channel_id),
            col(_M.via_webhook),
            col(_P.behavior_settings),
        )
        .join(_P, col(_P.id) == col(_M.persona_id))
        .where(col(_M.message_id).in_(ids))
    )
    return {
        row[0]: PersonaMessageView(
            message_id=row[0],
            persona_id=row[1],
            guild_id=row[2],
            channel_id=row[3],
            via_webhook=bool(row[4]),
            react_with_mood=_react_with_mood(row[5]),
        )
        for row in (await session.execute(query)).all()
    }


def _react_with_mood(settings: Any) -> bool:
    """The stored behaviour setting (validated when it was written; anything but ``true`` is off)."""
    return isinstance(settings, Mapping) and settings.get("react_with_mood") is True
