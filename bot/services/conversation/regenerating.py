"""Another take of a reply: which reply a message belongs to, whether the person asking may have one, and what the
exchange leaves behind once the new take replaced the old one.

The chat pipeline records each reply's messages with the message they answered and its author
(:func:`bot.services.conversation.record`). :func:`ask_for_take` finds the reply a message belongs to (all its parts)
and refuses, with a sentence, anyone but the answered person or the persona's owner, a reply past its takes, and a
person within their cool-down (:mod:`bot.core.regeneration`). After the new take is out, :func:`replace_take` makes
what was recorded follow it:

- **persona messages**: the reply's rows are its messages now (parts that went are deleted, new parts recorded), all
  with the reply's count of takes;
- **the exchange memory** (the one captured from the answered message: its ``source_message_id``) is rewritten to
  the new take, in place (its importance, strength and age stay: the exchange happened once). When the author no
  longer consents it is deleted instead; when there was none (no consent then, or forgotten since) none is made;
- **the receipt** (the memories the reply used, :mod:`bot.services.receipts`) is the new take's;
- **the relationship, the interaction count and recalled memories** are not touched: the old take counted the
  exchange once, and a new take of it is the same exchange, so nothing is counted twice.

Plain ids and data in and out; the caller owns the transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bot.core import regeneration as rules
from bot.core.errors import DomainError
from bot.core.inputs import storable
from bot.core.personas import PrivacySettings
from bot.db import models
from bot.services import consent, crypto, persona_messages, receipts
from bot.services.conversation.data import Incoming
from bot.services.conversation.remembering import exchange_text
from bot.services.memories import MAX_CONTENT_CHARS, vectors

_M = models.PersonaMessage
_P = models.Persona
_MEM = models.Memory


@dataclass(frozen=True)
class Take:
    """A persona's reply to someone, as recorded: its messages in order, what it answered, and its takes so far."""

    persona_id: int
    persona_name: str
    owner_id: int
    guild_id: int | None
    channel_id: int
    answered_message_id: int
    answered_author_id: int | None
    message_ids: tuple[int, ...]
    via_webhook: bool
    takes: int


@dataclass(frozen=True)
class Replaced:
    """What :func:`replace_take` left: the reply's messages, its takes, and what became of the exchange memory
    (``"rewritten"``, ``"forgotten"``: the author no longer consents, or ``"none"``)."""

    message_ids: tuple[int, ...]
    takes: int
    memory: str
    memory_id: int | None = None


async def find_take(session: AsyncSession, message_id: int) -> Take | None:
    """The reply ``message_id`` is part of, or None (not a persona's reply to someone: an apology, a farewell, a
    message of anyone else, or a persona deleted since)."""
    parts = await persona_messages.reply_parts(session, message_id)
    if not parts:
        return None
    row = next(part for part in parts if part.message_id == message_id)
    persona = await session.get(_P, row.persona_id)
    if persona is None or persona.id is None or row.answered_message_id is None:
        return None
    return Take(
        persona_id=persona.id,
        persona_name=persona.name,
        owner_id=persona.owner_id,
        guild_id=row.guild_id,
        channel_id=row.channel_id,
        answered_message_id=row.answered_message_id,
        answered_author_id=row.answered_author_id,
        message_ids=tuple(part.message_id for part in parts),
        via_webhook=row.via_webhook,
        takes=max(part.takes for part in parts),
    )


async def ask_for_take(
    session: AsyncSession, message_id: int, *, actor_id: int, last_asked: datetime | None, now: datetime
) -> Take:
    """The reply ``message_id`` belongs to, when ``actor_id`` may have another take of it now (``last_asked``: when
    they last asked, for the cool-down); otherwise a :class:`DomainError` saying why (module docstring)."""
    take = await find_take(session, message_id)
    if take is None:
        raise DomainError(rules.NOT_A_REPLY)
    rules.check_request(
        actor_id,
        answered_author_id=take.answered_author_id,
        owner_id=take.owner_id,
        persona_name=take.persona_name,
        takes=take.takes,
        last_asked=last_asked,
        now=now,
    )
    return take


