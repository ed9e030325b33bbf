"""A persona's greeting, posted when it is activated in a channel (issue 17: the card's first message).

Three steps, no session held while Discord is awaited: claim the greeting (:func:`bot.services.greetings.claim`:
once per channel, chosen among the greeting and its alternates, macros resolved, split at Discord's limit), post it
under the persona's name (its channel webhook, or the bot's own message where webhooks are not allowed:
:class:`bot.discord_io.speaker.PersonaSender`), then record what Discord took as the persona's messages. When
nothing could be posted the claim is released, so the next activation tries again; a greeting cut off after its
first part keeps what was posted (it was seen).
"""

from __future__ import annotations

import logging
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


async def greet(
    bot: PersonaHubBot,
    channel: SpeakableChannel,
    persona_id: int,
    *,
    user_name: str,
    draw: float,
    clock: Callable[[], datetime] = utcnow,
) -> list[int]:
    """Post the persona's greeting in ``channel`` if it has one and has not greeted there; the ids of the messages
    posted (none: nothing to say, or Discord refused; logged). ``user_name``: who activated it (``{{user}}``);
    ``draw`` in [0, 1) chooses among its greetings."""
    async with bot.db.transaction() as session:
        greeting = await greetings.claim(
            session, persona_id, channel.id, guild_id=channel.guild.id, user_name=user_name, draw=draw, now=clock()
        )
    if greeting is None:
        return []
    sender = PersonaSender(bot, DatabaseWebhookStore(bot.db, clock))
    sent: list[discord.Message] = []
    via_webhook = True
    try:
        outlet = await sender.outlet(channel, PersonaVoice(greeting.persona_id, greeting.name, greeting.avatar_url))
        via_webhook = outlet.via_webhook
        for part in greeting.parts:
            sent.append(await sender.send(outlet, part))
    except discord.HTTPException as error:
        log.warning("persona %s could not greet channel %s: %s", persona_id, channel.id, error)
    async with bot.db.transaction() as session:
        if sent:
            ids = [message.id for message in sent]
            await greetings.posted(session, greeting, ids, via_webhook=via_webhook, now=clock())
        else:
            await greetings.release(session, persona_id, channel.id)
    return [message.id for message in sent]
