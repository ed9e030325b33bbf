"""Memory use cases: capture, retrieval and search, pins, forgetting, settings, health, optimisation, decay.

Each function takes an open session (the caller owns the transaction), ids and plain data, and returns plain data;
the exception is :func:`decay_due_personas`, the scheduled job's body, which takes the ``Database`` because it
commits one transaction per chunk of personas. The rules are ``bot.core.memory`` (SCIENCE.md section 5); this
module turns them into set-based SQL where the rows are many.

Full-text search: SQLite ranks with FTS5's ``bm25`` over ``memories_fts`` (migration 0003); PostgreSQL with
``ts_rank`` over the stored ``content_search`` vector (migration 0007) and its GIN index on (persona, vector)
(migration 0009: one persona's matches, whatever the other personas remember). Either way a query's
words (``normalise_text``) are OR-ed, and the raw rank is the relevance column ``retrieval_scores`` min-max
normalises.

Categories are stored normalised (``normalise_category``), as ``exempt_categories`` are, so SQL compares them with
plain equality.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Float, LargeBinary, bindparam, case, cast, delete, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core import catalog
from bot.core import memory as rules
from bot.core.errors import DomainError, NotFound, PermissionDenied
from bot.core.inputs import storable
from bot.db import models, offload
from bot.db.types import UTCDateTime
from bot.services import crypto, timeline
from bot.services.personas import READ_ONLY_STATUSES, Actor

if TYPE_CHECKING:
    from bot.db.engine import Database

# A memory whose strength (retention) falls below this after a decay run moves to the cold tier (and starts its
# ``cold_memory_retention_days`` countdown). 0.1 = "90% forgotten": at the balanced preset (exponential, 0.05 a
# day) that is 46 days without a recall; a recall brings it back to warm.
COLD_BELOW = 0.1
# Retrieval candidates: every hot memory (at most this many, most recently used first) ...
HOT_CANDIDATES = 500
# ... plus the best full-text matches among warm and cold memories (cold ones come back to warm when recalled).
TEXT_CANDIDATES = 100
# A query uses at most this many distinct words.
MAX_QUERY_WORDS = 16
MAX_CONTENT_CHARS = 4_000
MAX_CATEGORY_CHARS = 40
# Deletes and updates by id go in batches of this many ids (bounded statements).
ID_BATCH = 500
# Where a use case gets its sessions: the caller's one session, or short ones of its own (optimize_store).
_Sessions = Callable[[], AbstractAsyncContextManager[AsyncSession]]
READ_PAGE = 2_000  # memories per read when a whole store is loaded (optimize)
# The decay job's transaction size: at most this many personas, and (after the first) this many memories.
DECAY_CHUNK_PERSONAS = 50
DECAY_CHUNK_MEMORIES = 50_000

_ENCRYPTED_PLACEHOLDER = "(encrypted: MEMORY_ENCRYPTION_KEY is not set or does not open it)"

_COLUMNS = (
    "id",
    "persona_id",
    "content",
    "category",
    "importance",
    "strength",
    "stability",
    "tier",
    "pinned",
    "sensitive",
    "encrypted",
    "source_user_id",
    "source_channel_id",
    "source_message_id",
    "subject_user_id",
    "created_at",
    "last_accessed_at",
    "access_count",
    "cold_since",
)
_TABLE = models.Memory.__table__  # type: ignore[attr-defined]
_TYPES = {name: _TABLE.c[name].type for name in _COLUMNS}


# ----------------------------------------------------------------------------------------------------- records


@dataclass(frozen=True)
class MemoryRecord:
    """One memory as plain data. ``content`` is the plaintext when ``readable``; an encrypted memory read without
    the key has a placeholder and ``readable = False``."""

    id: int
    persona_id: int
    content: str
    category: str
    importance: int
    strength: float
    stability: float
    tier: str
    pinned: bool
    sensitive: bool
    encrypted: bool
    readable: bool
    source_user_id: int | None
    source_channel_id: int | None
    source_message_id: int | None
    subject_user_id: int | None
    created_at: datetime
    last_accessed_at: datetime
    access_count: int
    cold_since: datetime | None


@dataclass(frozen=True)
class RetrievedMemory:
    """A retrieval result with each component shown (Park et al. 2023).

    ``recency``, ``importance`` and ``relevance`` are the min-max normalised columns over the candidates (0..1,
    0.5 for a constant column); ``score`` = w_rec recency + w_imp importance + w_rel relevance with the persona's
    weights. ``hours_since_access`` and ``text_rank`` (FTS rank, 0 without a match) are the raw inputs. The
    memory is as it was when scored (before this retrieval marked it accessed).
    """

    memory: MemoryRecord
    score: float
    recency: float
    importance: float
    relevance: float
    hours_since_access: float
    text_rank: float


@dataclass(frozen=True)
class HealthReport:
    """``core.memory.MemoryHealth`` for one persona, plus the totals behind it."""

    persona_id: int
    total_count: int
    pinned_count: int
    total_bytes: int
    score: float
    hot_count: int
    warm_count: int
    cold_count: int
    hot_usage: float
    warm_usage: float
    entities_usage: float
    size_usage: float
    fragmentation: float
    time_since_optimization: timedelta | None
    recommendations: tuple[str, ...]

    def summary(self) -> dict[str, Any]:
        """The figures a timeline event keeps (JSON-able)."""
        return {
            "score": round(self.score, 2),
            "memories": self.total_count,
            "hot": self.hot_count,
            "warm": self.warm_count,
            "cold": self.cold_count,
            "bytes": self.total_bytes,
            "fragmentation": round(self.fragmentation, 4),
        }


@dataclass(frozen=True)
class OptimizationReport:
    persona_id: int
    before: HealthReport
    after: HealthReport
    merged: int
    evicted: int
    expired: int
    retiered: int
    database_optimized: bool


@dataclass(frozen=True)
class DecayRunReport:
    """What one run of the decay job did (``personas`` = personas decayed, each exactly once)."""

    now: datetime
    personas: int
    chunks: int
    decayed: int
    moved_to_cold: int
    expired: int


# ----------------------------------------------------------------------------------------------------- helpers


def _readable(content: str, encrypted: bool, key: str | None) -> tuple[str, bool]:
    if not encrypted:
        return content, True
    try:
        return crypto.decrypt(content, key), True
    except crypto.EncryptionUnavailable:
        return _ENCRYPTED_PLACEHOLDER, False


def _record(row: Any, key: str | None) -> MemoryRecord:
    content, readable = _readable(row.content, bool(row.encrypted), key)
    return MemoryRecord(
        id=row.id,
        persona_id=row.persona_id,
        content=content,
        category=row.category,
        importance=row.importance,
        strength=float(row.strength),
        stability=float(row.stability),
        tier=row.tier,
        pinned=bool(row.pinned),
        sensitive=bool(row.sensitive),
        encrypted=bool(row.encrypted),
        readable=readable,
        source_user_id=row.source_user_id,
        source_channel_id=row.source_channel_id,
        source_message_id=row.source_message_id,
        subject_user_id=row.subject_user_id,
        created_at=row.created_at,
        last_accessed_at=row.last_accessed_at,
        access_count=row.access_count,
        cold_since=row.cold_since,
    )


def _item(row: Any) -> rules.MemoryItem:
    """The core view of a stored memory (a row, or a :class:`MemoryRecord`)."""
    return rules.MemoryItem(
        id=row.id,
        content_size=len(row.content.encode("utf-8")),
        category=row.category,
        importance=row.importance,
        strength=min(1.0, max(0.0, float(row.strength))),
        stability=max(1.0, float(row.stability)),
        tier=row.tier,
        pinned=bool(row.pinned),
        created_at=row.created_at,
        last_accessed_at=row.last_accessed_at,
        access_count=row.access_count,
        cold_since=row.cold_since,
    )


def _core_config(row: models.MemoryConfig | None) -> rules.MemoryConfig:
    if row is None:
        return rules.default_config()
    return rules.validate_config({name: getattr(row, name) for name in rules.CONFIG_FIELDS})


@dataclass(frozen=True)
class _Persona:
    id: int
    owner_id: int
    status: str
    config: rules.MemoryConfig
    config_row: models.MemoryConfig | None


async def _persona(session: AsyncSession, persona_id: int) -> _Persona:
    query = (
        select(models.Persona.owner_id, models.Persona.status, models.MemoryConfig)
        .outerjoin(models.MemoryConfig, models.MemoryConfig.persona_id == models.Persona.id)
        .where(models.Persona.id == persona_id)
    )
    found = (await session.execute(query)).first()
    if found is None:
        raise NotFound("That persona does not exist (it may have been deleted).")
    return _Persona(persona_id, found[0], found[1], _core_config(found[2]), found[2])


def _require_owner(persona: _Persona, actor: Actor | None, action: str) -> None:
    if actor is not None and actor.user_id != persona.owner_id:
        raise PermissionDenied(f"Only the persona's owner can {action}.")


def _batches(ids: Sequence[int], size: int = ID_BATCH) -> list[list[int]]:
    return [list(ids[start : start + size]) for start in range(0, len(ids), size)]


async def _delete_ids(session: AsyncSession, ids: Sequence[int]) -> int:
    removed = 0
    for batch in _batches(sorted(ids)):
        result = await session.execute(delete(models.Memory).where(models.Memory.id.in_(batch)))
        removed += int(result.rowcount or 0)  # type: ignore[attr-defined]
    return removed


def _memory_select() -> Any:
    return select(*(_TABLE.c[name] for name in _COLUMNS))


# ----------------------------------------------------------------------------------------------------- capture


def _clean_content(content: str) -> str:
    # Every memory's text passes here, whoever wrote it (a person, the model's reply, a tool): what neither
    # database can keep (a NUL) is removed, as for chat.
    text_ = storable(content or "").strip()
    if not text_:
        raise DomainError("A memory needs some text.")
    if len(text_) > MAX_CONTENT_CHARS:
        raise DomainError(f"A memory can be at most {MAX_CONTENT_CHARS} characters long.")
    return text_


def _clean_category(category: str) -> str:
    value = rules.normalise_category(category or "")
    if not value:
        raise DomainError("A memory needs a category.")
    if len(value) > MAX_CATEGORY_CHARS:
        raise DomainError(f"A memory category can be at most {MAX_CATEGORY_CHARS} characters long.")
    return value


def _clean_importance(importance: int) -> int:
    if isinstance(importance, bool) or not isinstance(importance, int):
        raise DomainError("A memory's importance must be a whole number.")
    if not rules.IMPORTANCE_MIN <= importance <= rules.IMPORTANCE_MAX:
        raise DomainError(f"A memory's importance must be between {rules.IMPORTANCE_MIN} and {rules.IMPORTANCE_MAX}.")
    return importance


async def capture(
    session: AsyncSession,
    persona_id: int,
    *,
    content: str,
    category: str,
    importance: int,
    source_user_id: int | None,
    source_channel_id: int | None,
    source_message_id: int | None,
    subject_user_id: int | None = None,
    sensitive: bool = False,
    now: datetime,
    encryption_key: str | None = None,
    stability: float = 1.0,
) -> MemoryRecord:
    """Store a new memory (hot, strength 1, last accessed ``now``), with ``stability`` 1 unless the author's
    subscription gives a longer memory (decay runs at ``decay_rate / stability``: 2.0 fades half as fast).

    A sensitive memory of a persona whose settings say ``encrypt_sensitive`` is stored as a Fernet token
    (``encryption_key`` is the ``MEMORY_ENCRYPTION_KEY`` setting); without a key nothing is stored and
    ``EncryptionUnavailable`` (a ``DomainError``) says why.
    """
    persona = await _persona(session, persona_id)
    plaintext = _clean_content(content)
    encrypted = bool(sensitive and persona.config.encrypt_sensitive)
    stored = crypto.encrypt(plaintext, encryption_key) if encrypted else plaintext
    row = models.Memory(
        persona_id=persona_id,
        content=stored,
        category=_clean_category(category),
        importance=_clean_importance(importance),
        strength=1.0,
        stability=max(1.0, float(stability)),
        tier="hot",
        pinned=False,
        sensitive=bool(sensitive),
        encrypted=encrypted,
        source_user_id=source_user_id,
        source_channel_id=source_channel_id,
        source_message_id=source_message_id,
        subject_user_id=subject_user_id,
        created_at=now,
        last_accessed_at=now,
        access_count=0,
        cold_since=None,
    )
    session.add(row)
    await session.flush()
    return _record(row, encryption_key)


# ----------------------------------------------------------------------------------------------------- retrieval


def query_words(query_text: str) -> list[str]:
    """The distinct words of a query (``normalise_text``), in order, at most ``MAX_QUERY_WORDS``."""
    words: list[str] = []
    for word in rules.normalise_text(query_text or ""):
        if word not in words:
            words.append(word)
        if len(words) >= MAX_QUERY_WORDS:
            break
    return words


def _fts5_query(words: Sequence[str]) -> str:
    # Each word a quoted phrase (no FTS5 syntax can leak in), any of them may match.
    return " OR ".join('"' + word.replace('"', '""') + '"' for word in words)


def _tsquery(words: Sequence[str]) -> str:
    # normalise_text yields runs of word characters only: no quote or backslash can reach to_tsquery.
    return " | ".join("'" + word + "'" for word in words)


_SELECT_M = ", ".join(f"m.{name} AS {name}" for name in _COLUMNS)
_CANDIDATE_COLUMNS = ("id", "importance", "last_accessed_at")
_SELECT_C = ", ".join(f"m.{name} AS {name}" for name in _CANDIDATE_COLUMNS)
_CTYPES = {name: _TABLE.c[name].type for name in _CANDIDATE_COLUMNS}
_MTYPES = {name: _TABLE.c[name].type for name in _COLUMNS}


async def _candidates(
    session: AsyncSession, persona_id: int, words: Sequence[str]
) -> tuple[list[tuple[Any, float]], bool]:
    """(row; raw text rank) for every hot memory (bounded) and the best text matches, and whether the rows hold
    every column.

    SQLite: only what scoring needs (id, importance, last access), the full rows of the few chosen are read
    afterwards (a second query costs nothing there). PostgreSQL: every column, in one round trip."""
    dialect = session.bind.dialect.name
    params: dict[str, Any] = {"p": persona_id, "hot_limit": HOT_CANDIDATES, "text_limit": TEXT_CANDIDATES}
    found: dict[int, tuple[Any, float]] = {}
    if dialect == "sqlite":
        hot_sql = (
            # INDEXED BY: without statistics the planner would walk (persona_id, last_accessed_at) for the ORDER BY
            # and read every memory of the persona to find the few hot ones.
            f"SELECT {_SELECT_C}, 0.0 AS rel FROM memories AS m INDEXED BY ix_memories_persona_tier "
            "WHERE m.persona_id = :p AND m.tier = 'hot' "
            "ORDER BY m.last_accessed_at DESC LIMIT :hot_limit"
        )
        hot = (await session.execute(text(hot_sql).columns(rel=Float(), **_CTYPES), params)).all()
        for row in hot:
            found[row.id] = (row, 0.0)
        if words:
            # One search over every tier: it ranks the hot memories that match too (ranking them separately with
            # "rowid IN (...)" made FTS5 evaluate the whole match a second time). A hot memory outside the best
            # TEXT_CANDIDATES matches keeps relevance 0: it matches less than all of those.
            params["q"] = _fts5_query(words)
            text_sql = (
                f"SELECT {_SELECT_C}, -bm25(memories_fts) AS rel FROM memories_fts "
                "JOIN memories AS m ON m.id = memories_fts.rowid "
                "WHERE memories_fts MATCH :q AND m.persona_id = :p "
                "ORDER BY bm25(memories_fts) LIMIT :text_limit"
            )
            for row in (await session.execute(text(text_sql).columns(rel=Float(), **_CTYPES), params)).all():
                found[row.id] = (row, float(row.rel))
    elif words:
        # One round trip: the hot memories and the best text matches, with every column (a few hundred short
        # rows at most), so the chosen need no second query. content_search: the stored vector of migration 0007.
        params["q"] = _tsquery(words)
        sql = (
            "WITH q AS MATERIALIZED (SELECT to_tsquery('simple', :q) AS q), picked AS ("
            "(SELECT h.id FROM memories AS h WHERE h.persona_id = :p AND h.tier = 'hot' "
            "ORDER BY h.last_accessed_at DESC LIMIT :hot_limit) UNION ALL "
            "(SELECT t.id FROM memories AS t, q "
            "WHERE t.persona_id = :p AND t.tier <> 'hot' AND t.content_search @@ q.q "
            "ORDER BY ts_rank(t.content_search, q.q) DESC, t.id LIMIT :text_limit)) "
            f"SELECT {_SELECT_M}, CAST(CASE WHEN m.content_search @@ q.q THEN ts_rank(m.content_search, q.q) "
            "ELSE 0 END AS DOUBLE PRECISION) AS rel FROM picked JOIN memories AS m ON m.id = picked.id, q"
        )
        for row in (await session.execute(text(sql).columns(rel=Float(), **_MTYPES), params)).all():
            found[row.id] = (row, float(row.rel))
    else:
        hot_sql = (
            f"SELECT {_SELECT_M}, CAST(0 AS DOUBLE PRECISION) AS rel FROM memories AS m "
            "WHERE m.persona_id = :p AND m.tier = 'hot' ORDER BY m.last_accessed_at DESC LIMIT :hot_limit"
        )
        for row in (await session.execute(text(hot_sql).columns(rel=Float(), **_MTYPES), params)).all():
            found[row.id] = (row, 0.0)
    return [found[key] for key in sorted(found)], dialect != "sqlite"


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
) -> list[RetrievedMemory]:
    if k <= 0:
        return []
    candidates, complete = await _candidates(session, persona_id, query_words(query_text))
    if not candidates:
        return []
    hours = [rules.hours_between(now, row.last_accessed_at) for row, _ in candidates]
    importance = [float(row.importance) for row, _ in candidates]
    relevance = [rank for _, rank in candidates]
    parts = rules.retrieval_components(hours, importance, relevance)
    scores = rules.combine(parts, weights)
    recency_part, importance_part, relevance_part = parts
    chosen = rules.best_first(scores, k)
    chosen_ids = [candidates[i][0].id for i in chosen]
    if complete:
        full = {candidates[i][0].id: candidates[i][0] for i in chosen}
    else:
        query = _memory_select().where(_TABLE.c.id.in_(chosen_ids))
        full = {row.id: row for row in (await session.execute(query)).all()}
    results = [
        RetrievedMemory(
            memory=_record(full[candidates[i][0].id], encryption_key),
            score=scores[i],
            recency=recency_part[i],
            importance=importance_part[i],
            relevance=relevance_part[i],
            hours_since_access=hours[i],
            text_rank=relevance[i],
        )
        for i in chosen
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
    sample = _item(first)
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
        .where(memory.id.in_(recall.memory_ids), memory.persona_id == recall.persona_id)  # type: ignore[union-attr]
        .values(
            last_accessed_at=recall.at,
            strength=recall.strength,
            stability=memory.stability + recall.stability_gain,
            access_count=memory.access_count + 1,
            tier=case((memory.tier == "cold", "warm"), else_=memory.tier),
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
) -> list[RetrievedMemory]:
    """The ``k`` memories to put in a prompt for ``query_text``, best first, each with its component scores.

    Candidates: the hot tier plus the ``TEXT_CANDIDATES`` best full-text matches among warm and cold memories;
    relevance is the FTS rank, recency 0.995^hours since the last access, importance as stored, combined by
    ``retrieval_scores`` with the persona's weights (ties: the older memory). The results are marked accessed
    (the ``recall`` rule) in one UPDATE unless ``mark_accessed`` is False. ``weights`` are the persona's
    (:func:`retrieval_weights`) when the caller has them; otherwise they are read (and a missing persona is
    :class:`NotFound`).
    """
    if weights is None:
        weights = (await _persona(session, persona_id)).config.weights
    return await _retrieve(
        session, persona_id, weights, query_text, k=k, now=now, mark_accessed=mark_accessed,
        encryption_key=encryption_key,
    )  # fmt: skip


async def retrieval_weights(session: AsyncSession, persona_ids: Sequence[int]) -> dict[int, tuple[float, float, float]]:
    """Each persona's retrieval weights (recency, importance, relevance), the defaults where it has no memory
    configuration yet; one query."""
    ids = sorted(set(persona_ids))
    out = dict.fromkeys(ids, rules.default_config().weights)
    if not ids:
        return out
    config = models.MemoryConfig
    query = select(config.persona_id, config.weight_recency, config.weight_importance, config.weight_relevance).where(
        config.persona_id.in_(ids)  # type: ignore[attr-defined]
    )
    for persona_id, recency, importance, relevance in (await session.execute(query)).all():
        out[int(persona_id)] = (float(recency), float(importance), float(relevance))
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
) -> list[RetrievedMemory]:
    """``retrieve`` without marking anything accessed (``/memory search``: shows the scores). With ``actor``,
    only the persona's owner may search."""
    persona = await _persona(session, persona_id)
    _require_owner(persona, actor, "search its memories")
    return await _retrieve(
        session, persona_id, persona.config.weights, query_text, k=k, now=now, mark_accessed=False,
        encryption_key=encryption_key,
    )  # fmt: skip


