"""Gateway frames and events in Discord's documented shapes (developers/events/gateway-events.mdx,
developers/events/gateway.mdx): every frame has ``op``/``d``/``s``/``t``, zlib-stream transport compression when
asked, READY / GUILD_CREATE / MESSAGE_CREATE / reaction events with their documented fields."""

from __future__ import annotations

import asyncio
import json
import shutil
import zlib
from collections.abc import AsyncIterator

import aiohttp
import discord
import pytest

from bot.sandbox import Sandbox
from bot.sandbox.gateway import I_GUILD_MESSAGES, I_GUILD_PRESENCES, I_GUILD_REACTIONS, I_GUILDS, I_MESSAGE_CONTENT
from bot.sandbox.transport import ZlibStream
from tests.e2e.conformance.shapes_support import (
    MEMBER_FIELDS,
    MESSAGE_EVENT_EXTRA,
    MESSAGE_FIELDS,
    Gateway,
    Rest,
)

pytestmark = pytest.mark.e2e

FRAME_KEYS = {"op", "d", "s", "t"}
EVERYTHING = I_GUILDS | I_GUILD_MESSAGES | I_GUILD_REACTIONS | I_MESSAGE_CONTENT


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


# ------------------------------------------------------------------------------------------ frames


@pytest.mark.parametrize(
    "query", ["", "&compress=zlib-stream", "&compress=zstd-stream"], ids=["plain", "zlib-stream", "zstd-stream"]
)
async def test_every_frame_has_op_d_s_t_with_s_and_t_null_unless_a_dispatch(
    sandbox: Sandbox, http: aiohttp.ClientSession, query: str
) -> None:
    """ "Payload Structure": "``s`` and ``t`` are ``null`` when ``op`` is not ``0``"."""
    gw = await Gateway.connect(http, sandbox, query)
    hello = await gw.frame()
    assert hello == {"op": 10, "d": {"heartbeat_interval": hello["d"]["heartbeat_interval"]}, "s": None, "t": None}
    await gw.ws.send_json({"op": 1, "d": None})
    assert await gw.frame() == {"op": 11, "d": None, "s": None, "t": None}
    await gw.ws.send_json({"op": 2, "d": {"token": sandbox.token, "intents": EVERYTHING, "properties": {}}})
    ready = await gw.until("READY")
    assert set(ready) == FRAME_KEYS and ready["op"] == 0 and ready["s"] == 1
    await sandbox.send(sandbox.general, "hello")
    created = await gw.until("MESSAGE_CREATE")
    assert set(created) == FRAME_KEYS and created["s"] > ready["s"]
    await sandbox.send_reconnect()
    assert await gw.frame() == {"op": 7, "d": None, "s": None, "t": None}
    await gw.ws.close()

    again = await Gateway.connect(http, sandbox, query)
    await again.frame()
    await again.ws.send_json({"op": 6, "d": {"token": sandbox.token, "session_id": "nope", "seq": 1}})
    assert await again.frame() == {"op": 9, "d": False, "s": None, "t": None}
    await again.ws.close()


async def test_zlib_stream_uses_one_context_per_connection_and_sync_flushes_each_frame(
    sandbox: Sandbox, http: aiohttp.ClientSession
) -> None:
    """gateway.mdx, "zlib-stream": binary frames through one shared zlib context, each ending with ``00 00 ff ff``;
    without ``compress`` the frames stay plain JSON text."""
    zipped = await Gateway.connect(http, sandbox, "&compress=zlib-stream")
    plain = await Gateway.connect(http, sandbox)
    for gw in (zipped, plain):
        await gw.identify(sandbox.token, EVERYTHING)
    await sandbox.send(sandbox.general, "the same words " * 20)
    frames = [await zipped.until("MESSAGE_CREATE"), await plain.until("MESSAGE_CREATE")]
    assert frames[0]["d"] == frames[1]["d"]
    assert all(m.type == aiohttp.WSMsgType.BINARY for m in zipped.raw)
    assert all(m.type == aiohttp.WSMsgType.TEXT for m in plain.raw)
    # One context for the connection: a later frame does not decompress on its own (it refers back to earlier ones).
    last = zipped.raw[-1].data
    with pytest.raises(zlib.error):
        zlib.decompressobj().decompress(last)
    for gw in (zipped, plain):
        await gw.ws.close()


