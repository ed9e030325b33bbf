"""The unmodified discord.py client against the sandbox: login, events, and every REST route it supports."""

from __future__ import annotations

import asyncio
import io
from typing import Any

import aiohttp
import discord
import pytest
from discord.ext import commands

from bot.sandbox import P, Sandbox, SandboxError
from bot.sandbox.state import in_days
from tests.e2e.conftest import all_intents

pytestmark = pytest.mark.e2e


async def next_event(client: discord.Client, name: str, check: Any = None, timeout: float = 3.0) -> Any:
    return await client.wait_for(name, check=check, timeout=timeout)


# ---------------------------------------------------------------------------------------------- login


async def test_plain_client_logs_in_and_sees_the_world(sandbox: Sandbox, discord_client) -> None:
    bot = await discord_client()
    assert bot.user.id == sandbox.bot_user.id
    assert bot.application_id == sandbox.bot_user.id
    guild = bot.get_guild(sandbox.guild.id)
    assert guild is not None and guild.name == "Sandbox"
    assert {c.name for c in guild.text_channels} == {"general", "personas"}
    assert {m.name for m in guild.members} == {"alice", "bob", sandbox.bot_user.username}
    assert guild.owner_id == sandbox.alice.id
    me = guild.me
    perms = guild.get_channel(sandbox.general.id).permissions_for(me)
    assert perms.send_messages and perms.manage_webhooks and not perms.administrator
    routes = [r.key for r in sandbox.requests()]
    assert routes[:2] == ["GET /users/@me", "GET /oauth2/applications/@me"]
    identify = next(p for p in sandbox.server.gateway.received if p["op"] == 2)
    assert identify["d"]["token"] == sandbox.token and identify["d"]["intents"] == all_intents().value


async def test_sharded_client_asks_gateway_bot_and_identifies_each_shard(sandbox: Sandbox, discord_client) -> None:
    sandbox.server.shard_count = 2
    other = sandbox.state.add_guild("Second", sandbox.bob)
    sandbox.state.add_member(other, sandbox.bot_user)
    client = commands.AutoShardedBot(command_prefix="!", intents=all_intents())

    async def no_identify_delay(shard_id: int | None, *, initial: bool = False) -> None:
        """discord.py spaces shard IDENTIFYs 5 s apart (Discord's limit); the sandbox has no such limit."""

    client.before_identify_hook = no_identify_delay  # type: ignore[method-assign]
    bot = await discord_client(client)
    assert bot.shard_count == 2
    assert sandbox.requests("GET", "/gateway/bot")
    shards = sorted(tuple(p["d"]["shard"]) for p in sandbox.server.gateway.received if p["op"] == 2)
    assert shards == [(0, 2), (1, 2)]
    for g in (sandbox.guild, other):
        guild = bot.get_guild(g.id)
        assert guild is not None
        assert guild.shard_id == (g.id >> 22) % 2


async def test_bad_token_is_refused(sandbox: Sandbox) -> None:
    client = discord.Client(intents=discord.Intents.none())
    with pytest.raises(discord.LoginFailure):
        await client.login("not-the-token")
    await client.close()


# ---------------------------------------------------------------------------------------------- events


async def test_message_events_reach_the_client(sandbox: Sandbox, discord_client) -> None:
    bot = await discord_client()
    waiter = asyncio.ensure_future(next_event(bot, "message"))
    sent = await sandbox.send(sandbox.general, f"hello <@{sandbox.bot_user.id}>", author=sandbox.bob)
    msg: discord.Message = await waiter
    assert msg.id == sent.id and msg.content == f"hello <@{sandbox.bot_user.id}>"
    assert msg.author.id == sandbox.bob.id and isinstance(msg.author, discord.Member)
    assert bot.user in msg.mentions

    waiter = asyncio.ensure_future(next_event(bot, "message_edit"))
    await sandbox.edit(sent, "edited")
    before, after = await waiter
    assert before.content.startswith("hello") and after.content == "edited"

    waiter = asyncio.ensure_future(next_event(bot, "raw_message_delete"))
    await sandbox.delete(sent)
    assert (await waiter).message_id == sent.id


