"""The retirement ceremony: crash-safe, run once, by whichever process serves the persona's guild.

:func:`perform_ceremony` (the scheduled job, the trigger sweep, ``/retire now`` and a hand-over all come here)
claims the ceremony with a guarded update, writes the farewell (once; a resumed ceremony says the same), posts the
farewell through the channel webhook under the persona's name (:class:`bot.discord_io.speaker.PersonaSender`), then
the ceremony embed with a mood chart of the persona's life, recording each posted message's id before the next
step. A ceremony resumed after a crash skips what it had posted (and recognises a message posted just before the
crash in the channel's recent history). Then the service completes the retirement, and the owner gets the result
(and the export, if the plan asked for it) by DM. No session is held while Discord or the model is awaited.

:func:`ceremony_or_handoff` runs it here when this process serves the persona's guild, and otherwise hands it
through the outbox to the process that does; :class:`CeremonyHandoffs` is that process's loop taking them over.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import os
import socket
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

import discord

from bot.clock import utcnow
from bot.core.personas import display_name
from bot.core.text import clip
from bot.discord_io.dms import send_dm
from bot.discord_io.permissions import can_hold_ceremony
from bot.discord_io.speaker import PersonaSender, PersonaVoice
from bot.discord_io.webhooks import DatabaseWebhookStore
from bot.services import outbox, persona_messages, portability, retirement
from bot.services.personas import Actor
from bot.services.retirement import CeremonyClaim, CeremonyResult
from bot.ui import retirement as ui

if TYPE_CHECKING:
    from bot.app import PersonaHubBot
    from bot.db.presence import Holder

log = logging.getLogger(__name__)

READY_TIMEOUT = 120.0
RECENT_MESSAGES = 50  # how far back a resumed ceremony looks for what it may have posted just before a crash
CEREMONY_KIND = "ceremony"  # the outbox kind of a ceremony handed to the process serving its guild
HANDOFF_POLL_SECONDS = 1.0


def slug(name: str) -> str:
    """A persona's name as a file name's stem (exports)."""
    cleaned = "".join(c if c.isalnum() or c in "-_" else "-" for c in name.strip().lower()).strip("-")
    return (cleaned or "persona")[:60]


# --------------------------------------------------------------------------------------------------- posting


async def _wait_ready(bot: PersonaHubBot) -> None:
    # A ceremony missed while the bot was down fires as the scheduler starts, before the guilds are loaded.
    await asyncio.wait_for(bot.wait_until_ready(), timeout=READY_TIMEOUT)


async def _posted_before(
    channel: discord.TextChannel, match: Callable[[discord.Message], bool]
) -> discord.Message | None:
    """A message of ours in the channel's recent history that ``match`` recognises (posted just before a crash)."""
    try:
        async for message in channel.history(limit=RECENT_MESSAGES):
            if match(message):
                return message
    except discord.HTTPException:
        return None
    return None


async def _post_farewell(bot: PersonaHubBot, channel: discord.TextChannel, claim: CeremonyClaim, text: str) -> int:
    """The farewell under the persona's name (its channel webhook; the bot's own message where it cannot)."""

    def ours(message: discord.Message) -> bool:
        by_persona = message.webhook_id is not None and message.author.name == display_name(claim.name)
        by_bot = bot.user is not None and message.author.id == bot.user.id and bool(message.embeds)
        if by_persona:
            return message.content == text
        return by_bot and (message.embeds[0].description or "") == text

    if claim.resumed:
        found = await _posted_before(channel, ours)
        if found is not None:
            return found.id
    sender = PersonaSender(bot, DatabaseWebhookStore(bot.db))
    outlet = await sender.outlet(channel, PersonaVoice(claim.persona_id, claim.name, claim.avatar_url))
    message = await sender.send(outlet, text)
    return message.id


async def _post_ceremony(bot: PersonaHubBot, channel: discord.TextChannel, claim: CeremonyClaim, now: datetime) -> int:
    """The ceremony embed (with the mood chart of the persona's life when the plan shows it)."""
    title = f"In memory of {claim.name}"[:256]

    def ours(message: discord.Message) -> bool:
        mine = bot.user is not None and message.author.id == bot.user.id
        return mine and bool(message.embeds) and message.embeds[0].title == title

    if claim.resumed:
        found = await _posted_before(channel, ours)
        if found is not None:
            return found.id
    async with bot.db.session() as session:
        stats = await retirement.life_stats(session, claim.persona_id, now)
        history = await retirement.life_history(session, claim.persona_id, now) if "mood_chart" in claim.show else None
    files = []
    if history is not None:
        files.append(ui.chart_file(await asyncio.to_thread(ui.life_mood_chart, history, claim.name)))
    embed = ui.ceremony_embed(
        claim.name,
        stats,
        claim.show,
        duration_days=claim.duration_days,
        with_chart=bool(files),
        avatar_url=claim.avatar_url,
    )
    message = await channel.send(
        embed=embed,
        files=files,
        nonce=f"retire{claim.persona_id}"[:25],
        allowed_mentions=discord.AllowedMentions.none(),
    )
    return message.id


