"""The lore that fires for a reply: the channel's recent messages scanned, the one answered last (bot.services.lore)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.lore import ScanMessage
from bot.services import lore
from bot.services.conversation.data import ChannelLine, Incoming


async def fired_lore(
    session: AsyncSession,
    persona_id: int,
    incoming: Incoming,
    history: Sequence[ChannelLine],
    earlier: Sequence[Incoming],
    *,
    now: datetime,
    shelf: lore.LoreShelf | None = None,
) -> lore.ActivatedLore:
    """The lore entries that fire for this reply (the channel's recent messages, the one answered last); ``shelf``:
    the books kept prepared (:func:`bot.services.lore.activated_lore`)."""
    recent = [ScanMessage(line.content, line.message_id) for line in history]
    recent += [ScanMessage(m.content, m.message_id) for m in (*earlier, incoming)]
    return await lore.activated_lore(
        session,
        persona_id,
        incoming.guild_id,
        incoming.channel_id,
        recent,
        now,
        parent_id=incoming.parent_id,
        shelf=shelf,
    )