# ----------------------------------------------------------------------------------------------------- pins, forget


async def _owned_memory(session: AsyncSession, actor: Actor, persona_id: int, memory_id: int, action: str) -> Any:
    persona = await _persona(session, persona_id)
    _require_owner(persona, actor, action)
    row = (
        await session.execute(_memory_select().where(_TABLE.c.id == memory_id, _TABLE.c.persona_id == persona_id))
    ).first()
    if row is None:
        raise NotFound("That memory does not exist (it may have been forgotten).")
    return row


async def get(
    session: AsyncSession, actor: Actor, persona_id: int, memory_id: int, *, encryption_key: str | None = None
) -> MemoryRecord:
    """One memory of the persona (owner only), as it would be shown: what ``forget`` asks about before it acts."""
    row = await _owned_memory(session, actor, persona_id, memory_id, "look at its memories")
    return _record(row, encryption_key)


async def pin(
    session: AsyncSession, actor: Actor, persona_id: int, memory_id: int, *, encryption_key: str | None = None
) -> MemoryRecord:
    """Pin a memory (owner only): pinned memories rank first for the hot tier, are never cold, never evicted and
    (with ``pinned_memories_exempt``) never decay. A cold memory comes back to warm."""
    row = await _owned_memory(session, actor, persona_id, memory_id, "pin its memories")
    tier = "warm" if row.tier == "cold" else row.tier
    await session.execute(
        update(models.Memory)
        .where(models.Memory.id == memory_id)  # type: ignore[arg-type]
        .values(pinned=True, tier=tier, cold_since=None)
    )
    return replace(_record(row, encryption_key), pinned=True, tier=tier, cold_since=None)


