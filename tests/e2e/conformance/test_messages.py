"""Message bodies (developers/resources/message, "Create Message" and "Edit Message"): content, nonce, stickers,
allowed mentions, attachments, message references, flags and Components V2 exclusivity. Each bound accepted, one
past refused with ``50035`` and the field path, through discord.py where it can send the body."""

from __future__ import annotations

import io
import time
from typing import Any

import discord
import pytest

from bot.sandbox import Sandbox
from tests.e2e.conformance.msg_helpers import assert_form_error, codes_at, raw, refusal, send_raw

pytestmark = pytest.mark.e2e

SUPPRESS_EMBEDS, EPHEMERAL, SUPPRESS_NOTIFICATIONS, IS_VOICE_MESSAGE, IS_COMPONENTS_V2 = 4, 64, 4096, 8192, 32768


async def test_content_is_2000_characters_at_most(sandbox: Sandbox, discord_client) -> None:
    bot = await discord_client()
    channel = bot.get_channel(sandbox.general.id)
    sent = await channel.send("c" * 2000)
    assert len(sandbox.state.messages[sent.id].content) == 2000
    assert_form_error(await refusal(channel.send("c" * 2001)), "content", "Must be 2000 or fewer in length.")
    assert_form_error(await refusal(sent.edit(content="c" * 2001)), "content", "Must be 2000 or fewer in length.")
    assert len(sandbox.state.messages[sent.id].content) == 2000


async def test_a_nonce_is_25_characters_at_most(sandbox: Sandbox, discord_client) -> None:
    bot = await discord_client()
    channel = bot.get_channel(sandbox.general.id)
    sent = await channel.send("n", nonce="n" * 25)
    assert sandbox.state.messages[sent.id].nonce == "n" * 25
    await channel.send("an integer nonce", nonce=2**60)
    assert_form_error(await refusal(channel.send("n", nonce="n" * 26)), "nonce", "Must be 25 or fewer in length.")


async def test_three_stickers_at_most(sandbox: Sandbox, discord_client) -> None:
    """Only the count is checked (the sandbox has no stickers to look the ids up in)."""
    bot = await discord_client()
    error = await refusal(send_raw(bot, sandbox.general.id, {"sticker_ids": ["1", "2", "3", "4"]}))
    assert_form_error(error, "sticker_ids", "Must be 3 or fewer in length.")


async def test_allowed_mentions_lists_hold_100_ids_at_most(sandbox: Sandbox, discord_client) -> None:
    bot = await discord_client()
    channel = bot.get_channel(sandbox.general.id)
    ids = [discord.Object(i + 1) for i in range(101)]
    await channel.send("hi", allowed_mentions=discord.AllowedMentions(users=ids[:100], roles=ids[:100]))
    error = await refusal(channel.send("hi", allowed_mentions=discord.AllowedMentions(users=ids)))
    assert_form_error(error, "allowed_mentions.users", "Must be 100 or fewer in length.")
    error = await refusal(channel.send("hi", allowed_mentions=discord.AllowedMentions(roles=ids)))
    assert_form_error(error, "allowed_mentions.roles", "Must be 100 or fewer in length.")


@pytest.mark.parametrize(
    ("allowed", "path", "code"),
    [
        ({"parse": ["channels"]}, "allowed_mentions.parse.0", "BASE_TYPE_CHOICES"),
        ({"parse": ["users"], "users": ["1"]}, "allowed_mentions", "MESSAGE_ALLOWED_MENTIONS_PARSE_EXCLUSIVE"),
        ({"parse": ["roles"], "roles": ["1"]}, "allowed_mentions", "MESSAGE_ALLOWED_MENTIONS_PARSE_EXCLUSIVE"),
    ],
    ids=["unknown parse type", "parse users and users", "parse roles and roles"],
)
async def test_allowed_mentions_shape(sandbox: Sandbox, discord_client, allowed: dict, path: str, code: str) -> None:
    bot = await discord_client()
    body = {"content": "<@1>", "allowed_mentions": allowed}
    assert_form_error(await refusal(send_raw(bot, sandbox.general.id, body)), path)
    status, answer = await raw(sandbox, "POST", f"/channels/{sandbox.general.id}/messages", json=body)
    assert status == 400 and code in codes_at(answer, *path.split("."))