# --------------------------------------------------------------------------------------------------- the ceremony


async def perform_ceremony(
    bot: PersonaHubBot,
    persona_id: int,
    *,
    trigger: str,
    now: datetime,
    actor: Actor | None = None,
    scheduled_for: datetime | None = None,
) -> CeremonyResult | None:
    """Run (or resume) a persona's retirement ceremony, once. None when there was nothing to do (retired already,
    held by another process, cancelled, or a stale job), or when another process took the ceremony over while this
    one ran (it looked dead: this one stops without posting more). ``actor``: the owner, for ``/retire now``."""
    holder = bot.lease_holder
    try:
        async with bot.db.transaction() as session:
            claim = await retirement.claim_ceremony(
                session,
                persona_id,
                now=now,
                trigger=trigger,
                actor=actor,
                scheduled_for=scheduled_for,
                holder=holder,
            )
        if claim is None:
            return None
        log.info("retirement ceremony of %s (%d): %s", claim.name, persona_id, "resumed" if claim.resumed else trigger)
        farewell = await _farewell(bot, claim, now=now, holder=holder)
        channel = await _ceremony_channel(bot, claim)
        if channel is not None:
            await _post_in(bot, channel, claim, farewell, now=now, holder=holder)
        return await _complete(bot, claim, farewell, actor=actor, posted=channel is not None, now=now, holder=holder)
    except retirement.LeaseLost:
        log.warning("the retirement ceremony of persona %d was taken over by another process; stopping", persona_id)
        return None


async def _farewell(bot: PersonaHubBot, claim: CeremonyClaim, *, now: datetime, holder: Holder | None) -> str:
    """The farewell, fixed once: the owner's text, or the model's, written in character (a resumed ceremony finds
    the one written before)."""
    farewell = claim.farewell_text
    if not farewell:
        async with bot.db.session() as session:
            stats = await retirement.life_stats(session, claim.persona_id, now)
            mood = await retirement.mood_words(session, claim.persona_id, now)
        written = await retirement.write_farewell(bot.llm, claim, stats, mood=mood, now=now)
        async with bot.db.transaction() as session:
            farewell = await retirement.keep_farewell(session, claim.persona_id, written, holder=holder)
    elif not claim.farewell_by_model:
        async with bot.db.transaction() as session:
            farewell = await retirement.keep_farewell(session, claim.persona_id, farewell, holder=holder)
    return farewell


async def _ceremony_channel(bot: PersonaHubBot, claim: CeremonyClaim) -> discord.TextChannel | None:
    """The plan's ceremony channel, when there is one and the bot can hold the ceremony there."""
    if claim.channel_id is None:
        return None
    await _wait_ready(bot)
    found = bot.get_channel(claim.channel_id)
    if isinstance(found, discord.TextChannel) and can_hold_ceremony(found):
        return found
    log.warning("cannot post the ceremony of persona %d in channel %s", claim.persona_id, claim.channel_id)
    return None


async def _post_in(
    bot: PersonaHubBot,
    channel: discord.TextChannel,
    claim: CeremonyClaim,
    farewell: str,
    *,
    now: datetime,
    holder: Holder | None,
) -> None:
    """The farewell, then the ceremony embed, each unless posted already; each message's id recorded before the
    next step, the lease renewed before each."""
    persona_id = claim.persona_id
    if claim.farewell_message_id is None:
        async with bot.db.transaction() as session:
            await retirement.hold_lease(session, persona_id, now=now, holder=holder)
        message_id = await _post_farewell(bot, channel, claim, farewell)
        async with bot.db.transaction() as session:
            await retirement.record_posted(session, persona_id, "farewell", message_id, channel.id, holder=holder)
            await persona_messages.record(
                session,
                message_id=message_id,
                persona_id=persona_id,
                guild_id=channel.guild.id,
                channel_id=channel.id,
                via_webhook=True,
                now=now,
            )
    if claim.ceremony_message_id is None:
        async with bot.db.transaction() as session:
            await retirement.hold_lease(session, persona_id, now=now, holder=holder)
        message_id = await _post_ceremony(bot, channel, claim, now)
        async with bot.db.transaction() as session:
            await retirement.record_posted(session, persona_id, "ceremony", message_id, channel.id, holder=holder)


