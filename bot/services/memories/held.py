"""One persona's vectors held in memory (:class:`HeldVectors`), kept by :mod:`bot.services.memories.vectors`: state
of this process, hence here and not in ``bot.core`` (whose ``vectors`` module gives the pure search it runs)."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from bot.core.memory.vectors import top_k


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
            self.matrix[self.rows[memory_id]] = vector
        self.size = start + len(new_ids)
        self.max_id = max(self.max_id, int(ids.max()))

    def drop(self, memory_ids: set[int]) -> None:
        with self.lock:
            for memory_id in memory_ids:
                row = self.rows.pop(memory_id, None)
                if row is not None:
                    self.matrix[row] = 0.0
                    self.ids[row] = -1

    def search(self, query: Any, k: int) -> list[tuple[int, float]]:
        matrix, ids, size = self.matrix, self.ids, self.size
        if matrix is None or size == 0:
            return []
        found = top_k(matrix[:size], query, k + 8)
        return [(int(ids[row]), score) for row, score in found if ids[row] >= 0][:k]