async def test_parse_with_an_empty_list_is_no_conflict(sandbox: Sandbox, discord_client) -> None:
    """ "Passing a falsy value such as null or an empty array into the users field does not trigger a validation
    error"."""
    bot = await discord_client()
    body = {"content": f"<@{sandbox.bob.id}>", "allowed_mentions": {"parse": ["users", "roles"], "users": []}}
    sent = await send_raw(bot, sandbox.general.id, body)
    assert sandbox.state.messages[int(sent["id"])].mention_ids == [sandbox.bob.id]


async def test_attachment_descriptions_are_1024_characters_at_most(sandbox: Sandbox, discord_client) -> None:
    bot = await discord_client()
    channel = bot.get_channel(sandbox.general.id)
    sent = await channel.send(file=discord.File(io.BytesIO(b"x"), "a.txt", description="d" * 1024))
    assert sandbox.state.messages[sent.id].attachments[0].description == "d" * 1024
    error = await refusal(channel.send(file=discord.File(io.BytesIO(b"x"), "a.txt", description="d" * 1025)))
    assert_form_error(error, "attachments.0.description", "Must be 1024 or fewer in length.")


async def test_attachment_entries_need_an_id(sandbox: Sandbox, discord_client) -> None:
    bot = await discord_client()
    error = await refusal(send_raw(bot, sandbox.general.id, {"content": "c", "attachments": [{"filename": "a"}]}))
    assert_form_error(error, "attachments.0.id", "This field is required")


async def test_a_reply_to_an_unknown_message_is_refused_unless_told_not_to_fail(
    sandbox: Sandbox, discord_client
) -> None:
    bot = await discord_client()
    channel = bot.get_channel(sandbox.general.id)
    unknown = discord.MessageReference(message_id=1, channel_id=sandbox.general.id)
    error = await refusal(channel.send("re", reference=unknown))
    assert_form_error(error, "message_reference", "Unknown message")
    status, answer = await raw(
        sandbox,
        "POST",
        f"/channels/{sandbox.general.id}/messages",
        json={"content": "re", "message_reference": {"message_id": "1"}},
    )
    assert status == 400 and codes_at(answer, "message_reference") == ["REPLIES_UNKNOWN_MESSAGE"]
    lenient = discord.MessageReference(message_id=1, channel_id=sandbox.general.id, fail_if_not_exists=False)
    sent = await channel.send("re", reference=lenient)
    assert sandbox.state.messages[sent.id].reference is None


@pytest.mark.parametrize(
    ("reference", "path"),
    [({"type": 2, "message_id": "1"}, "message_reference.type"), ({"type": 1}, "message_reference.message_id")],
    ids=["unknown type", "no message id"],
)
async def test_message_reference_shape(sandbox: Sandbox, discord_client, reference: dict, path: str) -> None:
    bot = await discord_client()
    error = await refusal(send_raw(bot, sandbox.general.id, {"content": "c", "message_reference": reference}))
    assert_form_error(error, path)


async def test_a_forward_names_its_channel(sandbox: Sandbox, discord_client) -> None:
    bot = await discord_client()
    first = await sandbox.send(sandbox.general, "forward me")
    body = {"message_reference": {"type": 1, "message_id": str(first.id)}}
    assert_form_error(await refusal(send_raw(bot, sandbox.general.id, body)), "message_reference.channel_id")


