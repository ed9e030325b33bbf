"""Reactions (developers/resources/message, "Create Reaction" and the routes after it): a unicode emoji, or a custom
emoji as ``name:id`` that exists, else ``10014 Unknown Emoji``, on every reaction route."""

from __future__ import annotations

import pytest

from bot.sandbox import Sandbox
from tests.e2e.conformance.msg_helpers import refusal

pytestmark = pytest.mark.e2e

UNKNOWN_EMOJI = 10014
CUSTOM_ID = 4242


@pytest.mark.parametrize("emoji", ["👍", "❤️", "1️⃣", "🇫🇷", "👩‍💻", "‼️"])
async def test_unicode_emoji_are_fine(sandbox: Sandbox, discord_client, emoji: str) -> None:
    bot = await discord_client()
    m = await sandbox.send(sandbox.general, "react")
    message = await bot.get_channel(sandbox.general.id).fetch_message(m.id)
    await message.add_reaction(emoji)
    assert list(sandbox.state.messages[m.id].reactions[emoji]) == [sandbox.bot_user.id]


@pytest.mark.parametrize("emoji", ["hello", "<:blob:4242>", "blob:notanid", "é"])
async def test_what_is_no_emoji_is_unknown(sandbox: Sandbox, discord_client, emoji: str) -> None:
    """A custom emoji the bot cannot see (the guild has none until the test adds one), or text that is no emoji."""
    bot = await discord_client()
    m = await sandbox.send(sandbox.general, "react")
    message = await bot.get_channel(sandbox.general.id).fetch_message(m.id)
    error = await refusal(message.add_reaction(emoji))
    assert (error.status, error.code) == (400, UNKNOWN_EMOJI)
    assert sandbox.state.messages[m.id].reactions == {}


async def test_a_custom_emoji_of_the_guild_is_known(sandbox: Sandbox, discord_client) -> None:
    sandbox.guild.emojis[CUSTOM_ID] = "blob"
    bot = await discord_client()
    m = await sandbox.send(sandbox.general, "react")
    message = await bot.get_channel(sandbox.general.id).fetch_message(m.id)
    await message.add_reaction(f"<:blob:{CUSTOM_ID}>")
    assert list(sandbox.state.messages[m.id].reactions) == [f"blob:{CUSTOM_ID}"]
    error = await refusal(message.add_reaction("<:blob:4243>"))
    assert error.code == UNKNOWN_EMOJI


async def test_every_reaction_route_checks_the_emoji(sandbox: Sandbox, discord_client) -> None:
    bot = await discord_client()
    m = await sandbox.send(sandbox.general, "react")
    message = await bot.get_channel(sandbox.general.id).fetch_message(m.id)
    http = bot.http
    channel_id, message_id, bad = sandbox.general.id, m.id, "nope:1"
    for pending in (
        http.remove_own_reaction(channel_id, message_id, bad),
        http.remove_reaction(channel_id, message_id, bad, sandbox.bob.id),
        http.get_reaction_users(channel_id, message_id, bad, 25),
        http.clear_single_reaction(channel_id, message_id, bad),
    ):
        assert (await refusal(pending)).code == UNKNOWN_EMOJI
    await message.add_reaction("👍")
    await message.clear_reaction("👍")
    assert not sandbox.state.messages[m.id].reactions.get("👍")


async def test_a_server_emoji_is_listed_with_its_server(sandbox: Sandbox, discord_client) -> None:
    sandbox.guild.emojis[41771983429993938] = "wave"
    bot = await discord_client()
    guild = bot.get_guild(sandbox.guild.id)
    assert [(e.id, e.name) for e in guild.emojis] == [(41771983429993938, "wave")]
    message = await bot.get_channel(sandbox.general.id).send("hi")
    await message.add_reaction(guild.emojis[0])
    assert "wave:41771983429993938" in sandbox.state.messages[message.id].reactions
