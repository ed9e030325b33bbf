"""The JSON shapes Discord sends for the sandbox's objects (the keys discord.py's ``types/`` TypedDicts require):
``user_json``, ``channel_json``, ``message_json``, ... Pure functions of the state."""

from __future__ import annotations

import hashlib
from typing import Any

from bot.sandbox.state.content import referenced_urls
from bot.sandbox.state.models import (
    SKU,
    Attachment,
    Channel,
    ChannelType,
    Entitlement,
    Guild,
    Member,
    Message,
    Overwrite,
    Role,
    User,
    Webhook,
    iso,
    now,
)
from bot.sandbox.state.world import SandboxState


def user_json(u: User) -> dict[str, Any]:
    return {
        "id": str(u.id),
        "username": u.username,
        "discriminator": "0",
        "global_name": u.global_name,
        "avatar": u.avatar,
        "bot": u.bot,
        "public_flags": 0,
        "flags": 0,
        "avatar_decoration_data": None,
        "primary_guild": None,
        "collectibles": None,
    }


def bot_user_json(u: User) -> dict[str, Any]:
    """The bot's own user as ``GET /users/@me`` and READY describe it."""
    data = user_json(u)
    data.update(verified=True, mfa_enabled=False, locale="en-US", email=None)
    return data


def role_json(r: Role) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": str(r.id),
        "name": r.name,
        "color": r.color,
        "colors": {"primary_color": r.color, "secondary_color": None, "tertiary_color": None},
        "hoist": r.hoist,
        "icon": None,
        "unicode_emoji": None,
        "position": r.position,
        "permissions": str(r.permissions),
        "managed": r.managed,
        "mentionable": r.mentionable,
        "flags": 0,
        "tags": {},
    }
    return data


def member_json(state: SandboxState, m: Member, *, with_user: bool = True) -> dict[str, Any]:
    data: dict[str, Any] = {
        "roles": [str(r) for r in m.roles],
        "nick": m.nick,
        "avatar": None,
        "banner": None,
        "joined_at": iso(m.joined_at),
        "premium_since": None,
        "deaf": False,
        "mute": False,
        "flags": 0,
        "pending": False,
        "communication_disabled_until": None,
    }
    if with_user:
        data["user"] = user_json(state.users[m.user_id])
    return data


def overwrite_json(o: Overwrite) -> dict[str, Any]:
    return {"id": str(o.id), "type": o.type, "allow": str(o.allow), "deny": str(o.deny)}


def channel_json(state: SandboxState, c: Channel) -> dict[str, Any]:
    if c.type == ChannelType.DM:
        bot_id = state.bot_user.id if state.bot_user else 0
        return {
            "id": str(c.id),
            "type": c.type,
            "last_message_id": str(c.last_message_id) if c.last_message_id else None,
            "recipients": [user_json(state.users[u]) for u in c.recipients if u != bot_id],
            "flags": 0,
        }
    data: dict[str, Any] = {
        "id": str(c.id),
        "type": c.type,
        "guild_id": str(c.guild_id) if c.guild_id else None,
        "name": c.name,
        "position": c.position,
        "flags": 0,
        "parent_id": str(c.parent_id) if c.parent_id else None,
        "nsfw": c.nsfw,
        "rate_limit_per_user": c.rate_limit_per_user,
        "last_message_id": str(c.last_message_id) if c.last_message_id else None,
    }
    if c.is_thread:
        data.pop("position")
        data.update(
            owner_id=str(c.owner_id) if c.owner_id else None,
            member_count=len(c.thread_members),
            message_count=len(c.message_ids),
            total_message_sent=len(c.message_ids),
            thread_metadata={
                "archived": c.archived,
                "auto_archive_duration": 1440,
                "archive_timestamp": iso(now()),
                "locked": c.locked,
                "invitable": True,
                "create_timestamp": iso(now()),
            },
        )
    else:
        data["topic"] = c.topic
        data["permission_overwrites"] = [overwrite_json(o) for o in c.overwrites.values()]
        data["default_auto_archive_duration"] = 1440
    return data