async def test_only_settable_flags_are_kept(sandbox: Sandbox, discord_client) -> None:
    """ "only SUPPRESS_EMBEDS, SUPPRESS_NOTIFICATIONS, IS_VOICE_MESSAGE, and IS_COMPONENTS_V2 can be set"; others
    (here CROSSPOSTED and EPHEMERAL) are ignored. An edit changes SUPPRESS_EMBEDS only ("unsupported flag changes are
    currently ignored without error")."""
    bot = await discord_client()
    flags = 1 | EPHEMERAL | SUPPRESS_NOTIFICATIONS | SUPPRESS_EMBEDS
    sent = await send_raw(bot, sandbox.general.id, {"content": "f", "flags": flags})
    m = sandbox.state.messages[int(sent["id"])]
    assert m.flags == SUPPRESS_NOTIFICATIONS | SUPPRESS_EMBEDS
    message = await bot.get_channel(sandbox.general.id).fetch_message(m.id)
    await message.edit(suppress=False)
    assert m.flags == SUPPRESS_NOTIFICATIONS
    silent = await bot.get_channel(sandbox.general.id).send("shh", silent=True)
    assert silent.flags.suppress_notifications


V2_BODY: dict[str, Any] = {"flags": IS_COMPONENTS_V2, "components": [{"type": 10, "content": "hello"}]}


@pytest.mark.parametrize(
    "legacy",
    [{"content": "c"}, {"embeds": [{"title": "t"}]}, {"sticker_ids": ["1"]}, {"poll": {"question": {"text": "?"}}}],
    ids=["content", "embeds", "sticker_ids", "poll"],
)
async def test_components_v2_messages_carry_components_only(sandbox: Sandbox, discord_client, legacy: dict) -> None:
    bot = await discord_client()
    sent = await send_raw(bot, sandbox.general.id, V2_BODY)
    assert sandbox.state.messages[int(sent["id"])].flags & IS_COMPONENTS_V2
    (field,) = legacy
    assert_form_error(await refusal(send_raw(bot, sandbox.general.id, V2_BODY | legacy)), field)
    status, answer = await raw(sandbox, "POST", f"/channels/{sandbox.general.id}/messages", json=V2_BODY | legacy)
    assert status == 400 and codes_at(answer, field) == ["MESSAGE_CANNOT_USE_LEGACY_FIELDS_WITH_COMPONENTS_V2"]


async def test_a_components_v2_message_stays_one(sandbox: Sandbox, discord_client) -> None:
    """The flag "can't be removed": an edit of a V2 message may not bring content back."""
    bot = await discord_client()
    sent = await send_raw(bot, sandbox.general.id, V2_BODY)
    route = discord.http.Route(
        "PATCH", "/channels/{channel_id}/messages/{message_id}", channel_id=sandbox.general.id, message_id=sent["id"]
    )
    assert_form_error(await refusal(bot.http.request(route, json={"content": "back", "flags": 0})), "content")


async def test_an_empty_message_is_refused(sandbox: Sandbox, discord_client) -> None:
    bot = await discord_client()
    error = await refusal(send_raw(bot, sandbox.general.id, {"content": ""}))
    assert (error.status, error.code) == (400, 50006)


async def test_bulk_delete_takes_2_to_100_distinct_recent_ids(sandbox: Sandbox, discord_client) -> None:
    """developers/resources/message, "Bulk Delete Messages": 2-100 ids (unknown ones count), no duplicates, none
    older than two weeks (50034)."""
    from bot.sandbox.state import DISCORD_EPOCH_MS

    bot = await discord_client()
    posted = [await sandbox.send(sandbox.general, f"m{i}") for i in range(3)]
    ids = [m.id for m in posted]
    unknown = [ids[-1] + 1 + i for i in range(98)]
    await bot.http.delete_messages(sandbox.general.id, ids[:2] + unknown)
    assert all(sandbox.state.messages[i].deleted for i in ids[:2])
    error = await refusal(
        bot.http.delete_messages(sandbox.general.id, ids[2:] + unknown + [ids[-1] + 500, ids[-1] + 501])
    )
    assert_form_error(error, "messages", "Must be between 2 and 100 in length.")
    error = await refusal(bot.http.delete_messages(sandbox.general.id, ids[2:]))
    assert_form_error(error, "messages", "Must be between 2 and 100 in length.")
    error = await refusal(bot.http.delete_messages(sandbox.general.id, [ids[2], ids[2]]))
    assert_form_error(error, "messages")
    fifteen_days_old = (int(time.time() * 1000) - 15 * 86_400_000 - DISCORD_EPOCH_MS) << 22
    error = await refusal(bot.http.delete_messages(sandbox.general.id, [ids[2], fifteen_days_old]))
    assert (error.status, error.code) == (400, 50034)
    assert not sandbox.state.messages[ids[2]].deleted


