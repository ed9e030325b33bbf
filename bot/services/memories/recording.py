"""Recording a memory: its text, category and importance checked, a sensitive one encrypted when the persona's
settings say so."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.core import memory as rules
from bot.core.errors import DomainError
from bot.core.inputs import storable, whole_in
from bot.db import models
from bot.services import crypto
from bot.services.memories import vectors
from bot.services.memories.records import MemoryRecord, record_of
from bot.services.memories.store import load_persona

MAX_CONTENT_CHARS = 4_000
MAX_CATEGORY_CHARS = 40


def _clean_content(content: str) -> str:
    """The text as stored: storable, trimmed, not empty, at most ``MAX_CONTENT_CHARS``."""
    # Every memory's text passes here, whoever wrote it (a person, the model's reply, a tool): what neither
    # database can keep (a NUL) is removed, as for chat.
    text_ = storable(content or "").strip()
    if not text_:
        raise DomainError("A memory needs some text.")
    if len(text_) > MAX_CONTENT_CHARS:
        raise DomainError(f"A memory can be at most {MAX_CONTENT_CHARS} characters long.")
    return text_


def _clean_category(category: str) -> str:
    """The category as stored (``normalise_category``): not empty, at most ``MAX_CATEGORY_CHARS``."""
    value = rules.normalise_category(category or "")
    if not value:
        raise DomainError("A memory needs a category.")
    if len(value) > MAX_CATEGORY_CHARS:
        raise DomainError(f"A memory category can be at most {MAX_CATEGORY_CHARS} characters long.")
    return value


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
    persona = await load_persona(session, persona_id)
    plaintext = _clean_content(content)
    encrypted = bool(sensitive and persona.config.encrypt_sensitive)
    stored = crypto.encrypt(plaintext, encryption_key) if encrypted else plaintext
    row = models.Memory(
        persona_id=persona_id,
        content=stored,
        category=_clean_category(category),
        importance=whole_in(
            importance, "A memory's importance", minimum=rules.IMPORTANCE_MIN, maximum=rules.IMPORTANCE_MAX
        ),
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
    if not encrypted and row.id is not None:
        vectors.note_new_memory(session, row.id)
    return record_of(row, encryption_key)
