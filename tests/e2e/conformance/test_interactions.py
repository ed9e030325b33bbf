"""Interaction callbacks and the shapes of interactions, as Discord documents them
(developers/interactions/receiving-and-responding.mdx, developers/resources/message.mdx "Message Interaction
Metadata Object"): callback types per interaction type, deferred flags, autocomplete choices, messages and modals
checked on the way in; the callback response's ``resource``, ``interaction_metadata`` and ``data.resolved``.

Commands are synced by hand and left without handlers, so the test answers each interaction itself over HTTP; the
``with_response`` test drives discord.py's own ``InteractionResponse``."""

from __future__ import annotations

from typing import Any

import aiohttp
import discord
import pytest
from discord.ext import commands

from bot.sandbox import Sandbox
from bot.sandbox.harness.results import InteractionHandle
from tests.e2e.conftest import all_intents

pytestmark = pytest.mark.e2e

COMMANDS = [
    {
        "type": 1,
        "name": "ask",
        "description": "Ask something",
        "options": [
            {"type": 3, "name": "text", "description": "Text", "autocomplete": True},
            {"type": 4, "name": "count", "description": "Count", "autocomplete": True},
            {"type": 6, "name": "who", "description": "Someone"},
            {"type": 7, "name": "where", "description": "A channel"},
            {"type": 8, "name": "role", "description": "A role"},
        ],
    },
    {"type": 3, "name": "Quote"},
]
MODAL = {
    "custom_id": "form",
    "title": "A form",
    "components": [{"type": 1, "components": [{"type": 4, "custom_id": "f", "label": "F", "style": 1}]}],
}
BUTTONS = [{"type": 1, "components": [{"type": 2, "style": 1, "label": "Go", "custom_id": "go"}]}]
METADATA_FIELDS = {
    "id",
    "type",
    "user",
    "authorizing_integration_owners",
    "original_response_message_id",
    "target_user",
    "target_message_id",
    "interacted_message_id",
    "triggering_interaction_metadata",
}


class Callbacks:
    """Answers interactions over HTTP as a bot would, and reads back Discord's answers."""

    def __init__(self, sandbox: Sandbox, http: aiohttp.ClientSession) -> None:
        self.sandbox = sandbox
        self.http = http
        self.api = sandbox.server.api_url

    async def post(self, handle: InteractionHandle, body: dict[str, Any]) -> tuple[int, Any]:
        i = handle.interaction
        url = f"{self.api}/interactions/{i.id}/{i.token}/callback?with_response=true"
        async with self.http.post(url, json=body) as response:
            return response.status, await response.json()

    async def refused(self, handle: InteractionHandle, body: dict[str, Any], path: str) -> dict[str, Any]:
        status, answer = await self.post(handle, body)
        assert status == 400 and answer["code"] == 50035, answer
        node = answer["errors"]
        for part in path.split("."):
            node = node[part]
        assert node["_errors"], answer
        assert handle.interaction.response_type is None  # refused: the interaction can still be answered
        return answer

    async def accepted(self, handle: InteractionHandle, body: dict[str, Any]) -> dict[str, Any]:
        status, answer = await self.post(handle, body)
        assert status == 200, answer
        return answer

    async def slash(self, **options: Any) -> InteractionHandle:
        return await self.sandbox.slash("ask", **options)

    async def autocomplete(self, focused: str = "text") -> InteractionHandle:
        cmd, defs, _, _ = self.sandbox._resolve_path("ask", self.sandbox.general)
        built, _ = self.sandbox._build_options("ask", defs, {focused: "x"}, self.sandbox.general, focused=focused)
        data = {"id": cmd["id"], "name": "ask", "type": 1, "options": built}
        i = self.sandbox.server.create_interaction(4, self.sandbox.alice, self.sandbox.general, data)
        return InteractionHandle(self.sandbox, i, self.sandbox.alice, self.sandbox.general)

    async def click(self) -> InteractionHandle:
        srv = self.sandbox.server
        m = srv.create_message(self.sandbox.general, srv.bot_user.id, {"content": "pick", "components": BUTTONS})
        return await self.sandbox.click(m, custom_id="go")

    async def modal_submit(self, opener: InteractionHandle) -> InteractionHandle:
        await self.accepted(opener, {"type": 9, "data": MODAL})
        return await self.sandbox.submit_modal(opener, f="typed")


