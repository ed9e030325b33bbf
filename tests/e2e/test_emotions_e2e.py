"""Reactions as emotional triggers and the /mood and /admin reactions commands, end to end: the real bot against the
sandbox, with a real SQLite file.

A persona message is made as the conversation feature will make it: the bot posts through a channel webhook under
the persona's name, and records the message with :func:`bot.services.persona_messages.record`.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.app import PersonaHubBot
from bot.clock import utcnow
from bot.db import models
from bot.sandbox import Sandbox
from bot.sandbox.harness import BOT_PERMISSIONS, Posted
from bot.services import emotions, persona_messages, personas
from bot.services.personas import Actor, PersonaInput
from tests.support.bots import bot_on
from tests.support.waiting import eventually

pytestmark = pytest.mark.e2e

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
HEART = "❤️"
BotFactory = Callable[..., Any]


# --------------------------------------------------------------------------------------------------- helpers


async def make_persona(bot: PersonaHubBot, owner_id: int, guild_id: int, name: str = "Ada", **data: Any) -> int:
    async with bot.db.transaction() as session:
        record = await personas.create(
            session, Actor(owner_id, guild_id), PersonaInput(name=name, **data), now=utcnow()
        )
    return record.id


async def remembering_server(bot: PersonaHubBot, guild_id: int) -> None:
    """The server remembers people unless they opt out, so reactions there are recorded with who reacted (people a
    persona may not remember are counted anonymously: tests/e2e/test_privacy_traces_e2e.py)."""
    async with bot.db.transaction() as session:
        session.add(models.GuildSettings(guild_id=guild_id, memory_consent_default="opt-out"))


async def persona_says(bot: PersonaHubBot, channel_id: int, persona_id: int, text: str = "Hello!") -> int:
    """The persona speaks through the channel's webhook; the message is recorded as the persona's."""
    channel = bot.get_channel(channel_id)
    assert channel is not None
    hooks = [h for h in await channel.webhooks() if h.name == "Persona Hub relay"]  # type: ignore[union-attr]
    hook = hooks[0] if hooks else await channel.create_webhook(name="Persona Hub relay")  # type: ignore[union-attr]
    sent = await hook.send(text, username="Ada", wait=True)
    async with bot.db.transaction() as session:
        await persona_messages.record(
            session,
            message_id=sent.id,
            persona_id=persona_id,
            guild_id=sent.guild.id if sent.guild else None,
            channel_id=channel_id,
            via_webhook=True,
            now=utcnow(),
        )
    return sent.id


async def events(bot: PersonaHubBot, persona_id: int) -> list[models.EmotionalEvent]:
    async with bot.db.session() as session:
        query = select(models.EmotionalEvent).where(models.EmotionalEvent.persona_id == persona_id)
        return list((await session.execute(query.order_by(models.EmotionalEvent.id))).scalars())


async def event_count(bot: PersonaHubBot, persona_id: int) -> int:
    async with bot.db.session() as session:
        query = select(func.count()).where(models.EmotionalEvent.persona_id == persona_id)
        return int((await session.execute(query)).scalar_one())


async def wait_events(bot: PersonaHubBot, persona_id: int, count: int, timeout: float = 10) -> None:
    async def reached() -> bool:
        return await event_count(bot, persona_id) >= count

    await eventually(reached, f"{count} emotional events", timeout=timeout)


async def show(sandbox: Sandbox, persona_id: int, **kwargs: Any) -> Posted:
    return await (await sandbox.slash("mood show", persona=str(persona_id), **kwargs)).message(timeout=10)


def fields(answer: Posted) -> dict[str, str]:
    return {f["name"]: f["value"] for f in answer.embeds[0].get("fields", [])}


def pad_values(answer: Posted) -> dict[str, float]:
    text = fields(answer)["PAD"]
    return {name: float(value) for name, value in re.findall(r"(Pleasure|Arousal|Dominance) ([+-]\d\.\d\d)", text)}


def message_of(sandbox: Sandbox, message_id: int) -> Any:
    return sandbox.state.messages[message_id]


def emotions_cog(bot: PersonaHubBot) -> Any:
    cog = bot.get_cog("EmotionsCog")
    assert cog is not None
    return cog


# --------------------------------------------------------------------------------------------------- reactions


async def test_a_heart_on_a_persona_message_raises_pleasure_and_shows_affection(
    sandbox: Sandbox, database_file: Path
) -> None:
    async with bot_on(sandbox, database_file) as bot:
        persona_id = await make_persona(bot, sandbox.alice.id, sandbox.guild.id)
        await remembering_server(bot, sandbox.guild.id)
        message_id = await persona_says(bot, sandbox.personas.id, persona_id)

        before = await show(sandbox, persona_id)
        assert before.ephemeral and fields(before)["Active emotions"] == "None right now."
        assert "nothing in particular has happened" in before.embeds[0]["description"]
        start = pad_values(before)["Pleasure"]

        await sandbox.react(message_of(sandbox, message_id), HEART, user=sandbox.bob)
        await wait_events(bot, persona_id, 1)
        (event,) = await events(bot, persona_id)
        assert (event.trigger, event.user_id, event.emoji, event.message_id) == (
            "affection",
            sandbox.bob.id,
            HEART,
            message_id,
        )

        after = await show(sandbox, persona_id)
        active = fields(after)["Active emotions"]
        assert "**trust**" in active and "**joy**" in active and "█" in active
        assert "Pleasure" in fields(after)["PAD"] and "(rising)" in fields(after)["PAD"].splitlines()[0]
        assert "affection" in after.embeds[0]["description"]
        assert after.embeds[0]["image"]["url"] == "attachment://mood.png"
        # The words come at once; a chart that is not drawn yet follows in an edit.
        await sandbox.wait_until(lambda: after.attachments, 10, "the mood chart")
        assert after.attachments[0].data.startswith(PNG_MAGIC)

        # Ten minutes later (the bot's clock moved on), the mood has followed the emotions: more pleasant.
        cog = emotions_cog(bot)
        real = cog.clock
        cog.clock = lambda: real() + timedelta(minutes=10)
        later = await show(sandbox, persona_id)
        assert pad_values(later)["Pleasure"] >= start + 0.05
        assert "neutral" not in later.embeds[0]["title"]


async def test_a_burst_of_1000_reactions_from_many_users_records_exactly_1000_events(
    sandbox: Sandbox, database_file: Path
) -> None:
    emoji = ["❤️", "👍", "😂", "🎉", "😮"]
    users = [sandbox.add_user(f"fan{index}") for index in range(200)]
    async with bot_on(sandbox, database_file) as bot:
        persona_id = await make_persona(bot, sandbox.alice.id, sandbox.guild.id)
        await remembering_server(bot, sandbox.guild.id)
        message_id = await persona_says(bot, sandbox.personas.id, persona_id)
        message = message_of(sandbox, message_id)
        for user in users:
            for mark in emoji:
                await sandbox.react(message, mark, user=user)
        await wait_events(bot, persona_id, 1000, timeout=60)
        await asyncio.sleep(0.2)  # nothing more arrives
        recorded = await events(bot, persona_id)
        assert len(recorded) == 1000
        assert len({(e.user_id, e.emoji) for e in recorded}) == 1000
        buffer = emotions_cog(bot).buffer
        # Batched: far fewer transactions than reactions.
        assert buffer.applied == 1000 and buffer.batches <= 200, buffer.batches


async def test_the_bots_own_and_other_bots_reactions_and_other_messages_do_not_count(
    sandbox: Sandbox, database_file: Path
) -> None:
    robot = sandbox.state.add_user("robot", bot=True)
    sandbox.state.add_member(sandbox.guild, robot)
    async with bot_on(sandbox, database_file) as bot:
        persona_id = await make_persona(bot, sandbox.alice.id, sandbox.guild.id)
        await remembering_server(bot, sandbox.guild.id)
        message_id = await persona_says(bot, sandbox.personas.id, persona_id)
        plain = await sandbox.send(sandbox.personas, "just a person talking", author=sandbox.bob)
        await sandbox.react(message_of(sandbox, message_id), HEART, user=robot)
        await bot.get_channel(sandbox.personas.id).get_partial_message(message_id).add_reaction("👍")  # type: ignore[union-attr]
        await sandbox.react(plain, HEART, user=sandbox.alice)
        await sandbox.react(message_of(sandbox, message_id), "🎉", user=sandbox.alice)  # the one that counts
        await wait_events(bot, persona_id, 1)
        await asyncio.sleep(0.3)
        recorded = await events(bot, persona_id)
        assert [(e.user_id, e.trigger) for e in recorded] == [(sandbox.alice.id, "celebration")]
        async with bot.db.session() as session:
            assert await session.scalar(select(func.count()).select_from(models.EmotionalEvent)) == 1


async def test_removing_then_re_adding_a_reaction_counts_once(sandbox: Sandbox, database_file: Path) -> None:
    async with bot_on(sandbox, database_file) as bot:
        persona_id = await make_persona(bot, sandbox.alice.id, sandbox.guild.id)
        message = message_of(sandbox, await persona_says(bot, sandbox.personas.id, persona_id))
        await sandbox.react(message, HEART, user=sandbox.bob)
        await wait_events(bot, persona_id, 1)
        for _ in range(3):
            await sandbox.unreact(message, HEART, user=sandbox.bob)
            await sandbox.react(message, HEART, user=sandbox.bob)
        await sandbox.react(message, "👍", user=sandbox.bob)  # a later, different reaction: it counts
        await wait_events(bot, persona_id, 2)
        buffer = emotions_cog(bot).buffer

        async def all_seen() -> bool:
            return buffer.duplicates >= 3

        await eventually(all_seen, "the re-added hearts", timeout=10)
        recorded = await events(bot, persona_id)
        assert [(e.emoji, e.trigger) for e in recorded] == [(HEART, "affection"), ("👍", "agreement")]


async def test_react_with_mood_the_persona_shows_its_mood_as_a_reaction(sandbox: Sandbox, database_file: Path) -> None:
    async with bot_on(sandbox, database_file) as bot:
        persona_id = await make_persona(bot, sandbox.alice.id, sandbox.guild.id, behavior={"react_with_mood": True})
        message_id = await persona_says(bot, sandbox.personas.id, persona_id)
        await sandbox.react(message_of(sandbox, message_id), HEART, user=sandbox.bob)
        await wait_events(bot, persona_id, 1)

        async with bot.db.session() as session:
            mood = await emotions.current_state(session, persona_id, utcnow())
        from bot.ui.mood import MOOD_EMOJI

        wanted = MOOD_EMOJI[mood.mood_name]
        await sandbox.wait_until(
            lambda: sandbox.bot_user.id in message_of(sandbox, message_id).reactions.get(wanted, {}),
            5,
            "the persona's mood reaction",
        )
        # Its own reaction is not an emotional trigger.
        await asyncio.sleep(0.3)
        assert await event_count(bot, persona_id) == 1


# --------------------------------------------------------------------------------------------------- restart


async def test_a_restart_mid_burst_loses_no_acknowledged_reaction_and_keeps_the_mood(
    sandbox: Sandbox, database_file: Path
) -> None:
    users = [sandbox.add_user(f"fan{index}") for index in range(300)]
    async with bot_on(sandbox, database_file) as bot:
        persona_id = await make_persona(bot, sandbox.alice.id, sandbox.guild.id)
        message = message_of(sandbox, await persona_says(bot, sandbox.personas.id, persona_id))
        cog = emotions_cog(bot)
        for user in users:
            await sandbox.react(message, HEART, user=user)

        async def under_way() -> bool:
            return cog.accepted >= 50

        await eventually(under_way, "the burst to be under way", timeout=10)
        # Leaving the block closes the bot now, mid-burst: every reaction handed to the buffer is written first.
    acknowledged = cog.accepted
    assert acknowledged >= 50
    async with bot_on(sandbox, database_file) as again:
        assert await event_count(again, persona_id) == acknowledged
        answer = await show(sandbox, persona_id)
        async with again.db.session() as session:
            expected = await emotions.current_state(session, persona_id, utcnow())
    shown = pad_values(answer)
    for name, value in zip(("Pleasure", "Arousal", "Dominance"), expected.mood, strict=True):
        assert abs(shown[name] - value) <= 0.011, (name, shown[name], value)
    assert fields(answer)["Mood"] == f"{expected.mood_name} ({expected.intensity_word})"
    assert [line.split("**")[1] for line in fields(answer)["Active emotions"].split("\n") if "**" in line] == [
        item.type for item in expected.active
    ]


# --------------------------------------------------------------------------------------------------- server maps


def second_guild(sandbox: Sandbox) -> tuple[Any, Any]:
    """Another server, owned by bob, with alice in it and the bot invited (before the bot starts)."""
    state = sandbox.state
    guild = state.add_guild("Elsewhere", sandbox.bob)
    role = state.add_role(guild, "Persona Hub", BOT_PERMISSIONS, managed=True)
    state.add_member(guild, sandbox.bot_user, [role])
    state.add_member(guild, sandbox.alice)
    channel = state.add_channel(guild, "chat")
    return guild, channel


async def test_a_servers_reaction_map_overrides_the_default_there_only(sandbox: Sandbox, database_file: Path) -> None:
    other, chat = second_guild(sandbox)
    async with bot_on(sandbox, database_file) as bot:
        assert bot.get_guild(other.id) is not None
        here = await make_persona(bot, sandbox.alice.id, sandbox.guild.id, name="Ada")
        there = await make_persona(bot, sandbox.bob.id, other.id, name="Bea")
        here_message = message_of(sandbox, await persona_says(bot, sandbox.personas.id, here))
        there_message = message_of(sandbox, await persona_says(bot, chat.id, there))

        # Only members with Manage Server see /admin; bob owns the other server.
        answer = await (
            await sandbox.slash(
                "admin reactions", as_user=sandbox.bob, in_channel=chat, emoji=HEART, trigger="hostility"
            )
        ).message()
        assert answer.ephemeral and answer.content.startswith("Set:") and "hostility" in answer.content
        choices = await sandbox.autocomplete(
            "admin reactions", "trigger", "host", as_user=sandbox.bob, in_channel=chat, emoji=HEART
        )
        assert [c["value"] for c in choices] == ["hostility"]
        listing = await (await sandbox.slash("admin reactions", as_user=sandbox.bob, in_channel=chat)).message()
        assert f"{HEART} → **hostility**" in listing.embeds[0]["description"]
        with pytest.raises(AssertionError, match="lacks the permissions"):
            await sandbox.slash("admin reactions", as_user=sandbox.alice, in_channel=chat)

        await sandbox.react(there_message, HEART, user=sandbox.alice)
        await sandbox.react(here_message, HEART, user=sandbox.bob)
        await wait_events(bot, there, 1)
        await wait_events(bot, here, 1)
        assert [(e.trigger, e.emotion_type) for e in await events(bot, there)] == [("hostility", "anger")]
        assert [e.trigger for e in await events(bot, here)] == ["affection"]

        # Back to the default ("none"): the next heart there is affection again.
        cleared = await (
            await sandbox.slash("admin reactions", as_user=sandbox.bob, in_channel=chat, emoji=HEART, trigger="none")
        ).message()
        assert cleared.content.startswith("Removed:")
        await sandbox.react(there_message, HEART, user=sandbox.bob)
        await wait_events(bot, there, 2)
        assert [e.trigger for e in await events(bot, there)] == ["hostility", "affection"]

        refused = await (
            await sandbox.slash(
                "admin reactions", as_user=sandbox.bob, in_channel=chat, emoji="hello", trigger="praise"
            )
        ).message()
        assert refused.ephemeral and "is not an emoji" in refused.content


# --------------------------------------------------------------------------------------------------- privacy


async def test_mood_hidden_from_others_when_its_visibility_is_owner(sandbox: Sandbox, database_file: Path) -> None:
    async with bot_on(sandbox, database_file) as bot:
        secret = await make_persona(
            bot, sandbox.alice.id, sandbox.guild.id, name="Secretive", privacy={"visibility": {"mood": "owner"}}
        )
        open_one = await make_persona(bot, sandbox.alice.id, sandbox.guild.id, name="Open")

        refused = await show(sandbox, secret, as_user=sandbox.bob)
        assert refused.ephemeral and "keeps its mood private" in refused.content and not refused.embeds
        assert refused.id not in [p.id for p in sandbox.history(as_user=sandbox.alice)]
        mine = await show(sandbox, secret)
        assert mine.embeds[0]["title"].endswith("Secretive feels neutral")
        theirs = await show(sandbox, open_one, as_user=sandbox.bob)
        assert theirs.embeds and "Open feels" in theirs.embeds[0]["title"]

        # Autocomplete offers the visible personas; a typed exact name works too.
        choices = await sandbox.autocomplete("mood show", "persona", "o", as_user=sandbox.bob)
        assert [c["name"] for c in choices] == ["Open"]
        by_name = await (await sandbox.slash("mood show", as_user=sandbox.bob, persona="open")).message(timeout=10)
        assert "Open feels" in by_name.embeds[0]["title"]


# --------------------------------------------------------------------------------------------------- owner commands


async def test_history_patterns_and_feedback_are_the_owners(sandbox: Sandbox, database_file: Path) -> None:
    async with bot_on(sandbox, database_file) as bot:
        persona_id = await make_persona(bot, sandbox.alice.id, sandbox.guild.id)
        await remembering_server(bot, sandbox.guild.id)
        message = message_of(sandbox, await persona_says(bot, sandbox.personas.id, persona_id))
        await sandbox.react(message, HEART, user=sandbox.bob)
        await wait_events(bot, persona_id, 1)
        (event,) = await events(bot, persona_id)

        # History: a chart for the owner; refused for anyone else.
        history = await (await sandbox.slash("mood history", persona=str(persona_id), days=3)).message(timeout=10)
        assert "1 emotional event" in history.embeds[0]["description"]
        assert history.attachments[0].data.startswith(PNG_MAGIC)
        denied = await (await sandbox.slash("mood history", as_user=sandbox.bob, persona=str(persona_id))).message()
        assert "Only the persona's owner" in denied.content and not denied.attachments
        patterns = await (await sandbox.slash("mood patterns", persona=str(persona_id))).message(timeout=10)
        assert "No clear patterns" in patterns.embeds[0]["description"]

        # Feedback: the event list is the owner's; a stranger's verdict is refused and changes nothing.
        offered = await sandbox.autocomplete("mood feedback", "event", "", persona=str(persona_id))
        assert [c["value"] for c in offered] == [str(event.id)]
        assert "affection" in offered[0]["name"] and "bob" in offered[0]["name"].lower()
        assert (
            await sandbox.autocomplete("mood feedback", "event", "", as_user=sandbox.bob, persona=str(persona_id)) == []
        )
        stranger = await (
            await sandbox.slash(
                "mood feedback", as_user=sandbox.bob, persona=str(persona_id), event=str(event.id), verdict="too_strong"
            )
        ).message()
        assert "Only the persona's owner" in stranger.content
        async with bot.db.session() as session:
            assert await session.scalar(select(func.count()).select_from(models.LearnedResponse)) == 0

        owner = await (
            await sandbox.slash("mood feedback", persona=str(persona_id), event=str(event.id), verdict="too_strong")
        ).message()
        assert owner.content.startswith("Noted: Ada's response to affection was wrong (too strong)")
        async with bot.db.session() as session:
            learned = (await session.execute(select(models.LearnedResponse))).scalar_one()
        assert learned.trigger == "affection" and learned.scale < 1.0

        needs_emotion = await (
            await sandbox.slash("mood feedback", persona=str(persona_id), event=str(event.id), verdict="should_be")
        ).message()
        assert "should_be" in needs_emotion.content
        withdrawn = await (
            await sandbox.slash("mood feedback", persona=str(persona_id), event=str(event.id), verdict="withdraw")
        ).message()
        assert withdrawn.content.startswith("Withdrawn:")
        async with bot.db.session() as session:
            learned = (await session.execute(select(models.LearnedResponse))).scalar_one()
        assert learned.scale == pytest.approx(1.0)
