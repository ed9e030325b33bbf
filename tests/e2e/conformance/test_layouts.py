"""Components V2 in messages (developers/components/reference.mdx, using-message-components.mdx): each limit at
the bound accepted (sent by discord.py's ``LayoutView`` where it can build it) and one past refused with
``50035`` and the field path (sent raw when discord.py would refuse it itself)."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import discord
import pytest
from discord import ui

from bot.sandbox import Sandbox

pytestmark = pytest.mark.e2e

V2 = 1 << 15
Raw = list[dict[str, Any]]


def layout(*items: ui.Item[Any]) -> ui.LayoutView:
    view = ui.LayoutView(timeout=None)
    for item in items:
        view.add_item(item)
    return view


def text(content: str) -> dict[str, Any]:
    return {"type": 10, "content": content}


def button(custom_id: str) -> dict[str, Any]:
    return {"type": 2, "style": 1, "label": "Go", "custom_id": custom_id}


def codes_at(e: discord.HTTPException, path: str) -> list[str]:
    """The error codes Discord's nested ``errors`` object holds at ``path`` ("components.0.items")."""
    node: Any = e._errors
    for part in path.split("."):
        assert isinstance(node, dict) and part in node, f"no errors at {path}: {e.text}"
        node = node[part]
    return [x["code"] for x in node["_errors"]]


async def post_raw(bot: discord.Client, channel_id: int, body: dict[str, Any]) -> Any:
    route = discord.http.Route("POST", "/channels/{channel_id}/messages", channel_id=channel_id)
    return await bot.http.request(route, json=body)


async def refused(bot: discord.Client, channel_id: int, body: dict[str, Any], path: str, code: str) -> None:
    with pytest.raises(discord.HTTPException) as caught:
        await post_raw(bot, channel_id, body)
    e = caught.value
    assert e.status == 400 and e.code == 50035
    assert f"In {path}:" in e.text
    assert code in codes_at(e, path)


def gallery(n: int) -> ui.MediaGallery[Any]:
    return ui.MediaGallery(*[discord.MediaGalleryItem(f"https://example.com/{k}.png") for k in range(n)])


# Each case: what discord.py sends at the bound, and the raw components one past it, the path and the code.
BOUNDS: dict[str, tuple[Callable[[], list[ui.Item[Any]]], Raw, str, str]] = {
    "40 components in all": (
        lambda: [ui.TextDisplay(f"line {n}") for n in range(40)],
        [text(f"line {n}") for n in range(41)],
        "components",
        "BASE_TYPE_MAX_LENGTH",
    ),
    "40 components counted nested": (
        lambda: [ui.Container(*[ui.TextDisplay(f"line {n}") for n in range(39)])],
        [{"type": 17, "components": [text(f"line {n}") for n in range(40)]}],
        "components",
        "BASE_TYPE_MAX_LENGTH",
    ),
    "4000 characters of text": (
        lambda: [ui.TextDisplay("a" * 2000), ui.Container(ui.TextDisplay("b" * 2000))],
        [text("a" * 2000), {"type": 17, "components": [text("b" * 2001)]}],
        "components",
        "BASE_TYPE_MAX_LENGTH",
    ),
    "section holds 3 texts": (
        lambda: [ui.Section("a", "b", "c", accessory=ui.Button(label="Go", custom_id="go"))],
        [{"type": 9, "components": [text(c) for c in "abcd"], "accessory": button("go")}],
        "components.0.components",
        "BASE_TYPE_BAD_LENGTH",
    ),
    "gallery holds 10 items": (
        lambda: [gallery(10)],
        [{"type": 12, "items": [{"media": {"url": f"https://example.com/{k}.png"}} for k in range(11)]}],
        "components.0.items",
        "BASE_TYPE_BAD_LENGTH",
    ),
    "separator spacing 1|2": (
        lambda: [ui.Separator(spacing=discord.SeparatorSpacing.large)],
        [{"type": 14, "spacing": 3}],
        "components.0.spacing",
        "BASE_TYPE_CHOICES",
    ),
    "container accent colour": (
        lambda: [ui.Container(ui.TextDisplay("x"), accent_colour=0xFFFFFF, spoiler=True)],
        [{"type": 17, "accent_color": 0x1000000, "components": [text("x")]}],
        "components.0.accent_color",
        "NUMBER_TYPE_MAX",
    ),
    "thumbnail alt text": (
        lambda: [ui.Section("x", accessory=ui.Thumbnail("https://example.com/t.png", description="d" * 1024))],
        [
            {
                "type": 9,
                "components": [text("x")],
                "accessory": {"type": 11, "media": {"url": "https://example.com/t.png"}, "description": "d" * 1025},
            }
        ],
        "components.0.accessory.description",
        "BASE_TYPE_MAX_LENGTH",
    ),
    "row holds 5 buttons": (
        lambda: [ui.Container(ui.ActionRow(*[ui.Button(label=str(n), custom_id=f"b{n}") for n in range(5)]))],
        [{"type": 17, "components": [{"type": 1, "components": [button(f"b{n}") for n in range(6)]}]}],
        "components.0.components.0.components",
        "BASE_TYPE_BAD_LENGTH",
    ),
}