@pytest.fixture
async def cb(sandbox: Sandbox, discord_client: Any) -> Any:
    bot = await discord_client()  # no handlers: the test answers
    await bot.http.bulk_upsert_guild_commands(bot.application_id, sandbox.guild.id, payload=COMMANDS)
    async with aiohttp.ClientSession() as http:
        yield Callbacks(sandbox, http)


# ----------------------------------------------------------------------------------- callback types


@pytest.mark.parametrize(
    ("kind", "ok", "refused"),
    [
        ("slash", [4, 5, 9], [1, 6, 7, 8, 10, 12]),
        ("autocomplete", [8], [4, 5, 6, 7, 9]),
        ("click", [4, 5, 6, 7, 9], [8]),
        ("modal_from_click", [4, 5, 6, 7], [8, 9]),
        ("modal_from_slash", [4, 5], [6, 7, 8, 9]),
    ],
)
async def test_callback_types_follow_the_interaction_type(
    cb: Callbacks, kind: str, ok: list[int], refused: list[int]
) -> None:
    async def start() -> InteractionHandle:
        if kind == "slash":
            return await cb.slash()
        if kind == "autocomplete":
            return await cb.autocomplete()
        if kind == "click":
            return await cb.click()
        return await cb.modal_submit(await (cb.click() if kind == "modal_from_click" else cb.slash()))

    data = {4: {"content": "hi"}, 7: {"content": "edited"}, 8: {"choices": []}, 9: MODAL}
    for rtype in refused:
        await cb.refused(await start(), {"type": rtype, "data": data.get(rtype, {})}, "type")
    for rtype in ok:
        answer = await cb.accepted(await start(), {"type": rtype, "data": data.get(rtype, {})})
        assert answer["resource"]["type"] == rtype


async def test_a_deferred_response_may_set_only_the_ephemeral_flag(cb: Callbacks) -> None:
    answer = await cb.accepted(await cb.slash(), {"type": 5, "data": {"flags": 64}})
    assert answer["interaction"]["response_message_ephemeral"] is True
    await cb.refused(await cb.slash(), {"type": 5, "data": {"flags": 4}}, "data.flags")
    await cb.refused(await cb.slash(), {"type": 5, "data": {"flags": 1 << 15}}, "data.flags")


# ------------------------------------------------------------------------------ autocomplete results


@pytest.mark.parametrize(("count", "ok"), [(0, True), (25, True), (26, False)])
async def test_autocomplete_offers_at_most_25_choices(cb: Callbacks, count: int, ok: bool) -> None:
    body = {"type": 8, "data": {"choices": [{"name": f"c{k}", "value": f"v{k}"} for k in range(count)]}}
    if ok:
        await cb.accepted(await cb.autocomplete(), body)
    else:
        await cb.refused(await cb.autocomplete(), body, "data.choices")


@pytest.mark.parametrize(
    ("choice", "path"),
    [
        ({"name": "n" * 101, "value": "v"}, "data.choices.0.name"),
        ({"name": "", "value": "v"}, "data.choices.0.name"),
        ({"name": "n", "value": "v" * 101}, "data.choices.0.value"),
        ({"name": "n", "name_localizations": {"fr": "n" * 101}, "value": "v"}, "data.choices.0.name_localizations.fr"),
    ],
)
async def test_autocomplete_choice_names_1_to_100_and_values_up_to_100(
    cb: Callbacks, choice: dict[str, Any], path: str
) -> None:
    await cb.accepted(
        await cb.autocomplete(), {"type": 8, "data": {"choices": [{"name": "n" * 100, "value": "v" * 100}]}}
    )
    await cb.refused(await cb.autocomplete(), {"type": 8, "data": {"choices": [choice]}}, path)


async def test_autocomplete_values_take_the_focused_options_type(cb: Callbacks) -> None:
    await cb.accepted(await cb.autocomplete("count"), {"type": 8, "data": {"choices": [{"name": "n", "value": 3}]}})
    body = {"type": 8, "data": {"choices": [{"name": "n", "value": "three"}]}}
    await cb.refused(await cb.autocomplete("count"), body, "data.choices.0.value")


