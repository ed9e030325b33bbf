"""The test and playground API: act as users in the sandbox and read what the bot did.

>>> async with Sandbox() as sb:                       # a started server, discord.py pointed at it
...     async with sb.run_client(bot):                # the real client, logged in and ready
...         h = await sb.slash("persona create", template="bard")
...         reply = await h.message()                 # waits, fails clearly on timeout
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import discord

from bot.sandbox.patch import point_discord_at, undo
from bot.sandbox.server import ApiError, ForcedLimit, SandboxServer
from bot.sandbox.state import (
    SKU,
    Attachment,
    Channel,
    ChannelType,
    Entitlement,
    Guild,
    Interaction,
    Message,
    Overwrite,
    P,
    RequestRecord,
    Role,
    User,
    attachment_json,
    channel_json,
    member_json,
    role_json,
    user_json,
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


class SandboxError(AssertionError):
    """A test asked for something a Discord user could not do, or a wait timed out."""


@dataclass(frozen=True)
class Posted:
    """A message as a user sees it: who wrote it (webhook name and avatar included) and what it holds."""

    message: Message
    author: str
    author_id: int
    is_bot: bool
    avatar_url: str | None

    @property
    def id(self) -> int:
        return self.message.id

    @property
    def channel_id(self) -> int:
        return self.message.channel_id

    @property
    def content(self) -> str:
        return self.message.content

    @property
    def embeds(self) -> list[dict[str, Any]]:
        return self.message.embeds

    @property
    def components(self) -> list[dict[str, Any]]:
        return self.message.components

    @property
    def ephemeral(self) -> bool:
        return self.message.ephemeral

    @property
    def webhook_id(self) -> int | None:
        return self.message.webhook_id

    @property
    def attachments(self) -> list[Attachment]:
        return self.message.attachments

    @property
    def reply_to(self) -> int | None:
        ref = self.message.reference
        return int(ref["message_id"]) if ref else None

    @property
    def edited(self) -> bool:
        return self.message.edited_timestamp is not None

    @property
    def loading(self) -> bool:
        return bool(self.message.flags & 128)

    def buttons(self) -> list[dict[str, Any]]:
        return [c for c in walk_components(self.components) if c.get("type") == 2]

    def selects(self) -> list[dict[str, Any]]:
        return [c for c in walk_components(self.components) if c.get("type") in (3, 5, 6, 7, 8)]

    def __str__(self) -> str:
        return f"{self.author}: {self.content}"


def walk_components(components: Iterable[dict[str, Any]]) -> Iterable[dict[str, Any]]:
    for c in components:
        yield c
        if "components" in c:
            yield from walk_components(c["components"])
        for key in ("accessory", "component"):
            if isinstance(c.get(key), dict):
                yield from walk_components([c[key]])


@dataclass
class InteractionHandle:
    """One interaction a user started; its waits return what the bot answered."""

    sandbox: Sandbox
    interaction: Interaction
    user: User
    channel: Channel
    source: Message | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def response_type(self) -> int | None:
        return self.interaction.response_type

    @property
    def ephemeral(self) -> bool:
        return self.interaction.ephemeral

    async def response(self, timeout: float = 5.0) -> int:
        """Wait for the bot's first callback; returns its type (4, 5, 6, 7, 8 or 9)."""
        i = self.interaction
        await self.sandbox.wait_until(
            lambda: i.response_type is not None or i.error is not None,
            timeout,
            f"a response to interaction {i.id} ({self.describe()})",
        )
        if i.response_type is None:
            raise SandboxError(f"the bot answered interaction {i.id} too late: Discord said 10062 Unknown interaction")
        return i.response_type

    async def message(self, timeout: float = 5.0) -> Posted:
        """The visible answer: the original response once it has content (after a defer: when filled)."""
        i = self.interaction
        srv = self.sandbox.server

        def ready() -> bool:
            if i.original_message_id is not None and i.original_filled and i.response_type in (4, 5, 7):
                return True
            return bool(i.followup_ids)

        await self.sandbox.wait_until(ready, timeout, f"a message answering {self.describe()}")
        mid = i.original_message_id if i.original_filled and i.response_type in (4, 5, 7) else i.followup_ids[0]
        assert mid is not None  # ready() saw an original message or a follow-up
        return self.sandbox.posted(srv.state.messages[mid])

    async def followups(self, count: int = 1, timeout: float = 5.0) -> list[Posted]:
        i = self.interaction
        await self.sandbox.wait_until(
            lambda: len(i.followup_ids) >= count, timeout, f"{count} follow-up(s) to {self.describe()}"
        )
        return [self.sandbox.posted(self.sandbox.server.state.messages[m]) for m in i.followup_ids]

    async def modal(self, timeout: float = 5.0) -> dict[str, Any]:
        if await self.response(timeout) != 9:
            raise SandboxError(f"{self.describe()} answered with type {self.response_type}, not a modal")
        return self.interaction.response_data or {}

    async def choices(self, timeout: float = 5.0) -> list[dict[str, Any]]:
        if await self.response(timeout) != 8:
            raise SandboxError(f"{self.describe()} answered with type {self.response_type}, not autocomplete")
        return list((self.interaction.response_data or {}).get("choices", []))

    def describe(self) -> str:
        kind = {2: "slash command", 3: "component", 4: "autocomplete", 5: "modal submit"}[self.interaction.type]
        name = self.interaction.data.get("name") or self.interaction.data.get("custom_id")
        return f"{kind} {name!r} by {self.user.username}"