async def unpin(
    session: AsyncSession, actor: Actor, persona_id: int, memory_id: int, *, encryption_key: str | None = None
) -> MemoryRecord:
    """Unpin a memory (owner only)."""
    row = await _owned_memory(session, actor, persona_id, memory_id, "unpin its memories")
    await session.execute(
        update(models.Memory).where(models.Memory.id == memory_id).values(pinned=False)  # type: ignore[arg-type]
    )
    return replace(_record(row, encryption_key), pinned=False)


async def forget(
    session: AsyncSession, actor: Actor, persona_id: int, memory_id: int, *, encryption_key: str | None = None
) -> MemoryRecord:
    """Delete one memory (owner only); returns what was forgotten."""
    row = await _owned_memory(session, actor, persona_id, memory_id, "make it forget")
    await session.execute(delete(models.Memory).where(models.Memory.id == memory_id))  # type: ignore[arg-type]
    return _record(row, encryption_key)


# ----------------------------------------------------------------------------------------------------- settings


async def config_get(session: AsyncSession, persona_id: int, *, actor: Actor | None = None) -> rules.MemoryConfig:
    """The persona's memory settings (the default preset if it has none stored)."""
    persona = await _persona(session, persona_id)
    _require_owner(persona, actor, "see its memory settings")
    return persona.config