@pytest.mark.parametrize("case", list(BOUNDS))
async def test_bound_accepted_and_one_past_refused(sandbox: Sandbox, discord_client, case: str) -> None:
    bot = await discord_client()
    channel = bot.get_channel(sandbox.general.id)
    at_bound, past, path, code = BOUNDS[case]
    sent = await channel.send(view=layout(*at_bound()))
    stored = sandbox.state.messages[sent.id]
    assert stored.flags & V2 and stored.components and not stored.content
    await refused(bot, channel.id, {"flags": V2, "components": past}, path, code)


# Shapes refused whatever their size: (components, path, code).
SHAPES: dict[str, tuple[Raw, str, str]] = {
    "empty section": (
        [{"type": 9, "components": [], "accessory": button("go")}],
        "components.0.components",
        "BASE_TYPE_BAD_LENGTH",
    ),
    "section without accessory": (
        [{"type": 9, "components": [text("x")]}],
        "components.0.accessory",
        "BASE_TYPE_REQUIRED",
    ),
    "button in a section's text": (
        [{"type": 9, "components": [button("a")], "accessory": button("b")}],
        "components.0.components.0",
        "UNION_TYPE_CHOICES",
    ),
    "select as an accessory": (
        [{"type": 9, "components": [text("x")], "accessory": {"type": 5, "custom_id": "who"}}],
        "components.0.accessory",
        "UNION_TYPE_CHOICES",
    ),
    "container in a container": (
        [{"type": 17, "components": [{"type": 17, "components": [text("x")]}]}],
        "components.0.components.0",
        "UNION_TYPE_CHOICES",
    ),
    "thumbnail at the top": (
        [{"type": 11, "media": {"url": "https://example.com/t.png"}}],
        "components.0",
        "UNION_TYPE_CHOICES",
    ),
    "button at the top": ([button("go")], "components.0", "UNION_TYPE_CHOICES"),
    "text input in a message": (
        [{"type": 1, "components": [{"type": 4, "custom_id": "t", "style": 1}]}],
        "components.0.components.0",
        "UNION_TYPE_CHOICES",
    ),
    "empty gallery": ([{"type": 12, "items": []}], "components.0.items", "BASE_TYPE_BAD_LENGTH"),
    "file by URL": (
        [{"type": 13, "file": {"url": "https://example.com/a.txt"}}],
        "components.0.file.url",
        "URL_TYPE_INVALID_SCHEME",
    ),
    "text display without content": ([{"type": 10}], "components.0.content", "BASE_TYPE_REQUIRED"),
    "select beside a button": (
        [
            {
                "type": 1,
                "components": [{"type": 3, "custom_id": "s", "options": [{"label": "a", "value": "a"}]}, button("b")],
            }
        ],
        "components.0.components",
        "COMPONENT_LAYOUT_WIDTH_EXCEEDED",
    ),
    "custom id twice": (
        [
            {"type": 9, "components": [text("x")], "accessory": button("same")},
            {"type": 1, "components": [button("same")]},
        ],
        "components.1.components.0.custom_id",
        "COMPONENT_CUSTOM_ID_DUPLICATED",
    ),
}


@pytest.mark.parametrize("case", list(SHAPES))
async def test_shapes_discord_refuses(sandbox: Sandbox, discord_client, case: str) -> None:
    bot = await discord_client()
    components, path, code = SHAPES[case]
    await refused(bot, sandbox.general.id, {"flags": V2, "components": components}, path, code)
    assert not [m for m in sandbox.state.messages.values() if m.components]


