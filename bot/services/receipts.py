"""Memory receipts: which memories a persona's reply used, who may see them, and forgetting or correcting one of
them from there.

A receipt (``memory_receipts``) is written with the reply, in the transaction that records the exchange
(:func:`bot.services.conversation.record`): the memories that reached the reply's prompt, best first, keyed by the
reply's first message. Another take (:func:`bot.services.conversation.replace_take`) replaces it with the new take's
(:func:`follow_take`). A receipt row goes with the memory (forgetting a memory forgets that it was used), with the
reply's message record and with the persona.

**Who sees why** (:func:`why`), privately:

- the **person the reply answered** sees the memories about them alone (their words, or words about them, and no
  one else's: ``source_user_id`` and ``subject_user_id`` name nobody but them) and the persona's own memories (no
  person named, not marked sensitive); every other memory is counted, never shown ("and N others not shown"): a
  memory about someone else is theirs, and the answered person could not read it through any other command;
- the **persona's owner** sees every memory used: they may read all of their persona's memories already
  (``/memory search``), so the receipt tells them nothing new about anyone;
- **anyone else** is refused with a sentence (:data:`NOT_YOURS`).

**Forget or correct** (:func:`forget`, :func:`correct`): a memory about the person alone may be forgotten or
corrected by that person; any memory of the persona by its owner (forgetting goes through
:func:`bot.services.memories.forget`, the owner's path, with its check). Nobody else, whatever button they press.
The text a person corrects a memory to is stored as they typed it (encrypted when the memory is); the search index
follows (the database's triggers on ``memories.content``).

Plain ids and data in and out; the caller owns the transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bot.core.errors import DomainError, NotFound
from bot.core.inputs import require_storable
from bot.core.ownership import Actor
from bot.core.text import clip
from bot.db import models
from bot.services import crypto, persona_messages
from bot.services import memories as memory_service
from bot.services.memories import MAX_CONTENT_CHARS, MemoryRecord, vectors
from bot.services.memories.records import TABLE, memory_select, record_of

_R = models.MemoryReceipt
_P = models.Persona
_MEM = models.Memory
_RT = models.metadata.tables["memory_receipts"]

NOT_A_REPLY = "That is not a persona's reply to someone, so no memories shaped it."
NOT_YOURS = "Only the person this reply answered, or {name}'s owner, can see why it said this."
NOT_ABOUT_YOU = "You can forget or correct only a memory about you (the persona's owner can change any of them)."
GONE = "That memory is not there any more (it may have been forgotten)."
EMPTY = "A corrected memory needs some words; to remove it, press Forget instead."


@dataclass(frozen=True)
class UsedMemory:
    """A memory a reply used, as its viewer may see it: its rank in the prompt (0: first) and whether the viewer
    may forget or correct it (``yours``)."""

    memory: MemoryRecord
    rank: int
    yours: bool


@dataclass(frozen=True)
class Why:
    """What shaped a reply, for one viewer: the memories they may see (best first), how many others it used that
    they may not, and whether they see it as the persona's owner."""

    persona_id: int
    persona_name: str
    reply_message_id: int  # the reply's first message (the receipt's key)
    answered_author_id: int | None
    shown: tuple[UsedMemory, ...]
    hidden: int
    as_owner: bool


# ---------------------------------------------------------------------------------------------------- writing


async def save(
    session: AsyncSession,
    *,
    persona_id: int,
    reply_message_id: int,
    answered_author_id: int | None,
    memory_ids: Sequence[int],
) -> int:
    """Record that the reply ``reply_message_id`` (its first message, already recorded) used ``memory_ids`` (best
    first), replacing what it had; memories forgotten since its plan are left out. Returns the rows written."""
    await session.execute(delete(_R).where(col(_R.reply_message_id) == reply_message_id))
    ids = list(dict.fromkeys(memory_ids))
    if not ids:
        return 0
    there = set(
        (
            await session.execute(select(col(_MEM.id)).where(col(_MEM.id).in_(ids), col(_MEM.persona_id) == persona_id))
        ).scalars()
    )
    rows = [
        {
            "reply_message_id": reply_message_id,
            "persona_id": persona_id,
            "memory_id": memory_id,
            "rank": rank,
            "answered_author_id": answered_author_id,
        }
        for rank, memory_id in enumerate(ids)
        if memory_id in there
    ]
    if rows:
        await session.execute(insert(_R), rows)
    return len(rows)


