"""In-memory model of the sandbox's little Discord: users, guilds, channels, messages and the rest.

Objects are plain dataclasses; ``to_*`` functions turn them into the JSON shapes Discord sends
(the keys discord.py's ``types/`` TypedDicts require). Nothing here does I/O.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

DISCORD_EPOCH_MS = 1_420_070_400_000
ATTACHMENT_SIZE_LIMIT = 10 * 1024 * 1024


class P:
    """Permission bits (Discord's values) the sandbox checks."""

    CREATE_INSTANT_INVITE = 1 << 0
    KICK_MEMBERS = 1 << 1
    ADMINISTRATOR = 1 << 3
    MANAGE_CHANNELS = 1 << 4
    MANAGE_GUILD = 1 << 5
    ADD_REACTIONS = 1 << 6
    VIEW_CHANNEL = 1 << 10
    SEND_MESSAGES = 1 << 11
    MANAGE_MESSAGES = 1 << 13
    EMBED_LINKS = 1 << 14
    ATTACH_FILES = 1 << 15
    READ_MESSAGE_HISTORY = 1 << 16
    MENTION_EVERYONE = 1 << 17
    USE_EXTERNAL_EMOJIS = 1 << 18
    CHANGE_NICKNAME = 1 << 26
    MANAGE_ROLES = 1 << 28
    MANAGE_WEBHOOKS = 1 << 29
    USE_APPLICATION_COMMANDS = 1 << 31
    MANAGE_THREADS = 1 << 34
    CREATE_PUBLIC_THREADS = 1 << 35
    CREATE_PRIVATE_THREADS = 1 << 36
    SEND_MESSAGES_IN_THREADS = 1 << 38
    ALL = (1 << 51) - 1
    # What a fresh server's @everyone gets, roughly.
    DEFAULT = (
        CREATE_INSTANT_INVITE
        | ADD_REACTIONS
        | VIEW_CHANNEL
        | SEND_MESSAGES
        | EMBED_LINKS
        | ATTACH_FILES
        | READ_MESSAGE_HISTORY
        | MENTION_EVERYONE
        | USE_EXTERNAL_EMOJIS
        | CHANGE_NICKNAME
        | USE_APPLICATION_COMMANDS
        | CREATE_PUBLIC_THREADS
        | CREATE_PRIVATE_THREADS
        | SEND_MESSAGES_IN_THREADS
    )


class ChannelType:
    GUILD_TEXT = 0
    DM = 1
    GUILD_CATEGORY = 4
    PUBLIC_THREAD = 11
    PRIVATE_THREAD = 12
    THREAD_TYPES = (11, 12)


class SnowflakeGenerator:
    """Discord-style ids: milliseconds since 2015 in the high bits, so ids sort by creation time."""

    def __init__(self) -> None:
        self._counter = itertools.count()
        self._last = 0

    def __call__(self) -> int:
        ms = int(time.time() * 1000) - DISCORD_EPOCH_MS
        candidate = (ms << 22) | (1 << 17) | (next(self._counter) & 0xFFF)
        # Strictly increasing even when the clock does not move or the counter wraps.
        if candidate <= self._last:
            candidate = self._last + 1
        self._last = candidate
        return candidate


def iso(dt: datetime | None) -> str | None:
    return None if dt is None else dt.isoformat()


def now() -> datetime:
    return datetime.now(UTC)


@dataclass
class User:
    id: int
    username: str
    bot: bool = False
    global_name: str | None = None
    avatar: str | None = None
    dm_channel_id: int | None = None


@dataclass
class Role:
    id: int
    guild_id: int
    name: str
    permissions: int = 0
    position: int = 0
    color: int = 0
    hoist: bool = False
    mentionable: bool = False
    managed: bool = False


@dataclass
class Member:
    user_id: int
    guild_id: int
    roles: list[int] = field(default_factory=list)
    nick: str | None = None
    joined_at: datetime = field(default_factory=now)


@dataclass
class Overwrite:
    id: int
    type: int  # 0 role, 1 member
    allow: int = 0
    deny: int = 0


@dataclass
class Channel:
    id: int
    type: int
    name: str | None = None
    guild_id: int | None = None
    parent_id: int | None = None
    position: int = 0
    topic: str | None = None
    overwrites: dict[int, Overwrite] = field(default_factory=dict)
    recipients: list[int] = field(default_factory=list)  # DMs
    owner_id: int | None = None  # threads
    archived: bool = False
    locked: bool = False
    thread_members: set[int] = field(default_factory=set)
    message_ids: list[int] = field(default_factory=list)
    last_message_id: int | None = None
    rate_limit_per_user: int = 0
    nsfw: bool = False

    @property
    def is_thread(self) -> bool:
        return self.type in ChannelType.THREAD_TYPES


@dataclass
class Guild:
    id: int
    name: str
    owner_id: int
    channel_ids: list[int] = field(default_factory=list)
    role_ids: list[int] = field(default_factory=list)
    members: dict[int, Member] = field(default_factory=dict)
    locale: str = "en-US"


@dataclass
class Attachment:
    id: int
    filename: str
    data: bytes
    content_type: str | None = None
    description: str | None = None
    url: str = ""


@dataclass
class Message:
    id: int
    channel_id: int
    author_id: int
    content: str = ""
    guild_id: int | None = None
    type: int = 0
    embeds: list[dict[str, Any]] = field(default_factory=list)
    components: list[dict[str, Any]] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    flags: int = 0
    tts: bool = False
    pinned: bool = False
    timestamp: datetime = field(default_factory=now)
    edited_timestamp: datetime | None = None
    reference: dict[str, Any] | None = None
    mention_ids: list[int] = field(default_factory=list)
    mention_role_ids: list[int] = field(default_factory=list)
    mention_everyone: bool = False
    # ``allowed_mentions`` exactly as the sender sent it, for tests.
    allowed_mentions: dict[str, Any] | None = None
    # emoji key -> user ids in reaction order
    reactions: dict[str, dict[int, None]] = field(default_factory=dict)  # emoji key -> reactors, in order
    webhook_id: int | None = None
    # Webhook executions show a per-message name and avatar, as on Discord.
    webhook_username: str | None = None
    webhook_avatar_url: str | None = None
    application_id: int | None = None
    interaction_metadata: dict[str, Any] | None = None
    # Ephemeral messages are only visible to this user.
    visible_to: int | None = None
    nonce: str | int | None = None
    deleted: bool = False

    @property
    def ephemeral(self) -> bool:
        return bool(self.flags & 64)


@dataclass
class Webhook:
    id: int
    token: str
    channel_id: int
    guild_id: int | None
    name: str
    avatar: str | None = None
    creator_id: int | None = None
    application_id: int | None = None
    type: int = 1  # 1 incoming, 3 application (interaction follow-ups)


@dataclass
class Interaction:
    id: int
    token: str
    type: int  # 2 command, 3 component, 4 autocomplete, 5 modal submit
    user_id: int
    channel_id: int
    guild_id: int | None
    data: dict[str, Any]
    created: float  # loop.time()
    message_id: int | None = None
    response_type: int | None = None
    response_data: dict[str, Any] | None = None
    ephemeral: bool = False
    original_message_id: int | None = None
    original_filled: bool = False
    followup_ids: list[int] = field(default_factory=list)
    error: str | None = None
    payload: dict[str, Any] = field(default_factory=dict)


@dataclass
class SKU:
    id: int
    name: str
    type: int = 5  # 5 subscription, 6 subscription group, 2 durable, 3 consumable
    slug: str = ""
    flags: int = 1 << 2  # available


@dataclass
class Entitlement:
    id: int
    sku_id: int
    user_id: int | None
    guild_id: int | None
    type: int = 4  # 4 TEST_MODE_PURCHASE
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    deleted: bool = False
    consumed: bool = False

    def active(self, at: datetime | None = None) -> bool:
        at = at or now()
        if self.deleted:
            return False
        if self.starts_at and at < self.starts_at:
            return False
        return not (self.ends_at and at >= self.ends_at)


@dataclass
class RequestRecord:
    """One REST request the bot (or anything else) made to the sandbox."""

    method: str
    route: str  # Discord's route template, e.g. "/channels/{channel_id}/messages"
    path: str
    query: dict[str, str]
    json: Any
    form: dict[str, Any]
    files: list[tuple[str, str, int]]  # (field, filename, size)
    status: int = 0
    at: float = 0.0

    @property
    def key(self) -> str:
        return f"{self.method} {self.route}"

    @property
    def body(self) -> Any:
        """The JSON payload, whether sent as JSON or as multipart ``payload_json``."""
        return self.json


class SandboxState:
    """Everything the sandbox knows. Mutations are plain method calls; the server dispatches events."""

    def __init__(self) -> None:
        self.snowflake = SnowflakeGenerator()
        self.users: dict[int, User] = {}
        self.guilds: dict[int, Guild] = {}
        self.channels: dict[int, Channel] = {}
        self.roles: dict[int, Role] = {}
        self.messages: dict[int, Message] = {}
        self.webhooks: dict[int, Webhook] = {}
        self.interactions: dict[int, Interaction] = {}
        self.interactions_by_token: dict[str, Interaction] = {}
        # (guild_id or None) -> name -> command payload
        self.commands: dict[int | None, dict[str, dict[str, Any]]] = {}
        self.skus: dict[int, SKU] = {}
        self.entitlements: dict[int, Entitlement] = {}
        self.requests: list[RequestRecord] = []
        self.bot_user: User | None = None

    # ----- creation -----

    def add_user(self, username: str, *, bot: bool = False, global_name: str | None = None) -> User:
        user = User(id=self.snowflake(), username=username, bot=bot, global_name=global_name)
        self.users[user.id] = user
        return user

    def add_guild(self, name: str, owner: User) -> Guild:
        gid = self.snowflake()
        guild = Guild(id=gid, name=name, owner_id=owner.id)
        self.guilds[gid] = guild
        # The @everyone role shares the guild's id, as on Discord.
        everyone = Role(id=gid, guild_id=gid, name="@everyone", permissions=P.DEFAULT)
        self.roles[gid] = everyone
        guild.role_ids.append(gid)
        self.add_member(guild, owner)
        return guild

    def add_role(self, guild: Guild, name: str, permissions: int = 0, *, managed: bool = False) -> Role:
        role = Role(
            id=self.snowflake(),
            guild_id=guild.id,
            name=name,
            permissions=permissions,
            position=len(guild.role_ids),
            managed=managed,
        )
        self.roles[role.id] = role
        guild.role_ids.append(role.id)
        return role

    def add_member(self, guild: Guild, user: User, roles: list[Role] | None = None) -> Member:
        member = Member(user_id=user.id, guild_id=guild.id, roles=[r.id for r in roles or []])
        guild.members[user.id] = member
        return member

    def add_channel(
        self,
        guild: Guild | None,
        name: str | None,
        *,
        type: int = ChannelType.GUILD_TEXT,
        parent: Channel | None = None,
        owner: User | None = None,
        topic: str | None = None,
    ) -> Channel:
        channel = Channel(
            id=self.snowflake(),
            type=type,
            name=name,
            guild_id=guild.id if guild else None,
            parent_id=parent.id if parent else None,
            owner_id=owner.id if owner else None,
            topic=topic,
        )
        if guild is not None:
            channel.position = len(guild.channel_ids)
            guild.channel_ids.append(channel.id)
        if channel.is_thread and owner is not None:
            channel.thread_members.add(owner.id)
        self.channels[channel.id] = channel
        return channel

    def dm_channel(self, user: User) -> Channel:
        """The DM channel between ``user`` and the bot (created on first use)."""
        if user.dm_channel_id is not None:
            return self.channels[user.dm_channel_id]
        assert self.bot_user is not None
        channel = self.add_channel(None, None, type=ChannelType.DM)
        channel.recipients = [user.id, self.bot_user.id]
        user.dm_channel_id = channel.id
        return channel

    # ----- permissions -----

    def base_permissions(self, guild: Guild, user_id: int) -> int:
        if user_id == guild.owner_id:
            return P.ALL
        member = guild.members.get(user_id)
        if member is None:
            return 0
        perms = self.roles[guild.id].permissions
        for rid in member.roles:
            perms |= self.roles[rid].permissions
        if perms & P.ADMINISTRATOR:
            return P.ALL
        return perms

    def permissions_in(self, channel: Channel, user_id: int) -> int:
        """Discord's permission algorithm: base, then @everyone, role and member overwrites."""
        if channel.guild_id is None:
            # DMs: the participants can do the usual things.
            if user_id in channel.recipients:
                return P.DEFAULT & ~(P.MENTION_EVERYONE | P.CREATE_PUBLIC_THREADS | P.CREATE_PRIVATE_THREADS)
            return 0
        if channel.is_thread and channel.parent_id is not None:
            perms = self.permissions_in(self.channels[channel.parent_id], user_id)
            if channel.type == ChannelType.PRIVATE_THREAD and user_id not in channel.thread_members:
                if not perms & P.MANAGE_THREADS:
                    perms &= ~P.VIEW_CHANNEL
            return perms
        guild = self.guilds[channel.guild_id]
        perms = self.base_permissions(guild, user_id)
        if perms & P.ADMINISTRATOR or perms == P.ALL:
            return P.ALL
        overwrites = channel.overwrites
        everyone = overwrites.get(guild.id)
        if everyone:
            perms = (perms & ~everyone.deny) | everyone.allow
        member = guild.members.get(user_id)
        role_ids = member.roles if member else []
        allow = deny = 0
        for rid in role_ids:
            ow = overwrites.get(rid)
            if ow and ow.type == 0:
                allow |= ow.allow
                deny |= ow.deny
        perms = (perms & ~deny) | allow
        mine = overwrites.get(user_id)
        if mine and mine.type == 1:
            perms = (perms & ~mine.deny) | mine.allow
        if not perms & P.VIEW_CHANNEL:
            # Without VIEW_CHANNEL nothing else applies.
            return 0
        if not perms & P.SEND_MESSAGES:
            perms &= ~(P.MENTION_EVERYONE | P.EMBED_LINKS | P.ATTACH_FILES)
        return perms

    # ----- messages -----

    def visible_messages(self, channel: Channel, viewer_id: int | None = None) -> list[Message]:
        out = []
        for mid in channel.message_ids:
            m = self.messages[mid]
            if m.deleted:
                continue
            if m.visible_to is not None and m.visible_to != viewer_id:
                continue
            out.append(m)
        return out

    def find_entitlements(self, user_id: int | None = None, guild_id: int | None = None) -> list[Entitlement]:
        return [
            e
            for e in self.entitlements.values()
            if e.active() and ((user_id is not None and e.user_id == user_id) or (guild_id and e.guild_id == guild_id))
        ]


# ---------------------------------------------------------------------------------------------
# JSON shapes


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


def guild_json(state: SandboxState, g: Guild, *, full: bool = True) -> dict[str, Any]:
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
        "emojis": [],
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
        "max_members": 500000,
        "approximate_member_count": len(g.members),
    }
    if full:
        channels = [state.channels[c] for c in g.channel_ids]
        data.update(
            joined_at=iso(now()),
            large=False,
            unavailable=False,
            member_count=len(g.members),
            voice_states=[],
            members=[member_json(state, m) for m in g.members.values()],
            channels=[channel_json(state, c) for c in channels if not c.is_thread],
            threads=[channel_json(state, c) for c in channels if c.is_thread and not c.archived],
            presences=[],
            stage_instances=[],
            guild_scheduled_events=[],
            soundboard_sounds=[],
        )
    return data