def guild_emoji_json(emoji_id: int, name: str) -> dict[str, Any]:
    """A server's custom emoji (developers/resources/emoji.mdx "Emoji Object")."""
    return {
        "id": str(emoji_id),
        "name": name,
        "roles": [],
        "require_colons": True,
        "managed": False,
        "animated": False,
        "available": True,
    }


def guild_json(
    state: SandboxState, g: Guild, *, full: bool = True, with_counts: bool = False, only_member_id: int | None = None
) -> dict[str, Any]:
    """A guild object (developers/resources/guild.mdx, "Guild Structure"); ``full``: GUILD_CREATE's extra fields
    (developers/events/gateway-events.mdx), its ``members`` only ``only_member_id`` when given (without the
    presences intent Discord sends only the bot); ``with_counts``: the approximate counts of ``GET /guilds/{id}``."""
    data: dict[str, Any] = {
        "id": str(g.id),
        "name": g.name,
        "icon": None,
        "splash": None,
        "discovery_splash": None,
        "owner_id": str(g.owner_id),
        "afk_channel_id": None,
        "afk_timeout": 300,
        "verification_level": 0,
        "default_message_notifications": 0,
        "explicit_content_filter": 0,
        "roles": [role_json(state.roles[r]) for r in g.role_ids],
        "emojis": [guild_emoji_json(eid, name) for eid, name in g.emojis.items()],
        "stickers": [],
        "features": [],
        "mfa_level": 0,
        "application_id": None,
        "system_channel_id": None,
        "system_channel_flags": 0,
        "rules_channel_id": None,
        "vanity_url_code": None,
        "description": None,
        "banner": None,
        "premium_tier": 0,
        "premium_subscription_count": 0,
        "preferred_locale": g.locale,
        "public_updates_channel_id": None,
        "nsfw_level": 0,
        "premium_progress_bar_enabled": False,
        "safety_alerts_channel_id": None,
        "incidents_data": None,
        "max_members": 500000,
        "max_video_channel_users": 25,
        "max_stage_video_channel_users": 50,
    }
    if with_counts:
        data.update(approximate_member_count=len(g.members), approximate_presence_count=0)
    if full:
        channels = [state.channels[c] for c in g.channel_ids]
        data.update(
            joined_at=iso(now()),
            large=False,
            unavailable=False,
            member_count=len(g.members),
            voice_states=[],
            members=[member_json(state, m) for m in g.members.values() if only_member_id in (None, m.user_id)],
            channels=[channel_json(state, c) for c in channels if not c.is_thread],
            threads=[channel_json(state, c) for c in channels if c.is_thread and not c.archived],
            presences=[],
            stage_instances=[],
            guild_scheduled_events=[],
            soundboard_sounds=[],
        )
    return data


def partial_guild_json(state: SandboxState, g: Guild, user_id: int, *, with_counts: bool = False) -> dict[str, Any]:
    """A guild as ``GET /users/@me/guilds`` lists it (developers/resources/user.mdx, "Example Partial Guild")."""
    data: dict[str, Any] = {
        "id": str(g.id),
        "name": g.name,
        "icon": None,
        "banner": None,
        "owner": g.owner_id == user_id,
        "permissions": str(state.base_permissions(g, user_id)),
        "features": [],
    }
    if with_counts:
        data.update(approximate_member_count=len(g.members), approximate_presence_count=0)
    return data


