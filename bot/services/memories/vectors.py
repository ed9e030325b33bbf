"""Vector search over a persona's memories, and keeping their embeddings current.

Where the vectors are searched, and why there: in this process, with numpy, on both databases; exactly for a
persona with fewer than ``held.INDEX_MIN_ROWS`` vectors, through an IVF index built in a worker thread for one with
more (:mod:`bot.services.memories.held`; at 100,000 vectors the exact scan reads 100 MB, some 2.7 ms, and the
index's nearest lists about 4 % of it, 0.5 ms).

- SQLite: ``sqlite-vec`` cannot be loaded here. Python's ``sqlite3`` module must be built with loadable extensions
  (``enable_load_extension``), and the interpreter the bot runs on need not be (this machine's is not). Measured
  anyway with a Python that can: exact KNN of the top 10 among 100,000 vectors of 256 dimensions took 97 ms through
  ``vec_distance_cosine`` over a table and 68 ms through a ``vec0`` table, against a few milliseconds for the
  matrix product below (bench/bench_vectors.py).
- PostgreSQL: ``pgvector`` is not packaged for every PostgreSQL (not for 15 on Debian 12), so the vectors are
  ``bytea`` there too, and the same search runs. Logged once at the first search.

So each persona's vectors are loaded once into one float32 matrix (:class:`~bot.services.memories.held.HeldVectors`;
100,000 memories of 256 dimensions take 100 MB), read in the background when there are more than a page of them (the
search that found them missing answers with no vector candidate, and full text answers alone until they are held),
kept up to date by appending what is new (``memory_id`` above the highest one held: one indexed read, usually of no
row) and by the embeddings this process writes; a memory forgotten since (by another process too) is dropped when
a search finds it gone from ``memories`` (here, or in retrieval's read of the rows it found: :func:`let_go`).
Vectors of another model than the configured one are not used (they are stale: the backfill job embeds those
memories again).

Embedding new memories: :func:`capture` notes each new memory's id in the session; after the commit they are
offered to the :class:`EmbeddingQueue` (bounded: when full, a memory waits for the backfill job), whose task embeds
them in batches in its own transactions, never in the reply's path (the embedded model is loaded before the first
of them opens: :func:`warm`). An encrypted memory is never embedded (its
vector would tell what its text hides); full text does not find it either.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict
from datetime import datetime
from typing import TYPE_CHECKING, Any

import numpy as np
from sqlalchemy import bindparam, delete, event, insert, or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session
from sqlmodel import col

from bot.db import models, sqlite_inline
from bot.llm.embeddings import Embedder, EmbeddingError, OnceLog, WordLlamaEmbedder, checked
from bot.services.memories import held as held_module
from bot.services.memories.held import HeldVectors, index_soon, indexing

if TYPE_CHECKING:
    from bot.db.engine import Database

log = logging.getLogger(__name__)

BATCH = 256  # memories embedded per transaction (backfill and queue)
QUEUE_SIZE = 2_000
OFF_LOOP_ROWS = 20_000  # a persona with more vectors is scored in a worker thread
ANALYZE_AFTER_ROWS = 10_000  # a backfill that wrote more asks PostgreSQL to refresh the table's statistics
HELD_ROWS = 1_000_000  # vectors held at most, all personas and their indexes' copies (about 1 GB at 256 dimensions)
LOAD_PAGE = 2_000  # vectors read per statement when a persona's vectors are loaded
INLINE_PUT_ROWS = 1_000  # more read at once are put into the matrix in a worker thread
_NEW_IDS = "new_memory_ids"
# A search waits at most this long for its query's embedding (a model server's; the embedded default takes under a
# millisecond), then goes on without vector candidates: a slow server never holds a reply. After a query took that
# long, searches do not ask the server again for QUERY_BACKOFF_SECONDS.
QUERY_EMBED_SECONDS = 2.0
QUERY_BACKOFF_SECONDS = 60.0
_CHANGED_IDS = "changed_memory_ids"

_embedder: Embedder | None = None
_default: WordLlamaEmbedder | None = None  # loaded once per process, whoever configures what
_cache: OrderedDict[int, HeldVectors] = OrderedDict()  # least recently searched first
_once = OnceLog()
_queue: EmbeddingQueue | None = None
_loading: dict[int, asyncio.Task[None]] = {}  # personas whose vectors are being read in the background
_told_where = False
_queries_resume_at = 0.0  # the event loop's time before which no query is embedded by a server (after a slow one)
_warming: asyncio.Task[None] | None = None  # the embedded default loading for a search


def configure(embedder: Embedder | None) -> None:
    """Use ``embedder`` from now on (None: the embedded default); the vectors held in memory are dropped, and each
    kind of failure is logged once again."""
    global _embedder, _once
    _embedder = embedder
    _once = OnceLog()
    for task in (*_loading.values(), *indexing()):
        task.cancel()
    _loading.clear()
    _cache.clear()


def embedder() -> Embedder:
    """The configured embedder, or the embedded default."""
    global _default
    if _embedder is not None:
        return _embedder
    if _default is None:
        _default = WordLlamaEmbedder()
    return _default


def _keep_within_budget(persona_id: int) -> None:
    """Mark the persona's vectors as just used, and let go of the least recently searched personas' beyond
    :data:`HELD_ROWS` (read again at their next search)."""
    if persona_id not in _cache:  # let go meanwhile (another search's budget, a new embedder)
        return
    _cache.move_to_end(persona_id)
    total = sum(held.footprint for held in _cache.values())
    while total > HELD_ROWS and len(_cache) > 1:
        _, dropped = _cache.popitem(last=False)
        total -= dropped.footprint


def held_vectors(persona_id: int) -> HeldVectors | None:
    """The persona's vectors held in memory, if any (for benchmarks and tests)."""
    return _cache.get(persona_id)


