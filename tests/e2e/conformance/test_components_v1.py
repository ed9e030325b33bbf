"""V1 message components (developers/components/reference: Action Row, Button, String Select, the selects, and
"Legacy Message Component Behavior"): each bound accepted, one past refused with ``50035`` and the field path.

discord.py's ``View`` refuses some layouts itself (a sixth button in a row), so most bodies are sent raw through
discord.py's HTTP client, which still parses Discord's refusal."""

from __future__ import annotations

from typing import Any

import discord
import pytest

from bot.sandbox import Sandbox
from tests.e2e.conformance.msg_helpers import assert_form_error, codes_at, raw, refusal, send_raw

pytestmark = pytest.mark.e2e


def button(custom_id: str = "b", **extra: Any) -> dict[str, Any]:
    return {"type": 2, "style": 1, "label": "go", "custom_id": custom_id, **extra}


def select(count: int = 2, **extra: Any) -> dict[str, Any]:
    options = [{"label": f"o{i}", "value": f"v{i}"} for i in range(count)]
    return {"type": 3, "custom_id": "s", "options": options, **extra}


def option(**extra: Any) -> dict[str, Any]:
    return select(1) | {"options": [{"label": "o", "value": "v", **extra}]}


def rows(*children: list[dict[str, Any]]) -> dict[str, Any]:
    return {"content": "c", "components": [{"type": 1, "components": list(row)} for row in children]}


def buttons(count: int) -> list[dict[str, Any]]:
    return [button(f"b{i}") for i in range(count)]


# (what, body at the bound, body one past it, refused path, message)
BOUNDS: list[tuple[str, dict[str, Any], dict[str, Any], str, str]] = [
    ("button label", rows([button(label="l" * 80)]), rows([button(label="l" * 81)]),
     "components.0.components.0.label", "Must be 80 or fewer in length."),
    ("custom_id", rows([button("c" * 100)]), rows([button("c" * 101)]),
     "components.0.components.0.custom_id", "Must be between 1 and 100 in length."),
    ("empty custom_id", rows([button("c")]), rows([button("")]),
     "components.0.components.0.custom_id", "Must be between 1 and 100 in length."),
    ("link url", rows([{"type": 2, "style": 5, "label": "l", "url": "https://x/" + "u" * 502}]),
     rows([{"type": 2, "style": 5, "label": "l", "url": "https://x/" + "u" * 503}]),
     "components.0.components.0.url", "Must be 512 or fewer in length."),
    ("buttons per row", rows(buttons(5)), rows(buttons(6)),
     "components.0.components", "Must be between 1 and 5 in length."),
    ("rows", rows(*[[button(f"b{i}")] for i in range(5)]), rows(*[[button(f"b{i}")] for i in range(6)]),
     "components", "Must be 5 or fewer in length."),
    ("select options", rows([select(25)]), rows([select(26)]),
     "components.0.components.0.options", "Must be between 1 and 25 in length."),
    ("no select options", rows([select(1)]), rows([select(0)]),
     "components.0.components.0.options", "Must be between 1 and 25 in length."),
    ("option label", rows([option(label="l" * 100)]), rows([option(label="l" * 101)]),
     "components.0.components.0.options.0.label", "Must be 100 or fewer in length."),
    ("option value", rows([option(value="v" * 100)]), rows([option(value="v" * 101)]),
     "components.0.components.0.options.0.value", "Must be 100 or fewer in length."),
    ("option description", rows([option(description="d" * 100)]), rows([option(description="d" * 101)]),
     "components.0.components.0.options.0.description", "Must be 100 or fewer in length."),
    ("placeholder", rows([select(placeholder="p" * 150)]), rows([select(placeholder="p" * 151)]),
     "components.0.components.0.placeholder", "Must be 150 or fewer in length."),
    ("max_values", rows([select(25, max_values=25)]), rows([select(25, max_values=26)]),
     "components.0.components.0.max_values", "int value should be less than or equal to 25."),
    ("max_values low", rows([select(25, max_values=1)]), rows([select(25, max_values=0)]),
     "components.0.components.0.max_values", "int value should be greater than or equal to 1."),
    ("min_values", rows([select(25, min_values=25, max_values=25)]), rows([select(25, min_values=26, max_values=25)]),
     "components.0.components.0.min_values", "int value should be less than or equal to 25."),
    ("min_values low", rows([select(2, min_values=0)]), rows([select(2, min_values=-1)]),
     "components.0.components.0.min_values", "int value should be greater than or equal to 0."),
    ("min above max", rows([select(5, min_values=3, max_values=3)]), rows([select(5, min_values=4, max_values=3)]),
     "components.0.components.0.min_values", "int value should be less than or equal to 3."),
    ("user select defaults", rows([{"type": 5, "custom_id": "u", "max_values": 2, "default_values": [
        {"id": "1", "type": "user"}, {"id": "2", "type": "user"}]}]),
     rows([{"type": 5, "custom_id": "u", "max_values": 2, "default_values": [
         {"id": "1", "type": "user"}, {"id": "2", "type": "user"}, {"id": "3", "type": "user"}]}]),
     "components.0.components.0.default_values", "Must be between 1 and 2 in length."),
]  # fmt: skip


