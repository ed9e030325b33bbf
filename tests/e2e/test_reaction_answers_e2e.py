"""Issue 19: an emoji behaviour with a reply template answers a reaction on the persona's message, end to end: the
real bot against the sandbox, the persona's first message from the fake model server."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.app import PersonaHubBot
from bot.cogs.behaviors import TRIGGERS
from bot.db import models
from bot.sandbox import Sandbox
from bot.sandbox.harness import Posted
from bot.sandbox.state import P
from tests.e2e.test_behaviors_e2e import add
from tests.e2e.test_conversation_e2e import answer_from, persona_in
from tests.fakes.model_server import FakeModelServer, reply
from tests.support.bots import bot_on
from tests.support.waiting import eventually

pytestmark = pytest.mark.e2e

TEMPLATE = "Thanks for the party, {{ author }}! {{ persona }} loves it."


def posts_by(sandbox: Sandbox, author: str, channel: Any, after: int = 0) -> list[Posted]:
    """What ``author`` (a persona's webhook name, or the bot's) posted in ``channel`` after the message ``after``."""
    found = [sandbox.posted(m) for m in sandbox.state.messages.values() if m.channel_id == channel.id and m.id > after]
    return [p for p in found if p.author == author and not p.message.deleted]


async def recorded_as(bot: PersonaHubBot, message_id: int) -> models.PersonaMessage | None:
    async with bot.db.session() as session:
        return await session.get(models.PersonaMessage, message_id)


async def triggers_felt(bot: PersonaHubBot, persona_id: int) -> list[tuple[str, str | None]]:
    async with bot.db.session() as session:
        query = select(models.EmotionalEvent.trigger, models.EmotionalEvent.context).where(
            models.EmotionalEvent.persona_id == persona_id
        )
        return [tuple(row) for row in (await session.execute(query.order_by(models.EmotionalEvent.id))).all()]


async def persona_message(bot: PersonaHubBot, sandbox: Sandbox, text: str) -> Posted:
    """Ada says something in #general (answering alice), recorded as hers."""
    sent = await sandbox.send(sandbox.general, text)
    return await answer_from(bot, sandbox, after=sent.id)


async def test_a_reaction_is_answered_once_per_message_within_the_cooldown_and_its_emotion_applies(
    sandbox: Sandbox, database_file: Path, model_server: FakeModelServer
) -> None:
    model_server.default = reply("Hello there!")
    async with bot_on(sandbox, database_file, model_server) as bot:
        persona_id = await persona_in(bot, sandbox)
        said = await add(
            sandbox, persona_id, name="Party", trigger="emoji", trigger_value="🎉",
            action="reply", action_value=TEMPLATE,
        )  # fmt: skip
        assert "Added **Party**" in said and "answered too, in reply to that message" in said
        await add(
            sandbox, persona_id, name="Proud", trigger="emoji", trigger_value="🎉",
            action="emotion", action_value="praise",
        )  # fmt: skip
        first = await persona_message(bot, sandbox, "Ada, are you there?")

        # bob reacts 🎉 on Ada's message: Ada answers under her name, with bob's name, in reply to that message.
        await sandbox.react(first, "🎉", user=sandbox.bob)
        answer = await sandbox.wait_for_message(sandbox.general, author="Ada", after=first.id, timeout=10)
        assert answer.content == "Thanks for the party, Bob! Ada loves it."
        assert answer.webhook_id is not None and answer.avatar_url == first.avatar_url
        assert str(first.id) in answer.embeds[0]["description"]  # the link back to the reacted message
        assert (answer.message.allowed_mentions or {}).get("parse") == []  # no pings
        await eventually(lambda: recorded_as(bot, answer.id), "the answer recorded as Ada's", timeout=5)
        row = await recorded_as(bot, answer.id)
        assert row is not None and row.persona_id == persona_id and row.answered_message_id is None
        # The emotion action applied too (the reaction's own trigger first, then the behaviour's).
        assert ("praise", "custom behaviour on a 🎉 reaction") in await triggers_felt(bot, persona_id)

        # A 🎉 on another message of Ada's within 20 seconds: held back by the channel's cooldown.
        second = await persona_message(bot, sandbox, "Ada, one more thing")
        await sandbox.react(second, "🎉", user=sandbox.bob)
        await eventually(lambda: _count_praise(bot, persona_id, 2), "the reaction counted with its emotion", timeout=5)
        await asyncio.sleep(0.5)
        assert [p.id for p in posts_by(sandbox, "Ada", sandbox.general, after=answer.id)] == [second.id]

        # Twenty seconds later (the bot's clock moved on: the cooldown is over), alice reacts 🎉 on the first
        # message: no second answer there (the first reaction per message only), though its emotion applies.
        cog: Any = bot.get_cog("EmotionsCog")
        real = cog.clock
        cog.clock = lambda: real() + timedelta(seconds=21)
        await sandbox.react(first, "🎉", user=sandbox.alice)
        await eventually(lambda: _count_praise(bot, persona_id, 3), "alice's reaction counted", timeout=5)
        await asyncio.sleep(0.5)
        assert [p.id for p in posts_by(sandbox, "Ada", sandbox.general, after=answer.id)] == [second.id]
        # ... and a 🎉 on a third message is answered, to alice (the cooldown was not spent on the first message).
        third = await persona_message(bot, sandbox, "Ada, last one")
        await sandbox.react(third, "🎉", user=sandbox.alice)
        again = await sandbox.wait_for_message(sandbox.general, author="Ada", after=third.id, timeout=10)
        assert again.content == "Thanks for the party, Alice! Ada loves it."
        assert str(third.id) in again.embeds[0]["description"]


