"""The notification delivery loop: claims outbox rows, sends them through Discord, marks them sent.

One asyncio task (:class:`NotificationDelivery`), started and stopped by the notifications cog
(``bot/cogs/notifications.py``: from ``cog_load`` to ``cog_unload``). Each round:

1. **Claim** (one short transaction, committed before anything is sent): up to :attr:`BATCH` due rows of the
   notification kinds, for this worker (``host:pid``) and, when sharded, this process's shards; the same
   transaction freezes each new message's rows and nonce (:func:`bot.services.notifications.prepare`).
2. **Send**: one message per group, with its nonce (discord.py sends ``enforce_nonce``, so a re-send after a crash
   returns the message Discord already has). Different destinations go out concurrently (:attr:`CONCURRENCY`),
   and a few messages to one destination at a time (:attr:`PER_DESTINATION`). discord.py waits out rate limits
   (buckets and 429s), so the loop runs at the pace Discord allows.
3. **Mark** each message's rows in another short transaction: sent; or retried later with backoff; or failed for
   good (403/404: the channel is gone or closed to the bot, the user takes no DMs), with a log line saying which.

No session is ever open while Discord is awaited. At start the loop hands back claims of dead processes of this host
(their lease need not run out); at stop it hands back its own unsent claims.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections import defaultdict
from typing import TYPE_CHECKING

import aiohttp
import discord

from bot.clock import utcnow
from bot.discord_io.dms import DmChannelIds
from bot.services import notifications, outbox
from bot.services.notifications import PlannedMessage
from bot.services.outbox import OutboxItem
from bot.ui import social as social_ui

if TYPE_CHECKING:
    from bot.app import PersonaHubBot

log = logging.getLogger(__name__)


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"[-64:]


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, belongs to someone else
        return True
    return True


class NotificationDelivery:
    """The delivery loop of one process (:meth:`start` to :meth:`stop`)."""

    BATCH = 500  # rows per claim: 10 channel posts of 50 mentions, or up to 500 DMs (well inside the lease)
    LEASE_SECONDS = 120.0
    IDLE_SECONDS = 0.5
    CONCURRENCY = 8  # destinations sent to at once
    PER_DESTINATION = 4  # messages in flight to one destination
    PIPELINE = 2  # claimed batches being sent at once

    def __init__(self, bot: PersonaHubBot) -> None:
        self.bot = bot
        self.worker = worker_name()
        self._task: asyncio.Task[None] | None = None
        self._batches: set[asyncio.Task[None]] = set()
        self._stopping = asyncio.Event()
        self._wake = asyncio.Event()
        self._dm_channels = DmChannelIds(bot)
        self.delivered = 0  # messages sent by this process (for logs and tests)

    def start(self) -> None:
        self._stopping.clear()
        self._task = asyncio.create_task(self._run(), name="notification-delivery")

    async def stop(self) -> None:
        """Stop sending, and hand this process's unsent claims back."""
        self._stopping.set()
        self._wake.set()
        for task in [self._task, *self._batches]:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        self._task = None
        with contextlib.suppress(Exception):
            async with self.bot.db.transaction() as session:
                released = await notifications.release_claims(session, self.worker, now=utcnow())
            if released:
                log.info("notification delivery stopped; %d unsent rows handed back", released)

    # ------------------------------------------------------------------------------------------------ the loop

    async def _run(self) -> None:
        await self._release_dead_local_workers()
        while not self._stopping.is_set():
            try:
                claimed = await self._claim()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("claiming notifications failed; trying again shortly")
                claimed = None
            if claimed is not None:
                # Claim the next batch while this one is sent (its rows are ours, nobody else's): the claim's few
                # milliseconds then never leave the rate-limit bucket idle. At most PIPELINE batches in flight.
                task = asyncio.create_task(self._send_batch(*claimed))
                self._batches.add(task)
                task.add_done_callback(self._batches.discard)
                if len(self._batches) >= self.PIPELINE:
                    await asyncio.wait(set(self._batches), return_when=asyncio.FIRST_COMPLETED)
                continue
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.IDLE_SECONDS)

    async def _release_dead_local_workers(self) -> None:
        host = socket.gethostname()
        try:
            async with self.bot.db.session() as session:
                holders = await notifications.claim_holders(session)
            for holder in holders:
                name, _, pid = holder.rpartition(":")
                if not name or not host.endswith(name) or not pid.isdigit() or int(pid) == os.getpid():
                    continue
                if _process_alive(int(pid)):
                    continue
                async with self.bot.db.transaction() as session:
                    released = await notifications.release_claims(session, holder, now=utcnow())
                log.warning("process %s died holding %d notifications; they are delivered again", holder, released)
        except Exception:
            log.exception("could not check for claims of dead processes (their leases will expire)")

    def _shard(self) -> tuple[int, list[int]] | None:
        return self.bot.shard_filter()

    async def _claim(self) -> tuple[list[OutboxItem], list[PlannedMessage]] | None:
        """Claim due rows and plan their messages, in one short transaction (committed before anything is sent)."""
        async with self.bot.db.transaction() as session:
            items = await outbox.claim(
                session,
                worker=self.worker,
                now=utcnow(),
                limit=self.BATCH,
                lease_seconds=self.LEASE_SECONDS,
                shard=self._shard(),
                kinds=notifications.KINDS,
            )
            messages = await notifications.prepare(session, items) if items else []
        return (items, messages) if items else None

    async def _send_batch(self, items: list[OutboxItem], messages: list[PlannedMessage]) -> None:
        mine = {item.id: item for item in items}
        by_destination: dict[tuple[str, int], list[PlannedMessage]] = defaultdict(list)
        for message in messages:
            by_destination[message.destination].append(message)
        destinations = asyncio.Semaphore(self.CONCURRENCY)

        async def one_destination(queue: list[PlannedMessage]) -> None:
            # A destination's posts are independent (different followers, or a DM digest each), so a few go out
            # together: discord.py's bucket still paces them, and the wait for one answer no longer idles the bucket.
            in_flight = asyncio.Semaphore(self.PER_DESTINATION)

            async def one(message: PlannedMessage) -> None:
                async with in_flight:
                    try:
                        await self._deliver(message, [mine[i] for i in message.row_ids if i in mine])
                    except Exception:  # the rows stay claimed; their lease hands them to the next round
                        log.exception("delivering notification rows %s failed", message.row_ids)

            async with destinations:
                await asyncio.gather(*(one(message) for message in queue))

        await asyncio.gather(*(one_destination(queue) for queue in by_destination.values()))

    # ------------------------------------------------------------------------------------------------ one message

    async def _deliver(self, message: PlannedMessage, held: list[OutboxItem]) -> None:
        error: str | None = None
        permanent = False
        try:
            await self._send(message)
        except (discord.Forbidden, discord.NotFound) as failure:
            where = f"channel {message.channel_id}" if not message.is_dm else f"DM to user {message.user_id}"
            error = f"{failure.status} {failure.text or type(failure).__name__}"
            permanent = True
            log.warning("notification to %s refused for good (%s); %d rows marked failed", where, error, len(held))
        except (discord.HTTPException, aiohttp.ClientError, TimeoutError, OSError) as failure:
            error = f"{type(failure).__name__}: {failure}"
        if error is None:
            async with self.bot.db.transaction() as session:
                await outbox.mark_sent(session, [item.id for item in held], worker=self.worker, now=utcnow())
            self.delivered += 1
            return
        async with self.bot.db.transaction() as session:
            for item in held:
                status = await outbox.mark_retry(
                    session, item, worker=self.worker, now=utcnow(), error=error, permanent=permanent
                )
        if not permanent:
            log.info("notification delivery failed (%s); row(s) %s are %s", error, [i.id for i in held], status)

    async def _send(self, message: PlannedMessage) -> None:
        content = social_ui.notification_content(message)
        if message.is_dm:
            assert message.user_id is not None
            channel = self.bot.get_partial_messageable(
                await self._dm_channels.of(message.user_id), type=discord.ChannelType.private
            )
            allowed = discord.AllowedMentions.none()
        else:
            assert message.channel_id is not None
            channel = self.bot.get_partial_messageable(message.channel_id, guild_id=message.guild_id)
            # Only the followers this post is for are pinged: nobody else, no roles, no @everyone.
            allowed = discord.AllowedMentions(
                everyone=False, roles=False, replied_user=False, users=[discord.Object(u) for u in message.mentions]
            )
        await channel.send(content, nonce=message.nonce, allowed_mentions=allowed)