def _tell_where(session: AsyncSession) -> None:
    global _told_where
    if _told_where:
        return
    _told_where = True
    kind = session.bind.dialect.name if session.bind is not None else "?"
    log.info(
        "Vector search on %s: in process (numpy over float32 bytes), exact below %d vectors a persona and "
        "through an IVF index above. sqlite-vec needs a Python built with loadable SQLite extensions and pgvector "
        "is not installed everywhere; measured faster than sqlite-vec's exact search at 100,000 memories "
        "(bench/bench_vectors.py).",
        kind,
        held_module.INDEX_MIN_ROWS,
    )


# Statements built once (a search makes them every time): the persona's vectors of a model after a memory id, a page
# at a time; which of some memories are still there.
_V = models.metadata.tables["memory_embeddings"]
_NEWER_VECTORS = (
    select(_V.c.memory_id, _V.c.vector)
    .where(
        _V.c.persona_id == bindparam("persona"), _V.c.model == bindparam("model"), _V.c.memory_id > bindparam("after")
    )
    .order_by(_V.c.memory_id)
    .limit(bindparam("page"))
)
_PRESENT = select(models.metadata.tables["memories"].c.id).where(
    models.metadata.tables["memories"].c.id.in_(bindparam("ids", expanding=True))
)


async def _refresh(
    session: AsyncSession, persona_id: int, model: Embedder, *, pages: int | None = None
) -> tuple[HeldVectors, bool]:
    """The persona's vectors held in memory, with what was embedded since they were read (at most ``pages`` pages
    of :data:`LOAD_PAGE`), and whether all were read. Pages are read in a worker thread on SQLite while loading and
    turned into the matrix in a worker thread, so the loop is never held for long."""
    held = _cache.get(persona_id)
    if held is None or held.model != model.name or held.dim != model.dim:
        held = HeldVectors(model=model.name, dim=model.dim)
        _cache[persona_id] = held
    loading = not held.read  # the first read may be long: in a worker thread on SQLite (an empty store's is not)
    read = 0
    while pages is None or read < pages:
        params = {"persona": persona_id, "model": model.name, "after": held.max_id, "page": LOAD_PAGE}
        with sqlite_inline.in_worker_thread() if loading else contextlib.nullcontext():
            rows = (await session.execute(_NEWER_VECTORS, params)).all()
        read += 1
        if rows:
            ids, blobs = [int(row[0]) for row in rows], [bytes(row[1]) for row in rows]
            if len(rows) >= INLINE_PUT_ROWS:
                await asyncio.to_thread(held.put, ids, blobs)
            else:
                held.put(ids, blobs)
        held.read = True  # after the rows are held: a search meanwhile still reads the first page apart
        if len(rows) < LOAD_PAGE:
            return held, True
        loading = True
    return held, False