async def test_replies_dms_and_threads_arrive(sandbox: Sandbox, discord_client) -> None:
    bot = await discord_client()
    first = await sandbox.send(sandbox.general, "first")
    waiter = asyncio.ensure_future(next_event(bot, "message", lambda m: m.content == "a reply"))
    reply = await sandbox.reply(first, "a reply", author=sandbox.bob)
    msg = await waiter
    assert msg.id == reply.id and msg.reference.message_id == first.id and msg.type is discord.MessageType.reply

    dm = await sandbox.open_dm(sandbox.alice)
    waiter = asyncio.ensure_future(next_event(bot, "message"))
    await sandbox.send(dm, "psst")
    msg = await waiter
    assert msg.guild is None and isinstance(msg.channel, discord.DMChannel) and msg.content == "psst"

    waiter = asyncio.ensure_future(next_event(bot, "thread_create"))
    thread = await sandbox.create_thread(sandbox.general, "a thread")
    created: discord.Thread = await waiter
    assert created.id == thread.id and created.parent_id == sandbox.general.id
    waiter = asyncio.ensure_future(next_event(bot, "message"))
    await sandbox.send(thread, "in the thread")
    assert (await waiter).channel.id == thread.id


async def test_reactions_member_role_and_channel_events(sandbox: Sandbox, discord_client) -> None:
    bot = await discord_client()
    m = await sandbox.send(sandbox.general, "react to me")
    waiter = asyncio.ensure_future(next_event(bot, "raw_reaction_add"))
    await sandbox.react(m, "👍", user=sandbox.bob)
    ev = await waiter
    assert (ev.message_id, ev.user_id, str(ev.emoji)) == (m.id, sandbox.bob.id, "👍")
    waiter = asyncio.ensure_future(next_event(bot, "raw_reaction_remove"))
    await sandbox.unreact(m, "👍", user=sandbox.bob)
    assert (await waiter).user_id == sandbox.bob.id

    waiter = asyncio.ensure_future(next_event(bot, "guild_role_create"))
    role = sandbox.add_role("Bards", P.MANAGE_MESSAGES)
    assert (await waiter).id == role.id
    waiter = asyncio.ensure_future(next_event(bot, "member_update"))
    sandbox.give_role(sandbox.bob, role)
    _, after = await waiter
    assert role.id in [r.id for r in after.roles]
    waiter = asyncio.ensure_future(next_event(bot, "member_join"))
    carol = sandbox.add_user("carol")
    assert (await waiter).id == carol.id
    waiter = asyncio.ensure_future(next_event(bot, "guild_channel_create"))
    ch = sandbox.add_channel("lore")
    assert (await waiter).name == "lore"
    waiter = asyncio.ensure_future(next_event(bot, "guild_channel_update"))
    sandbox.set_permissions(ch, sandbox.bot_user, deny=P.SEND_MESSAGES)
    _, after_ch = await waiter
    assert not after_ch.permissions_for(after_ch.guild.me).send_messages


async def test_message_content_is_blanked_without_the_intent(sandbox: Sandbox, discord_client) -> None:
    intents = discord.Intents.default()  # no message_content
    bot = await discord_client(commands.Bot(command_prefix="!", intents=intents))
    waiter = asyncio.ensure_future(next_event(bot, "message"))
    await sandbox.send(sandbox.general, "secret")
    assert (await waiter).content == ""
    waiter = asyncio.ensure_future(next_event(bot, "message"))
    await sandbox.send(sandbox.general, f"<@{sandbox.bot_user.id}> mentioned")
    assert (await waiter).content.endswith("mentioned")


async def test_entitlement_events_and_routes(sandbox: Sandbox, discord_client) -> None:
    bot = await discord_client()
    sku = sandbox.add_sku("Persona Plus")
    skus = await bot.fetch_skus()
    assert [(s.id, s.name) for s in skus] == [(sku.id, "Persona Plus")]

    waiter = asyncio.ensure_future(next_event(bot, "entitlement_create"))
    ent = sandbox.grant(sku, user=sandbox.alice)
    got: discord.Entitlement = await waiter
    assert (got.id, got.sku_id, got.user_id) == (ent.id, sku.id, sandbox.alice.id)

    waiter = asyncio.ensure_future(next_event(bot, "entitlement_update"))
    sandbox.update_entitlement(ent, ends_at=in_days(30))
    assert (await waiter).ends_at is not None

    listed = [e async for e in bot.entitlements(user=discord.Object(sandbox.alice.id))]
    assert [e.id for e in listed] == [ent.id]

    waiter = asyncio.ensure_future(next_event(bot, "entitlement_create"))
    await bot.create_entitlement(
        discord.Object(sku.id), discord.Object(sandbox.bob.id), discord.EntitlementOwnerType.user
    )
    test_ent: discord.Entitlement = await waiter
    assert test_ent.user_id == sandbox.bob.id and sandbox.state.entitlements[test_ent.id].type == 4
    waiter = asyncio.ensure_future(next_event(bot, "entitlement_delete"))
    await test_ent.delete()
    assert (await waiter).id == test_ent.id
    assert sandbox.state.entitlements[test_ent.id].deleted