def application_json(state: SandboxState, app_id: int, flags: int) -> dict[str, Any]:
    """The bot's application as ``GET /applications/@me`` returns it (developers/resources/application.mdx,
    "Application Structure" and its example): optional fields Discord leaves out when unset are left out."""
    bot = state.users[app_id]
    owner = next((u for u in state.users.values() if not u.bot), bot)
    return {
        "id": str(app_id),
        "name": bot.username,
        "icon": None,
        "description": "Persona Hub (sandbox)",
        "bot_public": False,
        "bot_require_code_grant": False,
        "bot": user_json(bot),
        "owner": user_json(owner),
        "team": None,
        "verify_key": "0" * 64,
        "flags": flags,
        "flags_new": str(flags),
        "approximate_guild_count": len(state.guilds),
        "approximate_user_install_count": 0,
        "approximate_user_authorization_count": 0,
        "redirect_uris": [],
        "interactions_endpoint_url": None,
        "role_connections_verification_url": None,
        "event_webhooks_url": None,
        "event_webhooks_status": 1,
        "integration_types_config": {
            "0": {"oauth2_install_params": {"scopes": ["applications.commands", "bot"], "permissions": "0"}}
        },
        "install_params": {"scopes": ["applications.commands", "bot"], "permissions": "0"},
    }


def attachment_json(a: Attachment) -> dict[str, Any]:
    """developers/resources/message.mdx, "Attachment Structure": ``width``/``height`` for images."""
    data: dict[str, Any] = {
        "id": str(a.id),
        "filename": a.filename,
        "size": len(a.data),
        "url": a.url,
        "proxy_url": a.url,
    }
    if a.content_type:
        data["content_type"] = a.content_type
    if a.width is not None:
        data["width"], data["height"] = a.width, a.height
    if a.description:
        data["description"] = a.description
    return data


def emoji_json(key: str, animated: bool = False) -> dict[str, Any]:
    """A reaction's partial emoji: ``{"id": null, "name"}`` for unicode (developers/resources/emoji.mdx, "Standard
    Emoji Example"), ``{"id", "name", "animated"}`` for custom ones ("Custom Emoji Examples")."""
    name, _, eid = key.partition(":")
    if not eid:
        return {"id": None, "name": name}
    return {"id": eid, "name": name, "animated": animated}


def avatar_hash(url: str) -> str:
    """The hash Discord gives an avatar it fetched from ``url`` (32 hex digits, as its image hashes are)."""
    return hashlib.md5(url.encode(), usedforsecurity=False).hexdigest()


def webhook_author_json(state: SandboxState, m: Message) -> dict[str, Any]:
    """A webhook message's author: a user object with the webhook's id and the execution's name and avatar
    (developers/resources/message.mdx, note [1] of "Message Structure")."""
    assert m.webhook_id is not None
    wh = state.webhooks.get(m.webhook_id)
    avatar = avatar_hash(m.webhook_avatar_url) if m.webhook_avatar_url else (wh.avatar if wh else None)
    return {
        "id": str(m.webhook_id),
        "username": m.webhook_username or (wh.name if wh else "Webhook"),
        "discriminator": "0000",
        "global_name": None,
        "avatar": avatar,
        "bot": True,
        "public_flags": 0,
        "flags": 0,
    }


