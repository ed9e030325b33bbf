"""The reaction buffer: reactions queued in memory and applied in batches (pure asyncio, no Discord).

A burst of reactions (hundreds per second on a popular message) would cost one transaction each; the buffer turns
them into one :func:`bot.services.emotions.apply_reactions` transaction per batch. A flusher task writes a batch
every ``interval`` seconds, or as soon as ``max_batch`` items wait. Batches are applied one after another, in
arrival order.

**Guarantees.**

- :meth:`ReactionBuffer.add` returns at once: the item is *accepted*, not stored. :meth:`close` (a clean
  shutdown) flushes everything accepted, so nothing is lost; an abrupt kill (SIGKILL, power loss) loses what was
  accepted but not yet committed: at most one window (``interval`` seconds, or ``max_batch`` items, plus a batch
  in flight).
- :meth:`ReactionBuffer.add_and_wait` returns the item's outcome only after the batch holding it has committed:
  once it returns, the reaction is durable. The wait is at most about one ``interval`` plus the commit.

**Which the cog should use.** ``add_and_wait``: discord.py runs each gateway event handler in its own task, so
awaiting costs no throughput (the other reactions keep arriving and share the batch), and a handler that returned
has a committed reaction. ``add`` is for callers that cannot wait (or do not care about a crash window).

A batch that fails (database unreachable, ...) is retried ``retries`` times with a growing pause, the items kept in
order; after that its waiters get the error, the items are counted in :attr:`ReactionBuffer.dropped` and logged.

SQLite: a flush holds the process's one connection only for its transaction and awaits nothing else meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.db.engine import Database
from bot.services.emotions import BatchResult, Outcome, ReactionItem, apply_reactions

log = logging.getLogger(__name__)

# How many anonymous reactions the buffer remembers so that a re-add does not count again (oldest forgotten first).
ANONYMOUS_KEPT = 100_000


class BufferClosed(RuntimeError):
    """The buffer was closed; it accepts nothing more."""


@dataclass
class _Pending:
    item: ReactionItem
    waiter: asyncio.Future[Outcome] | None


class ReactionBuffer:
    """Reactions queued in memory, applied in batches through one :class:`Database` (see the module doc)."""

    def __init__(
        self,
        database: Database,
        *,
        interval: float = 0.2,
        max_batch: int = 500,
        retries: int = 3,
        retry_pause: float = 0.5,
        clock: Callable[[], datetime],
        server_maps: Mapping[int, Mapping[str, str]] | None = None,
        after_commit: Callable[[Sequence[ReactionItem], BatchResult], Awaitable[None]] | None = None,
    ) -> None:
        """``clock`` gives each batch's ``now`` (the caller passes :func:`bot.clock.utcnow`, or a test's clock).
        ``after_commit`` is called with each committed batch whose personas' emoji behaviours asked for something
        (reactions to add, answers to send): Discord calls happen after the transaction, never inside it. It is
        awaited before the next batch is written, so a caller with slow work starts a task for it."""
        if interval <= 0 or max_batch < 1:
            raise ValueError("interval must be positive and max_batch at least 1")
        self._database = database
        self._interval = interval
        self._max_batch = max_batch
        self._retries = retries
        self._retry_pause = retry_pause
        self._clock = clock
        self._server_maps = server_maps
        self._after_commit = after_commit
        self._queue: deque[_Pending] = deque()
        self._wake = asyncio.Event()
        self._full = asyncio.Event()
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self._in_flight = 0
        # Reactions counted without their person's id (bot.services.emotions: anonymous reactions), newest last.
        self._anonymous: OrderedDict[bytes, None] = OrderedDict()
        self.applied = 0
        self.duplicates = 0
        self.ignored = 0
        self.missing_personas = 0
        self.dropped = 0
        self.batches = 0

    # ------------------------------------------------------------------------------------------ adding

    @property
    def pending(self) -> int:
        """Items accepted and not yet committed (queued, or in the batch being written)."""
        return len(self._queue) + self._in_flight

    def add(self, item: ReactionItem) -> None:
        """Accept a reaction and return at once (call from the event loop). See the module doc for what an
        abrupt kill can lose."""
        self._accept(_Pending(item, None))

    async def add_and_wait(self, item: ReactionItem) -> Outcome:
        """Accept a reaction and return its outcome once its batch has committed ("applied", "duplicate",
        "ignored" or "missing_persona"); raises the batch's error if it could not be written."""
        waiter: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        self._accept(_Pending(item, waiter))
        return await waiter

    def _accept(self, pending: _Pending) -> None:
        if self._closing:
            raise BufferClosed("The reaction buffer is closed.")
        self._queue.append(pending)
        self._wake.set()
        if len(self._queue) >= self._max_batch:
            self._full.set()
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="reaction-buffer")

    # ------------------------------------------------------------------------------------------ flushing

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            if not self._closing and len(self._queue) < self._max_batch:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._full.wait(), self._interval)
            try:
                await self.flush()
            except Exception:  # already logged and handed to the waiters; keep serving
                pass
            if self._closing and not self._queue:
                return

    async def flush(self) -> BatchResult:
        """Write everything queued now, in batches of ``max_batch``; the combined result."""
        totals = [0, 0, 0, 0]
        async with self._lock:
            while self._queue:
                batch = [self._queue.popleft() for _ in range(min(self._max_batch, len(self._queue)))]
                if not self._queue:
                    self._wake.clear()
                if len(self._queue) < self._max_batch:
                    self._full.clear()
                self._in_flight = len(batch)
                try:
                    result = await self._write(batch)
                finally:
                    self._in_flight = 0
                for index, value in enumerate(
                    (result.applied, result.duplicates, result.ignored, result.missing_personas)
                ):
                    totals[index] += value
        applied, duplicates, ignored, missing = totals
        return BatchResult(applied, duplicates, ignored, missing)

    async def _write(self, batch: list[_Pending]) -> BatchResult:
        items = [pending.item for pending in batch]
        attempt = 0
        while True:
            try:
                async with self._database.transaction() as session:
                    result = await apply_reactions(
                        session,
                        items,
                        self._clock(),
                        server_maps=self._server_maps,
                        counted_anonymously=self._anonymous.keys(),
                    )
                break
            except Exception as error:
                attempt += 1
                if attempt > self._retries:
                    self.dropped += len(batch)
                    log.exception("Dropped %d reactions after %d failed attempts", len(batch), attempt)
                    for pending in batch:
                        if pending.waiter is not None and not pending.waiter.done():
                            pending.waiter.set_exception(error)
                    raise
                await asyncio.sleep(self._retry_pause * attempt)
        # Committed: now the waiters may learn their outcome.
        for key in result.counted_anonymously:
            self._anonymous[key] = None
        while len(self._anonymous) > ANONYMOUS_KEPT:
            self._anonymous.popitem(last=False)
        self.batches += 1
        self.applied += result.applied
        self.duplicates += result.duplicates
        self.ignored += result.ignored
        self.missing_personas += result.missing_personas
        for pending, outcome in zip(batch, result.outcomes, strict=True):
            if pending.waiter is not None and not pending.waiter.done():
                pending.waiter.set_result(outcome)
        if self._after_commit is not None and (result.behavior_reactions or result.behavior_answers):
            try:
                await self._after_commit(items, result)
            except Exception:  # what follows a committed batch must not undo or repeat it
                log.exception("after-commit work of a reaction batch failed")
        return result

    async def close(self) -> None:
        """Stop accepting, write everything accepted, and end the flusher. Idempotent."""
        self._closing = True
        self._wake.set()
        self._full.set()
        task, self._task = self._task, None
        if task is not None:
            with contextlib.suppress(Exception):
                await task
        if self._queue:
            await self.flush()

    async def __aenter__(self) -> ReactionBuffer:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()
