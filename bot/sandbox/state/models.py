"""The sandbox's data model: permission bits, channel types, snowflake ids, and the plain dataclasses for users,
guilds, channels, messages, webhooks, interactions, SKUs, entitlements and logged requests. Nothing here does I/O.
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

    @property
    def last(self) -> int:
        """The greatest id made so far (0 before the first)."""
        return self._last

    def advance_past(self, snowflake: int) -> None:
        """Every id made from now on is greater than ``snowflake`` (ids read back from a saved world)."""
        self._last = max(self._last, snowflake)


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
    accepts_dms: bool = True  # False: the person closed their DMs to the bot (sending answers 403, code 50007)


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
    emojis: dict[int, str] = field(default_factory=dict)  # custom emoji id -> name (reactions may use these)


@dataclass
class Attachment:
    id: int
    filename: str
    data: bytes
    content_type: str | None = None
    description: str | None = None
    url: str = ""
    # An image's size, read once when it is stored (``content.image_size``).
    width: int | None = None
    height: int | None = None


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
    animated_reactions: set[str] = field(default_factory=set)  # keys of the custom emoji that are animated
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
    trigger_id: int | None = None  # a modal submit: the interaction whose answer opened the modal


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


def in_days(days: float) -> datetime:
    return now() + timedelta(days=days)