async def config_update(
    session: AsyncSession, actor: Actor, persona_id: int, changes: Mapping[str, Any]
) -> rules.MemoryConfig:
    """Change memory settings (owner only). ``changes`` holds any settings by name, or ``preset`` (applied
    first, then the other changes); the result is validated whole by ``validate_config``."""
    persona = await _persona(session, persona_id)
    _require_owner(persona, actor, "change its memory settings")
    if persona.status in READ_ONLY_STATUSES:
        raise DomainError(f"This persona is {persona.status}: its settings can no longer be changed.")
    merged = rules.config_to_dict(persona.config)
    if "preset" in changes:
        merged = rules.config_to_dict(rules.preset(str(changes["preset"])))
    merged.update({name: value for name, value in changes.items() if name != "preset"})
    config = rules.validate_config(merged)
    columns = rules.config_to_dict(config)
    row = persona.config_row
    if row is None:
        session.add(models.MemoryConfig(persona_id=persona_id, **columns))
    else:
        for name, value in columns.items():
            setattr(row, name, value)
    await session.flush()
    return config


# ----------------------------------------------------------------------------------------------------- health


def _size_expression(dialect: str) -> Any:
    if dialect == "sqlite":
        return func.length(cast(models.Memory.content, LargeBinary))
    return func.octet_length(models.Memory.content)


