"""Webhooks (developers/resources/webhook): names of 1-80 characters without "clyde" or "discord" when creating,
modifying and sending under a username; execute bodies held to the message limits and to the flags a webhook may
set; the ``wait``/``thread_id`` query parameters."""

from __future__ import annotations

import discord
import pytest

from bot.sandbox import Sandbox
from tests.e2e.conformance.msg_helpers import assert_form_error, codes_at, raw, refusal

pytestmark = pytest.mark.e2e

SUPPRESS_NOTIFICATIONS, IS_VOICE_MESSAGE, IS_COMPONENTS_V2 = 4096, 8192, 32768


async def test_a_webhook_name_is_1_to_80_characters(sandbox: Sandbox, discord_client) -> None:
    bot = await discord_client()
    channel = bot.get_channel(sandbox.personas.id)
    hook = await channel.create_webhook(name="w" * 80)
    assert sandbox.state.webhooks[hook.id].name == "w" * 80
    error = await refusal(channel.create_webhook(name="w" * 81))
    assert_form_error(error, "name", "Must be between 1 and 80 in length.")
    error = await refusal(hook.edit(name="w" * 81))
    assert_form_error(error, "name", "Must be between 1 and 80 in length.")
    assert sandbox.state.webhooks[hook.id].name == "w" * 80


@pytest.mark.parametrize("name", ["Clyde", "my discord relay", "DISCORDIA", "not-clyde-really"])
async def test_a_webhook_name_may_not_contain_clyde_or_discord(sandbox: Sandbox, discord_client, name: str) -> None:
    bot = await discord_client()
    channel = bot.get_channel(sandbox.personas.id)
    assert_form_error(await refusal(channel.create_webhook(name=name)), "name", "Username cannot contain")
    hook = await channel.create_webhook(name="relay")
    assert_form_error(await refusal(hook.edit(name=name)), "name", "Username cannot contain")
    assert_form_error(await refusal(hook.send("hi", username=name, wait=True)), "username", "Username cannot contain")
    status, answer = await raw(
        sandbox, "POST", f"/webhooks/{hook.id}/{hook.token}", json={"content": "hi", "username": name}
    )
    assert status == 400 and codes_at(answer, "username") == ["USERNAME_INVALID_CONTAINS"]


async def test_a_message_username_is_1_to_80_characters(sandbox: Sandbox, discord_client) -> None:
    bot = await discord_client()
    hook = await bot.get_channel(sandbox.personas.id).create_webhook(name="relay")
    sent = await hook.send("hi", username="u" * 80, wait=True)
    assert sent.author.name == "u" * 80
    error = await refusal(hook.send("hi", username="u" * 81, wait=True))
    assert_form_error(error, "username", "Must be between 1 and 80 in length.")


async def test_webhook_messages_are_held_to_the_message_limits(sandbox: Sandbox, discord_client) -> None:
    bot = await discord_client()
    hook = await bot.get_channel(sandbox.personas.id).create_webhook(name="relay")
    sent = await hook.send("c" * 2000, wait=True)
    assert_form_error(await refusal(hook.send("c" * 2001, wait=True)), "content", "Must be 2000 or fewer in length.")
    big = [discord.Embed(description="d" * 4096), discord.Embed(description="d" * 1905)]
    assert_form_error(await refusal(hook.send(embeds=big, wait=True)), "embeds", "Embed size exceeds maximum size")
    assert_form_error(
        await refusal(hook.edit_message(sent.id, content="c" * 2001)), "content", "Must be 2000 or fewer in length."
    )
    assert sandbox.state.messages[sent.id].content == "c" * 2000


async def test_a_webhook_sets_only_its_settable_flags(sandbox: Sandbox, discord_client) -> None:
    """ "only SUPPRESS_EMBEDS, SUPPRESS_NOTIFICATIONS and IS_COMPONENTS_V2 can be set" (not IS_VOICE_MESSAGE)."""
    bot = await discord_client()
    hook = await bot.get_channel(sandbox.personas.id).create_webhook(name="relay")
    status, sent = await raw(
        sandbox,
        "POST",
        f"/webhooks/{hook.id}/{hook.token}",
        json={"content": "f", "flags": SUPPRESS_NOTIFICATIONS | IS_VOICE_MESSAGE},
        params={"wait": "true"},
    )
    assert status == 200 and sandbox.state.messages[int(sent["id"])].flags == SUPPRESS_NOTIFICATIONS


async def test_a_components_v2_webhook_message_carries_components_only(sandbox: Sandbox, discord_client) -> None:
    bot = await discord_client()
    hook = await bot.get_channel(sandbox.personas.id).create_webhook(name="relay")
    body = {"flags": IS_COMPONENTS_V2, "components": [{"type": 10, "content": "hello"}]}
    path = f"/webhooks/{hook.id}/{hook.token}"
    status, _ = await raw(sandbox, "POST", path, json=body, params={"wait": "true"})
    assert status == 200
    status, answer = await raw(sandbox, "POST", path, json=body | {"content": "c"}, params={"wait": "true"})
    assert status == 400 and codes_at(answer, "content") == ["MESSAGE_CANNOT_USE_LEGACY_FIELDS_WITH_COMPONENTS_V2"]


@pytest.mark.parametrize(
    ("params", "field", "code"),
    [
        ({"wait": "maybe"}, "wait", "BOOLEAN_TYPE_COERCE"),
        ({"thread_id": "abc"}, "thread_id", "NUMBER_TYPE_COERCE"),
        ({"with_components": "yes"}, "with_components", "BOOLEAN_TYPE_COERCE"),
    ],
    ids=["wait", "thread_id", "with_components"],
)
async def test_execute_query_parameters_are_typed(
    sandbox: Sandbox, discord_client, params: dict, field: str, code: str
) -> None:
    bot = await discord_client()
    hook = await bot.get_channel(sandbox.personas.id).create_webhook(name="relay")
    path = f"/webhooks/{hook.id}/{hook.token}"
    for accepted in ("True", "true", "1", "False", "false", "0"):
        status, _ = await raw(sandbox, "POST", path, json={"content": "ok"}, params={"wait": accepted})
        assert status in (200, 204)
    status, answer = await raw(sandbox, "POST", path, json={"content": "no"}, params=params)
    assert status == 400 and codes_at(answer, field) == [code]