async def test_interaction_responses_and_follow_ups_are_held_to_the_same_limits(
    sandbox: Sandbox, discord_client
) -> None:
    """A command's answer (callback type 4) and its follow-up (the interaction's webhook) are message bodies too;
    an interaction may set EPHEMERAL."""
    from discord.ext import commands

    from tests.e2e.conftest import all_intents

    outcomes: dict[str, Any] = {}
    client = commands.Bot(command_prefix="!", intents=all_intents())

    @client.tree.command(description="Answers with a description of the given size")
    async def big(interaction: discord.Interaction, size: int) -> None:
        try:
            await interaction.response.send_message(embed=discord.Embed(description="d" * size), ephemeral=True)
        except discord.HTTPException as error:
            outcomes["response"] = error
            await interaction.response.send_message("fallback", ephemeral=True)
        try:
            await interaction.followup.send("f" * (size - 2096), ephemeral=True)
            outcomes["followed up"] = size
        except discord.HTTPException as error:
            outcomes["followup"] = error

    await discord_client(client)
    await client.tree.sync()
    fits = await (await sandbox.slash("big", size=4096)).message()
    await sandbox.wait_until(lambda: outcomes.get("followed up") == 4096, 5, "the follow-up of 2000 characters")
    assert fits.ephemeral and fits.embeds[0]["description"] == "d" * 4096 and set(outcomes) == {"followed up"}
    await (await sandbox.slash("big", size=4098)).message()
    await sandbox.wait_until(lambda: "followup" in outcomes, 5, "the follow-up to be refused")
    assert_form_error(outcomes["response"], "embeds.0.description", "Must be 4096 or fewer in length.")
    assert_form_error(outcomes["followup"], "content", "Must be 2000 or fewer in length.")


async def test_turning_a_message_into_components_v2_resets_its_content(sandbox: Sandbox, discord_client) -> None:
    """Edit Message: "When the IS_COMPONENTS_V2 flag is set, any of the used content, embeds ... fields must have
    their values reset to empty ... Failing to do this will result in a 400 BAD REQUEST response"."""
    bot = await discord_client()
    sent = await bot.get_channel(sandbox.general.id).send("legacy", embed=discord.Embed(title="t"))
    route = discord.http.Route(
        "PATCH", "/channels/{channel_id}/messages/{message_id}", channel_id=sandbox.general.id, message_id=sent.id
    )
    error = await refusal(bot.http.request(route, json=V2_BODY))
    assert_form_error(error, "content")
    assert_form_error(error, "embeds")
    await bot.http.request(route, json=V2_BODY | {"content": None, "embeds": []})
    m = sandbox.state.messages[sent.id]
    assert m.flags & IS_COMPONENTS_V2 and m.content == "" and m.embeds == []


async def test_a_thread_started_from_a_message_is_named_in_1_to_100_characters(
    sandbox: Sandbox, discord_client
) -> None:
    """developers/resources/channel, "Start Thread from Message": name 1-100, auto_archive_duration 60, 1440, 4320
    or 10080, rate_limit_per_user 0-21600."""
    bot = await discord_client()
    channel = bot.get_channel(sandbox.general.id)
    first, second = await channel.send("one"), await channel.send("two")
    thread = await first.create_thread(name="t" * 100, auto_archive_duration=10080)
    assert sandbox.state.channels[thread.id].name == "t" * 100
    error = await refusal(second.create_thread(name="t" * 101))
    assert_form_error(error, "name", "Must be between 1 and 100 in length.")
    error = await refusal(second.create_thread(name="t", auto_archive_duration=30))
    assert_form_error(error, "auto_archive_duration")
    error = await refusal(second.create_thread(name="t", slowmode_delay=21601))
    assert_form_error(error, "rate_limit_per_user", "int value should be less than or equal to 21600.")