async def _load_rest(session: AsyncSession, persona_id: int, model: Embedder) -> None:
    """Read the rest of a persona's vectors, a page per short session (the one SQLite connection is free between
    pages)."""
    bind = session.bind
    try:
        done = False
        while not done:
            async with AsyncSession(bind) as own:
                with sqlite_inline.in_worker_thread():  # a page of 2,000 vectors: off the loop on SQLite
                    _, done = await _refresh(own, persona_id, model, pages=1)
    except Exception:
        log.exception("Loading the vectors of persona %d failed; they are read again at its next search", persona_id)
        _cache.pop(persona_id, None)
    finally:
        _loading.pop(persona_id, None)


async def loaded(persona_id: int) -> None:
    """Wait until the persona's vectors, if they are being loaded in the background, are held."""
    task = _loading.get(persona_id)
    if task is not None:
        await asyncio.shield(task)


async def vector_candidates(
    session: AsyncSession, persona_id: int, query: str, *, k: int, checked: bool = True
) -> list[tuple[int, float]]:
    """The ``k`` memories of the persona nearest ``query`` in meaning: (memory id, cosine similarity), best first.
    A memory without a current embedding is not a candidate; a failing embedder gives no candidates (logged once
    per kind of failure). ``checked=False``: the memories are not checked to be still there (one round trip less;
    for a caller that reads them anyway, and passes those gone to :func:`let_go`): one forgotten by another
    process may be among them."""
    if k <= 0 or not query.strip():
        return []
    model = embedder()
    if persona_id in _loading:
        return []  # still being read: full text answers meanwhile
    query_vector = None
    if not model.dim:  # a server's dimension, learnt from its first answer, is needed to read the store
        query_vector = await _query_vector(model, query)
        if query_vector is None:
            return []
    _tell_where(session)
    held, complete = await _refresh(session, persona_id, model, pages=1)
    if not complete:
        # Many vectors to read (the first search since the start, or a backfill elsewhere): read them in the
        # background rather than make this reply wait seconds; full text answers meanwhile.
        _loading[persona_id] = asyncio.create_task(_load_rest(session, persona_id, model))
        return []
    _keep_within_budget(persona_id)
    if held.size == 0:
        return []  # nothing to search: the query is not embedded
    if query_vector is None:
        query_vector = await _query_vector(model, query)
    if query_vector is None or query_vector.shape[0] != held.dim:
        return []
    if held.size >= OFF_LOOP_ROWS:
        found = await asyncio.to_thread(held.search, query_vector, k)
    else:
        found = held.search(query_vector, k)
    if _cache.get(persona_id) is held:  # not let go while the search was awaited
        index_soon(persona_id, held)
    if not found or not checked:
        return found
    ids = [memory_id for memory_id, _ in found]
    present = set((await session.execute(_PRESENT, {"ids": ids})).scalars())
    held.drop(set(ids) - present)
    return [(memory_id, score) for memory_id, score in found if memory_id in present]


def let_go(persona_id: int, memory_ids: set[int]) -> None:
    """Drop from the persona's held vectors memories found gone (forgotten, by another process too)."""
    held = _cache.get(persona_id)
    if held is not None and memory_ids:
        held.drop(memory_ids)


async def _query_vector(model: Embedder, query: str) -> Any | None:
    """``query``'s unit vector, or None when the embedder fails (logged once per kind). The embedded default embeds
    at once; a server's answer is waited for at most :data:`QUERY_EMBED_SECONDS`."""
    global _queries_resume_at, _warming
    loop = asyncio.get_running_loop()
    try:
        if getattr(model, "embed_sync", None) is not None:
            if not getattr(model, "ready", True):  # loading 18 MB is not for a reply to wait on: in the background
                if _warming is None or _warming.done() or _warming.get_loop() is not loop:
                    _warming = asyncio.create_task(warm(model))
                return None
            return (await _embed_matrix(model, [query]))[0]
        if loop.time() < _queries_resume_at:
            return None
        return (await asyncio.wait_for(_embed_matrix(model, [query]), QUERY_EMBED_SECONDS))[0]
    except TimeoutError:
        _queries_resume_at = loop.time() + QUERY_BACKOFF_SECONDS
        _once.error(EmbeddingError("slow", f"a query took the embedder over {QUERY_EMBED_SECONDS:g} s"))
    except EmbeddingError as error:
        _once.error(error)
    return None


