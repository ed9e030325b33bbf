"""Vector search over a persona's memories, and keeping their embeddings current.

Where the vectors are searched, and why there: exactly, in this process, with numpy, on both databases.

- SQLite: ``sqlite-vec`` cannot be loaded here. Python's ``sqlite3`` module must be built with loadable extensions
  (``enable_load_extension``), and the interpreter the bot runs on need not be (this machine's is not). Measured
  anyway with a Python that can: exact KNN of the top 10 among 100,000 vectors of 256 dimensions took 97 ms through
  ``vec_distance_cosine`` over a table and 68 ms through a ``vec0`` table, against a few milliseconds for the
  matrix product below (bench/bench_vectors.py).
- PostgreSQL: ``pgvector`` is not packaged for every PostgreSQL (not for 15 on Debian 12), so the vectors are
  ``bytea`` there too, and the same search runs. Logged once at the first search.

So each persona's vectors are loaded once into one float32 matrix (:class:`_PersonaVectors`), kept up to date by
appending what is new (``memory_id`` above the highest one held: one indexed read, usually of no row) and by the
embeddings this process writes; a memory forgotten since is dropped by checking the few ids found against
``memories``. Vectors of another model than the configured one are not used (they are stale: the backfill job
embeds those memories again).

Embedding new memories: :func:`capture` notes each new memory's id in the session; after the commit they are
offered to the :class:`EmbeddingQueue` (bounded: when full, a memory waits for the backfill job), whose task embeds
them in batches in its own transactions, never in the reply's path. An encrypted memory is never embedded (its
vector would tell what its text hides); full text does not find it either.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import numpy as np
from sqlalchemy import delete, event, insert, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from bot.core.memory import vectors as vec
from bot.db import models, sqlite_inline
from bot.llm.embeddings import Embedder, EmbeddingError, OnceLog, WordLlamaEmbedder

if TYPE_CHECKING:
    from bot.db.engine import Database

log = logging.getLogger(__name__)

BATCH = 512  # memories embedded per transaction (backfill and queue)
QUEUE_SIZE = 2_000
OFF_LOOP_ROWS = 20_000  # a persona with more vectors is scored in a worker thread
_NEW_IDS = "new_memory_ids"

_embedder: Embedder | None = None
_default: WordLlamaEmbedder | None = None  # loaded once per process, whoever configures what
_cache: dict[int, _PersonaVectors] = {}
_once = OnceLog()
_queue: EmbeddingQueue | None = None
_told_where = False


def configure(embedder: Embedder | None) -> None:
    """Use ``embedder`` from now on (None: the embedded default); the vectors held in memory are dropped, and each
    kind of failure is logged once again."""
    global _embedder, _once
    _embedder = embedder
    _once = OnceLog()
    _cache.clear()


def embedder() -> Embedder:
    """The configured embedder, or the embedded default."""
    global _default
    if _embedder is not None:
        return _embedder
    if _default is None:
        _default = WordLlamaEmbedder()
    return _default


@dataclass
class _PersonaVectors:
    model: str
    dim: int
    ids: Any = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    matrix: Any = None
    size: int = 0
    rows: dict[int, int] = field(default_factory=dict)
    max_id: int = 0

    def put(self, pairs: list[tuple[int, Any]]) -> None:
        """Add or replace vectors (memory id, float32 vector)."""
        if self.matrix is None:
            self.matrix = np.zeros((max(64, len(pairs)), self.dim), dtype=np.float32)
            self.ids = np.full(self.matrix.shape[0], -1, dtype=np.int64)
        fresh = [(i, v) for i, v in pairs if i not in self.rows]
        need = self.size + len(fresh)
        if need > self.matrix.shape[0]:
            capacity = max(need, self.matrix.shape[0] * 2)
            matrix = np.zeros((capacity, self.dim), dtype=np.float32)
            matrix[: self.size] = self.matrix[: self.size]
            ids = np.full(capacity, -1, dtype=np.int64)
            ids[: self.size] = self.ids[: self.size]
            self.matrix, self.ids = matrix, ids
        for memory_id, vector in pairs:
            row = self.rows.get(memory_id)
            if row is None:
                row = self.size
                self.size += 1
                self.rows[memory_id] = row
                self.ids[row] = memory_id
            self.matrix[row] = vector
            self.max_id = max(self.max_id, memory_id)

    def drop(self, memory_ids: set[int]) -> None:
        for memory_id in memory_ids:
            row = self.rows.pop(memory_id, None)
            if row is not None:
                self.matrix[row] = 0.0
                self.ids[row] = -1

    def search(self, query: Any, k: int) -> list[tuple[int, float]]:
        if self.matrix is None:
            return []
        found = vec.top_k(self.matrix[: self.size], query, k + 8)
        return [(int(self.ids[row]), score) for row, score in found if self.ids[row] >= 0][:k]


def _tell_where(session: AsyncSession) -> None:
    global _told_where
    if _told_where:
        return
    _told_where = True
    kind = session.bind.dialect.name if session.bind is not None else "?"
    log.info(
        "Vector search on %s: exact, in process (numpy over float32 bytes). sqlite-vec needs a Python built with "
        "loadable SQLite extensions and pgvector is not installed everywhere; measured faster than sqlite-vec's "
        "exact search at 100,000 memories (bench/bench_vectors.py).",
        kind,
    )


async def _refresh(session: AsyncSession, persona_id: int, model: Embedder) -> _PersonaVectors:
    held = _cache.get(persona_id)
    if held is None or held.model != model.name or held.dim != model.dim:
        held = _PersonaVectors(model=model.name, dim=model.dim)
        _cache[persona_id] = held
    table = models.MemoryEmbedding
    statement = (
        select(table.memory_id, table.vector)
        .where(table.persona_id == persona_id, table.model == model.name, table.memory_id > held.max_id)
        .order_by(table.memory_id)
    )
    with sqlite_inline.in_worker_thread() if held.size == 0 else contextlib.nullcontext():
        rows = (await session.execute(statement)).all()
    pairs = [(int(i), v) for i, blob in rows if (v := vec.from_bytes(blob, model.dim)) is not None]
    if pairs:
        held.put(pairs)
    return held


async def vector_candidates(session: AsyncSession, persona_id: int, query: str, *, k: int) -> list[tuple[int, float]]:
    """The ``k`` memories of the persona nearest ``query`` in meaning: (memory id, cosine similarity), best first.
    A memory without a current embedding is not a candidate; a failing embedder gives no candidates (logged once
    per kind of failure)."""
    if k <= 0 or not query.strip():
        return []
    model = embedder()
    try:
        query_vector = vec.unit((await model.embed([query]))[0])
    except EmbeddingError as error:
        _once.error(error)
        return []
    _tell_where(session)
    held = await _refresh(session, persona_id, model)
    if held.size == 0 or query_vector.shape[0] != held.dim:
        return []
    if held.size >= OFF_LOOP_ROWS:
        found = await asyncio.to_thread(held.search, query_vector, k)
    else:
        found = held.search(query_vector, k)
    if not found:
        return []
    ids = [memory_id for memory_id, _ in found]
    present = set((await session.execute(select(models.Memory.id).where(models.Memory.id.in_(ids)))).scalars())
    held.drop(set(ids) - present)
    return [(memory_id, score) for memory_id, score in found if memory_id in present]


# ------------------------------------------------------------------------------------------------ embedding


async def embed_memories(
    session: AsyncSession, *, now: datetime, memory_ids: list[int] | None = None, after_id: int = 0, limit: int = BATCH
) -> tuple[int, int]:
    """Embed up to ``limit`` memories that have no embedding of the current model (those of ``memory_ids``, or any
    with an id above ``after_id``). Returns (how many were embedded, the highest id looked at; 0 when none)."""
    model = embedder()
    memory, table = models.Memory, models.MemoryEmbedding
    statement = (
        select(memory.id, memory.persona_id, memory.content)
        .outerjoin(table, table.memory_id == memory.id)
        .where(memory.encrypted.is_(False), or_(table.memory_id.is_(None), table.model != model.name))
        .order_by(memory.id)
        .limit(limit)
    )
    statement = statement.where(memory.id.in_(memory_ids)) if memory_ids is not None else statement
    statement = statement.where(memory.id > after_id) if after_id else statement
    rows = (await session.execute(statement)).all()
    if not rows:
        return 0, 0
    try:
        vectors = await model.embed([content for _, _, content in rows])
        if any(len(v) != model.dim for v in vectors) or len(vectors) != len(rows):
            raise EmbeddingError("dimension", f"the embedder's vectors are not of its {model.dim} dimensions")
    except EmbeddingError as error:
        _once.error(error)
        return 0, int(rows[-1][0])
    ids = [int(i) for i, _, _ in rows]
    await session.execute(delete(table).where(table.memory_id.in_(ids)))
    values = [
        {
            "memory_id": i,
            "persona_id": p,
            "model": model.name,
            "dim": model.dim,
            "vector": vec.to_bytes(v),
            "created_at": now,
        }
        for (i, p, _), v in zip(rows, vectors, strict=True)
    ]
    await session.execute(insert(table), values)
    by_persona: dict[int, list[tuple[int, Any]]] = {}
    for value in values:
        by_persona.setdefault(int(value["persona_id"]), []).append(
            (int(value["memory_id"]), np.frombuffer(value["vector"], dtype="<f4"))
        )
    for persona_id, pairs in by_persona.items():
        held = _cache.get(persona_id)
        if held is not None and held.model == model.name:
            held.put(pairs)
    return len(rows), ids[-1]


async def backfill(database: Database, *, now: datetime, batch: int = BATCH, max_batches: int | None = None) -> int:
    """Embed every memory without an embedding of the current model (new to the store, or embedded by another
    model), one transaction per batch. Returns how many were embedded."""
    total, after, batches = 0, 0, 0
    while max_batches is None or batches < max_batches:
        with sqlite_inline.in_worker_thread():
            async with database.transaction() as session:
                done, last = await embed_memories(session, now=now, after_id=after, limit=batch)
        batches += 1
        total += done
        if last == 0:
            break
        after = last
        await asyncio.sleep(0)
    return total


class EmbeddingQueue:
    """New memories waiting for their vectors: ids offered after their transaction commits, embedded in batches by
    one task. Bounded: past ``maxsize`` an id is left to the backfill job."""

    def __init__(self, database: Database, *, now: Any, maxsize: int = QUEUE_SIZE) -> None:
        self.database = database
        self.now = now  # a callable giving the time to stamp rows with (the bot's clock)
        self.maxsize = maxsize
        self.dropped = 0
        self._pending: asyncio.Queue[int] = asyncio.Queue(maxsize)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self.idle = asyncio.Event()
        self.idle.set()

    def start(self) -> None:
        global _queue
        self._loop = asyncio.get_running_loop()
        self._task = asyncio.create_task(self._run(), name="memory-embeddings")
        _queue = self

    async def stop(self) -> None:
        global _queue
        if _queue is self:
            _queue = None
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def offer(self, memory_ids: list[int]) -> None:
        """From any thread: queue ``memory_ids`` for embedding (those that do not fit are left to the backfill)."""
        if self._loop is None:
            return
        self._loop.call_soon_threadsafe(self._put, list(memory_ids))

    def _put(self, memory_ids: list[int]) -> None:
        for memory_id in memory_ids:
            try:
                self._pending.put_nowait(memory_id)
                self.idle.clear()
            except asyncio.QueueFull:
                self.dropped += 1

    async def _run(self) -> None:
        while True:
            ids = [await self._pending.get()]
            while len(ids) < BATCH and not self._pending.empty():
                ids.append(self._pending.get_nowait())
            try:
                async with self.database.transaction() as session:
                    await embed_memories(session, now=self.now(), memory_ids=ids, limit=len(ids))
            except Exception:  # the reply never waits on this: a failed batch waits for the backfill job
                log.exception("Embedding %d new memories failed; the backfill job will retry them", len(ids))
            if self._pending.empty():
                self.idle.set()


def note_new_memory(session: AsyncSession, memory_id: int) -> None:
    """Called by :func:`capture`: embed this memory once its transaction commits."""
    session.sync_session.info.setdefault(_NEW_IDS, []).append(memory_id)


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    ids = session.info.pop(_NEW_IDS, None)
    if ids and _queue is not None:
        _queue.offer(ids)


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(_NEW_IDS, None)