async def _complete(
    bot: PersonaHubBot,
    claim: CeremonyClaim,
    farewell: str,
    *,
    actor: Actor | None,
    posted: bool,
    now: datetime,
    holder: Holder | None,
) -> CeremonyResult:
    """Retire the persona, then tell the owner: the export (once, when the plan asked for it) and, unless they
    retired it by hand and watch the result, the farewell and the result."""
    persona_id = claim.persona_id
    async with bot.db.transaction() as session:
        result = await retirement.complete_ceremony(session, persona_id, now=now, holder=holder)
        send_export = await retirement.claim_export(session, persona_id, now=now, holder=holder)
    if send_export:
        async with bot.db.session() as session:
            document = await portability.export_native(session, Actor(result.owner_id), persona_id, now=now)
        data = await portability.export_file(document)
        await send_dm(
            bot,
            result.owner_id,
            f"The complete export of **{discord.utils.escape_markdown(result.name)}**, as it retired.",
            file=discord.File(io.BytesIO(data), filename=f"{slug(result.name)}-export.json"),
            about="a retirement",
        )
    if actor is None:
        extra = "" if posted or claim.channel_id is None else "\nI could not post in its ceremony channel."
        await send_dm(
            bot,
            result.owner_id,
            f"Your persona's farewell:\n> {clip(farewell, 1500)}{extra}",
            embed=ui.result_embed(result),
            about="a retirement",
        )
    return result


# --------------------------------------------------------------------------------------------------- hand-overs


async def ceremony_or_handoff(
    bot: PersonaHubBot,
    persona_id: int,
    *,
    trigger: str,
    now: datetime,
    scheduled_for: datetime | None = None,
) -> CeremonyResult | str | None:
    """Run the ceremony here when this process owns the persona's guild; otherwise hand it to the process that does,
    through the outbox (guild-scoped work happens only where the guild's shard is served). Returns the ceremony's
    result, ``"handed over"``, or None when there was nothing to do."""
    async with bot.db.session() as session:
        guild_id = await retirement.guild_of(session, persona_id)
    if bot.owns_guild(guild_id):
        return await perform_ceremony(bot, persona_id, trigger=trigger, now=now, scheduled_for=scheduled_for)
    async with bot.db.transaction() as session:
        await outbox.enqueue(
            session,
            kind=CEREMONY_KIND,
            # One hand-over per ceremony: a second firing of the same job queues nothing new.
            idempotency_key=f"ceremony:{persona_id}:{scheduled_for.isoformat() if scheduled_for else trigger}",
            payload={
                "persona_id": persona_id,
                "trigger": trigger,
                "scheduled_for": scheduled_for.isoformat() if scheduled_for else None,
            },
            guild_id=guild_id,
            now=now,
        )
    log.info("retirement ceremony of persona %d handed to the process serving guild %s", persona_id, guild_id)
    return "handed over"


class CeremonyHandoffs:
    """The loop taking over ceremonies another process's scheduler handed to this one (it serves their guilds):
    claimed from the outbox, run by :func:`perform_ceremony`, marked sent, or retried when they fail."""

    def __init__(self, bot: PersonaHubBot) -> None:
        self.bot = bot
        self.worker = f"{socket.gethostname()}:{os.getpid()}:ceremonies"
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="ceremony-handoffs")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        await self.bot.wait_until_ready()
        while True:
            try:
                async with self.bot.db.transaction() as session:
                    items = await outbox.claim(
                        session, worker=self.worker, now=utcnow(), limit=5, kinds=[CEREMONY_KIND],
                        shard=self.bot.shard_filter(),
                    )  # fmt: skip
                for item in items:
                    await self._run_one(item)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("could not take over handed ceremonies; trying again")
            await asyncio.sleep(HANDOFF_POLL_SECONDS)

    async def _run_one(self, item: outbox.OutboxItem) -> None:
        payload = item.payload
        scheduled = payload.get("scheduled_for")
        try:
            await perform_ceremony(
                self.bot,
                int(payload["persona_id"]),
                trigger=str(payload.get("trigger") or "date"),
                now=utcnow(),
                scheduled_for=datetime.fromisoformat(scheduled) if scheduled else None,
            )
        except Exception as error:
            log.exception("handed ceremony of persona %s failed; it will be tried again", payload.get("persona_id"))
            async with self.bot.db.transaction() as session:
                await outbox.mark_retry(session, item, worker=self.worker, now=utcnow(), error=str(error))
            return
        async with self.bot.db.transaction() as session:
            await outbox.mark_sent(session, [item.id], worker=self.worker, now=utcnow())
