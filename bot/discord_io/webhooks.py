"""Where the channel webhooks personas speak through are kept: the ``channel_webhooks`` table, through
:mod:`bot.services.webhooks`, one short session or transaction per call (none is held while Discord is awaited).

:class:`DatabaseWebhookStore` is the :class:`bot.discord_io.speaker.WebhookStore` of every
:class:`~bot.discord_io.speaker.PersonaSender`: chat's and the retirement ceremony's.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from bot.clock import utcnow
from bot.db.engine import Database
from bot.services import webhooks


class DatabaseWebhookStore:
    """Channel webhooks kept in ``channel_webhooks`` (:mod:`bot.services.webhooks`), one short session per call."""

    def __init__(self, db: Database, clock: Callable[[], datetime] = utcnow) -> None:
        self.db = db
        self.clock = clock

    async def load(self, channel_id: int) -> tuple[int, str] | None:
        async with self.db.session() as session:
            ref = await webhooks.get(session, channel_id)
        return (ref.webhook_id, ref.token) if ref is not None else None

    async def save(self, channel_id: int, guild_id: int, webhook_id: int, token: str) -> None:
        async with self.db.transaction() as session:
            await webhooks.save(
                session, channel_id=channel_id, guild_id=guild_id, webhook_id=webhook_id, token=token, now=self.clock()
            )

    async def forget(self, channel_id: int, webhook_id: int) -> None:
        async with self.db.transaction() as session:
            await webhooks.forget(session, channel_id, webhook_id)
