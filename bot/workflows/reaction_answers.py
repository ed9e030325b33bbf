"""A persona answering a reaction on its message (issue 19): an emoji behaviour's reply template, already rendered by
the reaction batch (:mod:`bot.services.emotions.reaction_behaviors`), sent once that batch is committed.

Per answer, no session held while Discord is awaited: the channel's cooldown is taken
(:class:`bot.core.reaction_answers.AnswerCooldown`, in memory: at most one reaction answer per persona per channel
in its time; an answer it holds back is dropped, not queued), the text goes out under the persona's name and avatar
(:class:`bot.discord_io.speaker.PersonaSender`: its channel webhook, or the bot's own message where it cannot manage
webhooks) in reply to the reacted message, with no mentions allowed, and what Discord took is recorded as the
persona's message (:func:`bot.services.persona_messages.record`) so that replies and reactions to it reach the
persona. It is not recorded as an answer to someone (no answered message): there is no other take of it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime

import discord

from bot.core.errors import DomainError
from bot.core.reaction_answers import AnswerCooldown
from bot.db.engine import Database
from bot.discord_io.speaker import PersonaSender, PersonaVoice
from bot.services import persona_messages
from bot.services.emotions import ReactionAnswer

log = logging.getLogger(__name__)


async def answer_reactions(
    client: discord.Client,
    database: Database,
    sender: PersonaSender,
    cooldown: AnswerCooldown,
    answers: Iterable[ReactionAnswer],
    *,
    now: datetime,
) -> list[int]:
    """Send each answer its cooldown lets through (module docstring); the ids of the messages sent. A failure is
    logged and never stops the other answers."""
    sent: list[int] = []
    for answer in answers:
        channel = client.get_channel(answer.channel_id)
        if not isinstance(channel, discord.TextChannel | discord.Thread):
            continue
        if not cooldown.take(answer.persona_id, channel.id, now):
            log.info("persona %s: a reaction answer in %s held back by the cooldown", answer.persona_id, channel.id)
            continue
        try:
            message_id = await _answer(database, sender, channel, answer, now=now)
        except (discord.HTTPException, DomainError) as error:
            log.warning("persona %s could not answer a reaction in %s: %s", answer.persona_id, channel.id, error)
            continue
        sent.append(message_id)
    return sent


async def _answer(
    database: Database,
    sender: PersonaSender,
    channel: discord.TextChannel | discord.Thread,
    answer: ReactionAnswer,
    *,
    now: datetime,
) -> int:
    outlet = await sender.outlet(channel, PersonaVoice(answer.persona_id, answer.persona_name, answer.avatar_url))
    message = await sender.send(outlet, answer.text, reply_to=channel.get_partial_message(answer.message_id))
    async with database.transaction() as session:
        await persona_messages.record(
            session,
            message_id=message.id,
            persona_id=answer.persona_id,
            guild_id=channel.guild.id,
            channel_id=channel.id,
            via_webhook=outlet.via_webhook,
            now=now,
        )
    return message.id
