"""The memories a reply's prompt gets (:func:`prompt_memories`: read only; the recall is applied when the exchange
is recorded), and the planner's early memory searches: with a second connection to read on (``Database.reads`` where
reads run side by side: PostgreSQL), each speaker's search (the longest read of a plan) starts as soon as it is
likely to speak (named in the message, or chosen by the turn rules) and runs while the rest is read on the first."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from functools import partial

from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import memories
from bot.services.conversation.data import Incoming, Speaker
from bot.services.conversation.remembering import retrieval_query

MEMORY_K = 6  # memories retrieved into each prompt

Reader = Callable[[], AbstractAsyncContextManager[AsyncSession]]
Retrieval = asyncio.Task[list[memories.RetrievedMemory]]


async def prompt_memories(
    session: AsyncSession,
    persona_id: int,
    query: str,
    *,
    now: datetime,
    key: str | None,
    weights: tuple[float, float, float] | None,
) -> list[memories.RetrievedMemory]:
    """The ``MEMORY_K`` memories a reply's prompt gets for ``query`` (read only: the recall is applied when the
    exchange is recorded)."""
    return await memories.retrieve(
        session, persona_id, query, k=MEMORY_K, now=now, encryption_key=key, mark_accessed=False, weights=weights
    )


def search_early(
    reader: Reader | None,
    incoming: Incoming,
    speakers: Sequence[Speaker],
    *,
    now: datetime,
    key: str | None,
    weights: Mapping[int, tuple[float, float, float]],
) -> dict[int, Retrieval]:
    """With a second connection to read on, each of ``speakers``' memory search starts now, in a task of its own;
    none without one."""
    early: dict[int, Retrieval] = {}
    if reader is None:
        return early
    for speaker in speakers:
        # A message with no content word ("hi") still recalls: the recent, important memories (docs/retrieval.md).
        query = retrieval_query(incoming.content, speaker.name)
        pid = speaker.persona_id
        search = partial(prompt_memories, persona_id=pid, query=query, now=now, key=key, weights=weights.get(pid))
        early[pid] = asyncio.create_task(_apart(reader, search))
    return early


async def drop(searches: Iterable[Retrieval]) -> None:
    """Cancel memory searches no longer wanted (finished ones are left as they are) and wait until they have ended."""
    tasks = list(searches)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def _apart(
    reader: Reader, search: Callable[[AsyncSession], Awaitable[list[memories.RetrievedMemory]]]
) -> list[memories.RetrievedMemory]:
    """``search`` on a session of its own (the second connection)."""
    async with reader() as session:
        return await search(session)