async def follow_take(
    session: AsyncSession,
    *,
    persona_id: int,
    old_message_ids: Sequence[int],
    new_message_ids: Sequence[int],
    answered_author_id: int | None,
    memory_ids: Sequence[int],
) -> int:
    """Another take replaced a reply: its receipt is the new take's (``memory_ids``, what the new take's prompt
    used), on its first message. Returns the rows written."""
    if old_message_ids:
        await session.execute(delete(_R).where(col(_R.reply_message_id).in_(list(old_message_ids))))
    if not new_message_ids:
        return 0
    return await save(
        session,
        persona_id=persona_id,
        reply_message_id=new_message_ids[0],
        answered_author_id=answered_author_id,
        memory_ids=memory_ids,
    )


# ---------------------------------------------------------------------------------------------------- reading


def about_only(memory: MemoryRecord | Any, user_id: int) -> bool:
    """Whether the memory names ``user_id`` and nobody else (its author and the person it is about)."""
    people = {memory.source_user_id, memory.subject_user_id} - {None}
    return people == {user_id}


def _the_personas_own(memory: MemoryRecord) -> bool:
    return memory.source_user_id is None and memory.subject_user_id is None and not memory.sensitive


async def why(session: AsyncSession, message_id: int, *, viewer: int, encryption_key: str | None = None) -> Why:
    """What shaped the reply ``message_id`` (any of its messages), as ``viewer`` may see it (module docstring); a
    :class:`DomainError` when it is no reply or ``viewer`` may not see it."""
    parts = await persona_messages.reply_parts(session, message_id)
    if not parts:
        raise DomainError(NOT_A_REPLY)
    first, message_ids = parts[0], [part.message_id for part in parts]
    persona = await session.get(_P, first.persona_id)
    if persona is None or persona.id is None:
        raise DomainError(NOT_A_REPLY)
    as_owner = persona.owner_id == viewer
    if not as_owner and (first.answered_author_id is None or first.answered_author_id != viewer):
        raise DomainError(NOT_YOURS.format(name=clip(persona.name, 80)))
    query = (
        memory_select()
        .add_columns(_RT.c.rank)
        .join(_RT, _RT.c.memory_id == TABLE.c.id)
        .where(_RT.c.reply_message_id.in_(message_ids))
        .order_by(_RT.c.rank)
    )
    shown: list[UsedMemory] = []
    hidden = 0
    for row in (await session.execute(query)).all():
        memory = record_of(row, encryption_key)
        yours = as_owner or about_only(memory, viewer)
        if yours or _the_personas_own(memory):
            shown.append(UsedMemory(memory, row.rank, yours))
        else:
            hidden += 1
    return Why(persona.id, persona.name, message_ids[0], first.answered_author_id, tuple(shown), hidden, as_owner)


# ---------------------------------------------------------------------------------------------------- changing


async def _changeable(session: AsyncSession, actor: Actor, memory_id: int) -> tuple[Any, bool]:
    """The memory's row, and whether ``actor`` owns its persona; :class:`DomainError` unless they own it or the
    memory is about them alone."""
    row = (await session.execute(memory_select().where(TABLE.c.id == memory_id))).first()
    if row is None:
        raise NotFound(GONE)
    persona = await session.get(_P, row.persona_id)
    owner = persona is not None and persona.owner_id == actor.user_id
    if not owner and not about_only(row, actor.user_id):
        raise DomainError(NOT_ABOUT_YOU)
    return row, owner


async def forget(
    session: AsyncSession, actor: Actor, memory_id: int, *, encryption_key: str | None = None
) -> MemoryRecord:
    """Delete the memory (its receipts go with it) when ``actor`` may (module docstring); returns what was
    forgotten."""
    row, owner = await _changeable(session, actor, memory_id)
    if owner:
        return await memory_service.forget(session, actor, row.persona_id, memory_id, encryption_key=encryption_key)
    await session.execute(delete(_MEM).where(col(_MEM.id) == memory_id))
    return record_of(row, encryption_key)


async def correct(
    session: AsyncSession, actor: Actor, memory_id: int, text: str, *, encryption_key: str | None = None
) -> MemoryRecord:
    """Rewrite the memory's words to ``text`` when ``actor`` may (module docstring); returns it as it is now."""
    row, _ = await _changeable(session, actor, memory_id)
    words = require_storable(text, "The corrected memory").strip()[:MAX_CONTENT_CHARS]
    if not words:
        raise DomainError(EMPTY)
    stored = crypto.encrypt(words, encryption_key) if row.encrypted else words
    await session.execute(update(_MEM).where(col(_MEM.id) == memory_id).values(content=stored))
    await vectors.words_rewritten(session, [memory_id])  # its meaning held the old words
    return replace(record_of(row, encryption_key), content=words, readable=True)
