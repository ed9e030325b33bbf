"""The sandbox's default world and the harness's base: start and stop, run a client, wait for things, read what
the bot did, build the world (users, roles, channels, threads), entitlements, and faults (429s, dropped sockets).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from typing import Any, Self

import discord

from bot.sandbox.harness.results import Posted, SandboxError
from bot.sandbox.patch import point_discord_at, undo
from bot.sandbox.server import ForcedLimit, SandboxServer
from bot.sandbox.state import (
    SKU,
    Channel,
    ChannelType,
    Entitlement,
    Guild,
    Message,
    Overwrite,
    P,
    RequestRecord,
    Role,
    SandboxState,
    User,
    channel_json,
    member_json,
    role_json,
)

BOT_PERMISSIONS = (
    P.VIEW_CHANNEL
    | P.SEND_MESSAGES
    | P.SEND_MESSAGES_IN_THREADS
    | P.EMBED_LINKS
    | P.ATTACH_FILES
    | P.READ_MESSAGE_HISTORY
    | P.ADD_REACTIONS
    | P.USE_EXTERNAL_EMOJIS
    | P.MANAGE_MESSAGES
    | P.MANAGE_WEBHOOKS
    | P.MANAGE_THREADS
    | P.CREATE_PUBLIC_THREADS
    | P.CREATE_PRIVATE_THREADS
    | P.MANAGE_ROLES
)


def _display(user: User) -> str:
    return user.global_name or user.username


class SandboxWorld:
    """A sandbox server with a default world: everything but acting as users (see :class:`~.acting.Sandbox`).

    The world: guild "Sandbox" owned by alice, with #general and #personas, humans alice and bob,
    and the bot (a member with a managed role holding the usual bot permissions, not Administrator).
    """

    def __init__(self, *, token: str = "sandbox-token", bot_name: str = "Persona Hub", point: bool = True) -> None:
        self.server = SandboxServer(token=token, bot_name=bot_name)
        self.point = point
        st = self.server.state
        self.alice = st.add_user("alice", global_name="Alice")
        self.bob = st.add_user("bob", global_name="Bob")
        self.guild = st.add_guild("Sandbox", self.alice)
        self.bot_role = st.add_role(self.guild, bot_name, BOT_PERMISSIONS, managed=True)
        st.add_member(self.guild, self.bob)
        st.add_member(self.guild, self.bot_user, [self.bot_role])
        self.general = st.add_channel(self.guild, "general", topic="General chat")
        self.personas = st.add_channel(self.guild, "personas", topic="Where personas live")

    def add_guild_on_shard(self, name: str, shard: int, shard_count: int) -> tuple[Guild, Channel]:
        """Another guild (the bot, Alice as owner, Bob, a #personas channel) whose id falls on ``shard`` by
        Discord's rule, ``(id >> 22) % shard_count``. Call before ``start``: the gateway sends it at IDENTIFY."""
        st = self.state
        while True:
            guild = st.add_guild(name, self.alice)
            if (guild.id >> 22) % shard_count == shard:
                break
            st.guilds.pop(guild.id)
            st.roles.pop(guild.id, None)
            time.sleep(0.001)  # snowflakes carry the time: the next id lands elsewhere
        role = st.add_role(guild, self.bot_role.name, BOT_PERMISSIONS, managed=True)
        st.add_member(guild, self.bob)
        st.add_member(guild, self.bot_user, [role])
        return guild, st.add_channel(guild, "personas", topic="Where personas live")

    # ----- lifecycle -----

    @property
    def state(self) -> SandboxState:
        return self.server.state

    @property
    def token(self) -> str:
        return self.server.token

    @property
    def bot_user(self) -> User:
        return self.server.bot_user

    async def start(self, port: int = 0) -> Self:
        await self.server.start(port)
        if self.point:
            point_discord_at(self.server.api_url, self.server.gateway_url)
        return self

    async def stop(self) -> None:
        await self.server.stop()
        if self.point:
            undo()

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @contextlib.asynccontextmanager
    async def run_client(self, client: discord.Client, *, timeout: float = 10.0) -> AsyncIterator[discord.Client]:
        """Start ``client`` against the sandbox, wait until it is ready, and close it afterwards."""
        # discord.py waits this long after the last GUILD_CREATE before "ready"; the sandbox sends them at once.
        client._connection.guild_ready_timeout = 0.05
        task = asyncio.create_task(client.start(self.token), name="sandbox-client")
        ready = asyncio.create_task(client.wait_until_ready())
        done, _ = await asyncio.wait({task, ready}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        if ready not in done:
            ready.cancel()
            if task in done and (error := task.exception()) is not None:
                raise error
            task.cancel()
            await client.close()
            raise SandboxError(f"the client was not ready within {timeout}s")
        try:
            yield client
        finally:
            await client.close()
            try:
                await asyncio.wait_for(task, timeout=5)
            except (TimeoutError, asyncio.CancelledError):
                task.cancel()
            except Exception:
                pass

    # ----- waiting -----

    async def wait_until(self, predicate: Callable[[], Any], timeout: float, what: str) -> Any:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            result = predicate()
            if result:
                return result
            left = deadline - loop.time()
            if left <= 0:
                raise SandboxError(f"timed out after {timeout}s waiting for {what}\n{self.recent()}")
            await self.server.wait_change(min(left, 0.25))

    def recent(self, n: int = 8) -> str:
        """The last messages and requests, for timeout failures."""
        lines = ["recent messages:"]
        msgs = sorted(self.state.messages.values(), key=lambda m: m.id)[-n:]
        lines += [f"  #{self._channel_name(m.channel_id)} {self.posted(m)}" for m in msgs] or ["  (none)"]
        lines.append("recent bot requests:")
        lines += [f"  {r.method} {r.path} -> {r.status}" for r in self.state.requests[-n:]] or ["  (none)"]
        return "\n".join(lines)

    def _channel_name(self, cid: int) -> str:
        c = self.state.channels.get(cid)
        return (c.name or "dm") if c else str(cid)

    async def wait_for_message(
        self,
        channel: Channel | None = None,
        *,
        author: str | User | None = None,
        predicate: Callable[[Posted], bool] | None = None,
        after: Message | int | None = None,
        as_user: User | None = None,
        timeout: float = 5.0,
    ) -> Posted:
        """The first message (newer than ``after``) matching all the filters, by the bot unless ``author``."""
        after_id = after.id if isinstance(after, Message) else (after or 0)

        def find() -> Posted | None:
            for m in sorted(self.state.messages.values(), key=lambda m: m.id):
                if m.id <= after_id or m.deleted or (channel and m.channel_id != channel.id):
                    continue
                if m.visible_to is not None and m.visible_to != (as_user.id if as_user else m.visible_to):
                    continue
                p = self.posted(m)
                if p.loading:
                    continue
                if author is None:
                    if not p.is_bot:
                        continue
                elif isinstance(author, User):
                    if p.author_id != author.id:
                        continue
                elif p.author != author:
                    continue
                if predicate is None or predicate(p):
                    return p
            return None

        where = f" in #{channel.name or 'dm'}" if channel else ""
        who = f" from {author if isinstance(author, str) else (author.username if author else 'the bot')}"
        return await self.wait_until(find, timeout, f"a message{where}{who}")

    async def wait_for_request(
        self,
        method: str,
        route: str,
        *,
        predicate: Callable[[RequestRecord], bool] | None = None,
        timeout: float = 5.0,
    ) -> RequestRecord:
        def find() -> RequestRecord | None:
            for r in self.state.requests:
                if r.method == method and r.route == route and (predicate is None or predicate(r)):
                    return r
            return None

        return await self.wait_until(find, timeout, f"a request {method} {route}")

    # ----- reading -----

    def posted(self, m: Message) -> Posted:
        if m.webhook_id is not None and m.application_id is None:
            wh = self.state.webhooks.get(m.webhook_id)
            name = m.webhook_username or (wh.name if wh else "Webhook")
            avatar = m.webhook_avatar_url or (
                f"https://cdn.discordapp.com/avatars/{wh.id}/{wh.avatar}.png" if wh and wh.avatar else None
            )
            return Posted(m, name, m.webhook_id, True, avatar)
        u = self.state.users[m.author_id]
        return Posted(m, _display(u), u.id, u.bot, None)

    def history(self, channel: Channel | None = None, *, as_user: User | None = None) -> list[Posted]:
        """Oldest first; ephemeral messages only when ``as_user`` is the user they were for."""
        channel = channel or self.general
        viewer = as_user.id if as_user else None
        return [self.posted(m) for m in self.state.visible_messages(channel, viewer)]

    def ephemeral_for(self, user: User) -> list[Posted]:
        msgs = sorted(self.state.messages.values(), key=lambda m: m.id)
        return [self.posted(m) for m in msgs if m.visible_to == user.id and not m.deleted]

    def dms(self, user: User | None = None) -> list[Posted]:
        user = user or self.alice
        if user.dm_channel_id is None:
            return []
        return self.history(self.state.channels[user.dm_channel_id], as_user=user)

    def requests(self, method: str | None = None, route: str | None = None) -> list[RequestRecord]:
        return [
            r
            for r in self.state.requests
            if (method is None or r.method == method) and (route is None or r.route == route)
        ]

    def commands(self, guild: Guild | None = None) -> list[dict[str, Any]]:
        return list(self.state.commands.get(guild.id if guild else None, {}).values())

    # ----- world building -----

    def add_user(self, name: str, *, join: bool = True, roles: list[Role] | None = None) -> User:
        u = self.state.add_user(name)
        if join:
            m = self.state.add_member(self.guild, u, roles)
            data = member_json(self.state, m)
            data["guild_id"] = str(self.guild.id)
            self.server.dispatch("GUILD_MEMBER_ADD", data, guild_id=self.guild.id)
        return u

    def add_role(self, name: str, permissions: int = 0) -> Role:
        role = self.state.add_role(self.guild, name, permissions)
        self.server.dispatch(
            "GUILD_ROLE_CREATE",
            {"guild_id": str(self.guild.id), "role": role_json(role)},
            guild_id=self.guild.id,
        )
        return role

    def give_role(self, user: User, role: Role) -> None:
        m = self.guild.members[user.id]
        if role.id not in m.roles:
            m.roles.append(role.id)
        data = member_json(self.state, m)
        data["guild_id"] = str(self.guild.id)
        self.server.dispatch("GUILD_MEMBER_UPDATE", data, guild_id=self.guild.id)

    def add_channel(self, name: str, *, topic: str | None = None) -> Channel:
        c = self.state.add_channel(self.guild, name, topic=topic)
        self.server.dispatch("CHANNEL_CREATE", channel_json(self.state, c), guild_id=self.guild.id)
        return c

    def set_permissions(self, channel: Channel, target: User | Role, *, allow: int = 0, deny: int = 0) -> None:
        """A channel overwrite for a user or role; e.g. ``deny=P.SEND_MESSAGES`` for the bot."""
        kind = 0 if isinstance(target, Role) else 1
        channel.overwrites[target.id] = Overwrite(target.id, kind, allow, deny)
        self.server.dispatch("CHANNEL_UPDATE", channel_json(self.state, channel), guild_id=channel.guild_id)

    async def create_thread(
        self,
        channel: Channel | None = None,
        name: str = "thread",
        *,
        author: User | None = None,
        private: bool = False,
    ) -> Channel:
        channel = channel or self.general
        author = author or self.alice
        ttype = ChannelType.PRIVATE_THREAD if private else ChannelType.PUBLIC_THREAD
        t = self.state.add_channel(self.guild, name, type=ttype, parent=channel, owner=author)
        data = channel_json(self.state, t)
        data["newly_created"] = True
        self.server.dispatch("THREAD_CREATE", data, guild_id=self.guild.id)
        return t

    async def open_dm(self, user: User | None = None) -> Channel:
        return self.state.dm_channel(user or self.alice)

    # ----- entitlements -----

    def add_sku(self, name: str, *, type: int = 5) -> SKU:
        sku = SKU(id=self.state.snowflake(), name=name, type=type)
        self.state.skus[sku.id] = sku
        return sku

    def grant(
        self,
        sku: SKU,
        *,
        user: User | None = None,
        guild: Guild | None = None,
        ends_at: datetime | None = None,
        type: int = 8,
    ) -> Entitlement:
        """An entitlement (default type 8: APPLICATION_SUBSCRIPTION), dispatched as ENTITLEMENT_CREATE."""
        if user is None and guild is None:
            user = self.alice
        return self.server.make_entitlement(
            sku,
            user_id=user.id if user else None,
            guild_id=guild.id if guild else None,
            type=type,
            ends_at=ends_at,
        )

    def update_entitlement(self, e: Entitlement, *, ends_at: datetime | None) -> None:
        e.ends_at = ends_at
        self.server.entitlement_event("ENTITLEMENT_UPDATE", e)

    def delete_entitlement(self, e: Entitlement) -> None:
        e.deleted = True
        self.server.entitlement_event("ENTITLEMENT_DELETE", e)

    # ----- faults -----

    def force_429(
        self, route: str = "*", *, times: int = 1, retry_after: float = 0.05, is_global: bool = False
    ) -> None:
        """The next ``times`` requests to ``route`` ("POST /channels/{channel_id}/messages") answer 429."""
        self.server.forced.append(ForcedLimit(route, times, retry_after, is_global))

    def set_rate_limit(self, route: str, limit: int, window: float) -> None:
        self.server.route_limits[route] = (limit, window)

    async def drop_gateway(self, code: int = 4000) -> int:
        return await self.server.gateway.drop(code)

    async def send_reconnect(self) -> int:
        return await self.server.gateway.send_reconnect()

    async def invalidate_session(self, *, resumable: bool = False) -> int:
        return await self.server.gateway.invalidate(resumable=resumable)