async def _count_praise(bot: PersonaHubBot, persona_id: int, count: int) -> bool:
    felt = await triggers_felt(bot, persona_id)
    return sum(1 for trigger, context in felt if trigger == "praise" and context) >= count


async def test_without_manage_webhooks_the_answer_is_a_real_reply_that_pings_nobody(
    sandbox: Sandbox, database_file: Path, model_server: FakeModelServer
) -> None:
    sandbox.set_permissions(sandbox.general, sandbox.bot_role, deny=P.MANAGE_WEBHOOKS)
    model_server.default = reply("I am here.")
    async with bot_on(sandbox, database_file, model_server) as bot:
        persona_id = await persona_in(bot, sandbox)
        await add(
            sandbox, persona_id, name="Party", trigger="emoji", trigger_value="🎉",
            action="reply", action_value=TEMPLATE,
        )  # fmt: skip
        me = sandbox.bot_user.global_name or sandbox.bot_user.username
        sent = await sandbox.send(sandbox.general, "Ada, hello")
        first = await answer_from(bot, sandbox, name=me, after=sent.id)
        await sandbox.react(first, "🎉", user=sandbox.bob)
        answer = await sandbox.wait_for_message(
            sandbox.general, author=me, after=first.id, predicate=lambda p: bool(p.embeds), timeout=10
        )
        assert answer.embeds[0]["author"]["name"] == "Ada"
        assert answer.embeds[0]["description"] == "Thanks for the party, Bob! Ada loves it."
        assert answer.message.reference is not None and answer.message.reference["message_id"] == str(first.id)
        allowed = answer.message.allowed_mentions or {}
        assert allowed.get("parse") == [] and not allowed.get("replied_user")  # not even bob, the replied-to author
        await eventually(lambda: recorded_as(bot, answer.id), "the answer recorded as Ada's", timeout=5)


async def test_an_instruction_on_an_emoji_trigger_says_it_does_nothing_on_a_reaction(
    sandbox: Sandbox, database_file: Path, model_server: FakeModelServer
) -> None:
    async with bot_on(sandbox, database_file, model_server) as bot:
        persona_id = await persona_in(bot, sandbox)
        said = await add(
            sandbox, persona_id, name="Festive", trigger="emoji", trigger_value="🎉",
            action="instruction", action_value="Talk about parties.",
        )  # fmt: skip
        assert "when the emoji is in a message" in said and "a reaction adds no instruction" in said
        on_reaction = await (
            await sandbox.slash("behavior test", persona=str(persona_id), name="Festive", emoji="🎉")
        ).message(timeout=5)
        assert "does nothing on it" in on_reaction.content and "in a message" in on_reaction.content
        in_message = await (
            await sandbox.slash("behavior test", persona=str(persona_id), name="Festive", message="Party 🎉")
        ).message(timeout=5)
        assert "would fire" in in_message.content and "Talk about parties." in in_message.content
        # The reply template's test says how a reaction is answered.
        await add(
            sandbox, persona_id, name="Party", trigger="emoji", trigger_value="🎉",
            action="reply", action_value=TEMPLATE,
        )  # fmt: skip
        answered = await (
            await sandbox.slash("behavior test", persona=str(persona_id), name="Party", emoji="🎉")
        ).message(timeout=5)
        assert "would answer this reaction" in answered.content and "Thanks for the party, Alice!" in answered.content
        # The trigger choice offered by /behavior add says it too.
        assert any("instructions: in a message only" in choice.name for choice in TRIGGERS)
