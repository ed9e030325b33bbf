"""A persona's greeting, posted when it is activated in a channel (issue 17: the card's first message).

Three steps, no session held while Discord is awaited: claim the greeting (:func:`bot.services.greetings.claim`:
once per channel, chosen among the greeting and its alternates, macros resolved, split at Discord's limit), post it
under the persona's name (its channel webhook, or the bot's own message where webhooks are not allowed:
:class:`bot.discord_io.speaker.PersonaSender`), recording each message as the persona's as soon as Discord took it
(the first one marks the claim posted: it is never posted again). When nothing could be posted the claim is
released, so the next activation tries again; a greeting cut off after its first part keeps what was posted (it
was seen).

A claim left unposted by a crash is taken again by the next activation there, or by :func:`resume_greetings`, which
the scheduler runs shortly after each start and every few minutes (``bot/runtime/scheduling.py``).
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

import discord

from bot.clock import utcnow
from bot.discord_io.speaker import PersonaSender, PersonaVoice, SpeakableChannel
from bot.discord_io.webhooks import DatabaseWebhookStore
from bot.services import greetings

if TYPE_CHECKING:
    from bot.app import PersonaHubBot

log = logging.getLogger(__name__)
ANYONE = "everyone"  # {{user}} in a resumed greeting whose activator is not known any more


async def greet(
    bot: PersonaHubBot,
    channel: SpeakableChannel,
    persona_id: int,
    *,
    user_name: str,
    draw: float,
    clock: Callable[[], datetime] = utcnow,
    unposted_only: bool = False,
) -> list[int]:
    """Post the persona's greeting in ``channel`` if it has one and has not greeted there; the ids of the messages
    posted (none: nothing to say, or Discord refused; logged). ``user_name``: who activated it (``{{user}}``);
    ``draw`` in [0, 1) chooses among its greetings; ``unposted_only``: only a greeting a crash left unposted."""
    async with bot.db.transaction() as session:
        greeting = await greetings.claim(
            session,
            persona_id,
            channel.id,
            guild_id=channel.guild.id,
            user_name=user_name,
            draw=draw,
            now=clock(),
            holder=bot.lease_holder,
            unposted_only=unposted_only,
        )
    if greeting is None:
        return []
    sender = PersonaSender(bot, DatabaseWebhookStore(bot.db, clock))
    sent: list[int] = []
    try:
        outlet = await sender.outlet(channel, PersonaVoice(greeting.persona_id, greeting.name, greeting.avatar_url))
        for part in greeting.parts:
            message = await sender.send(outlet, part)
            sent.append(message.id)
            async with bot.db.transaction() as session:  # at once: a crash after this never posts it again
                await greetings.posted(session, greeting, [message.id], via_webhook=outlet.via_webhook, now=clock())
    except discord.HTTPException as error:
        log.warning("persona %s could not greet channel %s: %s", persona_id, channel.id, error)
    if not sent:
        async with bot.db.transaction() as session:
            await greetings.release(session, persona_id, channel.id)
    return sent


async def resume_greetings(bot: PersonaHubBot, *, now: datetime) -> list[int]:
    """Post the greetings a crash left claimed and unposted (their lease ran out, or their process is gone), where
    the persona still speaks; a claim where it no longer does is released (its next activation greets). The ids of
    the personas that greeted."""
    async with bot.db.session() as session:
        stale = await greetings.stale_claims(session, now, bot.lease_holder)
    done = []
    for claim in stale:
        channel = bot.get_channel(claim.channel_id)
        if not claim.bound:
            async with bot.db.transaction() as session:
                await greetings.release(session, claim.persona_id, claim.channel_id)
            continue
        if not isinstance(channel, discord.TextChannel | discord.Thread):
            continue  # not seen from here (yet): the next sweep looks again
        member = channel.guild.get_member(claim.activated_by) if claim.activated_by is not None else None
        try:
            name = member.display_name if member is not None else ANYONE
            posted = await greet(
                bot,
                channel,
                claim.persona_id,
                user_name=name,
                draw=random.random(),
                clock=lambda: now,
                unposted_only=True,
            )
            if posted:
                done.append(claim.persona_id)
        except Exception:
            log.exception("persona %s: resuming the greeting in channel %s failed", claim.persona_id, claim.channel_id)
    return done