# ---------------------------------------------------------------------------------------------- REST round trips


async def test_send_edit_fetch_history_delete(sandbox: Sandbox, discord_client) -> None:
    bot = await discord_client()
    channel = bot.get_channel(sandbox.general.id)
    embed = discord.Embed(title="Hi", description="there")
    view = discord.ui.View()
    view.add_item(discord.ui.Button(label="ok", custom_id="ok"))
    sent = await channel.send(
        f"hi <@{sandbox.alice.id}>",
        embed=embed,
        view=view,
        allowed_mentions=discord.AllowedMentions(users=False),
    )
    stored = sandbox.state.messages[sent.id]
    assert stored.content == f"hi <@{sandbox.alice.id}>" and stored.embeds[0]["title"] == "Hi"
    assert stored.components[0]["components"][0]["label"] == "ok"
    assert stored.allowed_mentions == {"parse": ["everyone", "roles"], "replied_user": True}
    assert stored.mention_ids == []  # alice not pinged
    req = sandbox.requests("POST", "/channels/{channel_id}/messages")[-1]
    assert req.json["allowed_mentions"] == stored.allowed_mentions

    edited = await sent.edit(content="changed")
    assert edited.content == "changed" and edited.edited_at is not None
    fetched = await channel.fetch_message(sent.id)
    assert fetched.content == "changed" and fetched.embeds[0].title == "Hi"

    human = await sandbox.send(sandbox.general, "from alice")
    reply = await fetched.reply("replying")
    assert reply.reference.message_id == sent.id
    history = [m.id async for m in channel.history(limit=10)]
    assert history == [reply.id, human.id, sent.id]  # newest first
    assert [m.id async for m in channel.history(limit=10, before=discord.Object(reply.id))] == [
        human.id,
        sent.id,
    ]
    assert [m.id async for m in channel.history(limit=10, after=discord.Object(sent.id), oldest_first=True)] == [
        human.id,
        reply.id,
    ]

    await sent.delete()
    assert sandbox.state.messages[sent.id].deleted
    with pytest.raises(discord.NotFound) as err:
        await channel.fetch_message(sent.id)
    assert err.value.code == 10008
    with pytest.raises(discord.Forbidden) as err:
        await (await channel.fetch_message(human.id)).edit(content="nope")
    assert err.value.code == 50005


async def test_multipart_files_are_stored_and_downloadable(sandbox: Sandbox, discord_client) -> None:
    bot = await discord_client()
    channel = bot.get_channel(sandbox.general.id)
    sent = await channel.send("with a file", file=discord.File(io.BytesIO(b"persona sheet"), "sheet.txt"))
    assert [a.filename for a in sent.attachments] == ["sheet.txt"]
    assert await sent.attachments[0].read() == b"persona sheet"
    req = sandbox.requests("POST", "/channels/{channel_id}/messages")[-1]
    assert req.files == [("files[0]", "sheet.txt", 13)] and req.json["content"] == "with a file"
    edited = await sent.edit(attachments=[])
    assert edited.attachments == []


async def test_bot_reactions_round_trip(sandbox: Sandbox, discord_client) -> None:
    bot = await discord_client()
    m = await sandbox.send(sandbox.general, "react")
    msg = await bot.get_channel(sandbox.general.id).fetch_message(m.id)
    await msg.add_reaction("🎭")
    assert list(sandbox.state.messages[m.id].reactions["🎭"]) == [sandbox.bot_user.id]
    await sandbox.react(m, "🎭", user=sandbox.bob)
    msg = await msg.channel.fetch_message(m.id)
    assert msg.reactions[0].count == 2 and msg.reactions[0].me
    users = [u.id async for u in msg.reactions[0].users()]
    assert set(users) == {sandbox.bot_user.id, sandbox.bob.id}
    await msg.remove_reaction("🎭", discord.Object(sandbox.bob.id))
    await msg.remove_reaction("🎭", bot.user)
    assert list(sandbox.state.messages[m.id].reactions["🎭"]) == []