async def replace_take(
    session: AsyncSession,
    take: Take,
    incoming: Incoming,
    *,
    reply_text: str,
    message_ids: Sequence[int],
    via_webhook: bool,
    now: datetime,
    encryption_key: str | None = None,
    used: Sequence[int] = (),
) -> Replaced:
    """Make what the exchange left follow the new take (module docstring). ``incoming`` is the answered message
    (read again), ``message_ids`` the new take's messages in order (the old ones where it was edited in place),
    ``used`` the memories that reached the new take's prompt (best first)."""
    if not message_ids:
        raise DomainError("A new take needs at least one message.")
    takes = take.takes + 1
    await _messages_follow(session, take, incoming, message_ids, via_webhook=via_webhook, now=now, takes=takes)
    await receipts.follow_take(
        session,
        persona_id=take.persona_id,
        old_message_ids=take.message_ids,
        new_message_ids=message_ids,
        answered_author_id=incoming.author_id,
        memory_ids=used,
    )
    memory, memory_id = await _memory_follows(session, take, incoming, reply_text, encryption_key=encryption_key)
    return Replaced(tuple(message_ids), takes, memory, memory_id)


async def _messages_follow(
    session: AsyncSession,
    take: Take,
    incoming: Incoming,
    message_ids: Sequence[int],
    *,
    via_webhook: bool,
    now: datetime,
    takes: int,
) -> None:
    gone = [mid for mid in take.message_ids if mid not in message_ids]
    if gone:
        await session.execute(delete(_M).where(col(_M.message_id).in_(gone)))
    for part, message_id in enumerate(message_ids):
        await persona_messages.record(
            session,
            message_id=message_id,
            persona_id=take.persona_id,
            guild_id=take.guild_id,
            channel_id=take.channel_id,
            via_webhook=via_webhook,
            now=now,
            answered_message_id=take.answered_message_id,
            answered_author_id=incoming.author_id,
            part=part,
        )
        await session.execute(update(_M).where(col(_M.message_id) == message_id).values(part=part, takes=takes))


async def _memory_follows(
    session: AsyncSession, take: Take, incoming: Incoming, reply_text: str, *, encryption_key: str | None
) -> tuple[str, int | None]:
    query = select(_MEM).where(
        col(_MEM.persona_id) == take.persona_id,
        col(_MEM.source_message_id) == take.answered_message_id,
        col(_MEM.source_user_id) == incoming.author_id,
        col(_MEM.category) == "conversation",
    )
    memory = (await session.execute(query.order_by(col(_MEM.id)).limit(1))).scalar_one_or_none()
    persona = await session.get(_P, take.persona_id)
    if memory is None or memory.id is None or persona is None:
        return "none", None
    privacy = _privacy(persona)
    decision = None
    if privacy is not None:
        decision = await consent.decide(
            session, user_id=incoming.author_id, guild_id=incoming.guild_id, persona_id=take.persona_id, privacy=privacy
        )
    if privacy is None or decision is None or not decision.allowed:  # consent revoked since: the memory goes
        await session.execute(delete(_MEM).where(col(_MEM.id) == memory.id))
        return "forgotten", None
    naming = await consent.memory_naming(
        session,
        exchange_text(incoming, take.persona_name, reply_text),
        author_id=incoming.author_id,
        guild_id=incoming.guild_id,
        persona_id=take.persona_id,
        privacy=privacy,
    )
    text = storable(naming.text).strip()[:MAX_CONTENT_CHARS]
    stored = crypto.encrypt(text, encryption_key) if memory.encrypted else text
    await session.execute(
        update(_MEM).where(col(_MEM.id) == memory.id).values(content=stored, subject_user_id=naming.subject_user_id)
    )
    await vectors.words_rewritten(session, [memory.id])  # its meaning held the replaced reply
    return "rewritten", memory.id


def _privacy(persona: models.Persona) -> PrivacySettings | None:
    try:
        return PrivacySettings.from_dict(persona.privacy_settings)
    except DomainError:
        return None  # unreadable settings remember no one