# ------------------------------------------------------------------------------------------------ embedding


async def _embed_matrix(model: Embedder, texts: list[str]) -> Any:
    """``texts`` embedded as a float32 ``(n, dim)`` array of unit rows, as stored. The embedded default hands its
    array over as it is (no Python float per value: 131,072 of them per batch would keep the garbage collector
    busy on the loop); a server's answer is checked first (:func:`~bot.llm.embeddings.checked`)."""
    sync = getattr(model, "embed_sync", None)
    if sync is not None and len(texts) == 1 and getattr(model, "ready", True):
        matrix = sync(texts)  # one text of at most MAX_EMBED_CHARS, model loaded: under a millisecond
    elif sync is not None:
        matrix = await asyncio.to_thread(sync, texts)
    else:
        matrix = np.asarray(checked(await model.embed(texts), len(texts), model.dim), dtype=np.float32)
    if matrix.shape != (len(texts), model.dim) or not np.isfinite(matrix).all():
        raise EmbeddingError("dimension", f"the embedder's vectors are not {len(texts)} x {model.dim} numbers")
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return np.ascontiguousarray(matrix / norms, dtype="<f4")


async def warm(model: Embedder) -> None:
    """Load ``model`` in a worker thread if it loads lazily and is not loaded yet (the embedded default reads 18 MB
    at its first use), so that no transaction is held open around the loading. A model that cannot load is left to
    the batch that needs it, which reports it (:func:`embed_memories`)."""
    load = getattr(model, "load", None)
    if load is None or getattr(model, "ready", True):
        return
    with contextlib.suppress(EmbeddingError):
        await asyncio.to_thread(load)


async def embed_memories(
    session: AsyncSession, *, now: datetime, memory_ids: list[int] | None = None, after_id: int = 0, limit: int = BATCH
) -> tuple[int, int]:
    """Embed up to ``limit`` memories that have no embedding of the current model (those of ``memory_ids``, or any
    with an id above ``after_id``). Returns (how many were embedded, the highest id looked at; 0 when none)."""
    model = embedder()
    memory, table = models.Memory, models.MemoryEmbedding
    statement = (
        select(col(memory.id), col(memory.persona_id), col(memory.content))
        .outerjoin(table, col(table.memory_id) == col(memory.id))
        .where(col(memory.encrypted).is_(False), or_(col(table.memory_id).is_(None), col(table.model) != model.name))
        .order_by(col(memory.id))
        .limit(limit)
    )
    statement = statement.where(col(memory.id).in_(memory_ids)) if memory_ids is not None else statement
    statement = statement.where(col(memory.id) > after_id) if after_id else statement
    rows: list[Any] = list((await session.execute(statement)).all())
    if not rows:
        return 0, 0
    try:
        matrix = await _embed_matrix(model, [content for _, _, content in rows])
    except EmbeddingError as error:
        _once.error(error)
        return 0, int(rows[-1][0])
    ids = [int(i) for i, _, _ in rows]
    blobs = [matrix[j].tobytes() for j in range(len(rows))]
    await session.execute(delete(table).where(col(table.memory_id).in_(ids)))
    values = [
        {"memory_id": i, "persona_id": p, "model": model.name, "dim": model.dim, "vector": blob, "created_at": now}
        for (i, p, _), blob in zip(rows, blobs, strict=True)
    ]
    await session.execute(insert(table), values)
    by_persona: dict[int, tuple[list[int], list[bytes]]] = {}
    for (memory_id, owner, _), blob in zip(rows, blobs, strict=True):
        pair = by_persona.setdefault(int(owner), ([], []))
        pair[0].append(int(memory_id))
        pair[1].append(blob)
    for persona_id, (memory_ids, persona_blobs) in by_persona.items():
        held = _cache.get(persona_id)
        if held is not None and held.model == model.name:
            held.put(memory_ids, persona_blobs)
    return len(rows), ids[-1]


