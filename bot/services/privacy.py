"""A person's rights over what the bot keeps about them: forget me, and export my data.

``forget_me`` erases, across one server's personas, every memory that came from the caller (``source_user_id``)
or is about them (``subject_user_id``), and every persona's relationship record with them. ``export_my_data``
gathers what the bot holds about a person, across every server, as JSON-able data.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import models
from bot.services import crypto

# Deletions go in batches of this many ids, so no single statement holds the (SQLite) connection for long.
ID_BATCH = 500


def _guild_personas(guild_id: int | None) -> Any:
    persona = models.Persona
    clause = persona.guild_id.is_(None) if guild_id is None else persona.guild_id == guild_id  # type: ignore[union-attr]
    return select(persona.id).where(clause)


async def forget_me(session: AsyncSession, user_id: int, guild_id: int | None) -> int:
    """Erase every memory from or about ``user_id`` held by the personas of ``guild_id`` (None: personal
    personas, made in DMs), and those personas' relationship records with them. Returns how many memories went.
    """
    memory = models.Memory
    ids = list(
        (
            await session.execute(
                select(memory.id).where(
                    memory.persona_id.in_(_guild_personas(guild_id)),  # type: ignore[attr-defined]
                    or_(memory.source_user_id == user_id, memory.subject_user_id == user_id),
                )
            )
        ).scalars()
    )
    removed = 0
    for start in range(0, len(ids), ID_BATCH):
        batch = ids[start : start + ID_BATCH]
        result = await session.execute(delete(memory).where(memory.id.in_(batch)))  # type: ignore[union-attr]
        removed += int(result.rowcount or 0)  # type: ignore[attr-defined]
    relationship = models.PersonRelationship
    await session.execute(
        delete(relationship).where(
            relationship.user_id == user_id,  # type: ignore[arg-type]
            relationship.persona_id.in_(_guild_personas(guild_id)),  # type: ignore[attr-defined]
        )
    )
    return removed


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value


def _row(row: Any, names: tuple[str, ...]) -> dict[str, Any]:
    return {name: _plain(getattr(row, name)) for name in names}


async def export_my_data(session: AsyncSession, user_id: int, *, encryption_key: str | None = None) -> dict[str, Any]:
    """Everything the bot holds about ``user_id``, as JSON-able data (times as ISO 8601 text).

    Keys: ``user_id``; ``memories`` (from or about them, with the persona's name; an encrypted memory is
    decrypted with ``encryption_key``, or marked ``readable: false`` without it); ``consent_records``;
    ``follows``; ``endorsements``; ``subscriptions``; ``emotional_events`` (that they caused); ``relationships``
    (each persona's record of them).
    """
    persona_name = models.Persona.name.label("persona_name")
    memory = models.Memory
    memories = []
    rows = (
        await session.execute(
            select(memory, persona_name)
            .join(models.Persona, models.Persona.id == memory.persona_id)
            .where(or_(memory.source_user_id == user_id, memory.subject_user_id == user_id))
            .order_by(memory.id)
        )
    ).all()
    for row, name in rows:
        content, readable = row.content, True
        if row.encrypted:
            try:
                content = crypto.decrypt(row.content, encryption_key)
            except crypto.EncryptionUnavailable:
                content, readable = None, False
        memories.append(
            {
                "id": row.id,
                "persona_id": row.persona_id,
                "persona_name": name,
                "content": content,
                "readable": readable,
                "category": row.category,
                "importance": row.importance,
                "sensitive": row.sensitive,
                "from_you": row.source_user_id == user_id,
                "about_you": row.subject_user_id == user_id,
                "source_channel_id": row.source_channel_id,
                "source_message_id": row.source_message_id,
                "created_at": _plain(row.created_at),
                "last_accessed_at": _plain(row.last_accessed_at),
            }
        )

    async def with_names(model: Any, names: tuple[str, ...], *where: Any) -> list[dict[str, Any]]:
        found = (
            await session.execute(
                select(model, persona_name)
                .outerjoin(models.Persona, models.Persona.id == model.persona_id)
                .where(*where)
                .order_by(model.id)
            )
        ).all()
        return [{**_row(entry, names), "persona_name": name} for entry, name in found]

    consent = models.ConsentRecord
    follow = models.Follow
    endorsement = models.Endorsement
    subscription = models.Subscription
    event = models.EmotionalEvent
    relationship = models.PersonRelationship
    return {
        "user_id": user_id,
        "memories": memories,
        "consent_records": await with_names(
            consent,
            ("id", "guild_id", "persona_id", "scope", "granted", "recorded_by", "recorded_at", "note"),
            consent.user_id == user_id,
        ),
        "follows": await with_names(
            follow,
            (
                "id",
                "persona_id",
                "guild_id",
                "notify_new_posts",
                "notify_achievements",
                "notify_collaborations",
                "deliver_by_dm",
                "followed_at",
            ),
            follow.user_id == user_id,
        ),
        "endorsements": await with_names(
            endorsement, ("id", "persona_id", "text", "created_at"), endorsement.user_id == user_id
        ),
        "subscriptions": await with_names(
            subscription,
            ("id", "persona_id", "tier_id", "status", "started_at", "renews_at", "ended_at"),
            subscription.user_id == user_id,
        ),
        "emotional_events": await with_names(
            event,
            (
                "id",
                "persona_id",
                "trigger",
                "emoji",
                "emotion_type",
                "intensity",
                "channel_id",
                "message_id",
                "context",
                "created_at",
            ),
            event.user_id == user_id,
        ),
        "relationships": await with_names(
            relationship,
            ("id", "persona_id", "messages_exchanged", "last_spoken_at", "affinity"),
            relationship.user_id == user_id,
        ),
    }