def message_json(state: SandboxState, m: Message, *, viewer_id: int | None = None) -> dict[str, Any]:
    """A message object as REST returns it (developers/resources/message.mdx, "Message Structure"): no
    ``guild_id``, no ``member`` (those are MESSAGE_CREATE/UPDATE's extra fields, :func:`message_event_json`)."""
    if m.webhook_id is not None and m.application_id is None:
        author = webhook_author_json(state, m)
    else:
        author = user_json(state.users[m.author_id])
    reactions = []
    for key, users in m.reactions.items():
        if not users:
            continue
        reactions.append(
            {
                "emoji": emoji_json(key, key in m.animated_reactions),
                "count": len(users),
                "count_details": {"burst": 0, "normal": len(users)},
                "me": state.bot_user is not None and state.bot_user.id in users,
                "me_burst": False,
                "burst_colors": [],
            }
        )
    shown = referenced_urls(m.embeds, m.components)  # "attached files that are not referenced in embeds or
    # components" are the message's ``attachments`` (developers/resources/message.mdx)
    data: dict[str, Any] = {
        "id": str(m.id),
        "channel_id": str(m.channel_id),
        "author": author,
        "content": m.content,
        "timestamp": iso(m.timestamp),
        "edited_timestamp": iso(m.edited_timestamp),
        "tts": m.tts,
        "mention_everyone": m.mention_everyone,
        "mentions": [user_json(state.users[u]) for u in m.mention_ids if u in state.users],
        "mention_roles": [str(r) for r in m.mention_role_ids],
        "attachments": [attachment_json(a) for a in m.attachments if a.url not in shown],
        "embeds": m.embeds,
        "components": m.components,
        "pinned": m.pinned,
        "type": m.type,
        "flags": m.flags,
        "reactions": reactions,
    }
    if m.webhook_id is not None:
        data["webhook_id"] = str(m.webhook_id)
    if m.application_id is not None:
        data["application_id"] = str(m.application_id)
    if m.interaction_metadata is not None:
        data["interaction_metadata"] = m.interaction_metadata
    if m.nonce is not None:
        data["nonce"] = m.nonce
    if m.reference is not None:
        data["message_reference"] = m.reference
        ref = state.messages.get(int(m.reference.get("message_id", 0) or 0))
        if m.type == 19:
            data["referenced_message"] = (
                message_json(state, ref) if ref is not None and not ref.deleted and ref.reference is None else None
            )
    return data


def message_event_json(state: SandboxState, m: Message, *, update: bool = False) -> dict[str, Any]:
    """A message as MESSAGE_CREATE / MESSAGE_UPDATE carry it: the message object plus ``guild_id``, the author's
    partial ``member`` (not for webhooks), each guild mention's partial ``member``, and ``channel_type``
    (developers/events/gateway-events.mdx, "Message Create Extra Fields"). In an ``update`` "the value for
    ``tts`` will always be false"."""
    data = message_json(state, m)
    if update:
        data["tts"] = False
    channel = state.channels.get(m.channel_id)
    if channel is not None:
        data["channel_type"] = channel.type
    if m.guild_id is None or m.ephemeral:
        return data
    guild = state.guilds[m.guild_id]
    data["guild_id"] = str(m.guild_id)
    if m.webhook_id is None:
        member = guild.members.get(m.author_id)
        if member is not None:
            data["member"] = member_json(state, member, with_user=False)
    for user in data["mentions"]:
        mentioned = guild.members.get(int(user["id"]))
        if mentioned is not None:
            user["member"] = member_json(state, mentioned, with_user=False)
    return data


def webhook_json(state: SandboxState, w: Webhook, *, with_token: bool = True) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": str(w.id),
        "type": w.type,
        "guild_id": str(w.guild_id) if w.guild_id else None,
        "channel_id": str(w.channel_id),
        "name": w.name,
        "avatar": w.avatar,
        "application_id": str(w.application_id) if w.application_id else None,
    }
    if w.creator_id is not None and w.creator_id in state.users:
        data["user"] = user_json(state.users[w.creator_id])
    if with_token:
        data["token"] = w.token
    return data


def sku_json(app_id: int, s: SKU) -> dict[str, Any]:
    return {
        "id": str(s.id),
        "type": s.type,
        "application_id": str(app_id),
        "name": s.name,
        "slug": s.slug or s.name.lower().replace(" ", "-"),
        "flags": s.flags,
    }


def entitlement_json(app_id: int, e: Entitlement) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": str(e.id),
        "sku_id": str(e.sku_id),
        "application_id": str(app_id),
        "type": e.type,
        "deleted": e.deleted,
        "starts_at": iso(e.starts_at),
        "ends_at": iso(e.ends_at),
        "consumed": e.consumed,
    }
    if e.user_id is not None:
        data["user_id"] = str(e.user_id)
    if e.guild_id is not None:
        data["guild_id"] = str(e.guild_id)
    return data