async def backfill(database: Database, *, now: datetime, batch: int = BATCH, max_batches: int | None = None) -> int:
    """Embed every memory without an embedding of the current model (new to the store, or embedded by another
    model), one transaction per batch. Returns how many were embedded."""
    total, after, batches = 0, 0, 0
    await warm(embedder())
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
    if total >= ANALYZE_AFTER_ROWS and database.kind == "postgresql":
        # Fresh statistics at once (autovacuum would take a while): without them PostgreSQL reads a persona's
        # vectors by scanning and sorting the whole table, about 50 ms a page instead of 2 (bench_vectors).
        async with database.engine.connect() as connection:
            await connection.execute(text("ANALYZE memory_embeddings"))
            await connection.commit()
    return total


STOP_GRACE_SECONDS = 5.0
_STOP = -1  # the id that tells the queue's task to end


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
        self._stopping = False

    def start(self) -> None:
        global _queue
        self._loop = asyncio.get_running_loop()
        self._task = asyncio.create_task(self._run(), name="memory-embeddings")
        _queue = self

    async def stop(self, grace: float = STOP_GRACE_SECONDS) -> None:
        """Stop taking ids and let the batch being written finish (a task cancelled inside its transaction would
        leave the statement running on the server, holding its locks), then stop; the rest waits for the backfill.
        The persona vectors being read in the background are stopped too."""
        global _queue
        if _queue is self:
            _queue = None
        if self._task is not None:
            self._stopping = True
            with contextlib.suppress(asyncio.QueueFull):  # full: the loop ends after its batch anyway
                self._pending.put_nowait(_STOP)
            try:
                await asyncio.wait_for(asyncio.shield(self._task), grace)
            except TimeoutError:
                self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for task in (*_loading.values(), *indexing()):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        _loading.clear()

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
        while not self._stopping:
            ids = [await self._pending.get()]
            while len(ids) < BATCH and not self._pending.empty():
                ids.append(self._pending.get_nowait())
            ids = [i for i in ids if i != _STOP]
            if self._stopping or not ids:
                return
            try:
                await warm(embedder())  # the first batch loads the model before its transaction, not inside it
                # Background work: on SQLite its statements go to a worker thread, never holding the loop.
                with sqlite_inline.in_worker_thread():
                    async with self.database.transaction() as session:
                        await embed_memories(session, now=self.now(), memory_ids=ids, limit=len(ids))
            except Exception:  # the reply never waits on this: a failed batch waits for the backfill job
                log.exception("Embedding %d new memories failed; the backfill job will retry them", len(ids))
            if self._pending.empty():
                self.idle.set()


def note_new_memory(session: AsyncSession, memory_id: int) -> None:
    """Called by :func:`capture`: embed this memory once its transaction commits."""
    session.sync_session.info.setdefault(_NEW_IDS, []).append(memory_id)


async def words_rewritten(session: AsyncSession, memory_ids: list[int]) -> None:
    """The memories' words were rewritten (a correction, a regenerated reply): their vectors, which still hold the
    old words, are deleted in this transaction, dropped from memory once it commits, and the memories are embedded
    again after the commit (or by the backfill job)."""
    if not memory_ids:
        return
    await session.execute(delete(models.MemoryEmbedding).where(col(models.MemoryEmbedding.memory_id).in_(memory_ids)))
    session.sync_session.info.setdefault(_CHANGED_IDS, []).extend(memory_ids)
    for memory_id in memory_ids:
        note_new_memory(session, memory_id)


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    changed = session.info.pop(_CHANGED_IDS, None)
    if changed:
        for held in list(_cache.values()):
            held.drop(set(changed))
    ids = session.info.pop(_NEW_IDS, None)
    if ids and _queue is not None:
        _queue.offer(ids)


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(_NEW_IDS, None)
    session.info.pop(_CHANGED_IDS, None)