# The best ``hot + warm`` memories in ``assign_tiers`` order (pinned first, then ``memory_value``, then more recently
# accessed, then lower id): a top-N scan, not a sort of the whole store. Everything below them belongs in cold
# (pinned ones in warm), which the per-(tier, pinned) counts settle without reading those rows.
_TOP_SQL = """
SELECT id, tier, pinned FROM memories WHERE persona_id = :p
ORDER BY pinned DESC, (:w_rec * strength + :w_imp * ((importance - 1) / 9.0)) / (:w_rec + :w_imp) DESC,
         last_accessed_at DESC, id
LIMIT :limit
"""


def _health_report(
    persona_id: int,
    config: rules.MemoryConfig,
    now: datetime,
    last_optimization_at: datetime | None,
    *,
    counts: Mapping[str, int],
    total_bytes: int,
    pinned: int,
    oldest: datetime | None,
    misplaced: int,
) -> HealthReport:
    """``core.memory.health_from_counts`` over SQL aggregates, so ``/memory health`` never loads every memory."""
    hot, warm, cold = counts.get("hot", 0), counts.get("warm", 0), counts.get("cold", 0)
    total = hot + warm + cold
    found = rules.health_from_counts(
        config,
        now,
        last_optimization_at,
        hot=hot,
        warm=warm,
        cold=cold,
        total_bytes=total_bytes,
        oldest_created_at=oldest,
        fragmentation_share=misplaced / total if total else 0.0,
    )
    return HealthReport(
        persona_id=persona_id,
        total_count=total,
        pinned_count=pinned,
        total_bytes=total_bytes,
        score=found.score,
        hot_count=found.hot_count,
        warm_count=found.warm_count,
        cold_count=found.cold_count,
        hot_usage=found.hot_usage,
        warm_usage=found.warm_usage,
        entities_usage=found.entities_usage,
        size_usage=found.size_usage,
        fragmentation=found.fragmentation,
        time_since_optimization=found.time_since_optimization,
        recommendations=found.recommendations,
    )


async def _misplaced(
    session: AsyncSession, persona: _Persona, total: int, by_tier_pinned: Mapping[tuple[str, bool], int]
) -> int:
    """How many memories sit in a tier other than the one ``assign_tiers`` gives them (``fragmentation`` * n)."""
    config = persona.config
    w_rec, w_imp = config.weight_recency, config.weight_importance
    if w_rec + w_imp <= 0:  # as core memory_value: relevance-only weights count both equally
        w_rec = w_imp = 1.0
    hot_end = config.hot_memory_size
    params = {"p": persona.id, "w_rec": w_rec, "w_imp": w_imp, "limit": hot_end + config.warm_memory_size}
    top = (await session.execute(text(_TOP_SQL), params)).all()
    correct = sum(1 for position, row in enumerate(top) if row.tier == ("hot" if position < hot_end else "warm"))
    # Below the top: unpinned memories belong in cold, pinned ones in warm.
    correct += by_tier_pinned.get(("cold", False), 0) - sum(1 for r in top if r.tier == "cold" and not r.pinned)
    correct += by_tier_pinned.get(("warm", True), 0) - sum(1 for r in top if r.tier == "warm" and r.pinned)
    return total - correct


async def _health(session: AsyncSession, persona: _Persona, now: datetime) -> HealthReport:
    memory = models.Memory
    dialect = session.bind.dialect.name
    aggregates = (
        await session.execute(
            select(
                memory.tier,
                memory.pinned,
                func.count(),
                func.coalesce(func.sum(_size_expression(dialect)), 0),
                func.min(memory.created_at),
            )
            .where(memory.persona_id == persona.id)
            .group_by(memory.tier, memory.pinned)
        )
    ).all()
    by_tier_pinned = {(row[0], bool(row[1])): int(row[2]) for row in aggregates}
    counts: dict[str, int] = defaultdict(int)
    for (tier, _), count in by_tier_pinned.items():
        counts[tier] += count
    total = sum(counts.values())
    total_bytes = sum(int(row[3]) for row in aggregates)
    pinned = sum(count for (_, is_pinned), count in by_tier_pinned.items() if is_pinned)
    oldest_values = [row[4] for row in aggregates if row[4] is not None]
    misplaced = await _misplaced(session, persona, total, by_tier_pinned) if total else 0
    last_optimization = persona.config_row.last_optimization_at if persona.config_row is not None else None
    return _health_report(
        persona.id,
        persona.config,
        now,
        last_optimization,
        counts=counts,
        total_bytes=total_bytes,
        pinned=pinned,
        oldest=min(oldest_values) if oldest_values else None,
        misplaced=misplaced,
    )


async def health(session: AsyncSession, persona_id: int, now: datetime, *, actor: Actor | None = None) -> HealthReport:
    """The memory store's health (``core.memory.health``), from SQL aggregates and one top-N query for
    fragmentation (the best ``hot + warm`` memories' stored tiers against their ranks; the rest by counts)."""
    persona = await _persona(session, persona_id)
    _require_owner(persona, actor, "see its memory health")
    return await _health(session, persona, now)


# ----------------------------------------------------------------------------------------------------- optimize