# ------------------------------------------------------------------------- messages and modals


async def test_callback_messages_go_through_the_message_checks(cb: Callbacks) -> None:
    await cb.accepted(await cb.slash(), {"type": 4, "data": {"content": "c" * 2000}})
    await cb.refused(await cb.slash(), {"type": 4, "data": {"content": "c" * 2001}}, "content")
    await cb.refused(await cb.click(), {"type": 7, "data": {"content": "c" * 2001}}, "content")
    status, answer = await cb.post(await cb.slash(), {"type": 4, "data": {}})
    assert status == 400 and answer["code"] == 50006


async def test_modal_callbacks_go_through_the_modal_checks(cb: Callbacks) -> None:
    await cb.refused(
        await cb.slash(), {"type": 9, "data": {k: v for k, v in MODAL.items() if k != "title"}}, "data.title"
    )


# ------------------------------------------------------------------------ the callback response


async def test_the_resource_carries_a_message_only_for_types_4_and_7(cb: Callbacks) -> None:
    answers = {
        4: await cb.accepted(await cb.slash(), {"type": 4, "data": {"content": "hi"}}),
        5: await cb.accepted(await cb.slash(), {"type": 5}),
        6: await cb.accepted(await cb.click(), {"type": 6}),
        7: await cb.accepted(await cb.click(), {"type": 7, "data": {"content": "edited"}}),
        8: await cb.accepted(await cb.autocomplete(), {"type": 8, "data": {"choices": []}}),
        9: await cb.accepted(await cb.slash(), {"type": 9, "data": MODAL}),
    }
    assert {t for t, a in answers.items() if "message" in a["resource"]} == {4, 7}
    assert answers[4]["resource"]["message"]["content"] == "hi"
    assert answers[7]["resource"]["message"]["content"] == "edited"
    assert answers[5]["interaction"]["response_message_loading"] is True
    assert "response_message_id" in answers[5]["interaction"]


async def test_discord_py_reads_the_callback_response(sandbox: Sandbox, discord_client: Any) -> None:
    seen: dict[str, Any] = {}
    bot = commands.Bot(command_prefix="!", intents=all_intents())

    @bot.tree.command(description="Say")
    async def say(interaction: discord.Interaction) -> None:
        seen["say"] = await interaction.response.send_message("hello")

    @bot.tree.command(description="Think")
    async def think(interaction: discord.Interaction) -> None:
        seen["think"] = await interaction.response.defer(thinking=True)
        await interaction.followup.send("done")

    await discord_client(bot)
    bot.tree.copy_global_to(guild=discord.Object(sandbox.guild.id))
    await bot.tree.sync(guild=discord.Object(sandbox.guild.id))
    await (await sandbox.slash("say")).message()
    await (await sandbox.slash("think")).message()
    assert isinstance(seen["say"].resource, discord.InteractionMessage) and seen["say"].resource.content == "hello"
    assert seen["think"].resource is None and seen["think"].is_thinking()


# ------------------------------------------------------------------------ interaction_metadata


async def test_interaction_metadata_has_only_the_documented_fields(cb: Callbacks) -> None:
    slash = await cb.slash()
    answer = await cb.accepted(slash, {"type": 4, "data": {"content": "hi"}})
    meta = answer["resource"]["message"]["interaction_metadata"]
    assert set(meta) == {"id", "type", "user", "authorizing_integration_owners"}
    assert meta["id"] == str(slash.interaction.id) and meta["user"]["id"] == str(cb.sandbox.alice.id)

    url = f"{cb.api}/webhooks/{cb.sandbox.server.application_id}/{slash.interaction.token}?wait=true"
    async with cb.http.post(url, json={"content": "more"}) as response:
        followup = await response.json()
    assert followup["interaction_metadata"]["original_response_message_id"] == answer["resource"]["message"]["id"]

    click = await cb.click()
    meta = (await cb.accepted(click, {"type": 4, "data": {"content": "ok"}}))["resource"]["message"][
        "interaction_metadata"
    ]
    assert meta["interacted_message_id"] == str(click.source.id) and set(meta) <= METADATA_FIELDS

    opener = await cb.slash()
    submit = await cb.modal_submit(opener)
    meta = (await cb.accepted(submit, {"type": 4, "data": {"content": "ok"}}))["resource"]["message"][
        "interaction_metadata"
    ]
    assert meta["triggering_interaction_metadata"]["id"] == str(opener.interaction.id)
    assert "interacted_message_id" not in meta and set(meta) <= METADATA_FIELDS


