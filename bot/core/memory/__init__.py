"""Memory: configuration, decay, recall, retrieval, tiers, capacity, health, near-duplicates and the planning of an
optimisation (SCIENCE.md §5), one module each; this package re-exports them, so ``from bot.core import memory``
then ``memory.retention(...)`` works whatever module a rule lives in.

Every tunable number lives in ``data/memory.toml``; this package holds the rules. Time is always a parameter
(timezone-aware UTC ``datetime``); nothing here reads a clock, a database or Discord.

Decay (r = decay rate per day, t = days since last access, s0 = strength at the last access):

- linear:       s = max(0, s0 - r t)
- exponential:  s = s0 e^(-r t)                 (Ebbinghaus; MemoryBank, Zhong et al. 2023)
- logarithmic:  s = max(0, s0 - r ln(1 + t))

Recall (MemoryBank): each retrieval into a prompt restarts t (``last_accessed_at = now``), returns the
strength to ``[recall] strength_after`` (1.0: at t = 0, R = e^0 = 1) and adds ``[recall] stability_gain`` (1)
to the stability. The rate a memory actually decays at is ``decay_rate / stability`` for all three functions
(MemoryBank's R = e^(-t/S) for the exponential; the same spacing effect, by analogy, for the other two).
Stability only changes at a recall, which also restarts t, so between two accesses every memory follows one
curve with one rate.

Retrieval (``ranking``, docs/retrieval.md): full-text and extra candidate lists fused by reciprocal rank fusion
(Cormack et al. 2009); recency from now (0.995^hours), importance and strength adjust within a relevance band and
never lift an irrelevant memory over a relevant one. ``retrieval`` keeps the earlier blend (Park et al. 2023: each
column min-max normalised over the candidates, weighted and summed).
"""

from __future__ import annotations

from bot.core.memory.config import (
    BYTES_PER_MB,
    CONFIG_FIELDS,
    DECAY_FUNCTIONS,
    DECAY_SCHEDULES,
    IMPORTANCE_MAX,
    IMPORTANCE_MIN,
    MemoryConfig,
    config_from_dict,
    config_to_dict,
    default_config,
    normalise_category,
    preset,
    preset_names,
    validate_config,
)
from bot.core.memory.context import (
    ContextParameters,
    ContextTurn,
    context_parameters,
    contextual_scores,
    minute_of,
    speaker_words,
)
from bot.core.memory.decay import (
    decay_due,
    decay_sql,
    decay_step,
    decayed_strength,
    effective_rate,
    is_exempt,
    recall,
    retention,
)
from bot.core.memory.duplicates import near_duplicates, normalise_text, shingles, similarity
from bot.core.memory.health_score import MemoryHealth, fragmentation, health, health_from_counts
from bot.core.memory.items import TIERS, MemoryItem, days_between, hours_between
from bot.core.memory.optimization import Merged, OptimizationPlan, StoredText, plan_optimization
from bot.core.memory.ranking import (
    Parts,
    best_scores,
    content_words,
    fuse,
    hybrid_order,
    hybrid_part,
    hybrid_parts,
    hybrid_scores,
    meaning_floor,
    recency,
)
from bot.core.memory.retrieval import (
    best_first,
    by_relevance,
    combine,
    matched_words,
    retrieval_components,
    retrieval_scores,
    top_k,
)
from bot.core.memory.tiers import SORT_RUN, assign_tiers, evict_for_capacity, expired_cold, max_bytes, memory_value

__all__ = [
    "BYTES_PER_MB",
    "CONFIG_FIELDS",
    "DECAY_FUNCTIONS",
    "DECAY_SCHEDULES",
    "IMPORTANCE_MAX",
    "IMPORTANCE_MIN",
    "SORT_RUN",
    "TIERS",
    "ContextParameters",
    "ContextTurn",
    "MemoryConfig",
    "MemoryHealth",
    "MemoryItem",
    "Merged",
    "OptimizationPlan",
    "Parts",
    "StoredText",
    "assign_tiers",
    "best_first",
    "best_scores",
    "by_relevance",
    "combine",
    "config_from_dict",
    "config_to_dict",
    "content_words",
    "context_parameters",
    "contextual_scores",
    "days_between",
    "decay_due",
    "decay_sql",
    "decay_step",
    "decayed_strength",
    "default_config",
    "effective_rate",
    "evict_for_capacity",
    "expired_cold",
    "fragmentation",
    "fuse",
    "health",
    "health_from_counts",
    "hours_between",
    "hybrid_order",
    "hybrid_part",
    "hybrid_parts",
    "hybrid_scores",
    "is_exempt",
    "matched_words",
    "max_bytes",
    "meaning_floor",
    "memory_value",
    "minute_of",
    "near_duplicates",
    "normalise_category",
    "normalise_text",
    "plan_optimization",
    "preset",
    "preset_names",
    "recall",
    "recency",
    "retention",
    "retrieval_components",
    "retrieval_scores",
    "shingles",
    "similarity",
    "speaker_words",
    "top_k",
    "validate_config",
]