async def optimize(
    session: AsyncSession,
    persona_id: int,
    now: datetime,
    *,
    actor: Actor | None = None,
    encryption_key: str | None = None,
) -> OptimizationReport:
    """Tidy the store: merge near-duplicates, enforce capacity, re-tier, delete expired cold memories; record a
    timeline event ("optimization") with the before/after health and set ``last_optimization_at``.

    - Near-duplicates (``near_duplicates``) merge only between memories from the same author about the same
      person (so one person's forget-me never loses to a merge), and never sensitive ones. The stronger is kept;
      it takes the sum of the access counts, the higher importance, and the pin if either was pinned.
    - Capacity (``evict_for_capacity``), tiers (``assign_tiers``: a memory entering cold gets ``cold_since =
      now``, one leaving cold loses it), then ``expired_cold``.
    - SQLite: ``PRAGMA optimize`` refreshes the planner statistics the changes may have staled. No vacuum: the
      database runs with ``auto_vacuum = NONE``, where ``incremental_vacuum`` does nothing, and the pages freed
      here are reused by the next inserts; a full ``VACUUM`` would rewrite the whole file while blocking the bot.
    """
    persona = await _persona(session, persona_id)
    _require_owner(persona, actor, "optimise its memory")

    @asynccontextmanager
    async def this_session() -> AsyncIterator[AsyncSession]:
        yield session

    # 100,000 memories are seconds of work: the rows are read in pages and the planning (pure) runs in a thread,
    # inside bulk_work, so the event loop keeps serving meanwhile.
    with offload.bulk_work():
        return await _optimize(this_session, this_session, persona, now)


async def optimize_store(
    database: Database,
    persona_id: int,
    now: datetime,
    *,
    actor: Actor | None = None,
    encryption_key: str | None = None,
) -> OptimizationReport:
    """:func:`optimize` for the command: the same work, but in short sessions (each page read, each batch written,
    its own), with none open while the plan is made. On SQLite the process has one connection: one transaction
    over 100,000 memories would keep every other command waiting for it for seconds. Memories pinned meanwhile are
    not evicted or expired."""
    async with database.session() as session:
        persona = await _persona(session, persona_id)
    _require_owner(persona, actor, "optimise its memory")
    with offload.bulk_work():
        return await _optimize(database.session, database.transaction, persona, now)


async def _read_memories(reads: _Sessions, persona_id: int) -> list[Any]:
    """Every memory of the persona, read in pages by id (each page a short statement and a short conversion)."""
    rows: list[Any] = []
    after = 0
    while True:
        async with reads() as session:
            page = (
                await session.execute(
                    _memory_select()
                    .where(_TABLE.c.persona_id == persona_id, _TABLE.c.id > after)
                    .order_by(_TABLE.c.id)
                    .limit(READ_PAGE)
                )
            ).all()
        rows.extend(page)
        if len(page) < READ_PAGE:
            return rows
        after = page[-1].id
        await asyncio.sleep(0)  # on PostgreSQL a page may arrive at once: the loop's turn between conversions


@dataclass(frozen=True)
class _OptimizationPlan:
    dropped: list[int]
    evicted: list[int]
    expired: list[int]
    merged_into: dict[int, dict[str, Any]]
    moves: dict[str, list[int]]


def _plan_optimization(rows: Sequence[Any], config: rules.MemoryConfig, now: datetime) -> _OptimizationPlan:
    """What the optimisation changes (pure: run in a worker thread)."""
    items = {row.id: _item(row) for row in rows}

    # 1. Near-duplicates, within (author, subject) groups.
    groups: dict[tuple[int | None, int | None], list[tuple[int, str, float]]] = defaultdict(list)
    for row in rows:
        if not row.sensitive and not row.encrypted:
            groups[(row.source_user_id, row.subject_user_id)].append((row.id, row.content, items[row.id].strength))
    merged_into: dict[int, dict[str, Any]] = {}
    dropped: list[int] = []
    for group in groups.values():
        if len(group) < 2:
            continue
        for keep, drop in rules.near_duplicates(group):
            kept, gone = items[keep], items[drop]
            items[keep] = replace(
                kept,
                access_count=kept.access_count + gone.access_count,
                importance=max(kept.importance, gone.importance),
                pinned=kept.pinned or gone.pinned,
            )
            merged_into[keep] = {
                "access_count": items[keep].access_count,
                "importance": items[keep].importance,
                "pinned": items[keep].pinned,
            }
            dropped.append(drop)
            del items[drop]

    # 2. Capacity.
    evicted = rules.evict_for_capacity(list(items.values()), config, now)
    for memory_id in evicted:
        merged_into.pop(memory_id, None)
        del items[memory_id]

    # 3. Tiers.
    wanted = rules.assign_tiers(list(items.values()), config, now)
    moves: dict[str, list[int]] = defaultdict(list)
    for memory_id, item in list(items.items()):
        tier = wanted[memory_id]
        if tier != item.tier or (item.pinned and item.cold_since is not None):
            moves[tier].append(memory_id)
            cold_since = (item.cold_since or now) if tier == "cold" else None
            items[memory_id] = replace(item, tier=tier, cold_since=cold_since)

    # 4. Expired cold memories.
    expired = rules.expired_cold(list(items.values()), config, now)
    for memory_id in expired:
        merged_into.pop(memory_id, None)
        for tier_ids in moves.values():
            if memory_id in tier_ids:
                tier_ids.remove(memory_id)

    offload.release(items, groups)
    return _OptimizationPlan(
        dropped=dropped, evicted=list(evicted), expired=list(expired), merged_into=merged_into, moves=dict(moves)
    )


