"""A persona's greeting when it is activated in a channel: chosen, claimed once per channel, and recorded once
posted.

The cog activates the persona (:func:`bot.services.bindings.activate`), then the greeting workflow
(``bot/workflows/greeting.py``) calls :func:`claim` in a transaction of its own: the greeting to post (the card's
``first_mes`` or one of its alternates, :mod:`bot.core.greetings`), with the channel marked as greeted
(``persona_greetings``, which outlives the binding, so switching the persona off and on does not greet again).
After Discord took the messages, :func:`posted` records them as the persona's (reactions on them are its triggers,
replies to them address it, and the channel history the model sees shows them as its words); when posting
failed, :func:`release` forgets the claim, so the next activation tries again. A persona with no greeting claims
nothing and posts nothing. Plain ids and data in and out; the caller owns each transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Table, delete, select, update
from sqlalchemy.dialects import postgresql as pg_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bot.core.greetings import choose_greeting, greeting_parts, resolve_macros
from bot.db import models
from bot.services import persona_messages
from bot.services.access import persona_or_not_found

_G = models.PersonaGreeting


@dataclass(frozen=True)
class Greeting:
    """A greeting to post: who says it (name and avatar, as in chat), where, and its messages (each within
    Discord's 2,000 characters)."""

    persona_id: int
    name: str
    avatar_url: str | None
    guild_id: int
    channel_id: int
    parts: tuple[str, ...]


async def greeted(session: AsyncSession, persona_id: int, channel_id: int) -> bool:
    """Whether the persona has greeted the channel (or claimed it: its greeting is on its way)."""
    query = select(col(_G.greeted_at)).where(col(_G.persona_id) == persona_id, col(_G.channel_id) == channel_id)
    return (await session.execute(query)).first() is not None


async def claim(
    session: AsyncSession,
    persona_id: int,
    channel_id: int,
    *,
    guild_id: int,
    user_name: str,
    draw: float,
    now: datetime,
) -> Greeting | None:
    """The greeting the persona posts in the channel it was just activated in, the channel marked as greeted; None
    when it greeted there before (or another process claimed it just now) or has no greeting. ``user_name`` is
    who activated it (``{{user}}``); ``draw`` in [0, 1) chooses among the greeting and its alternates."""
    persona = await persona_or_not_found(session, persona_id)
    if await greeted(session, persona_id, channel_id):
        return None
    alternates = persona.alternate_greetings if isinstance(persona.alternate_greetings, list) else []
    text = choose_greeting(persona.greeting or "", alternates, draw)
    char = (persona.nickname or "").strip() or persona.name
    seed = f"greeting|{persona_id}|{channel_id}|{draw}"  # {{random}} varies by channel and draw
    parts = greeting_parts(resolve_macros(text, char=char, user=user_name, seed=seed)) if text is not None else []
    if not parts:
        return None
    table: Table = models.metadata.tables["persona_greetings"]
    maker = pg_dialect.insert if session.get_bind().dialect.name == "postgresql" else sqlite_dialect.insert
    statement = (
        maker(table)
        .values(persona_id=persona_id, channel_id=channel_id, guild_id=guild_id, greeted_at=now)
        .on_conflict_do_nothing(index_elements=[table.c.persona_id, table.c.channel_id])
    )
    result = await session.execute(statement)
    assert isinstance(result, CursorResult)  # an INSERT's result: it counts the rows written
    if not result.rowcount:
        return None
    return Greeting(persona_id, persona.name, persona.avatar_url, guild_id, channel_id, tuple(parts))


async def posted(
    session: AsyncSession,
    greeting: Greeting,
    message_ids: Sequence[int],
    *,
    via_webhook: bool,
    now: datetime,
) -> None:
    """Discord took the greeting's messages: they are the persona's (:func:`bot.services.persona_messages.record`)
    and the first is kept with the claim."""
    for message_id in message_ids:
        await persona_messages.record(
            session,
            message_id=message_id,
            persona_id=greeting.persona_id,
            guild_id=greeting.guild_id,
            channel_id=greeting.channel_id,
            via_webhook=via_webhook,
            now=now,
        )
    if message_ids:
        await session.execute(
            update(_G)
            .where(col(_G.persona_id) == greeting.persona_id, col(_G.channel_id) == greeting.channel_id)
            .values(message_id=message_ids[0])
        )


async def release(session: AsyncSession, persona_id: int, channel_id: int) -> None:
    """Posting the greeting failed: forget the claim, so the next activation greets."""
    await session.execute(delete(_G).where(col(_G.persona_id) == persona_id, col(_G.channel_id) == channel_id))
