"""Memories as plain data: the records the use cases return, and the conversions from a stored row."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, Table, select

from bot.core import memory as rules
from bot.core.memory import MemoryHealth
from bot.db import models
from bot.services import crypto

ENCRYPTED_PLACEHOLDER = "(encrypted: MEMORY_ENCRYPTION_KEY is not set or does not open it)"


COLUMNS = (
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
TABLE: Table = models.metadata.tables["memories"]


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
    """A retrieval result with each part of its rank shown (``bot.core.memory.ranking``, docs/retrieval.md).

    ``relevance``: the reciprocal-rank-fused relevance scaled to (0, 1] (0: no candidate list found it; ``fused``
    is the raw sum, ``positions`` its place in each list, full text first, None where absent); ``recency``
    (0.995^hours since the last access, from now), ``importance`` (/10) and ``strength``, each in [0, 1];
    ``score``: in (1, 2] for a ``relevant`` memory, [0, 1] otherwise. ``hours_since_access`` and ``text_rank``
    (the full-text rank, 0 without a match) are raw inputs; ``place`` its 1-based place in the whole ranking.
    The memory is as it was when scored (before this retrieval marked it accessed).
    """

    memory: MemoryRecord
    score: float
    recency: float
    importance: float
    relevance: float
    hours_since_access: float
    text_rank: float
    strength: float = 0.0
    fused: float = 0.0
    relevant: bool = False
    positions: tuple[int | None, ...] = ()
    place: int = 0


@dataclass(frozen=True)
class HealthReport(MemoryHealth):
    """``core.memory.MemoryHealth`` for one persona (its fields, declared there once), plus the totals behind it."""

    persona_id: int
    total_count: int
    pinned_count: int
    total_bytes: int

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
    """What ``/memory optimize`` did: the health before and after, and how many memories each step touched."""

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


def _readable(content: str, encrypted: bool, key: str | None) -> tuple[str, bool]:
    if not encrypted:
        return content, True
    try:
        return crypto.decrypt(content, key), True
    except crypto.EncryptionUnavailable:
        return ENCRYPTED_PLACEHOLDER, False


def record_of(row: Any, key: str | None) -> MemoryRecord:
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


def memory_item(row: Any) -> rules.MemoryItem:
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


def memory_select() -> Select[Any]:
    """Every column of :data:`COLUMNS`, from the memories table."""
    return select(*(TABLE.c[name] for name in COLUMNS))
