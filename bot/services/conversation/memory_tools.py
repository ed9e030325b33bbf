"""The tools' view of the world for one reply (:class:`bot.llm.tools.ToolContext`): memory search and pinning, each
in a short session of its own, since they run while the model works and no session is held then."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import update
from sqlmodel import col

from bot.core.errors import DomainError
from bot.core.personas import PrivacySettings
from bot.db import models
from bot.llm.tools import RecalledMemory, ToolContext
from bot.services import access, consent, memories
from bot.services.conversation.data import Incoming

if TYPE_CHECKING:
    from bot.db.engine import Database


def tool_context(
    database: Database,
    persona_id: int,
    *,
    incoming: Incoming,
    clock: Callable[[], datetime],
    encryption_key: str | None = None,
) -> ToolContext:
    """The tools' view of the world for one reply: memory search and pinning each open their own short
    transaction (they run while the model works, when no session is held)."""

    async def search(query: str, limit: int) -> Sequence[RecalledMemory]:
        async with database.session() as session:
            found = await memories.search(
                session, persona_id, query, k=limit, now=clock(), encryption_key=encryption_key
            )
        return [RecalledMemory(r.memory.content, r.memory.created_at, r.memory.importance) for r in found]

    async def pin(content: str, importance: int) -> str:
        async with database.transaction() as session:
            persona = await access.persona_or_not_found(session, persona_id)
            if not incoming.author_is_bot and incoming.author_persona_id is None:
                decision = await consent.decide(
                    session,
                    user_id=incoming.author_id,
                    guild_id=incoming.guild_id,
                    persona_id=persona_id,
                    privacy=PrivacySettings.from_dict(persona.privacy_settings),
                )
                if not decision.allowed:
                    raise DomainError(f"I may not remember things from {incoming.author_name} ({decision.reason}).")
            naming = await consent.memory_naming(
                session,
                content,
                author_id=None if incoming.author_is_bot else incoming.author_id,
                guild_id=incoming.guild_id,
                persona_id=persona_id,
            )
            memory = await memories.capture(
                session,
                persona_id,
                content=naming.text,
                subject_user_id=naming.subject_user_id,
                category="pinned",
                importance=importance,
                source_user_id=incoming.author_id,
                source_channel_id=incoming.channel_id,
                source_message_id=incoming.message_id,
                now=clock(),
                encryption_key=encryption_key,
            )
            await session.execute(update(models.Memory).where(col(models.Memory.id) == memory.id).values(pinned=True))
        return "Pinned: I will keep that in mind."

    return ToolContext(persona_id=persona_id, clock=clock, search_memories=search, pin_memory=pin)