def attachment_json(a: Attachment) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": str(a.id),
        "filename": a.filename,
        "size": len(a.data),
        "url": a.url,
        "proxy_url": a.url,
    }
    if a.content_type:
        data["content_type"] = a.content_type
    if a.description:
        data["description"] = a.description
    return data


def emoji_json(key: str) -> dict[str, Any]:
    name, _, eid = key.partition(":")
    return {"id": eid or None, "name": name}


def message_json(state: SandboxState, m: Message, *, viewer_id: int | None = None) -> dict[str, Any]:
    if m.webhook_id is not None and m.application_id is None:
        # Webhook messages are authored by the webhook itself, under the name/avatar of that execution.
        wh = state.webhooks.get(m.webhook_id)
        author = {
            "id": str(m.webhook_id),
            "username": m.webhook_username or (wh.name if wh else "Webhook"),
            "discriminator": "0000",
            "global_name": None,
            "avatar": wh.avatar if wh else None,
            "bot": True,
            "public_flags": 0,
        }
        if m.webhook_avatar_url:
            # Discord proxies the avatar; we keep the URL the sender gave so tests can read it back.
            author["avatar_url"] = m.webhook_avatar_url
    else:
        author = user_json(state.users[m.author_id])
    reactions = []
    for key, users in m.reactions.items():
        if not users:
            continue
        reactions.append(
            {
                "emoji": emoji_json(key),
                "count": len(users),
                "count_details": {"burst": 0, "normal": len(users)},
                "me": state.bot_user is not None and state.bot_user.id in users,
                "me_burst": False,
                "burst_colors": [],
            }
        )
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
        "attachments": [attachment_json(a) for a in m.attachments],
        "embeds": m.embeds,
        "components": m.components,
        "pinned": m.pinned,
        "type": m.type,
        "flags": m.flags,
        "reactions": reactions,
    }
    if m.guild_id is not None:
        data["guild_id"] = str(m.guild_id)
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


def in_days(days: float) -> datetime:
    return now() + timedelta(days=days)
