"""In-memory model of the sandbox's little Discord: users, guilds, channels, messages and the rest.

- :mod:`.models`: the plain dataclasses, permission bits (:class:`P`), channel types, snowflake ids;
- :mod:`.world`: :class:`SandboxState`, everything the sandbox knows, and its permission arithmetic;
- :mod:`.shapes`: the JSON Discord sends for each object (``user_json``, ``message_json``, ...);
- :mod:`.persist`: the world as JSON and back (``world_json``, ``load_world``), for a playground that keeps it.

Nothing here does I/O. Everything is re-exported here, so ``from bot.sandbox.state import P`` works.
"""

from bot.sandbox.state.models import (
    ATTACHMENT_SIZE_LIMIT,
    DISCORD_EPOCH_MS,
    SKU,
    Attachment,
    Channel,
    ChannelType,
    Entitlement,
    Guild,
    Interaction,
    Member,
    Message,
    Overwrite,
    P,
    RequestRecord,
    Role,
    SnowflakeGenerator,
    User,
    Webhook,
    in_days,
    iso,
    now,
)
from bot.sandbox.state.persist import WorldFormatError, load_world, world_json
from bot.sandbox.state.shapes import (
    application_json,
    attachment_json,
    bot_user_json,
    channel_json,
    emoji_json,
    entitlement_json,
    guild_json,
    member_json,
    message_event_json,
    message_json,
    overwrite_json,
    partial_guild_json,
    role_json,
    sku_json,
    user_json,
    webhook_json,
)
from bot.sandbox.state.world import SandboxState

__all__ = [
    "ATTACHMENT_SIZE_LIMIT",
    "DISCORD_EPOCH_MS",
    "SKU",
    "Attachment",
    "Channel",
    "ChannelType",
    "Entitlement",
    "Guild",
    "Interaction",
    "Member",
    "Message",
    "Overwrite",
    "P",
    "RequestRecord",
    "Role",
    "SandboxState",
    "SnowflakeGenerator",
    "User",
    "Webhook",
    "WorldFormatError",
    "application_json",
    "attachment_json",
    "bot_user_json",
    "channel_json",
    "emoji_json",
    "entitlement_json",
    "guild_json",
    "in_days",
    "iso",
    "load_world",
    "member_json",
    "message_event_json",
    "message_json",
    "now",
    "overwrite_json",
    "partial_guild_json",
    "role_json",
    "sku_json",
    "user_json",
    "webhook_json",
    "world_json",
]
