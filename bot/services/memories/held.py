"""One persona's vectors held in memory (:class:`HeldVectors`), kept by :mod:`bot.services.memories.vectors`: state
of this process, hence here and not in ``bot.core`` (whose ``vectors`` module gives the pure search it runs).

Exact search below :data:`INDEX_MIN_ROWS` vectors; above, an IVF index where it pays (``bot.core.memory.vectors``):
built in a worker thread (:meth:`HeldVectors.build_index`, about 1 s at 100,000 vectors, the loop stalled at most 4
ms meanwhile), while searches stay exact. Rows keep their place in the matrix for good (a forgotten memory's row is
zeroed, never reused), so the index stays true for the rows it was built over, less those changed since (replaced
or forgotten), whose old vectors in its copy are masked (a forgotten one's is zeroed there too, as in the matrix).
The rows added since and the live changed ones are searched exactly beside the probed lists, and the index is built
again once they are a quarter of its rows."""

from __future__ import annotations

import asyncio
import logging
import threading
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from bot.core.memory.vectors import IvfIndex, erase, probe_count, search_ivf, top_k, top_k_of_rows, train_ivf

log = logging.getLogger(__name__)

INDEX_MIN_ROWS = 20_000  # below, exact search is as fast (about 0.5 ms here); above, the index pays
REINDEX_SHARE = 0.25  # rebuilt once the rows searched beside it (new or replaced since) are this share of its rows