@pytest.mark.parametrize(
    ("field", "value"),
    [("content", "hello"), ("embeds", [{"title": "t"}]), ("sticker_ids", ["1"]), ("poll", {"question": {"text": "?"}})],
)
async def test_legacy_fields_refused_with_the_flag(sandbox: Sandbox, discord_client, field: str, value: Any) -> None:
    bot = await discord_client()
    body = {"flags": V2, "components": [text("x")], field: value}
    await refused(bot, sandbox.general.id, body, field, "MESSAGE_CANNOT_USE_LEGACY_FIELDS_WITH_COMPONENTS_V2")
    # null and empty are how a client says "none": accepted.
    await post_raw(bot, sandbox.general.id, {"flags": V2, "components": [text("x")], field: None})


async def test_discord_py_content_beside_a_layout_view_is_refused(sandbox: Sandbox, discord_client) -> None:
    bot = await discord_client()
    channel = bot.get_channel(sandbox.general.id)
    with pytest.raises(discord.HTTPException) as caught:
        await channel.send("hello", view=layout(ui.TextDisplay("x")))
    assert caught.value.code == 50035 and "In content:" in caught.value.text


async def test_file_component_with_its_upload_and_the_flag_kept_on_edit(sandbox: Sandbox, discord_client) -> None:
    bot = await discord_client()
    channel = bot.get_channel(sandbox.general.id)
    view = layout(ui.Container(ui.TextDisplay("notes"), ui.File("attachment://notes.txt")))
    sent = await channel.send(view=view, file=discord.File(io.BytesIO(b"hi"), "notes.txt"))
    stored = sandbox.state.messages[sent.id]
    assert [a.filename for a in stored.attachments] == ["notes.txt"]
    # Discord resolves the reference to the upload's own address.
    assert stored.components[0]["components"][1]["file"]["url"] == stored.attachments[0].url
    # The flag cannot be removed: an edit with content is checked as a V2 body and refused ...
    with pytest.raises(discord.HTTPException) as caught:
        await sent.edit(content="plain again")
    assert caught.value.code == 50035 and "In content:" in caught.value.text
    # ... and an edit without the flag keeps it.
    route = discord.http.Route("PATCH", "/channels/{c}/messages/{m}", c=channel.id, m=sent.id)
    await bot.http.request(route, json={"flags": 0, "components": [text("still v2")]})
    assert stored.flags & V2 and [c["content"] for c in stored.components] == ["still v2"]


async def test_a_legacy_message_becomes_v2_by_an_edit(sandbox: Sandbox, discord_client) -> None:
    bot = await discord_client()
    channel = bot.get_channel(sandbox.general.id)
    sent = await channel.send("plain")
    edited = await sent.edit(content=None, view=layout(ui.Container(ui.TextDisplay("now laid out"))))
    stored = sandbox.state.messages[sent.id]
    assert stored.flags & V2 and edited.flags.components_v2
    assert sandbox.posted(stored).texts() == ["now laid out"]


async def test_webhook_sends_a_v2_message_and_is_held_to_the_same_rules(sandbox: Sandbox, discord_client) -> None:
    bot = await discord_client()
    channel = bot.get_channel(sandbox.general.id)
    hook = await channel.create_webhook(name="Narrator")
    sent = await hook.send(view=layout(ui.Container(ui.TextDisplay("once upon a time"))), wait=True)
    assert sent.flags.components_v2
    assert sandbox.posted(sandbox.state.messages[sent.id]).text == "once upon a time"
    with pytest.raises(discord.HTTPException) as caught:
        await hook.send("and content", view=layout(ui.TextDisplay("x")), wait=True)
    assert caught.value.code == 50035 and "In content:" in caught.value.text
    forty = layout(*[ui.TextDisplay("t") for _ in range(40)])
    assert (await hook.send(view=forty, wait=True)).flags.components_v2


async def test_mentions_in_text_displays_ping_as_allowed(sandbox: Sandbox, discord_client) -> None:
    bot = await discord_client()
    channel = bot.get_channel(sandbox.general.id)
    alice, bob = sandbox.alice, sandbox.bob
    view = layout(
        ui.TextDisplay(f"hello <@{alice.id}>"),
        ui.Container(ui.Section(f"and <@{bob.id}>", accessory=ui.Button(label="Go", custom_id="go"))),
    )
    sent = await channel.send(view=view, allowed_mentions=discord.AllowedMentions(users=[discord.Object(alice.id)]))
    assert sandbox.state.messages[sent.id].mention_ids == [alice.id]
    both = await channel.send(view=layout(ui.TextDisplay(f"<@{alice.id}> <@{bob.id}>")))
    assert sandbox.state.messages[both.id].mention_ids == [alice.id, bob.id]
