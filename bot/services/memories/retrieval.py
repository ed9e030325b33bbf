"""Retrieval and search: the memories to put in a prompt for a query, best first, each with its component scores;
the recall that marks them accessed (applied at once, or kept for later); ``/memory search``.

Full-text search: SQLite ranks with FTS5's ``bm25`` over ``memories_fts`` (migration 0003); PostgreSQL with the
summed IDF of the query words over the stored ``content_search`` vector (migration 0007), whose stems are keyed by
the persona under one GIN index (migration 0027: one persona's matches, whatever the other personas remember).
Either way a query's content words (``normalise_text`` without the stop words) are OR-ed. The matches, best first,
are one candidate list; when they are fewer than the results asked for, the memories nearest the query in meaning
fill the places left (one more list); any ``extra`` lists are fused with them by reciprocal rank fusion, and
recency (from now), importance and strength only reorder within a relevance band (``bot.core.memory.ranking``,
docs/retrieval.md).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, case, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from bot.core import memory as rules
from bot.core.errors import DomainError
from bot.core.ownership import Actor
from bot.db import models
from bot.services.memories import vectors
from bot.services.memories.candidates import (
    HOURS,
    ID,
    IMPORTANCE,
    STRENGTH,
    Found,
    read_candidates,
    read_listed,
    with_context,
)
from bot.services.memories.records import (
    TABLE,
    RetrievedMemory,
    memory_item,
    memory_select,
    record_of,
)
from bot.services.memories.store import check_owner, load_persona

log = logging.getLogger(__name__)

# A query uses at most this many distinct words.
MAX_QUERY_WORDS = 16
# How ``/memory search`` orders: by how well each memory matches the words (only those that match), or as a prompt
# takes them (recency, importance and relevance blended; every candidate).
SEARCH_ORDERS = ("relevance", "prompt")


def query_words(query_text: str) -> list[str]:
    """The distinct content words of a query (``normalise_text`` without the stop words), in order, at most
    ``MAX_QUERY_WORDS``."""
    words: list[str] = []
    for word in rules.content_words(rules.normalise_text(query_text or "")):
        if word not in words:
            words.append(word)
        if len(words) >= MAX_QUERY_WORDS:
            break
    return words


# The whole rows of the chosen memories (a statement built once).
_BY_IDS = memory_select().where(TABLE.c.id.in_(bindparam("ids", expanding=True)))

# Each extra candidate list counts at most this many entries.
EXTRA_CANDIDATES = 200


def _clean_extra(extra: Sequence[Sequence[tuple[int, float]]]) -> list[list[int]]:
    return [[int(memory_id) for memory_id, _ in ranked[:EXTRA_CANDIDATES]] for ranked in extra]


async def _meaning(session: AsyncSession, persona_id: int, query_text: str, taken: set[int], need: int) -> list[int]:
    """When the other lists found fewer than ``need`` memories (``taken``), the memories they did not find that are
    nearest ``query_text`` in meaning (at least ``meaning_min_similarity`` alike), best first: more than the places
    left, not yet checked to be still there (the caller reads them: :func:`_present_meaning`). Nothing (and no
    embedding asked for) when they found enough. Meaning only fills: when it fails, the search goes on without it
    (logged)."""
    if need - len(taken) <= 0:
        return []
    try:
        nearest = await vectors.vector_candidates(session, persona_id, query_text, k=need, checked=False)
    except Exception:  # a filler's failure must not fail the reply (cancellation is not an Exception)
        log.exception("The search by meaning failed for persona %d; full text answers alone", persona_id)
        return []
    minimum = rules.meaning_floor()
    return [memory_id for memory_id, similarity in nearest if similarity >= minimum and memory_id not in taken]


def _present_meaning(persona_id: int, meaning: list[int], found: Found, left: int) -> list[int]:
    """Meaning's list as it fills: the memories read (still there), at most the places left; those gone (forgotten
    since their vectors were held, by another process too) are let go of."""
    gone = {memory_id for memory_id in meaning if memory_id not in found}
    vectors.let_go(persona_id, gone)
    return [memory_id for memory_id in meaning if memory_id in found][:left]


def _tiers(ids: Sequence[int], before_meaning: Sequence[Sequence[int]], meaning: Sequence[int]) -> list[int]:
    """What meaning alone found fills the places the other lists left: after everything they found, in the order
    of meaning's list (which a longer search only lengthens: the pages of a search agree), before what no list
    found."""
    primary = {memory_id for ranked in before_meaning for memory_id in ranked}
    place = {memory_id: len(meaning) - n for n, memory_id in enumerate(meaning)}
    top = len(meaning) + 1
    return [top if memory_id in primary else place.get(memory_id, 0) for memory_id in ids]


async def _retrieve(
    session: AsyncSession,
    persona_id: int,
    weights: tuple[float, float, float],
    query_text: str,
    *,
    k: int,
    now: datetime,
    mark_accessed: bool,
    encryption_key: str | None,
    relevant_only: bool = False,
    extra: Sequence[Sequence[tuple[int, float]]] = (),
    offset: int = 0,
) -> list[RetrievedMemory]:
    if k <= 0:
        return []
    words = query_words(query_text)
    found, complete, known = await read_candidates(session, persona_id, words, now, offset + k)
    if words:
        found = with_context(words, found, known)
    text_list = sorted((i for i, (_, rank) in found.items() if rank >= 0), key=lambda i: (-found[i][1], i))
    extra_lists = _clean_extra(extra)
    taken = set(text_list).union(*extra_lists)
    meaning = await _meaning(session, persona_id, query_text, taken, offset + k) if words else []
    first = len(extra_lists) + 1  # the lists before meaning's
    if extra_lists or meaning:  # the candidates full text did not find (meaning's are checked so: one read)
        unseen = sorted({memory_id for ranked in (*extra_lists, meaning) for memory_id in ranked} - found.keys())
        found.update((row[ID], (row, -1.0)) for row in await read_listed(session, persona_id, unseen, now))
    meaning = _present_meaning(persona_id, meaning, found, offset + k - len(taken))
    if meaning:
        extra_lists.append(meaning)
    if not found:
        return []
    lists = [text_list, *([i for i in ranked if i in found] for ranked in extra_lists)]
    fused = rules.fuse(lists)
    ids = sorted(found)
    rows = [found[i][0] for i in ids]
    # By position (candidates.ID ...): the candidate layout of both databases.
    hours = [max(0.0, float(row[HOURS])) for row in rows]
    fused_column = [fused.get(i, 0.0) for i in ids]
    importance = [float(row[IMPORTANCE]) for row in rows]
    strength = [float(row[STRENGTH]) for row in rows]
    # Relevance is scaled by the lists a memory could be first in: meaning's holds none of the others' memories.
    scale = len(lists) - 1 if meaning else len(lists)
    scores = rules.hybrid_scores(fused_column, scale, hours, importance, strength, weights)
    tiers = _tiers(ids, lists[:first], lists[first]) if meaning else None
    if relevant_only:  # /memory search by relevance: only what matches, the best match first
        chosen = rules.by_relevance(fused_column, scores, offset + k, tiers)[offset:]
    else:
        chosen = rules.best_scores(scores, offset + k, tiers)[offset:]
    parts = {
        i: rules.hybrid_part(fused_column[i], scale, hours[i], importance[i], strength[i], weights) for i in chosen
    }
    positions = [{memory_id: n for n, memory_id in enumerate(ranked, start=1)} for ranked in lists]
    # PostgreSQL's candidates hold every column; SQLite's only what ranking needs: the chosen are read whole.
    full: dict[int, Any] = {ids[i]: rows[i] for i in chosen} if complete else {}
    missing = [ids[i] for i in chosen if ids[i] not in full]
    if missing:
        full.update({row.id: row for row in (await session.execute(_BY_IDS, {"ids": missing})).all()})
    results = [
        RetrievedMemory(
            memory=record_of(full[ids[i]], encryption_key),
            score=parts[i].score,
            recency=parts[i].recency,
            importance=parts[i].importance,
            relevance=parts[i].relevance,
            hours_since_access=hours[i],
            text_rank=max(0.0, found[ids[i]][1]),
            strength=parts[i].strength,
            fused=parts[i].fused,
            relevant=parts[i].relevant,
            positions=tuple(place.get(ids[i]) for place in positions),
            place=offset + n,
        )
        for n, i in enumerate(chosen, start=1)
    ]
    if mark_accessed:
        await apply_recall(session, recall_of(results, now))
    return results


@dataclass(frozen=True)
class Recall:
    """Retrieved memories to mark recalled (the ``recall`` rule), kept to apply later: a chat reply applies it
    in the transaction that records the exchange, after the model was asked, not on the way to asking it."""

    persona_id: int
    memory_ids: tuple[int, ...]
    at: datetime
    strength: float
    stability_gain: float


def recall_of(results: Sequence[RetrievedMemory], now: datetime) -> Recall | None:
    """The recall of ``results`` at ``now``: the same strength and stability gain for every memory, from the rule
    applied to the first (best) one as it was when retrieved. None for no results."""
    if not results:
        return None
    first = results[0].memory
    sample = memory_item(first)
    recalled = rules.recall(sample, now)
    ids = tuple(r.memory.id for r in results)
    return Recall(first.persona_id, ids, now, recalled.strength, recalled.stability - sample.stability)


async def apply_recall(session: AsyncSession, recall: Recall | None) -> None:
    """Mark the memories recalled, in one set-based UPDATE (memories forgotten since are simply not there)."""
    if recall is None:
        return
    memory = models.Memory
    await session.execute(
        update(memory)
        .where(col(memory.id).in_(recall.memory_ids), col(memory.persona_id) == recall.persona_id)
        .values(
            last_accessed_at=recall.at,
            strength=recall.strength,
            stability=col(memory.stability) + recall.stability_gain,
            access_count=col(memory.access_count) + 1,
            tier=case((col(memory.tier) == "cold", "warm"), else_=col(memory.tier)),
            cold_since=None,
        )
    )


async def retrieve(
    session: AsyncSession,
    persona_id: int,
    query_text: str,
    *,
    k: int = 10,
    now: datetime,
    mark_accessed: bool = True,
    encryption_key: str | None = None,
    weights: tuple[float, float, float] | None = None,
    extra: Sequence[Sequence[tuple[int, float]]] = (),
) -> list[RetrievedMemory]:
    """The ``k`` memories to put in a prompt for ``query_text``, best first, each with its component scores.

    Candidates: the ``TEXT_CANDIDATES`` (or ``2 k``, when more) best full-text matches of every tier, the hot tier
    when they are fewer than ``k`` (:func:`bot.services.memories.candidates.read_candidates`),
    plus the memories of each ``extra`` list ((memory id, score) best first; ids of other personas are ignored), and,
    when full text finds fewer than ``k``, the nearest in meaning as one more list (:func:`_meaning`). The lists
    are fused by reciprocal rank fusion; every memory some list found ranks above every other, recency
    (0.995^hours since the last access, from ``now``), importance and strength only reorder within each band
    (:func:`bot.core.memory.hybrid_parts`, docs/retrieval.md; ties: the older memory). The results are marked accessed
    (the ``recall`` rule) in one UPDATE unless ``mark_accessed`` is False. ``weights`` are the persona's
    (:func:`retrieval_weights`) when the caller has them; otherwise they are read (and a missing persona is
    :class:`NotFound`).
    """
    if weights is None:
        weights = (await load_persona(session, persona_id)).config.weights
    return await _retrieve(
        session, persona_id, weights, query_text, k=k, now=now, mark_accessed=mark_accessed,
        encryption_key=encryption_key, extra=extra,
    )  # fmt: skip


async def retrieval_weights(session: AsyncSession, persona_ids: Sequence[int]) -> dict[int, tuple[float, float, float]]:
    """Each persona's retrieval weights (recency, importance, relevance), the defaults where it has no memory
    configuration yet; one query."""
    ids = sorted(set(persona_ids))
    out = dict.fromkeys(ids, rules.default_config().weights)
    if not ids:
        return out
    config = models.MemoryConfig
    query = select(
        col(config.persona_id), col(config.weight_recency), col(config.weight_importance), col(config.weight_relevance)
    ).where(col(config.persona_id).in_(ids))
    for persona_id, recency, importance, relevance in (await session.execute(query)).all():
        if persona_id is not None:  # a primary key: never None, but its column is typed Optional
            out[persona_id] = (float(recency), float(importance), float(relevance))
    return out


async def search(
    session: AsyncSession,
    persona_id: int,
    query_text: str,
    *,
    k: int = 10,
    now: datetime,
    encryption_key: str | None = None,
    actor: Actor | None = None,
    order: str = "prompt",
    offset: int = 0,
    extra: Sequence[Sequence[tuple[int, float]]] = (),
) -> list[RetrievedMemory]:
    """``retrieve`` without marking anything accessed (``/memory search``: shows the scores), the ``k`` after the
    first ``offset`` (a page). With ``actor``, only the persona's owner may search. ``order`` "relevance": only the
    memories that match the query (its words, or an ``extra`` list), the best match first
    (:func:`bot.core.memory.by_relevance` on the fused relevance), each still with its prompt score and parts."""
    if order not in SEARCH_ORDERS:
        raise DomainError(f"'{order}' is not an order. Choose one of: {', '.join(SEARCH_ORDERS)}.")
    persona = await load_persona(session, persona_id)
    check_owner(persona, actor, "search its memories")
    return await _retrieve(
        session, persona_id, persona.config.weights, query_text, k=k, now=now, mark_accessed=False,
        encryption_key=encryption_key, relevant_only=order == "relevance", extra=extra, offset=max(0, offset),
    )  # fmt: skip