@dataclass
class HeldVectors:
    """One persona's vectors of one model, held in memory: a float32 matrix grown by doubling, each row's memory id,
    and (for its keeper, ``bot.services.memories.vectors``) the highest memory id read and whether the store was
    read once. ``put`` and ``drop`` may run in a worker thread (under ``lock``)."""

    model: str
    dim: int
    ids: Any = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    matrix: Any = None
    size: int = 0
    rows: dict[int, int] = field(default_factory=dict)
    max_id: int = 0
    read: bool = False  # whether the store was read once (after that, only what is new since is read)
    lock: threading.Lock = field(default_factory=threading.Lock)
    index: IvfIndex | None = None
    # Rows of the index whose vector was replaced or forgotten since its vectors were read: its copy holds their old
    # vectors, so its lists' scores for them are masked (``stale``) and the live ones are scored on the matrix.
    changed: set[int] = field(default_factory=set)
    stale: Any = None
    _next: tuple[int, set[int]] | None = None  # while an index is built: its rows, and those of them changed since
    _index_failed: bool = False  # a build failed: searches stay exact (no build again for these vectors)

    def put(self, memory_ids: list[int], blobs: list[bytes]) -> None:
        """Add or replace vectors (stored bytes; a blob of the wrong size is left out). Safe from a worker thread."""
        width = self.dim * 4
        kept = [(i, b) for i, b in zip(memory_ids, blobs, strict=True) if len(b) == width]
        if not kept:
            return
        block = np.frombuffer(b"".join(b for _, b in kept), dtype="<f4").reshape(len(kept), self.dim)
        with self.lock:
            self._put(np.fromiter((i for i, _ in kept), dtype=np.int64, count=len(kept)), block)

    def _put(self, ids: Any, block: Any) -> None:
        fresh = np.array([int(i) not in self.rows for i in ids], dtype=bool)
        need = self.size + int(fresh.sum())
        capacity = 0 if self.matrix is None else self.matrix.shape[0]
        if need > capacity:
            capacity = max(need, capacity * 2, 64)
            matrix = np.zeros((capacity, self.dim), dtype=np.float32)
            grown = np.full(capacity, -1, dtype=np.int64)
            if self.matrix is not None:
                matrix[: self.size] = self.matrix[: self.size]
                grown[: self.size] = self.ids[: self.size]
            self.matrix, self.ids = matrix, grown
        new_ids, new_block = ids[fresh], block[fresh]
        start = self.size
        self.matrix[start : start + len(new_ids)] = new_block
        self.ids[start : start + len(new_ids)] = new_ids
        for offset, memory_id in enumerate(new_ids.tolist()):
            self.rows[memory_id] = start + offset
        for memory_id, vector in zip(ids[~fresh].tolist(), block[~fresh], strict=True):
            row = self.rows[memory_id]
            self.matrix[row] = vector
            self._changed(row)
        self.size = start + len(new_ids)
        self.max_id = max(self.max_id, int(ids.max()))

    def _changed(self, row: int) -> None:
        """Note that ``row``'s vector changed (replaced or forgotten) for the index in use and the one being built,
        if they were built over it (under ``lock``)."""
        index = self.index
        if index is not None and row < index.rows:
            self.changed.add(row)
            self.stale[row] = True
        if self._next is not None and row < self._next[0]:
            self._next[1].add(row)

    def drop(self, memory_ids: set[int]) -> None:
        with self.lock:
            for memory_id in memory_ids:
                row = self.rows.pop(memory_id, None)
                if row is not None:
                    self.matrix[row] = 0.0
                    self.ids[row] = -1
                    self._changed(row)
                    if self.index is not None and row < self.index.rows:
                        erase(self.index, row)

    def search(self, query: Any, k: int) -> list[tuple[int, float]]:
        """The ``k`` held memories nearest ``query``: (memory id, cosine similarity), best first. Through the index
        when there is one: its probed lists (less the rows changed since it was built), the rows added since and the
        live changed ones, exactly; exactly over all when the probed lists hold too few."""
        if self.index is None:  # no lock (a search on the loop's thread must not wait for a worker's put)
            matrix, ids, size, index, stale, changed = self.matrix, self.ids, self.size, None, None, None
        else:  # an index: a worker thread's search (over 20,000 vectors), which may wait
            with self.lock:
                matrix, ids, size, index, stale = self.matrix, self.ids, self.size, self.index, self.stale
                changed = np.fromiter(self.changed, dtype=np.int64, count=len(self.changed))
        if matrix is None or size == 0:
            return []
        want = k + 8  # a forgotten row is left out of the matrix's answers only at the end
        found = None
        if index is not None and changed is not None:
            listed = search_ivf(index, query, probe_count(index.lists), want, skip=stale)
            if len(listed) == want:
                added = [(index.rows + row, score) for row, score in top_k(matrix[index.rows : size], query, want)]
                rewritten = top_k_of_rows(matrix, changed[ids[changed] >= 0], query, want)
                found = sorted([*listed, *added, *rewritten], key=lambda f: -f[1])
        if found is None:
            found = top_k(matrix[:size], query, want)
        return [(int(ids[row]), score) for row, score in found if ids[row] >= 0][:k]

    @property
    def footprint(self) -> int:
        """The vectors this holds, the index's copy counted (what the budget of held vectors counts)."""
        index = self.index
        return self.size + (index.rows if index is not None else 0)

    def wants_index(self) -> bool:
        """Whether an index would pay and there is none, or the rows searched beside it have grown too many."""
        if self.size < INDEX_MIN_ROWS or self._next is not None or self._index_failed:
            return False
        index = self.index
        return index is None or self.size - index.rows + len(self.changed) > REINDEX_SHARE * index.rows

    def build_index(self) -> None:
        """Build the index over the rows held now and put it in use (a worker thread's job: the matrix products
        release the interpreter's lock). Searches go on meanwhile, with the index before it. A build that fails
        is not tried again for these vectors."""
        with self.lock:
            if self._next is not None or self.matrix is None or self.size == 0:
                return  # being built already, or nothing to build
            matrix, rows = self.matrix, self.size
            self._next = (rows, set())
        try:
            # No copy: rows keep their place, and a row changed meanwhile is noted in _next.
            index = train_ivf(matrix[:rows], seed=rows)
        except BaseException:
            with self.lock:
                self._next, self._index_failed = None, True
            raise
        with self.lock:
            changed = self._next[1]
            stale = np.zeros(rows, dtype=bool)
            stale[list(changed)] = True
            for row in changed:
                if self.ids[row] < 0:  # forgotten while the copy was made from the matrix: erased from it too
                    erase(index, row)
            self.index, self.stale, self.changed, self._next = index, stale, changed, None


_building: dict[int, asyncio.Task[None]] = {}  # personas whose index is being built, by the task building it


def index_soon(persona_id: int, held: HeldVectors) -> None:
    """Build the persona's index in a worker thread if it wants one and none is being built (searches stay exact,
    or on the index before, meanwhile)."""
    if held.wants_index() and persona_id not in _building:
        _building[persona_id] = asyncio.create_task(_build(persona_id, held))


async def _build(persona_id: int, held: HeldVectors) -> None:
    try:
        await asyncio.to_thread(held.build_index)
    except Exception:
        log.exception("Indexing the vectors of persona %d failed; its searches stay exact", persona_id)
    finally:
        if _building.get(persona_id) is asyncio.current_task():
            del _building[persona_id]


async def indexed(persona_id: int) -> None:
    """Wait until the persona's index, if one is being built, is in use."""
    task = _building.get(persona_id)
    if task is not None:
        await asyncio.shield(task)


def indexing() -> list[asyncio.Task[None]]:
    """The builds under way, let go of (for their owner to cancel: a thread's work runs on, unseen)."""
    tasks = list(_building.values())
    _building.clear()
    return tasks
