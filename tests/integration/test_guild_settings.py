"""A server's reaction map on SQLite and PostgreSQL: validation, Manage Server, limits, and that reactions use it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from bot.core.errors import DomainError, PermissionDenied
from bot.db import models
from bot.db.engine import Database
from bot.services import emotions, guild_settings, persona_messages, personas
from bot.services.emotions import ReactionItem
from bot.services.personas import Actor, PersonaInput

GUILD = 222_222_222_222_222_222
OTHER_GUILD = 333_333_333_333_333_333
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
HEART = "❤️"


async def set_reaction(database: Database, emoji: str, trigger: str, *, guild_id: int = GUILD, manage: bool = True):
    async with database.transaction() as session:
        return await guild_settings.set_reaction(
            session, guild_id=guild_id, can_manage_guild=manage, emoji=emoji, trigger=trigger, now=NOW
        )


async def stored_map(database: Database, guild_id: int = GUILD) -> dict[str, str]:
    async with database.session() as session:
        return await guild_settings.reaction_map(session, guild_id)


async def test_set_replace_and_clear_a_mapping(database: Database) -> None:
    change = await set_reaction(database, HEART, "hostility")
    assert (change.emoji, change.trigger, change.previous, change.default, change.size) == (
        HEART,
        "hostility",
        None,
        "affection",
        1,
    )
    # The same emoji spelled without its variation selector is the same key: replaced, not added.
    change = await set_reaction(database, "❤", "Sorrow")
    assert (change.trigger, change.previous, change.size) == ("sorrow", "hostility", 1)
    assert await stored_map(database) == {"❤": "sorrow"}
    # A custom emoji is kept by name.
    await set_reaction(database, "<:pogchamp:123456789012345678>", "hype")
    assert await stored_map(database) == {"❤": "sorrow", "pogchamp": "hype"}
    assert await stored_map(database, OTHER_GUILD) == {}

    change = await set_reaction(database, HEART, "default")
    assert change.trigger is None and change.previous == "sorrow" and change.size == 1
    with pytest.raises(DomainError, match="already uses the default"):
        await set_reaction(database, HEART, "none")
    async with database.session() as session:
        row = await session.get(models.GuildSettings, GUILD)
        assert row is not None and row.updated_at == NOW


@pytest.mark.parametrize(
    ("emoji", "trigger", "message"),
    [
        ("hello", "praise", "is not an emoji"),
        ("❤️👍", "praise", "more than one emoji"),
        ("", "praise", "Give an emoji"),
        (HEART, "tickled", "is not a trigger"),
    ],
)
async def test_invalid_emoji_or_trigger_is_refused_and_nothing_written(
    database: Database, emoji: str, trigger: str, message: str
) -> None:
    with pytest.raises(DomainError, match=message):
        await set_reaction(database, emoji, trigger)
    assert await stored_map(database) == {}


async def test_manage_server_is_required(database: Database) -> None:
    with pytest.raises(PermissionDenied, match="Manage Server"):
        await set_reaction(database, HEART, "hostility", manage=False)
    async with database.session() as session:
        with pytest.raises(PermissionDenied):
            await guild_settings.describe_reactions(session, guild_id=GUILD, can_manage_guild=False)
    assert await stored_map(database) == {}


async def test_at_most_100_entries(database: Database) -> None:
    names = [f"custom_{index}" for index in range(guild_settings.MAX_REACTION_ENTRIES)]
    for name in names:
        await set_reaction(database, f":{name}:", "praise")
    with pytest.raises(DomainError, match="already maps 100 emoji"):
        await set_reaction(database, ":one_more:", "praise")
    # Changing an existing entry is still allowed at the limit.
    assert (await set_reaction(database, ":custom_0:", "hype")).size == guild_settings.MAX_REACTION_ENTRIES
    async with database.session() as session:
        listed = await guild_settings.describe_reactions(session, guild_id=GUILD, can_manage_guild=True)
        one = await guild_settings.describe_reactions(session, guild_id=GUILD, can_manage_guild=True, emoji="👍")
    assert len(listed) == 100 and {e.emoji: e.trigger for e in listed}["custom_0"] == "hype"
    assert (one[0].trigger, one[0].source) == ("agreement", "default")


async def test_reactions_follow_the_servers_map_at_once(database: Database) -> None:
    async with database.transaction() as session:
        here = await personas.create(session, Actor(1, GUILD), PersonaInput(name="Ada"), now=NOW)
        there = await personas.create(session, Actor(1, OTHER_GUILD), PersonaInput(name="Bea"), now=NOW)
        for message_id, persona in ((10, here), (20, there)):
            await persona_messages.record(
                session, message_id=message_id, persona_id=persona.id, guild_id=persona.guild_id, channel_id=5, now=NOW
            )
        # Recording twice changes nothing.
        assert not await persona_messages.record(
            session, message_id=10, persona_id=there.id, guild_id=OTHER_GUILD, channel_id=6, now=NOW
        )
    await set_reaction(database, HEART, "hostility")
    async with database.transaction() as session:
        assert await persona_messages.persona_for_message(session, 10) == here.id
        assert await persona_messages.persona_for_message(session, 11) is None
        await emotions.apply_reactions(
            session,
            [
                ReactionItem(here.id, user_id=7, message_id=10, emoji=HEART, guild_id=GUILD),
                ReactionItem(there.id, user_id=7, message_id=20, emoji=HEART, guild_id=OTHER_GUILD),
            ],
            NOW,
        )
    async with database.session() as session:
        rows = (
            await session.execute(
                select(models.EmotionalEvent.persona_id, models.EmotionalEvent.trigger).order_by(
                    models.EmotionalEvent.persona_id
                )
            )
        ).all()
    assert [tuple(row) for row in rows] == [(here.id, "hostility"), (there.id, "affection")]