async def test_webhooks_create_list_execute_edit_delete(sandbox: Sandbox, discord_client) -> None:
    bot = await discord_client()
    channel = bot.get_channel(sandbox.personas.id)
    hook = await channel.create_webhook(name="Persona Hub relay")
    assert [w.id for w in await channel.webhooks()] == [hook.id]
    assert [w.id for w in await channel.guild.webhooks()] == [hook.id]

    sent = await hook.send(
        "Greetings, traveller.", username="Merlin", avatar_url="http://127.0.0.1/merlin.png", wait=True
    )
    assert sent.author.name == "Merlin" and sent.webhook_id == hook.id
    seen = sandbox.history(sandbox.personas)[-1]
    assert (seen.author, seen.avatar_url, seen.content) == (
        "Merlin",
        "http://127.0.0.1/merlin.png",
        sent.content,
    )

    edited = await hook.edit_message(sent.id, content="Farewell.")
    assert edited.content == "Farewell." and sandbox.state.messages[sent.id].content == "Farewell."
    assert await hook.send("no wait") is None  # wait=False: 204, as on Discord
    thread = await sandbox.create_thread(sandbox.personas, "scene")
    in_thread = await hook.send("in thread", thread=discord.Object(thread.id), wait=True)
    assert in_thread.channel.id == thread.id
    await hook.delete_message(sent.id)
    assert sandbox.state.messages[sent.id].deleted
    await hook.delete()
    assert await channel.webhooks() == []


async def test_dm_threads_pins_typing_and_lookups(sandbox: Sandbox, discord_client) -> None:
    bot = await discord_client()
    user = await bot.fetch_user(sandbox.alice.id)
    dm = await user.send("hello alice")
    assert sandbox.dms(sandbox.alice)[-1].content == "hello alice" and dm.channel.type is discord.ChannelType.private

    channel = bot.get_channel(sandbox.general.id)
    m = await channel.send("thread starter")
    thread = await m.create_thread(name="discussion")
    assert sandbox.state.channels[thread.id].parent_id == sandbox.general.id
    await thread.send("inside")
    assert sandbox.history(sandbox.state.channels[thread.id])[-1].content == "inside"
    private = await channel.create_thread(name="secret", type=discord.ChannelType.private_thread)
    assert sandbox.state.channels[private.id].type == 12

    await m.pin()
    assert [p.id async for p in channel.pins()] == [m.id]
    await m.unpin()
    async with channel.typing():
        pass
    assert sandbox.requests("POST", "/channels/{channel_id}/typing")

    member = await channel.guild.fetch_member(sandbox.bob.id)
    assert member.id == sandbox.bob.id
    fetched = await bot.fetch_channel(sandbox.personas.id)
    assert fetched.name == "personas"
    assert {r.name for r in await channel.guild.fetch_roles()} >= {"@everyone", sandbox.bot_user.username}
    with pytest.raises(discord.Forbidden):
        await channel.guild.create_text_channel("made-by-bot")
    sandbox.bot_role.permissions |= P.MANAGE_CHANNELS
    new_channel = await channel.guild.create_text_channel("made-by-bot")
    assert sandbox.state.channels[new_channel.id].name == "made-by-bot"


async def test_app_command_sync_global_and_guild(sandbox: Sandbox, discord_client) -> None:
    bot = commands.Bot(command_prefix="!", intents=all_intents())

    @bot.tree.command(description="Global one")
    async def hello(interaction: discord.Interaction) -> None: ...

    grp = discord.app_commands.Group(name="persona", description="Personas")

    @grp.command(description="make one")
    async def create(interaction: discord.Interaction, name: str, age: int | None = None) -> None: ...

    bot.tree.add_command(grp, guild=discord.Object(sandbox.guild.id))
    await discord_client(bot)
    synced = await bot.tree.sync()
    assert [c.name for c in synced] == ["hello"]
    synced_guild = await bot.tree.sync(guild=discord.Object(sandbox.guild.id))
    assert [c.name for c in synced_guild] == ["persona"]
    assert [c["name"] for c in sandbox.commands()] == ["hello"]
    options = sandbox.commands(sandbox.guild)[0]["options"][0]["options"]
    assert [(o["name"], o["type"], o.get("required", False)) for o in options] == [
        ("name", 3, True),
        ("age", 4, False),
    ]
    fetched = await bot.tree.fetch_commands()
    assert [c.id for c in fetched] == [c.id for c in synced]
    # Re-syncing keeps ids, as Discord does for unchanged names.
    again = await bot.tree.sync()
    assert again[0].id == synced[0].id
    await fetched[0].delete()
    assert sandbox.commands() == []


async def test_invalid_command_is_refused_with_invalid_form_body(sandbox: Sandbox, discord_client) -> None:
    bot = await discord_client()
    with pytest.raises(discord.HTTPException) as err:
        await bot.http.bulk_upsert_global_commands(bot.application_id, [{"name": "Bad Name", "description": "x"}])
    assert err.value.status == 400 and err.value.code == 50035