async def _optimize(reads: _Sessions, writes: _Sessions, persona: _Persona, now: datetime) -> OptimizationReport:
    """The optimisation, reading in ``reads()`` sessions and writing in ``writes()`` ones (the caller's one
    session for :func:`optimize`; short ones of their own for :func:`optimize_store`)."""
    persona_id = persona.id
    config = persona.config
    async with reads() as session:
        before = await _health(session, persona, now)
    rows = await _read_memories(reads, persona_id)
    plan = await asyncio.to_thread(_plan_optimization, rows, config, now)
    await asyncio.to_thread(offload.release, rows)
    dropped, evicted, expired = plan.dropped, plan.evicted, plan.expired
    merged_into, moves = plan.merged_into, plan.moves

    # Write: deletions, merged survivors, tier moves; a batch at a time.
    memory = models.Memory
    for batch in _batches(sorted(dropped)):
        async with writes() as session:
            await session.execute(delete(memory).where(memory.id.in_(batch)))  # type: ignore[union-attr]
    for batch in _batches(sorted([*evicted, *expired])):
        async with writes() as session:
            # Never pinned when planned; a memory pinned since stays.
            await session.execute(delete(memory).where(memory.id.in_(batch), memory.pinned.is_(False)))  # type: ignore[union-attr,attr-defined]
    survivors = sorted(merged_into.items())
    for start in range(0, len(survivors), ID_BATCH):
        async with writes() as session:
            # One statement, executed for each survivor (Core executemany).
            await session.execute(
                update(_TABLE)
                .where(_TABLE.c.id == bindparam("memory_id"))
                .values(
                    access_count=bindparam("new_access_count"),
                    importance=bindparam("new_importance"),
                    pinned=bindparam("new_pinned"),
                ),
                [
                    {
                        "memory_id": memory_id,
                        "new_access_count": values["access_count"],
                        "new_importance": values["importance"],
                        "new_pinned": values["pinned"],
                    }
                    for memory_id, values in survivors[start : start + ID_BATCH]
                ],
            )
    retiered = 0
    for tier, ids in moves.items():
        retiered += len(ids)
        for batch in _batches(sorted(ids)):
            if tier == "cold":
                # Keep an existing countdown; start one for memories entering cold now.
                values: dict[str, Any] = {"tier": tier, "cold_since": func.coalesce(memory.cold_since, now)}
            else:
                values = {"tier": tier, "cold_since": None}
            async with writes() as session:
                await session.execute(update(memory).where(memory.id.in_(batch)).values(**values))  # type: ignore[union-attr]

    async with writes() as session:
        return await _record_optimization(session, persona, now, before, plan, retiered)


async def _record_optimization(
    session: AsyncSession,
    persona: _Persona,
    now: datetime,
    before: HealthReport,
    plan: _OptimizationPlan,
    retiered: int,
) -> OptimizationReport:
    persona_id = persona.id
    dropped, evicted, expired = plan.dropped, plan.evicted, plan.expired
    await session.execute(
        update(models.MemoryConfig)
        .where(models.MemoryConfig.persona_id == persona_id)  # type: ignore[arg-type]
        .values(last_optimization_at=now)
    )
    if persona.config_row is not None:
        persona.config_row.last_optimization_at = now
    after = await _health(session, persona, now)
    await timeline.record(
        session,
        persona_id,
        "optimization",
        title="Memory optimised",
        description=(
            f"Health {before.score:.0f} -> {after.score:.0f}; {len(dropped)} merged, {len(evicted)} removed "
            f"for capacity, {len(expired)} expired, {retiered} moved between tiers."
        ),
        details={
            "before": before.summary(),
            "after": after.summary(),
            "merged": len(dropped),
            "evicted": len(evicted),
            "expired": len(expired),
            "retiered": retiered,
        },
        is_public=False,
        now=now,
    )
    await session.flush()
    optimized = False
    if session.bind.dialect.name == "sqlite":
        await session.execute(text("PRAGMA optimize"))
        optimized = True
    return OptimizationReport(
        persona_id=persona_id,
        before=before,
        after=after,
        merged=len(dropped),
        evicted=len(evicted),
        expired=len(expired),
        retiered=retiered,
        database_optimized=optimized,
    )


# ----------------------------------------------------------------------------------------------------- decay job


def _days_sql(dialect: str, later: str, earlier: str) -> str:
    """Days from ``earlier`` to ``later`` (SQL fragments), clipped at 0 like ``core.memory.days_between``."""
    if dialect == "sqlite":
        return f"max(0.0, julianday({later}) - julianday({earlier}))"
    return f"GREATEST(0.0, CAST(EXTRACT(EPOCH FROM ({later} - {earlier})) AS DOUBLE PRECISION) / 86400.0)"


def _now_sql(dialect: str) -> str:
    return ":now" if dialect == "sqlite" else "CAST(:now AS TIMESTAMPTZ)"


def _due_sql(alias: str = "c") -> str:
    """A persona is due: decay on, and never run or at least its schedule's period since the last run.

    A period of 0 (continuous) is due once per instant (``last_decay_run < now``): a second run at the same
    ``now`` would be ``decay_step`` with dt = 0, the identity, so skipping it changes nothing and keeps the job
    idempotent and its chunk loop finite.
    """
    clauses = [f"{alias}.last_decay_run IS NULL"]
    for schedule, period in catalog.load("memory")["decay_schedule"].items():
        operator = "<" if float(period) == 0 else "<="
        clauses.append(f"({alias}.decay_schedule = '{schedule}' AND {alias}.last_decay_run {operator} :cut_{schedule})")
    return f"({alias}.decay_enabled AND ({' OR '.join(clauses)}))"


def _not_exempt_sql(dialect: str) -> str:
    """``not core.memory.is_exempt`` for memory ``m`` of configuration ``c``."""
    if dialect == "sqlite":
        category = "m.category NOT IN (SELECT value FROM json_each(c.exempt_categories))"
    else:
        category = "NOT (c.exempt_categories @> to_jsonb(CAST(m.category AS TEXT)))"
    return (
        f"(NOT (m.pinned AND c.pinned_memories_exempt) AND m.importance < c.high_importance_threshold AND {category})"
    )


def _typed_text(body: str) -> Any:
    """``text(body)`` with the decay job's parameters typed: ``ids`` expanding, the times as ``UTCDateTime``."""
    names = ["now", *(f"cut_{name}" for name in catalog.load("memory")["decay_schedule"])]
    typed = [bindparam(name, type_=UTCDateTime) for name in names if f":{name}" in body]
    if ":ids" in body:
        typed.append(bindparam("ids", expanding=True))
    return text(body).bindparams(*typed)


