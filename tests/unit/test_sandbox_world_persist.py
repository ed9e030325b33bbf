"""The sandbox's world survives JSON: every kept object comes back equal, the ids continue past the saved ones,
and what is not worth keeping (deleted and ephemeral messages, old chatter) is left out."""

from __future__ import annotations

import json

import pytest

from bot.sandbox.state import (
    Attachment,
    ChannelType,
    Message,
    Overwrite,
    P,
    SandboxState,
    Webhook,
    WorldFormatError,
    load_world,
    world_json,
)
from bot.sandbox.state.persist import KEEP_RECENT


def _world() -> SandboxState:
    st = SandboxState()
    st.bot_user = st.add_user("Persona Hub", bot=True)
    alice = st.add_user("alice", global_name="Alice")
    guild = st.add_guild("Sandbox", alice)
    guild.emojis[st.snowflake()] = "blob"
    role = st.add_role(guild, "Persona Hub", P.SEND_MESSAGES, managed=True)
    st.add_member(guild, st.bot_user, [role])
    general = st.add_channel(guild, "general", topic="General chat")
    general.overwrites[role.id] = Overwrite(role.id, 0, allow=P.VIEW_CHANNEL, deny=P.MENTION_EVERYONE)
    thread = st.add_channel(guild, "t", type=ChannelType.PRIVATE_THREAD, parent=general, owner=alice)
    st.dm_channel(alice)
    hook = Webhook(st.snowflake(), "tok", general.id, guild.id, "relay", creator_id=st.bot_user.id)
    st.webhooks[hook.id] = hook
    for n, kwargs in enumerate(
        [
            {"author_id": alice.id, "content": "hi", "reactions": {"❤️": {alice.id: None}}},
            {
                "author_id": hook.id,
                "webhook_id": hook.id,
                "webhook_username": "Ada",
                "content": "hello",
                "embeds": [{"title": "t"}],
                "components": [{"type": 1, "components": []}],
                "attachments": [Attachment(st.snowflake(), "mood.png", b"\x89PNG", "image/png", width=1, height=1)],
                "reference": {"message_id": "1"},
            },
            {"author_id": alice.id, "content": "gone", "deleted": True},
            {"author_id": st.bot_user.id, "content": "only you", "visible_to": alice.id, "flags": 64},
        ]
    ):
        m = Message(id=st.snowflake(), channel_id=general.id, guild_id=guild.id, **kwargs)
        st.messages[m.id] = m
        general.message_ids.append(m.id)
        general.last_message_id = m.id
        assert n == len(general.message_ids) - 1
    assert thread.thread_members == {alice.id}
    return st


def test_the_world_comes_back_equal_through_json() -> None:
    st = _world()
    data = json.loads(json.dumps(world_json(st)))
    back = SandboxState()
    load_world(back, data)
    assert back.users == st.users and back.guilds == st.guilds and back.roles == st.roles
    assert back.webhooks == st.webhooks and back.bot_user == st.bot_user
    kept = [m for m in st.messages.values() if not m.deleted and m.visible_to is None]
    assert list(back.messages.values()) == kept
    general = next(c for c in st.channels.values() if c.name == "general")
    assert back.channels[general.id].message_ids == [m.id for m in kept]
    for cid, c in st.channels.items():
        if c.id != general.id:
            assert back.channels[cid] == c
    assert back.snowflake() > st.snowflake.last >= max([*st.messages, *st.users, *st.webhooks])


def test_only_recent_chatter_is_kept_but_the_bots_messages_stay_longer() -> None:
    st = _world()
    general = next(c for c in st.channels.values() if c.name == "general")
    alice = next(u for u in st.users.values() if u.username == "alice")
    bot_message = Message(id=st.snowflake(), channel_id=general.id, author_id=st.bot_user.id, content="panel")
    chatter = [Message(id=st.snowflake(), channel_id=general.id, author_id=alice.id) for _ in range(KEEP_RECENT)]
    for m in [bot_message, *chatter]:
        st.messages[m.id] = m
        general.message_ids.append(m.id)
    back = SandboxState()
    load_world(back, world_json(st))
    ids = back.channels[general.id].message_ids
    assert bot_message.id in ids and [m.id for m in chatter] == ids[-KEEP_RECENT:]
    assert not any(back.messages[i].content == "hi" for i in ids)  # alice's first, pushed out


def test_a_saved_world_of_another_version_is_refused_and_nothing_changes() -> None:
    st = _world()
    before = dict(st.users)
    with pytest.raises(WorldFormatError):
        load_world(st, {"version": 99})
    with pytest.raises(WorldFormatError):
        load_world(st, {**world_json(st), "users": [{"nope": 1}]})
    assert st.users == before