async def test_a_message_command_answer_names_the_target_message(cb: Callbacks) -> None:
    target = await cb.sandbox.send(cb.sandbox.general, "quote me")
    handle = await cb.sandbox.message_command("Quote", target)
    meta = (await cb.accepted(handle, {"type": 4, "data": {"content": "quoted"}}))["resource"]["message"][
        "interaction_metadata"
    ]
    assert meta["target_message_id"] == str(target.id) and set(meta) <= METADATA_FIELDS


# ---------------------------------------------------------------------------------- data.resolved


async def test_resolved_members_and_channels_are_partial(cb: Callbacks) -> None:
    sandbox = cb.sandbox
    role = sandbox.state.roles[sandbox.guild.role_ids[0]]
    handle = await cb.slash(who=sandbox.bob, where=sandbox.general, role=role)
    resolved = handle.interaction.payload["data"]["resolved"]
    member = resolved["members"][str(sandbox.bob.id)]
    assert not {"user", "deaf", "mute"} & set(member) and "roles" in member and "permissions" in member
    assert resolved["users"][str(sandbox.bob.id)]["username"] == "bob"  # the user comes beside the member
    channel = resolved["channels"][str(sandbox.general.id)]
    allowed = {
        "id", "name", "type", "permissions", "app_permissions", "last_message_id", "last_pin_timestamp", "nsfw",
        "parent_id", "guild_id", "flags", "rate_limit_per_user", "topic", "position",
    }  # fmt: skip
    assert set(channel) <= allowed and {"id", "name", "type", "permissions"} <= set(channel)
    # ``permissions`` are the invoking user's in that channel, as discord.py's AppCommandChannel reads them.
    assert channel["permissions"] == str(sandbox.state.permissions_in(sandbox.general, sandbox.alice.id))
    assert resolved["roles"][str(role.id)]["name"] == role.name


async def test_a_message_command_answer_references_the_target(cb: Callbacks) -> None:
    """The original response "will also have message_reference and referenced_message pointing to this message"
    (message.mdx, ``target_message_id``)."""
    target = await cb.sandbox.send(cb.sandbox.general, "quote me")
    answer = await cb.accepted(await cb.sandbox.message_command("Quote", target), {"type": 4, "data": {"content": "q"}})
    message = answer["resource"]["message"]
    assert message["message_reference"]["message_id"] == str(target.id)
    assert message["type"] == 20  # (``referenced_message`` is state/shapes.py's to render: not checked here)
    deferred = await cb.sandbox.message_command("Quote", target)
    await cb.accepted(deferred, {"type": 5})
    loading = cb.sandbox.server.state.messages[deferred.interaction.original_message_id]
    assert loading.reference is not None and loading.reference["message_id"] == str(target.id)
    plain = await cb.accepted(await cb.slash(), {"type": 4, "data": {"content": "no target"}})
    assert "message_reference" not in plain["resource"]["message"]


async def test_a_deferred_response_filled_with_components_v2_is_a_v2_message(
    sandbox: Sandbox, discord_client: Any
) -> None:
    bot = commands.Bot(command_prefix="!", intents=all_intents())

    @bot.tree.command(description="Panel")
    async def panel(interaction: discord.Interaction) -> None:
        await interaction.response.defer(thinking=True)
        view = discord.ui.LayoutView()
        view.add_item(discord.ui.Container(discord.ui.TextDisplay("a panel")))
        await interaction.followup.send(view=view)

    await discord_client(bot)
    bot.tree.copy_global_to(guild=discord.Object(sandbox.guild.id))
    await bot.tree.sync(guild=discord.Object(sandbox.guild.id))
    shown = await (await sandbox.slash("panel")).message()
    stored = sandbox.state.messages[shown.id]
    assert stored.flags & (1 << 15) and not stored.flags & 128  # V2, no longer loading
    assert shown.texts() == ["a panel"]
