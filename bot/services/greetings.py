"""A persona's greeting when it is activated in a channel: chosen, claimed once per channel, and recorded once
posted.

The cog activates the persona (:func:`bot.services.bindings.activate`), then the greeting workflow
(``bot/workflows/greeting.py``) calls :func:`claim` in a transaction of its own: the greeting to post (the card's
``first_mes`` or one of its alternates, :mod:`bot.core.greetings`), with the channel marked as greeted
(``persona_greetings``, which outlives the binding, so switching the persona off and on does not greet again).
After Discord took a message, :func:`posted` records it as the persona's (reactions on it are its triggers,
replies to it address it, and the channel history the model sees shows it as its words); when posting failed,
:func:`release` forgets the claim, so the next activation tries again. A persona with no greeting claims nothing and
posts nothing. Plain ids and data in and out; the caller owns each transaction.

**A crash between claim and post** (migration 0021): a claim not yet posted carries ``claimed_at`` and the process
that made it (``claim_holder``, :mod:`bot.db.presence`), cleared when the first message is recorded. Such a claim
whose :data:`LEASE` ran out, or whose process is gone (a restart), is claimed again: by the next activation there,
or by the sweep shortly after start (:func:`stale_claims`, run by ``bot/runtime/scheduling.py``). A posted greeting
is never claimed again. The one window left is Discord taking a message and the process dying before
:func:`posted` ran (milliseconds); the workflow records each message as soon as Discord took it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Table, and_, delete, func, or_, select, update
from sqlalchemy.dialects import postgresql as pg_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bot.core.greetings import choose_greeting, greeting_parts, resolve_macros
from bot.db import models, presence
from bot.services import persona_messages
from bot.services.access import persona_or_not_found

_G = models.PersonaGreeting
LEASE = timedelta(minutes=2)  # how long an unposted claim belongs to the live process that made it


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


def _stale(session: AsyncSession, now: datetime, holder: presence.Holder | None) -> ColumnElement[bool]:
    """SQL: a claim not yet posted that may be taken again: its lease ran out, or the process that made it is gone."""
    dialect = session.get_bind().dialect.name
    return and_(
        col(_G.claimed_at).is_not(None),
        or_(col(_G.claimed_at) <= now - LEASE, presence.holder_gone(col(_G.claim_holder), holder, dialect)),
    )


async def claim(
    session: AsyncSession,
    persona_id: int,
    channel_id: int,
    *,
    guild_id: int,
    user_name: str,
    draw: float,
    now: datetime,
    holder: presence.Holder | None = None,
    unposted_only: bool = False,
) -> Greeting | None:
    """The greeting the persona posts in the channel it was just activated in, the channel marked as greeted
    (claimed by ``holder``, this process); None when it greeted there before, another process's claim is still
    live, or it has no greeting. A claim left unposted by a crash is taken over (module docstring). ``user_name``
    is who activated it (``{{user}}``); ``draw`` in [0, 1) chooses among the greeting and its alternates.
    ``unposted_only``: only take over a claim left unposted (a persona activated again where it was already active
    never greets anew)."""
    persona = await persona_or_not_found(session, persona_id)
    where = (col(_G.persona_id) == persona_id, col(_G.channel_id) == channel_id)
    found = (await session.execute(select(col(_G.claimed_at)).where(*where))).first()
    if (found is None and unposted_only) or (found is not None and found[0] is None):
        return None  # nothing left unposted; or posted (or the channel was met before greetings existed)
    alternates = persona.alternate_greetings if isinstance(persona.alternate_greetings, list) else []
    text = choose_greeting(persona.greeting or "", alternates, draw)
    char = (persona.nickname or "").strip() or persona.name
    seed = f"greeting|{persona_id}|{channel_id}|{draw}"  # {{random}} varies by channel and draw
    parts = greeting_parts(resolve_macros(text, char=char, user=user_name, seed=seed)) if text is not None else []
    if not parts:
        return None
    claimed = {"claimed_at": now, "claim_holder": holder.value if holder is not None else None}
    if found is None:
        table: Table = models.metadata.tables["persona_greetings"]
        maker = pg_dialect.insert if session.get_bind().dialect.name == "postgresql" else sqlite_dialect.insert
        statement = (
            maker(table)
            .values(persona_id=persona_id, channel_id=channel_id, guild_id=guild_id, greeted_at=now, **claimed)
            .on_conflict_do_nothing(index_elements=[table.c.persona_id, table.c.channel_id])
        )
        result = await session.execute(statement)
    else:  # an unposted claim: taken over only when stale (one guarded UPDATE: two processes never both win)
        result = await session.execute(
            update(_G).where(*where, _stale(session, now, holder)).values(greeted_at=now, **claimed)
        )
    assert isinstance(result, CursorResult)  # an INSERT's or UPDATE's result: it counts the rows written
    if not result.rowcount:
        return None
    return Greeting(persona_id, persona.name, persona.avatar_url, guild_id, channel_id, tuple(parts))


@dataclass(frozen=True)
class StaleClaim:
    """A greeting claimed and left unposted (a crash), where the persona is (``bound``) or no longer is active, and
    who switched it on there (None: unknown, or they asked to be forgotten)."""

    persona_id: int
    channel_id: int
    guild_id: int
    bound: bool
    activated_by: int | None


async def stale_claims(session: AsyncSession, now: datetime, holder: presence.Holder | None = None) -> list[StaleClaim]:
    """The claims left unposted by a crash that may be taken again now (oldest first, at most 100 a sweep)."""
    binding = models.ChannelBinding
    query = (
        select(col(_G.persona_id), col(_G.channel_id), col(_G.guild_id), col(binding.id), col(binding.activated_by))
        .outerjoin(
            binding, and_(col(binding.persona_id) == col(_G.persona_id), col(binding.channel_id) == col(_G.channel_id))
        )
        .where(_stale(session, now, holder))
        .order_by(col(_G.claimed_at))
        .limit(100)
    )
    return [StaleClaim(p, c, g, b is not None, a) for p, c, g, b, a in (await session.execute(query)).all()]


async def posted(
    session: AsyncSession,
    greeting: Greeting,
    message_ids: Sequence[int],
    *,
    via_webhook: bool,
    now: datetime,
) -> None:
    """Discord took some of the greeting's messages: they are the persona's
    (:func:`bot.services.persona_messages.record`), and the claim is done (the first message kept with it; it is
    never claimed again)."""
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
            .values(message_id=func.coalesce(col(_G.message_id), message_ids[0]), claimed_at=None, claim_holder=None)
        )


async def release(session: AsyncSession, persona_id: int, channel_id: int) -> None:
    """Posting the greeting failed (or its persona no longer speaks there): forget the claim, so the next
    activation greets. A posted greeting is never forgotten."""
    await session.execute(
        delete(_G).where(
            col(_G.persona_id) == persona_id, col(_G.channel_id) == channel_id, col(_G.claimed_at).is_not(None)
        )
    )
