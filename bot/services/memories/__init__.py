"""Memory use cases: capture, retrieval and search, pins, forgetting, settings, health, optimisation, decay.

One module per kind of use case; this package re-exports them, so ``from bot.services import memories`` then
``memories.capture(...)`` works whatever module a use case lives in.

Each function takes an open session (the caller owns the transaction), ids and plain data, and returns plain data;
the exceptions take the ``Database``: :func:`optimize_store` (short sessions of its own, so a large store never holds
the one SQLite connection for long) and :func:`decay_due_personas`, the scheduled job's body, which commits one
transaction per chunk of personas. Time is a parameter (``now``), never read here. The rules are
``bot.core.memory`` (SCIENCE.md section 5); this package turns them into set-based SQL where the rows are many.

An ``actor`` is the person asking: only the persona's owner may act (``bot.core.ownership.require_owner``). The
use cases the chat pipeline and the scheduler also call take ``actor=None`` for such system calls, which are not
checked.

Categories are stored normalised (``normalise_category``), as ``exempt_categories`` are, so SQL compares them with
plain equality.
"""

from __future__ import annotations

from bot.services.memories.candidates import HOT_CANDIDATES, TEXT_CANDIDATES
from bot.services.memories.decay_job import (
    COLD_BELOW,
    DECAY_CHUNK_MEMORIES,
    DECAY_CHUNK_PERSONAS,
    decay_due_personas,
)
from bot.services.memories.health_check import health
from bot.services.memories.optimization import READ_PAGE, optimize_store
from bot.services.memories.pins import forget, get, pin, unpin
from bot.services.memories.recording import MAX_CATEGORY_CHARS, MAX_CONTENT_CHARS, capture
from bot.services.memories.records import (
    DecayRunReport,
    HealthReport,
    MemoryRecord,
    OptimizationReport,
    RetrievedMemory,
)
from bot.services.memories.retrieval import (
    MAX_QUERY_WORDS,
    SEARCH_ORDERS,
    Recall,
    apply_recall,
    query_words,
    recall_of,
    retrieval_weights,
    retrieve,
    search,
)
from bot.services.memories.settings import config_get, config_update
from bot.services.memories.store import ID_BATCH
from bot.services.memories.summaries import model_writer, summarize_due, summarize_persona, without_summarised

__all__ = [
    "COLD_BELOW",
    "DECAY_CHUNK_MEMORIES",
    "DECAY_CHUNK_PERSONAS",
    "HOT_CANDIDATES",
    "ID_BATCH",
    "MAX_CATEGORY_CHARS",
    "MAX_CONTENT_CHARS",
    "MAX_QUERY_WORDS",
    "READ_PAGE",
    "SEARCH_ORDERS",
    "TEXT_CANDIDATES",
    "DecayRunReport",
    "HealthReport",
    "MemoryRecord",
    "OptimizationReport",
    "Recall",
    "RetrievedMemory",
    "apply_recall",
    "capture",
    "config_get",
    "config_update",
    "decay_due_personas",
    "forget",
    "get",
    "health",
    "model_writer",
    "optimize_store",
    "pin",
    "query_words",
    "recall_of",
    "retrieval_weights",
    "retrieve",
    "search",
    "summarize_due",
    "summarize_persona",
    "unpin",
    "without_summarised",
]
