"""Embed limits (Discord's "Embed Limits", developers/resources/message): each bound accepted, one past refused with
``50035`` and the field path, driven through discord.py's ``Messageable.send``."""

from __future__ import annotations

from collections.abc import Callable

import discord
import pytest

from bot.sandbox import Sandbox
from tests.e2e.conformance.msg_helpers import assert_form_error, codes_at, raw, refusal, send_raw

pytestmark = pytest.mark.e2e


def fields(count: int) -> discord.Embed:
    embed = discord.Embed()
    for i in range(count):
        embed.add_field(name=f"n{i}", value="v")
    return embed


# (what, embed with a text of n characters, the bound, the refused field)
LIMITS: list[tuple[str, Callable[[int], discord.Embed], int, str]] = [
    ("title", lambda n: discord.Embed(title="t" * n), 256, "embeds.0.title"),
    ("description", lambda n: discord.Embed(description="d" * n), 4096, "embeds.0.description"),
    ("field name", lambda n: discord.Embed().add_field(name="n" * n, value="v"), 256, "embeds.0.fields.0.name"),
    ("field value", lambda n: discord.Embed().add_field(name="n", value="v" * n), 1024, "embeds.0.fields.0.value"),
    ("footer text", lambda n: discord.Embed().set_footer(text="f" * n), 2048, "embeds.0.footer.text"),
    ("author name", lambda n: discord.Embed().set_author(name="a" * n), 256, "embeds.0.author.name"),
    ("fields", fields, 25, "embeds.0.fields"),
]


@pytest.mark.parametrize(("what", "build", "bound", "path"), LIMITS, ids=[case[0] for case in LIMITS])
async def test_each_embed_limit_is_inclusive(
    sandbox: Sandbox, discord_client, what: str, build: Callable[[int], discord.Embed], bound: int, path: str
) -> None:
    bot = await discord_client()
    channel = bot.get_channel(sandbox.general.id)
    sent = await channel.send(embed=build(bound))
    assert sandbox.state.messages[sent.id].embeds
    error = await refusal(channel.send(embed=build(bound + 1)))
    assert_form_error(error, path, f"Must be {bound} or fewer in length.")


async def test_limits_are_measured_on_trimmed_text(sandbox: Sandbox, discord_client) -> None:
    """ "Leading and trailing whitespace characters are not included (they are trimmed automatically)"."""
    bot = await discord_client()
    channel = bot.get_channel(sandbox.general.id)
    await channel.send(embed=discord.Embed(title="   " + "t" * 256 + "\n "))
    error = await refusal(channel.send(embed=discord.Embed().add_field(name="name", value="   ")))
    assert_form_error(error, "embeds.0.fields.0.value", "This field is required")


async def test_all_embeds_of_a_message_share_6000_characters(sandbox: Sandbox, discord_client) -> None:
    bot = await discord_client()
    channel = bot.get_channel(sandbox.general.id)

    def pair(total: int) -> list[discord.Embed]:
        first = discord.Embed(title="t" * 256, description="d" * 4096)
        first.set_footer(text="f" * 1000)
        rest = total - 256 - 4096 - 1000
        second = discord.Embed().set_author(name="a" * 200).add_field(name="n" * 100, value="v" * (rest - 300))
        return [first, second]

    sent = await channel.send(embeds=pair(6000))
    assert len(sandbox.state.messages[sent.id].embeds) == 2
    error = await refusal(channel.send(embeds=pair(6001)))
    assert_form_error(error, "embeds", "Embed size exceeds maximum size of 6000")
    status, body = await raw(
        sandbox,
        "POST",
        f"/channels/{sandbox.general.id}/messages",
        json={"embeds": [e.to_dict() for e in pair(6001)]},
    )
    assert status == 400 and codes_at(body, "embeds") == ["MAX_EMBED_SIZE_EXCEEDED"]


async def test_ten_embeds_at_most(sandbox: Sandbox, discord_client) -> None:
    """discord.py refuses an eleventh embed itself; the body is sent raw to see Discord's answer."""
    bot = await discord_client()
    sent = await send_raw(bot, sandbox.general.id, {"embeds": [{"title": str(i)} for i in range(10)]})
    assert len(sandbox.state.messages[int(sent["id"])].embeds) == 10
    error = await refusal(send_raw(bot, sandbox.general.id, {"embeds": [{"title": str(i)} for i in range(11)]}))
    assert_form_error(error, "embeds", "Must be 10 or fewer in length.")


async def test_every_finding_of_one_body_is_reported(sandbox: Sandbox, discord_client) -> None:
    bot = await discord_client()
    embed = discord.Embed(title="t" * 257).add_field(name="n", value="v" * 1025)
    error = await refusal(bot.get_channel(sandbox.general.id).send(embed=embed))
    assert_form_error(error, "embeds.0.title")
    assert_form_error(error, "embeds.0.fields.0.value")


async def test_an_edit_is_held_to_the_same_limits(sandbox: Sandbox, discord_client) -> None:
    bot = await discord_client()
    sent = await bot.get_channel(sandbox.general.id).send("plain")
    error = await refusal(sent.edit(embed=fields(26)))
    assert_form_error(error, "embeds.0.fields", "Must be 25 or fewer in length.")
    assert sandbox.state.messages[sent.id].embeds == []