def _display(user: User) -> str:
    return user.global_name or user.username


class Sandbox:
    """A sandbox server with a default world, and the user-acting API.

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
    def state(self) -> Any:
        return self.server.state

    @property
    def token(self) -> str:
        return self.server.token

    @property
    def bot_user(self) -> User:
        return self.server.bot_user

    async def start(self, port: int = 0) -> Sandbox:
        await self.server.start(port)
        if self.point:
            point_discord_at(self.server.api_url, self.server.gateway_url)
        return self

    async def stop(self) -> None:
        await self.server.stop()
        if self.point:
            undo()

    async def __aenter__(self) -> Sandbox:
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

    # ----- acting as users: messages and reactions -----

    def _check_user_perm(self, channel: Channel, user: User, bit: int, what: str) -> None:
        perms = self.state.permissions_in(channel, user.id)
        if not perms & P.VIEW_CHANNEL or not perms & bit:
            raise SandboxError(f"{user.username} cannot {what} in #{channel.name or 'dm'}")

    async def send(
        self,
        channel: Channel | None = None,
        content: str = "",
        *,
        author: User | None = None,
        embeds: list[dict[str, Any]] | None = None,
        files: list[tuple[str, bytes]] | None = None,
        reply_to: Message | Posted | None = None,
    ) -> Message:
        channel = channel or self.general
        author = author or self.alice
        send_bit = P.SEND_MESSAGES_IN_THREADS if channel.is_thread else P.SEND_MESSAGES
        self._check_user_perm(channel, author, send_bit, "send messages")
        body: dict[str, Any] = {"content": content}
        if embeds:
            body["embeds"] = embeds
        if reply_to is not None:
            target = reply_to.message if isinstance(reply_to, Posted) else reply_to
            body["message_reference"] = {"message_id": str(target.id), "channel_id": str(target.channel_id)}
        atts = [self.server.add_attachment(channel.id, name, data) for name, data in files or []]
        try:
            return self.server.create_message(channel, author.id, body, atts)
        except ApiError as e:
            raise SandboxError(f"Discord would refuse this message: {e}") from None

    async def reply(self, message: Message | Posted, content: str, *, author: User | None = None) -> Message:
        target = message.message if isinstance(message, Posted) else message
        return await self.send(self.state.channels[target.channel_id], content, author=author, reply_to=target)

    async def edit(self, message: Message | Posted, content: str) -> Message:
        m = message.message if isinstance(message, Posted) else message
        return self.server.edit_message(m, {"content": content})

    async def delete(self, message: Message | Posted) -> None:
        self.server.delete_message(message.message if isinstance(message, Posted) else message)

    async def react(self, message: Message | Posted, emoji: str, *, user: User | None = None) -> None:
        m = message.message if isinstance(message, Posted) else message
        user = user or self.alice
        self._check_user_perm(self.state.channels[m.channel_id], user, P.READ_MESSAGE_HISTORY, "react")
        self.server.add_reaction(m, user.id, self.server.emoji_key(emoji))

    async def unreact(self, message: Message | Posted, emoji: str, *, user: User | None = None) -> None:
        m = message.message if isinstance(message, Posted) else message
        self.server.remove_reaction(m, (user or self.alice).id, self.server.emoji_key(emoji))

    # ----- acting as users: application commands -----

    def _find_command(self, name: str, channel: Channel) -> dict[str, Any]:
        tables = []
        if channel.guild_id is not None:
            tables.append(self.state.commands.get(channel.guild_id, {}))
        tables.append(self.state.commands.get(None, {}))
        for table in tables:
            cmd = table.get(f"1:{name}")
            if cmd is not None:
                return cmd
        known = sorted({c["name"] for t in tables for c in t.values() if c["type"] == 1})
        raise SandboxError(f"no slash command /{name} is synced here; known: {known}")

    def _check_command_visible(self, cmd: dict[str, Any], user: User, channel: Channel) -> None:
        required = cmd.get("default_member_permissions")
        if channel.guild_id is None:
            contexts = cmd.get("contexts")
            if (contexts is not None and 1 not in contexts) or cmd.get("dm_permission") is False:
                raise SandboxError(f"/{cmd['name']} is not available in DMs")
            return
        if required is not None:
            perms = self.state.permissions_in(channel, user.id)
            if perms & int(required) != int(required):
                raise SandboxError(f"{user.username} lacks the permissions /{cmd['name']} requires")

    def _resolve_path(
        self, command: str, channel: Channel
    ) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
        """-> (command, option definitions of the leaf, data options list to fill, data root options)."""
        words = command.strip().lstrip("/").split()
        if not words:
            raise SandboxError("empty command")
        cmd = self._find_command(words[0], channel)
        defs: list[dict[str, Any]] = cmd.get("options") or []
        root: list[dict[str, Any]] = []
        target = root
        for word in words[1:]:
            sub = next((o for o in defs if o["name"] == word and o["type"] in (1, 2)), None)
            if sub is None:
                subs = [o["name"] for o in defs if o["type"] in (1, 2)]
                raise SandboxError(f"/{command}: no subcommand {word!r}; choices: {subs}")
            entry: dict[str, Any] = {"type": sub["type"], "name": word, "options": []}
            target.append(entry)
            target = entry["options"]
            defs = sub.get("options") or []
        if any(o["type"] in (1, 2) for o in defs):
            subs = [o["name"] for o in defs if o["type"] in (1, 2)]
            raise SandboxError(f"/{command} needs a subcommand: {subs}")
        return cmd, defs, target, root

    def _option_value(
        self, opt: dict[str, Any], value: Any, resolved: dict[str, dict[str, Any]], channel: Channel
    ) -> Any:
        t, name = opt["type"], opt["name"]
        choices = opt.get("choices")
        if t == 3:
            value = str(value)
            if choices and value not in [c["value"] for c in choices]:
                raise SandboxError(f"option {name}: {value!r} is not one of {[c['value'] for c in choices]}")
            if len(value) < opt.get("min_length", 0) or len(value) > opt.get("max_length", 6000):
                raise SandboxError(f"option {name}: length {len(value)} out of range")
            return value
        if t in (4, 10):
            if isinstance(value, bool) or not isinstance(value, int | float | str):
                raise SandboxError(f"option {name} needs a number, not {value!r}")
            try:
                value = int(value) if t == 4 else float(value)
            except ValueError:
                raise SandboxError(f"option {name} needs a number, not {value!r}") from None
            if t == 4 and not -(2**53) < value < 2**53:
                raise SandboxError(f"option {name}: integer out of range")
            if ("min_value" in opt and value < opt["min_value"]) or ("max_value" in opt and value > opt["max_value"]):
                raise SandboxError(f"option {name}: {value} out of range")
            if choices and value not in [c["value"] for c in choices]:
                raise SandboxError(f"option {name}: {value!r} is not one of the choices")
            return value
        if t == 5:
            if not isinstance(value, bool):
                raise SandboxError(f"option {name} needs True/False")
            return value
        if t in (6, 9) and isinstance(value, User):
            resolved.setdefault("users", {})[str(value.id)] = user_json(value)
            if channel.guild_id is not None and value.id in self.guild.members:
                mj = member_json(self.state, self.state.guilds[channel.guild_id].members[value.id], with_user=False)
                mj["permissions"] = str(self.state.permissions_in(channel, value.id))
                resolved.setdefault("members", {})[str(value.id)] = mj
            return str(value.id)
        if t in (8, 9) and isinstance(value, Role):
            resolved.setdefault("roles", {})[str(value.id)] = role_json(value)
            return str(value.id)
        if t == 7 and isinstance(value, Channel):
            types = opt.get("channel_types")
            if types and value.type not in types:
                raise SandboxError(f"option {name}: channel type {value.type} not allowed ({types})")
            cj = channel_json(self.state, value)
            cj["permissions"] = str(self.state.permissions_in(value, self.bot_user.id))
            resolved.setdefault("channels", {})[str(value.id)] = cj
            return str(value.id)
        if t == 11 and isinstance(value, tuple):
            filename, data = value
            att = self.server.add_attachment(channel.id, filename, data)
            resolved.setdefault("attachments", {})[str(att.id)] = attachment_json(att)
            return str(att.id)
        raise SandboxError(f"option {name} (type {t}) cannot take {value!r}")

    def _build_options(
        self,
        command: str,
        defs: list[dict[str, Any]],
        given: dict[str, Any],
        channel: Channel,
        *,
        focused: str | None = None,
    ) -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]]]:
        by_name = {o["name"]: o for o in defs}
        unknown = set(given) - set(by_name)
        if unknown:
            raise SandboxError(f"/{command} has no option(s) {sorted(unknown)}; options: {sorted(by_name)}")
        resolved: dict[str, dict[str, Any]] = {}
        out = []
        for o in defs:
            if o["name"] == focused:
                out.append(
                    {
                        "type": o["type"],
                        "name": o["name"],
                        "value": str(given.get(o["name"], "")),
                        "focused": True,
                    }
                )
                continue
            if o["name"] not in given:
                if o.get("required") and focused is None:
                    raise SandboxError(f"/{command} needs option {o['name']!r}")
                continue
            value = self._option_value(o, given[o["name"]], resolved, channel)
            out.append({"type": o["type"], "name": o["name"], "value": value})
        return out, resolved

    async def slash(
        self,
        command: str,
        *,
        as_user: User | None = None,
        in_channel: Channel | None = None,
        options: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> InteractionHandle:
        """Run ``/command sub`` with options as keywords (``options=`` for any name, e.g. "user")."""
        user = as_user or self.alice
        channel = in_channel or self.general
        cmd, defs, target, root = self._resolve_path(command, channel)
        self._check_command_visible(cmd, user, channel)
        built, resolved = self._build_options(command, defs, {**(options or {}), **kwargs}, channel)
        target.extend(built)
        data: dict[str, Any] = {"id": cmd["id"], "name": cmd["name"], "type": 1, "options": root}
        if resolved:
            data["resolved"] = resolved
        if "guild_id" in cmd:
            data["guild_id"] = cmd["guild_id"]
        i = self.server.create_interaction(2, user, channel, data)
        return InteractionHandle(self, i, user, channel)

    async def autocomplete(
        self,
        command: str,
        focused: str,
        value: str = "",
        *,
        as_user: User | None = None,
        in_channel: Channel | None = None,
        options: dict[str, Any] | None = None,
        timeout: float = 5.0,
        **kwargs: Any,
    ) -> list[dict[str, Any]]:
        """Type ``value`` into option ``focused``; returns the choices the bot offered."""
        user = as_user or self.alice
        channel = in_channel or self.general
        cmd, defs, target, root = self._resolve_path(command, channel)
        opt = next((o for o in defs if o["name"] == focused), None)
        if opt is None or not opt.get("autocomplete"):
            raise SandboxError(f"/{command} option {focused!r} does not autocomplete")
        given = {**(options or {}), **kwargs, focused: value}
        built, resolved = self._build_options(command, defs, given, channel, focused=focused)
        target.extend(built)
        data: dict[str, Any] = {"id": cmd["id"], "name": cmd["name"], "type": 1, "options": root}
        if resolved:
            data["resolved"] = resolved
        if "guild_id" in cmd:
            data["guild_id"] = cmd["guild_id"]
        i = self.server.create_interaction(4, user, channel, data)
        return await InteractionHandle(self, i, user, channel).choices(timeout)

    # ----- acting as users: components and modals -----

    def _visible_message(self, message: Message | Posted, user: User) -> Message:
        m = message.message if isinstance(message, Posted) else message
        m = self.state.messages[m.id]
        if m.deleted or (m.visible_to is not None and m.visible_to != user.id):
            raise SandboxError(f"{user.username} cannot see message {m.id}")
        return m

    async def click(
        self,
        message: Message | Posted,
        *,
        label: str | None = None,
        custom_id: str | None = None,
        emoji: str | None = None,
        index: int | None = None,
        user: User | None = None,
    ) -> InteractionHandle:
        user = user or self.alice
        m = self._visible_message(message, user)
        buttons = [c for c in walk_components(m.components) if c.get("type") == 2]
        if index is not None:
            matches = buttons[index : index + 1]
        else:
            matches = [
                b
                for b in buttons
                if (label is None or b.get("label") == label)
                and (custom_id is None or b.get("custom_id") == custom_id)
                and (emoji is None or (b.get("emoji") or {}).get("name") == emoji)
            ]
        if len(matches) != 1:
            labels = [b.get("label") or (b.get("emoji") or {}).get("name") for b in buttons]
            raise SandboxError(f"{len(matches)} buttons match on message {m.id}; buttons: {labels}")
        b = matches[0]
        if b.get("disabled"):
            raise SandboxError(f"button {b.get('label')!r} is disabled")
        if b.get("style") in (5, 6) or "custom_id" not in b:
            raise SandboxError(f"button {b.get('label')!r} is a link/premium button; it makes no interaction")
        channel = self.state.channels[m.channel_id]
        data = {"custom_id": b["custom_id"], "component_type": 2}
        i = self.server.create_interaction(3, user, channel, data, message=m)
        return InteractionHandle(self, i, user, channel, source=m)

    async def select(
        self,
        message: Message | Posted,
        values: list[Any],
        *,
        custom_id: str | None = None,
        placeholder: str | None = None,
        user: User | None = None,
    ) -> InteractionHandle:
        user = user or self.alice
        m = self._visible_message(message, user)
        selects = [c for c in walk_components(m.components) if c.get("type") in (3, 5, 6, 7, 8)]
        matches = [
            s
            for s in selects
            if (custom_id is None or s.get("custom_id") == custom_id)
            and (placeholder is None or s.get("placeholder") == placeholder)
        ]
        if len(matches) != 1:
            raise SandboxError(
                f"{len(matches)} selects match on message {m.id}; {[s.get('custom_id') for s in selects]}"
            )
        s = matches[0]
        channel = self.state.channels[m.channel_id]
        wire, resolved = self._select_values(s, values, channel)
        data: dict[str, Any] = {"custom_id": s["custom_id"], "component_type": s["type"], "values": wire}
        if resolved:
            data["resolved"] = resolved
        i = self.server.create_interaction(3, user, channel, data, message=m)
        return InteractionHandle(self, i, user, channel, source=m)

    def _select_values(
        self, s: dict[str, Any], values: list[Any], channel: Channel
    ) -> tuple[list[str], dict[str, dict[str, Any]]]:
        if s.get("disabled"):
            raise SandboxError(f"select {s.get('custom_id')!r} is disabled")
        lo, hi = s.get("min_values", 1), s.get("max_values", 1)
        if not lo <= len(values) <= hi:
            raise SandboxError(f"select {s.get('custom_id')!r} takes {lo}..{hi} values, got {len(values)}")
        resolved: dict[str, dict[str, Any]] = {}
        if s["type"] == 3:
            allowed = [o["value"] for o in s.get("options", [])]
            labels = {o["label"]: o["value"] for o in s.get("options", [])}
            wire = [str(labels.get(v, v)) for v in values]
            bad = [v for v in wire if v not in allowed]
            if bad:
                raise SandboxError(f"select {s.get('custom_id')!r} has no option(s) {bad}; options: {allowed}")
            return wire, resolved
        type_for = {5: 6, 6: 8, 8: 7}
        wire = []
        for v in values:
            opt_type = type_for.get(s["type"], 9)
            wire.append(self._option_value({"type": opt_type, "name": s["custom_id"]}, v, resolved, channel))
        return wire, resolved

    async def submit_modal(
        self,
        opened: InteractionHandle,
        values: dict[str, Any] | None = None,
        *,
        user: User | None = None,
        **fields: Any,
    ) -> InteractionHandle:
        """Fill the modal the bot opened in answer to ``opened``: fields by custom_id or label."""
        modal = await opened.modal()
        user = user or opened.user
        given = {**(values or {}), **fields}
        used: set[str] = set()

        def field_value(comp: dict[str, Any], label: str | None) -> dict[str, Any] | None:
            cid = comp.get("custom_id")
            keys = [k for k in (cid, label, comp.get("label")) if k]
            key = next((k for k in keys if k in given), None)
            if key is not None:
                used.add(key)
            if comp["type"] == 4:
                if key is None:
                    value = comp.get("value") or ""
                    if comp.get("required", True) and not value:
                        raise SandboxError(f"modal field {label or cid!r} is required")
                else:
                    value = str(given[key])
                if value and not comp.get("min_length", 0) <= len(value) <= comp.get("max_length", 4000):
                    raise SandboxError(f"modal field {label or cid!r}: length {len(value)} out of range")
                return {"type": 4, "custom_id": cid, "value": value}
            if comp["type"] in (3, 5, 6, 7, 8):
                chosen = given[key] if key is not None else []
                if not isinstance(chosen, list):
                    chosen = [chosen]
                wire, _ = self._select_values({**comp, "min_values": comp.get("min_values", 0)}, chosen, opened.channel)
                return {"type": comp["type"], "custom_id": cid, "values": wire}
            return None

        out: list[dict[str, Any]] = []
        for row in modal.get("components", []):
            if row.get("type") == 1:
                inner = [v for c in row.get("components", []) if (v := field_value(c, c.get("label")))]
                out.append({"type": 1, "components": inner})
            elif row.get("type") == 18:
                v = field_value(row["component"], row.get("label"))
                if v is not None:
                    out.append({"type": 18, "component": v})
        unknown = set(given) - used
        if unknown:
            raise SandboxError(f"modal {modal.get('title')!r} has no field(s) {sorted(unknown)}")
        data = {"custom_id": modal["custom_id"], "components": out}
        i = self.server.create_interaction(5, user, opened.channel, data, message=opened.source)
        return InteractionHandle(self, i, user, opened.channel, source=opened.source)

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
