"""The sandbox's world as JSON and back, so a playground keeps its server, channels, users, roles, webhooks and
recent messages (with the same ids) from one launch to the next.

:func:`world_json` is what is written; :func:`load_world` fills an existing :class:`SandboxState` in place (the
gateway and server hold references to it) and moves the snowflake generator past every id it read, so new ids
still sort after old ones. Interactions, requests, slash commands (the bot syncs them again), SKUs and
entitlements are not kept. Nothing here does I/O.
"""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any

from bot.sandbox.state.models import (
    Attachment,
    Channel,
    Guild,
    Member,
    Message,
    Overwrite,
    Role,
    User,
    Webhook,
)
from bot.sandbox.state.world import SandboxState

VERSION = 1
# Per channel: the newest messages kept, and how far back the bot's own (and its webhooks') messages are kept so
# the buttons, replies and reactions that point at them still find them.
KEEP_RECENT = 200
KEEP_BOT_WITHIN = 2000
# Attachments bigger than this keep their name and size but not their bytes.
KEEP_ATTACHMENT_BYTES = 512 * 1024


def _time(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def _attachment(a: Attachment) -> dict[str, Any]:
    keep = len(a.data) <= KEEP_ATTACHMENT_BYTES
    return {
        "id": a.id,
        "filename": a.filename,
        "data": base64.b64encode(a.data).decode() if keep else "",
        "content_type": a.content_type,
        "description": a.description,
        "width": a.width,
        "height": a.height,
    }


def _message(m: Message) -> dict[str, Any]:
    return {
        "id": m.id,
        "channel_id": m.channel_id,
        "author_id": m.author_id,
        "content": m.content,
        "guild_id": m.guild_id,
        "type": m.type,
        "embeds": m.embeds,
        "components": m.components,
        "attachments": [_attachment(a) for a in m.attachments],
        "flags": m.flags,
        "pinned": m.pinned,
        "timestamp": m.timestamp.isoformat(),
        "edited_timestamp": m.edited_timestamp.isoformat() if m.edited_timestamp else None,
        "reference": m.reference,
        "mention_ids": m.mention_ids,
        "mention_role_ids": m.mention_role_ids,
        "mention_everyone": m.mention_everyone,
        "reactions": {key: list(users) for key, users in m.reactions.items()},
        "animated_reactions": sorted(m.animated_reactions),
        "webhook_id": m.webhook_id,
        "webhook_username": m.webhook_username,
        "webhook_avatar_url": m.webhook_avatar_url,
        "application_id": m.application_id,
        "interaction_metadata": m.interaction_metadata,
    }


def _load_message(d: dict[str, Any]) -> Message:
    atts = [
        Attachment(
            id=a["id"],
            filename=a["filename"],
            data=base64.b64decode(a["data"]),
            content_type=a.get("content_type"),
            description=a.get("description"),
            width=a.get("width"),
            height=a.get("height"),
        )
        for a in d.get("attachments", [])
    ]
    fields = {k: v for k, v in d.items() if k not in ("attachments", "reactions", "animated_reactions")}
    fields["timestamp"] = _time(d["timestamp"])
    fields["edited_timestamp"] = _time(d.get("edited_timestamp"))
    return Message(
        **fields,
        attachments=atts,
        reactions={key: dict.fromkeys(users) for key, users in d.get("reactions", {}).items()},
        animated_reactions=set(d.get("animated_reactions", [])),
    )


def kept_messages(state: SandboxState, channel: Channel) -> list[Message]:
    """The messages of ``channel`` worth keeping: the newest :data:`KEEP_RECENT`, and the bot's and webhooks'
    among the newest :data:`KEEP_BOT_WITHIN`; never deleted or ephemeral ones."""
    bot_id = state.bot_user.id if state.bot_user else None
    alive = [
        m
        for mid in channel.message_ids
        if (m := state.messages.get(mid)) is not None and not m.deleted and m.visible_to is None
    ]
    recent = {m.id for m in alive[-KEEP_RECENT:]}
    return [
        m
        for m in alive[-KEEP_BOT_WITHIN:]
        if m.id in recent or m.author_id == bot_id or m.webhook_id is not None or m.application_id is not None
    ]


def _channel(c: Channel, message_ids: list[int]) -> dict[str, Any]:
    return {
        "id": c.id,
        "type": c.type,
        "name": c.name,
        "guild_id": c.guild_id,
        "parent_id": c.parent_id,
        "position": c.position,
        "topic": c.topic,
        "overwrites": [vars(o) for o in c.overwrites.values()],
        "recipients": c.recipients,
        "owner_id": c.owner_id,
        "archived": c.archived,
        "locked": c.locked,
        "thread_members": sorted(c.thread_members),
        "message_ids": message_ids,
        "last_message_id": c.last_message_id,
        "rate_limit_per_user": c.rate_limit_per_user,
        "nsfw": c.nsfw,
    }


def _load_channel(d: dict[str, Any]) -> Channel:
    fields = {k: v for k, v in d.items() if k not in ("overwrites", "thread_members")}
    return Channel(
        **fields,
        overwrites={o["id"]: Overwrite(**o) for o in d.get("overwrites", [])},
        thread_members=set(d.get("thread_members", [])),
    )


def _guild(g: Guild) -> dict[str, Any]:
    return {
        "id": g.id,
        "name": g.name,
        "owner_id": g.owner_id,
        "channel_ids": g.channel_ids,
        "role_ids": g.role_ids,
        "members": [{**vars(m), "joined_at": m.joined_at.isoformat()} for m in g.members.values()],
        "locale": g.locale,
        "emojis": {str(k): v for k, v in g.emojis.items()},
    }


def _load_guild(d: dict[str, Any]) -> Guild:
    members = {}
    for m in d.get("members", []):
        member = Member(**{**m, "joined_at": _time(m["joined_at"])})
        members[member.user_id] = member
    return Guild(
        id=d["id"],
        name=d["name"],
        owner_id=d["owner_id"],
        channel_ids=d.get("channel_ids", []),
        role_ids=d.get("role_ids", []),
        members=members,
        locale=d.get("locale", "en-US"),
        emojis={int(k): v for k, v in d.get("emojis", {}).items()},
    )


def world_json(state: SandboxState) -> dict[str, Any]:
    """Everything :func:`load_world` needs to bring this world back, as JSON-ready data."""
    channels = []
    messages = []
    for c in state.channels.values():
        kept = kept_messages(state, c)
        channels.append(_channel(c, [m.id for m in kept]))
        messages += [_message(m) for m in kept]
    return {
        "version": VERSION,
        "bot_user_id": state.bot_user.id if state.bot_user else None,
        "last_id": state.snowflake.last,
        "users": [vars(u) for u in state.users.values()],
        "guilds": [_guild(g) for g in state.guilds.values()],
        "roles": [vars(r) for r in state.roles.values()],
        "channels": channels,
        "messages": messages,
        "webhooks": [vars(w) for w in state.webhooks.values()],
    }


class WorldFormatError(ValueError):
    """The saved world cannot be read (another version, or damaged)."""


def load_world(state: SandboxState, data: dict[str, Any]) -> None:
    """Replace ``state``'s users, guilds, roles, channels, messages and webhooks with those in ``data`` (from
    :func:`world_json`), in place. Raises :class:`WorldFormatError` when ``data`` cannot be read; ``state`` is
    unchanged then."""
    if not isinstance(data, dict) or data.get("version") != VERSION:
        raise WorldFormatError(f"not a version {VERSION} sandbox world")
    try:
        users = {u["id"]: User(**u) for u in data["users"]}
        guilds = {g["id"]: _load_guild(g) for g in data["guilds"]}
        roles = {r["id"]: Role(**r) for r in data["roles"]}
        channels = {c["id"]: _load_channel(c) for c in data["channels"]}
        messages = {m["id"]: _load_message(m) for m in data["messages"]}
        webhooks = {w["id"]: Webhook(**w) for w in data["webhooks"]}
        bot_user = users[data["bot_user_id"]]
    except (KeyError, TypeError, ValueError) as error:
        raise WorldFormatError(f"damaged sandbox world ({type(error).__name__}: {error})") from None
    state.users, state.guilds, state.roles = users, guilds, roles
    state.channels, state.messages, state.webhooks = channels, messages, webhooks
    state.bot_user = bot_user
    state.interactions.clear()
    state.interactions_by_token.clear()
    ids = [*users, *guilds, *roles, *channels, *messages, *webhooks, int(data.get("last_id") or 0)]
    ids += [a.id for m in messages.values() for a in m.attachments]
    ids += [e for g in guilds.values() for e in g.emojis]
    state.snowflake.advance_past(max(ids, default=0))