def _decay_statements(dialect: str) -> dict[str, Any]:
    now = _now_sql(dialect)
    t = _days_sql(dialect, now, "m.last_accessed_at")
    # Never run: dt counts from the last access, i.e. dt = t. (COALESCE inside: PostgreSQL's GREATEST skips NULLs.)
    dt = _days_sql(dialect, now, "COALESCE(c.last_decay_run, m.last_accessed_at)")
    branches = " ".join(
        f"WHEN '{function}' THEN "
        + rules.decay_sql(function, strength="m.strength", stability="m.stability", rate="c.decay_rate", dt=dt, t=t)
        for function in rules.DECAY_FUNCTIONS
    )
    new_strength = f"CASE c.decay_function {branches} ELSE m.strength END"
    due = _due_sql()
    exempt = _not_exempt_sql(dialect)
    chunk = "c.persona_id IN :ids"
    sql = _typed_text
    decay = sql(
        f"UPDATE memories AS m SET strength = {new_strength} FROM memory_configs AS c "
        f"WHERE m.persona_id = c.persona_id AND {chunk} AND {due} AND {exempt} "
        "AND m.strength > 0 AND c.decay_rate > 0"
    )
    to_cold = sql(
        f"UPDATE memories AS m SET tier = 'cold', cold_since = {now} FROM memory_configs AS c "
        f"WHERE m.persona_id = c.persona_id AND {chunk} AND {due} AND {exempt} "
        "AND m.tier <> 'cold' AND NOT m.pinned AND m.strength < :cold_below"
    )
    expire = sql(
        "DELETE FROM memories WHERE id IN (SELECT m.id FROM memories AS m "
        "JOIN memory_configs AS c ON m.persona_id = c.persona_id "
        f"WHERE {chunk} AND {due} AND {exempt} AND m.tier = 'cold' AND m.cold_since IS NOT NULL AND NOT m.pinned "
        f"AND {_days_sql(dialect, now, 'm.cold_since')} > c.cold_memory_retention_days)"
    )
    mark = sql(f"UPDATE memory_configs AS c SET last_decay_run = {now} WHERE {chunk} AND {due}")
    claim = sql(f"SELECT c.persona_id FROM memory_configs AS c WHERE {chunk} AND {due} FOR UPDATE SKIP LOCKED")
    return {"decay": decay, "to_cold": to_cold, "expire": expire, "mark": mark, "claim": claim}


def _due_params(now: datetime) -> dict[str, Any]:
    params: dict[str, Any] = {"now": now}
    for schedule, period in catalog.load("memory")["decay_schedule"].items():
        params[f"cut_{schedule}"] = now - timedelta(days=float(period))
    return params


async def _next_chunk(database: Database, now: datetime, after: int, max_personas: int, max_memories: int) -> list[int]:
    """The next due personas after id ``after``: at most ``max_personas``, and no more memories than
    ``max_memories`` (but always at least one persona)."""
    select_due = _typed_text(
        f"SELECT c.persona_id FROM memory_configs AS c WHERE {_due_sql()} AND c.persona_id > :after "
        "ORDER BY c.persona_id LIMIT :limit"
    )
    async with database.session() as session:
        ids = [
            int(value)
            for value in (
                await session.execute(select_due, {**_due_params(now), "after": after, "limit": max_personas})
            ).scalars()
        ]
        if len(ids) <= 1:
            return ids
        counted = (
            await session.execute(
                select(models.Memory.persona_id, func.count())
                .where(models.Memory.persona_id.in_(ids))  # type: ignore[attr-defined]
                .group_by(models.Memory.persona_id)
            )
        ).all()
    sizes = {int(persona_id): int(count) for persona_id, count in counted}
    chosen: list[int] = []
    total = 0
    for persona_id in ids:
        size = sizes.get(persona_id, 0)
        if chosen and total + size > max_memories:
            break
        chosen.append(persona_id)
        total += size
    return chosen


async def decay_due_personas(
    database: Database,
    now: datetime,
    *,
    max_personas: int = DECAY_CHUNK_PERSONAS,
    max_memories: int = DECAY_CHUNK_MEMORIES,
    pause_seconds: float = 0.0,
) -> DecayRunReport:
    """The decay job: decay every due persona's memories to ``now``, in chunks, one transaction per chunk.

    Per chunk, set-based SQL (no Python loop over memories): one UPDATE applies ``decay_sql`` (the persona's
    function, ``decay_rate / stability``, dt since the persona's ``last_decay_run``, t since each memory's last
    access) to every memory ``is_exempt`` would not exempt; memories whose strength is now below ``COLD_BELOW``
    move to cold (``cold_since = now``; never pinned or exempt ones); cold memories past
    ``cold_memory_retention_days`` (``expired_cold``) are deleted; and the personas' ``last_decay_run`` becomes
    ``now``, all in the same transaction. Every statement re-checks due-ness, and on PostgreSQL the chunk's
    configurations are claimed with ``FOR UPDATE SKIP LOCKED``, so two processes never decay a persona twice.

    Idempotent (a second run at the same ``now`` finds nothing due) and resumable (a run killed mid-way leaves each
    persona either fully decayed, with ``last_decay_run = now``, or untouched, and the next run does the rest).
    Between chunks the loop yields (``pause_seconds``) so the bot's other work gets the connection.
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be a timezone-aware datetime")
    dialect = database.kind
    statements = _decay_statements(dialect)
    params = _due_params(now)
    personas = chunks = decayed = moved = expired = 0
    after = 0
    while True:
        ids = await _next_chunk(database, now, after, max_personas, max_memories)
        if not ids:
            break
        after = ids[-1]
        async with database.transaction() as session:
            if dialect != "sqlite":
                ids = [int(v) for v in (await session.execute(statements["claim"], {**params, "ids": ids})).scalars()]
            if ids:
                chunk_params = {**params, "ids": ids, "cold_below": COLD_BELOW}
                decayed += int((await session.execute(statements["decay"], chunk_params)).rowcount or 0)  # type: ignore[attr-defined]
                moved += int((await session.execute(statements["to_cold"], chunk_params)).rowcount or 0)  # type: ignore[attr-defined]
                expired += int((await session.execute(statements["expire"], chunk_params)).rowcount or 0)  # type: ignore[attr-defined]
                personas += int((await session.execute(statements["mark"], chunk_params)).rowcount or 0)  # type: ignore[attr-defined]
                chunks += 1
        await asyncio.sleep(pause_seconds)
    return DecayRunReport(
        now=now, personas=personas, chunks=chunks, decayed=decayed, moved_to_cold=moved, expired=expired
    )