# ---------------------------------------------------------------------------------------------- permissions


async def test_missing_permissions_and_access_answer_403_with_discord_codes(sandbox: Sandbox, discord_client) -> None:
    bot = await discord_client()
    sandbox.set_permissions(sandbox.personas, sandbox.bot_user, deny=P.SEND_MESSAGES)
    sandbox.set_permissions(sandbox.general, sandbox.bot_role, deny=P.ATTACH_FILES | P.MANAGE_WEBHOOKS)
    await asyncio.sleep(0.05)
    with pytest.raises(discord.Forbidden) as err:
        await bot.get_channel(sandbox.personas.id).send("hi")
    assert err.value.code == 50013
    general = bot.get_channel(sandbox.general.id)
    with pytest.raises(discord.Forbidden) as err:
        await general.send(file=discord.File(io.BytesIO(b"x"), "x.txt"))
    assert err.value.code == 50013
    with pytest.raises(discord.Forbidden) as err:
        await general.create_webhook(name="nope")
    assert err.value.code == 50013
    await general.send("plain text still works")

    hidden = sandbox.add_channel("staff")
    sandbox.set_permissions(hidden, sandbox.state.roles[sandbox.guild.id], deny=P.VIEW_CHANNEL)
    with pytest.raises(discord.Forbidden) as err:
        await bot.http.send_message(hidden.id, params=discord.http.handle_message_parameters(content="x"))
    assert err.value.code == 50001
    m = await sandbox.send(sandbox.general, "alice's")
    msg = await general.fetch_message(m.id)
    sandbox.set_permissions(sandbox.general, sandbox.bot_role, deny=P.MANAGE_MESSAGES)
    with pytest.raises(discord.Forbidden) as err:
        await msg.delete()
    assert err.value.code == 50013


async def test_users_are_held_to_their_permissions_too(sandbox: Sandbox) -> None:
    sandbox.set_permissions(sandbox.personas, sandbox.bob, deny=P.SEND_MESSAGES)
    with pytest.raises(SandboxError, match="bob cannot send"):
        await sandbox.send(sandbox.personas, "hi", author=sandbox.bob)


async def test_unknown_route_answers_404_naming_it(sandbox: Sandbox, discord_client) -> None:
    bot = await discord_client()
    with pytest.raises(discord.NotFound) as err:
        await bot.http.request(discord.http.Route("GET", "/guilds/{guild_id}/emojis", guild_id=sandbox.guild.id))
    assert f"GET /guilds/{sandbox.guild.id}/emojis" in err.value.text
    assert sandbox.requests()[-1].status == 404


async def test_one_dispatch_gives_each_session_the_content_its_intents_allow(sandbox: Sandbox) -> None:
    """A message is encoded once per kind of payload: a session with MESSAGE_CONTENT gets the text, one without it
    gets the blanked copy (as Discord does), whatever order the sessions came in."""
    from bot.sandbox.gateway import I_GUILD_MESSAGES, I_MESSAGE_CONTENT

    async def session_with(http: aiohttp.ClientSession, intents: int) -> aiohttp.ClientWebSocketResponse:
        ws = await http.ws_connect(sandbox.server.gateway_url)
        assert (await ws.receive_json())["op"] == 10
        await ws.send_json({"op": 2, "d": {"token": sandbox.token, "intents": intents, "properties": {}}})
        while (await ws.receive_json()).get("t") != "READY":
            pass
        return ws

    async def next_message(ws: aiohttp.ClientWebSocketResponse) -> dict:
        while True:
            frame = await asyncio.wait_for(ws.receive_json(), 5)
            if frame.get("t") == "MESSAGE_CREATE":
                return frame

    async with aiohttp.ClientSession() as http:
        blind = await session_with(http, I_GUILD_MESSAGES)
        reader = await session_with(http, I_GUILD_MESSAGES | I_MESSAGE_CONTENT)
        blind_too = await session_with(http, I_GUILD_MESSAGES)
        await sandbox.send(sandbox.general, "the secret word is lighthouse")
        frames = [await next_message(ws) for ws in (blind, reader, blind_too)]
        for ws in (blind, reader, blind_too):
            await ws.close()
    assert [frame["d"]["content"] for frame in frames] == ["", "the secret word is lighthouse", ""]
    assert frames[0]["d"]["id"] == frames[1]["d"]["id"] == frames[2]["d"]["id"]
