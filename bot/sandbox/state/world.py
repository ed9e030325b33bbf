"""Everything the sandbox knows, as one mutable object: :class:`SandboxState`, with the creation helpers and the
permission arithmetic (base permissions, channel overwrites, thread rules). Mutations are plain method calls; the
server dispatches the gateway events."""

from __future__ import annotations

from typing import Any

from bot.sandbox.state.models import (
    SKU,
    Channel,
    ChannelType,
    Entitlement,
    Guild,
    Interaction,
    Member,
    Message,
    P,
    RequestRecord,
    Role,
    SnowflakeGenerator,
    User,
    Webhook,
)


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
