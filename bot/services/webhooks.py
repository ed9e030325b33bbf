"""The webhook the bot speaks through in each channel (``ChannelWebhook`` rows), and the "owner told once" notes.

One webhook per channel (threads use their parent channel's, with a ``thread_id``), shared by every persona that
speaks there: each message carries its own name and avatar. The cog creates the webhook through Discord the first
time a persona speaks in a channel and stores it here; when Discord says the webhook is gone (a moderator deleted
it), the cog calls :func:`forget` and creates a new one on the next reply.

Where the bot lacks Manage Webhooks it speaks with its own messages instead; :func:`note_missing_permission`
records (in ``app_state``) that the owner has been told why, so they are told once per channel and owner, and
:func:`save` clears those notes when a webhook could be made again (so a later loss of the permission is told).

Plain ids and data; the caller owns the transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bot.db import models

WEBHOOK_NAME = "Persona Hub relay"
_NOTE_PREFIX = "webhook-missing"


@dataclass(frozen=True)
class WebhookRef:
    """A stored webhook: enough to execute it (id and token) and the channel it belongs to."""

    channel_id: int
    guild_id: int
    webhook_id: int
    token: str


def _ref(row: models.ChannelWebhook) -> WebhookRef:
    return WebhookRef(row.channel_id, row.guild_id, row.webhook_id, row.webhook_token)


async def get(session: AsyncSession, channel_id: int) -> WebhookRef | None:
    """The stored webhook of ``channel_id`` (a parent channel, not a thread), or None."""
    row = await session.get(models.ChannelWebhook, channel_id)
    return _ref(row) if row is not None else None


async def webhook_ids(session: AsyncSession, channel_ids: list[int]) -> set[int]:
    """The ids of the stored webhooks of these channels (to tell persona messages from other webhooks)."""
    if not channel_ids:
        return set()
    query = select(col(models.ChannelWebhook.webhook_id)).where(col(models.ChannelWebhook.channel_id).in_(channel_ids))
    return {int(value) for value in (await session.execute(query)).scalars()}


async def save(
    session: AsyncSession, *, channel_id: int, guild_id: int, webhook_id: int, token: str, now: datetime
) -> WebhookRef:
    """Store (or replace) the channel's webhook, and clear the channel's "owner told" notes."""
    row = await session.get(models.ChannelWebhook, channel_id)
    if row is None:
        row = models.ChannelWebhook(
            channel_id=channel_id, guild_id=guild_id, webhook_id=webhook_id, webhook_token=token, created_at=now
        )
        session.add(row)
    else:
        row.guild_id = guild_id
        row.webhook_id = webhook_id
        row.webhook_token = token
        row.created_at = now
    await session.execute(
        delete(models.AppState).where(col(models.AppState.key).like(f"{_NOTE_PREFIX}:{channel_id}:%"))
    )
    await session.flush()
    return _ref(row)


async def forget(session: AsyncSession, channel_id: int, webhook_id: int | None = None) -> bool:
    """Drop the stored webhook of ``channel_id`` (only if it is still ``webhook_id``, when given). Returns whether
    a row went."""
    statement = delete(models.ChannelWebhook).where(col(models.ChannelWebhook.channel_id) == channel_id)
    if webhook_id is not None:
        statement = statement.where(col(models.ChannelWebhook.webhook_id) == webhook_id)
    result = await session.execute(statement)
    assert isinstance(result, CursorResult)  # a DELETE's result: it counts the rows
    return bool(result.rowcount)


async def note_missing_permission(session: AsyncSession, *, channel_id: int, owner_id: int, now: datetime) -> bool:
    """Record that ``owner_id`` was told the bot cannot make a webhook in ``channel_id``. True the first time
    (tell them now), False when they were told already."""
    key = f"{_NOTE_PREFIX}:{channel_id}:{owner_id}"
    if await session.get(models.AppState, key) is not None:
        return False
    session.add(models.AppState(key=key, value={"channel_id": channel_id, "owner_id": owner_id}, updated_at=now))
    await session.flush()
    return True