async def test_zstd_stream_is_one_frame_a_real_decoder_reads(sandbox: Sandbox, http: aiohttp.ClientSession) -> None:
    """gateway.mdx, "zstd-stream": one zstd context for the connection, each message a gateway message. The
    reference decoder (the ``zstd`` program, when installed) reads the connection's bytes back to its messages."""
    for n in range(400):  # a GUILD_CREATE larger than one 128 KiB block
        sandbox.add_user(f"member{n}")
    gw = await Gateway.connect(http, sandbox, "&compress=zstd-stream")
    await gw.identify(sandbox.token, EVERYTHING | I_GUILD_PRESENCES)
    guild = await gw.until("GUILD_CREATE")
    assert len(guild["d"]["members"]) == len(sandbox.guild.members) and len(gw.raw[-1].data) > 128 * 1024
    await sandbox.send(sandbox.general, "after the big one")
    created = await gw.until("MESSAGE_CREATE")
    await gw.ws.close()
    zstd = shutil.which("zstd")
    if zstd is None:
        pytest.skip("no zstd program to check the stream with")
    proc = await asyncio.create_subprocess_exec(
        zstd, "-d", "-c", stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, _ = await proc.communicate(b"".join(m.data for m in gw.raw))
    # The stream never ends its frame (as Discord's), so the decoder reads everything, then says it was cut short.
    text, decoded, decoder = out.decode(), [], json.JSONDecoder()
    while text:
        frame, end = decoder.raw_decode(text)
        decoded.append(frame)
        text = text[end:]
    assert [f["t"] for f in decoded] == [None, "READY", "GUILD_CREATE", "MESSAGE_CREATE"]
    assert decoded[2] == guild and decoded[3] == created


async def test_discord_py_asks_for_zlib_stream_and_reads_it(sandbox: Sandbox, discord_client) -> None:
    """discord.py 2.7 without a zstd module asks for ``compress=zlib-stream`` (its ``utils._ActiveDecompression
    Context``); it logs in and receives events through the compressed stream."""
    expected = discord.utils._ActiveDecompressionContext.COMPRESSION_TYPE
    bot = await discord_client()
    conns = list(sandbox.server.gateway.connections)
    assert expected == "zlib-stream" and conns and all(isinstance(c.compressor, ZlibStream) for c in conns)
    sent = await sandbox.send(sandbox.general, "through the stream")
    msg = await bot.wait_for("message", check=lambda m: m.id == sent.id, timeout=3)
    assert msg.content == "through the stream"


# ------------------------------------------------------------------------------------------ READY and GUILD_CREATE


READY_FIELDS = {"v", "user", "guilds", "session_id", "resume_gateway_url", "shard", "application"}


async def test_ready_has_the_documented_fields(sandbox: Sandbox, http: aiohttp.ClientSession) -> None:
    """ "Ready Event Fields"; ``application`` "Contains ``id`` and ``flags``"; guilds are unavailable guilds."""
    gw = await Gateway.connect(http, sandbox)
    ready = (await gw.identify(sandbox.token, EVERYTHING))["d"]
    assert set(ready) == READY_FIELDS - {"shard"}  # no shard asked for, none sent
    assert set(ready["application"]) == {"id", "flags"} and ready["application"]["id"] == str(sandbox.bot_user.id)
    assert ready["guilds"] == [{"id": str(sandbox.guild.id), "unavailable": True}]
    assert ready["user"]["id"] == str(sandbox.bot_user.id) and "email" in ready["user"]
    await gw.ws.close()


GUILD_CREATE_EXTRA = {
    *("joined_at", "large", "unavailable", "member_count", "voice_states", "members", "channels", "threads"),
    *("presences", "stage_instances", "guild_scheduled_events", "soundboard_sounds"),
}


@pytest.mark.parametrize("presences", [False, True])
async def test_guild_create_has_its_extra_fields_and_members_as_the_intents_allow(
    sandbox: Sandbox, http: aiohttp.ClientSession, presences: bool
) -> None:
    """ "Guild Create Extra Fields"; without GUILD_PRESENCES "members and presences returned in this event will
    only contain your bot and users in voice channels"."""
    gw = await Gateway.connect(http, sandbox)
    await gw.identify(sandbox.token, EVERYTHING | (I_GUILD_PRESENCES if presences else 0))
    guild = (await gw.until("GUILD_CREATE"))["d"]
    assert GUILD_CREATE_EXTRA <= set(guild)
    assert "approximate_member_count" not in guild and "owner" not in guild
    assert guild["member_count"] == len(sandbox.guild.members)
    ids = {m["user"]["id"] for m in guild["members"]}
    everyone = {str(u) for u in sandbox.guild.members}
    assert ids == (everyone if presences else {str(sandbox.bot_user.id)})
    assert all(set(m) <= MEMBER_FIELDS for m in guild["members"])
    await gw.ws.close()


# ------------------------------------------------------------------------------------------ messages


async def test_message_create_carries_the_extra_fields_rest_does_not(
    sandbox: Sandbox, http: aiohttp.ClientSession
) -> None:
    """ "Message Create Extra Fields": ``guild_id``, the author's partial ``member`` (no ``user``), ``mentions``
    with a partial ``member``, ``channel_type``."""
    gw = await Gateway.connect(http, sandbox)
    await gw.identify(sandbox.token, EVERYTHING)
    sent = await sandbox.send(sandbox.general, f"hi <@{sandbox.bob.id}>")
    d = (await gw.until("MESSAGE_CREATE"))["d"]
    assert set(d) <= MESSAGE_FIELDS | MESSAGE_EVENT_EXTRA
    assert (d["guild_id"], d["channel_type"]) == (str(sandbox.guild.id), 0)
    assert "user" not in d["member"] and set(d["member"]) <= MEMBER_FIELDS
    assert [u["id"] for u in d["mentions"]] == [str(sandbox.bob.id)] and "user" not in d["mentions"][0]["member"]
    rest = Rest(sandbox, http)
    _, fetched = await rest("GET", f"/channels/{sandbox.general.id}/messages/{sent.id}")
    assert not {"guild_id", "member", "channel_type"} & set(fetched) and "member" not in fetched["mentions"][0]

    # "Missing for ephemeral messages and messages from webhooks"; in updates "tts will always be false".
    _, hook = await rest("POST", f"/channels/{sandbox.general.id}/webhooks", {"name": "relay"})
    url = sandbox.server.api_url + f"/webhooks/{hook['id']}/{hook['token']}"
    async with http.post(url, json={"content": "aloud", "tts": True}, params={"wait": "true"}) as r:
        spoken = await r.json()
    d = (await gw.until("MESSAGE_CREATE"))["d"]
    assert d["id"] == spoken["id"] and "member" not in d and d["guild_id"] == str(sandbox.guild.id) and d["tts"]
    async with http.patch(f"{url}/messages/{spoken['id']}", json={"content": "still aloud"}) as r:
        assert r.status == 200
    updated = (await gw.until("MESSAGE_UPDATE"))["d"]
    assert (updated["content"], updated["tts"], "member" in updated) == ("still aloud", False, False)
    await gw.ws.close()


# ------------------------------------------------------------------------------------------ reactions


REACTION_ADD = {
    *("user_id", "channel_id", "message_id", "guild_id", "member", "emoji", "message_author_id", "burst"),
    *("burst_colors", "type"),
}
REACTION_REMOVE = {"user_id", "channel_id", "message_id", "guild_id", "emoji", "burst", "type"}


async def test_reaction_events_carry_their_own_fields(sandbox: Sandbox, http: aiohttp.ClientSession) -> None:
    """ "Message Reaction Add/Remove/Remove All/Remove Emoji Event Fields": REMOVE has no ``member``,
    ``message_author_id`` or ``burst_colors``; emoji are partial emoji (``animated`` for animated custom ones)."""
    sandbox.guild.emojis[41771983429993937] = "party"  # a custom emoji of the server (unknown ones are refused)
    gw = await Gateway.connect(http, sandbox)
    await gw.identify(sandbox.token, EVERYTHING)
    m = await sandbox.send(sandbox.general, "react to me")
    await sandbox.react(m, "🔥")
    added = (await gw.until("MESSAGE_REACTION_ADD"))["d"]
    assert set(added) == REACTION_ADD
    assert added["emoji"] == {"id": None, "name": "🔥"} and added["message_author_id"] == str(sandbox.alice.id)
    await sandbox.unreact(m, "🔥")
    removed = (await gw.until("MESSAGE_REACTION_REMOVE"))["d"]
    assert set(removed) == REACTION_REMOVE
    await sandbox.react(m, "a:party:41771983429993937", user=sandbox.bob)
    custom = (await gw.until("MESSAGE_REACTION_ADD"))["d"]
    assert custom["emoji"] == {"id": "41771983429993937", "name": "party", "animated": True}

    rest = Rest(sandbox, http)
    base = f"/channels/{sandbox.general.id}/messages/{m.id}/reactions"
    assert (await rest("DELETE", base + "/party:41771983429993937"))[0] == 204
    one = (await gw.until("MESSAGE_REACTION_REMOVE_EMOJI"))["d"]
    assert set(one) == {"channel_id", "guild_id", "message_id", "emoji"}
    assert one["emoji"] == custom["emoji"]
    await sandbox.react(m, "🔥")
    assert (await rest("DELETE", base))[0] == 204
    cleared = (await gw.until("MESSAGE_REACTION_REMOVE_ALL"))["d"]
    assert cleared == {
        "channel_id": str(sandbox.general.id),
        "message_id": str(m.id),
        "guild_id": str(sandbox.guild.id),
    }
    await gw.ws.close()