@pytest.mark.parametrize(("what", "fits", "past", "path", "message"), BOUNDS, ids=[case[0] for case in BOUNDS])
async def test_each_component_limit_is_inclusive(
    sandbox: Sandbox, discord_client, what: str, fits: dict, past: dict, path: str, message: str
) -> None:
    bot = await discord_client()
    sent = await send_raw(bot, sandbox.general.id, fits)
    assert without_ids(sandbox.state.messages[int(sent["id"])].components) == fits["components"]
    assert_form_error(await refusal(send_raw(bot, sandbox.general.id, past)), path, message)


# (what, body, refused path, Discord's code)
SHAPES: list[tuple[str, dict[str, Any], str, str]] = [
    ("a select shares its row with nothing", rows([select(), button()]),
     "components.0.components.1", "COMPONENT_LAYOUT_WIDTH_EXCEEDED"),
    ("a button after a select", rows([button(), select()]),
     "components.0.components.1", "COMPONENT_LAYOUT_WIDTH_EXCEEDED"),
    ("custom ids are unique per message", rows([button("same")], [button("same")]),
     "components.1.components.0.custom_id", "COMPONENT_CUSTOM_ID_DUPLICATED"),
    ("a select's custom id counts too", rows([button("same")], [select() | {"custom_id": "same"}]),
     "components.1.components.0.custom_id", "COMPONENT_CUSTOM_ID_DUPLICATED"),
    ("top level must be action rows", {"content": "c", "components": [button()]},
     "components.0.type", "UNION_TYPE_CHOICES"),
    ("a row holds buttons and selects only", rows([{"type": 4, "custom_id": "t", "style": 1, "label": "x"}]),
     "components.0.components.0.type", "UNION_TYPE_CHOICES"),
    ("a link button needs a url", rows([{"type": 2, "style": 5, "label": "l"}]),
     "components.0.components.0.url", "BASE_TYPE_REQUIRED"),
    ("a link button has no custom_id", rows([{"type": 2, "style": 5, "url": "https://x", "custom_id": "c"}]),
     "components.0.components.0.custom_id", "COMPONENT_FIELD_NOT_ALLOWED"),
    ("other buttons need a custom_id", rows([{"type": 2, "style": 2, "label": "l"}]),
     "components.0.components.0.custom_id", "BASE_TYPE_REQUIRED"),
    ("other buttons have no url", rows([button(url="https://x")]),
     "components.0.components.0.url", "COMPONENT_FIELD_NOT_ALLOWED"),
    ("a premium button needs a sku_id", rows([{"type": 2, "style": 6}]),
     "components.0.components.0.sku_id", "BASE_TYPE_REQUIRED"),
    ("button styles are 1-6", rows([button(style=7)]),
     "components.0.components.0.style", "BASE_TYPE_CHOICES"),
    ("an empty row", rows([]), "components.0.components", "BASE_TYPE_BAD_LENGTH"),
    ("a string select needs options", rows([{"type": 3, "custom_id": "s"}]),
     "components.0.components.0.options", "BASE_TYPE_REQUIRED"),
    ("an option needs a value", rows([option(value="")]),
     "components.0.components.0.options.0.value", "BASE_TYPE_REQUIRED"),
]  # fmt: skip


@pytest.mark.parametrize(("what", "body", "path", "code"), SHAPES, ids=[case[0] for case in SHAPES])
async def test_invalid_shapes_are_refused_with_discords_code(
    sandbox: Sandbox, discord_client, what: str, body: dict, path: str, code: str
) -> None:
    bot = await discord_client()
    assert_form_error(await refusal(send_raw(bot, sandbox.general.id, body)), path)
    status, answer = await raw(sandbox, "POST", f"/channels/{sandbox.general.id}/messages", json=body)
    assert status == 400 and code in codes_at(answer, *path.split("."))


async def test_a_view_sent_by_discord_py_is_checked(sandbox: Sandbox, discord_client) -> None:
    """The View discord.py builds goes through the same checks: an 81-character label is refused."""
    bot = await discord_client()
    channel = bot.get_channel(sandbox.general.id)
    view = discord.ui.View()
    view.add_item(discord.ui.Button(label="l" * 80, custom_id="ok"))
    view.add_item(discord.ui.Select(custom_id="pick", options=[discord.SelectOption(label="a")], row=1))
    sent = await channel.send("fits", view=view)
    assert len(sandbox.state.messages[sent.id].components) == 2
    view = discord.ui.View()
    view.add_item(discord.ui.Button(label="l" * 81, custom_id="long"))
    error = await refusal(channel.send("too long", view=view))
    assert_form_error(error, "components.0.components.0.label", "Must be 80 or fewer in length.")


async def test_components_of_an_edit_are_checked(sandbox: Sandbox, discord_client) -> None:
    bot = await discord_client()
    sent = await bot.get_channel(sandbox.general.id).send("plain")
    route = discord.http.Route(
        "PATCH", "/channels/{channel_id}/messages/{message_id}", channel_id=sandbox.general.id, message_id=sent.id
    )
    error = await refusal(bot.http.request(route, json=rows([select(), button()])))
    assert_form_error(error, "components.0.components.1", "The specified component exceeds the maximum width")
    assert sandbox.state.messages[sent.id].components == []


def without_ids(components: Any) -> Any:
    """Components as sent: Discord numbers each one (``id``) when it stores them."""
    if isinstance(components, list):
        return [without_ids(c) for c in components]
    if isinstance(components, dict):
        numbered = isinstance(components.get("type"), int)  # a component, not a default value's {"id", "type"}
        return {k: without_ids(v) for k, v in components.items() if not (numbered and k == "id")}
    return components
