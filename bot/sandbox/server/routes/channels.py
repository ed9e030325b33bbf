"""REST routes for channels and threads: read, edit, delete, permission overwrites, typing, thread creation and
thread members."""

from __future__ import annotations

from aiohttp import web

from bot.sandbox.server.http import (
    JSON_KEY,
    ApiError,
    Route,
    json_response,
    no_content,
)
from bot.sandbox.server.routes.group import RouteGroup
from bot.sandbox.server.validation.errors import FormErrors
from bot.sandbox.server.validation.queries import bool_param, int_param, snowflake_param
from bot.sandbox.state import (
    ChannelType,
    Overwrite,
    P,
    channel_json,
    now,
)


class ChannelRoutes(RouteGroup):
    def table(self) -> list[Route]:
        ch = "/channels/{channel_id}"
        msg = ch + "/messages/{message_id}"
        return [
            ("GET", ch, self.h_channel),
            ("PATCH", ch, self.h_edit_channel),
            ("DELETE", ch, self.h_delete_channel),
            ("PUT", ch + "/permissions/{overwrite_id}", self.h_overwrite),
            ("DELETE", ch + "/permissions/{overwrite_id}", self.h_overwrite),
            ("POST", ch + "/typing", self.h_typing),
            ("POST", msg + "/threads", self.h_create_thread),
            ("POST", ch + "/threads", self.h_create_thread),
            ("PUT", ch + "/thread-members/@me", self.h_thread_member),
            ("DELETE", ch + "/thread-members/@me", self.h_thread_member),
            ("PUT", ch + "/thread-members/{user_id}", self.h_thread_member),
            ("DELETE", ch + "/thread-members/{user_id}", self.h_thread_member),
            ("GET", ch + "/thread-members", self.h_thread_members),
        ]

    async def h_channel(self, request: web.Request) -> web.Response:
        c = self.server.channel(request.match_info["channel_id"])
        self.server.require(c, self.server.bot_user.id)
        return json_response(channel_json(self.server.state, c))

    async def h_edit_channel(self, request: web.Request) -> web.Response:
        c = self.server.channel(request.match_info["channel_id"])
        body = request[JSON_KEY] or {}
        if c.is_thread:
            owner = c.owner_id == self.server.bot_user.id
            self.server.require(c, self.server.bot_user.id, *(() if owner else (P.MANAGE_THREADS,)))
            c.archived = bool(body.get("archived", c.archived))
            c.locked = bool(body.get("locked", c.locked))
        else:
            self.server.require(c, self.server.bot_user.id, P.MANAGE_CHANNELS)
            c.topic = body.get("topic", c.topic)
        c.name = body.get("name", c.name)
        event = "THREAD_UPDATE" if c.is_thread else "CHANNEL_UPDATE"
        self.server.dispatch(event, channel_json(self.server.state, c), guild_id=c.guild_id)
        return json_response(channel_json(self.server.state, c))

    async def h_delete_channel(self, request: web.Request) -> web.Response:
        c = self.server.channel(request.match_info["channel_id"])
        self.server.require(c, self.server.bot_user.id, P.MANAGE_THREADS if c.is_thread else P.MANAGE_CHANNELS)
        data = channel_json(self.server.state, c)
        del self.server.state.channels[c.id]
        if c.guild_id:
            self.server.state.guilds[c.guild_id].channel_ids.remove(c.id)
        self.server.dispatch("THREAD_DELETE" if c.is_thread else "CHANNEL_DELETE", data, guild_id=c.guild_id)
        return json_response(data)

    async def h_overwrite(self, request: web.Request) -> web.Response:
        c = self.server.channel(request.match_info["channel_id"])
        self.server.require(c, self.server.bot_user.id, P.MANAGE_ROLES)
        oid = int(request.match_info["overwrite_id"])
        if request.method == "PUT":
            body = request[JSON_KEY]
            c.overwrites[oid] = Overwrite(oid, int(body["type"]), int(body.get("allow", 0)), int(body.get("deny", 0)))
        else:
            c.overwrites.pop(oid, None)
        self.server.dispatch("CHANNEL_UPDATE", channel_json(self.server.state, c), guild_id=c.guild_id)
        return no_content()

    async def h_typing(self, request: web.Request) -> web.Response:
        c = self.server.channel(request.match_info["channel_id"])
        self.server.require(c, self.server.bot_user.id, self.server.send_permission(c))
        return no_content()

    @staticmethod
    def check_thread_body(body: dict[str, object]) -> None:
        """Start Thread (developers/resources/channel): a 1-100 character name, ``auto_archive_duration`` one of
        60, 1440, 4320, 10080, ``rate_limit_per_user`` 0-21600."""
        errors = FormErrors()
        name = body.get("name")
        if name is None:
            errors.required(["name"])
        elif not isinstance(name, str) or not name.strip():
            errors.bad_length(["name"], "", 1, 100)
        else:
            errors.bad_length(["name"], name, 1, 100)
        if body.get("auto_archive_duration") is not None:
            errors.choices(["auto_archive_duration"], body["auto_archive_duration"], (60, 1440, 4320, 10080))
        errors.out_of_range(["rate_limit_per_user"], body.get("rate_limit_per_user"), 0, 21600)
        errors.raise_if_any()

    async def h_create_thread(self, request: web.Request) -> web.Response:
        c = self.server.channel(request.match_info["channel_id"])
        body = request[JSON_KEY] or {}
        mid = request.match_info.get("message_id")
        ttype = ChannelType.PUBLIC_THREAD if mid else int(body.get("type") or ChannelType.PRIVATE_THREAD)
        self.server.require(
            c,
            self.server.bot_user.id,
            P.CREATE_PUBLIC_THREADS if ttype == ChannelType.PUBLIC_THREAD else P.CREATE_PRIVATE_THREADS,
        )
        self.check_thread_body(body)
        g = self.server.state.guilds[c.guild_id] if c.guild_id else None
        t = self.server.state.add_channel(g, body["name"], type=ttype, parent=c, owner=self.server.bot_user)
        if mid:
            # The thread started from a message shares its id on Discord; we keep our own id but link it.
            self.server.message(c, mid)
        data = channel_json(self.server.state, t)
        data["newly_created"] = True
        self.server.dispatch("THREAD_CREATE", data, guild_id=t.guild_id)
        return json_response(channel_json(self.server.state, t), 201)

    async def h_thread_member(self, request: web.Request) -> web.Response:
        t = self.server.channel(request.match_info["channel_id"])
        if not t.is_thread:
            raise ApiError(400, 50024, "Cannot execute action on this channel type")
        self.server.require(t, self.server.bot_user.id)
        uid = int(request.match_info.get("user_id", self.server.bot_user.id))
        if request.method == "PUT":
            t.thread_members.add(uid)
        else:
            t.thread_members.discard(uid)
        self.server.notify()
        return no_content()

    async def h_thread_members(self, request: web.Request) -> web.Response:
        t = self.server.channel(request.match_info["channel_id"])
        self.server.require(t, self.server.bot_user.id)
        errors = FormErrors()
        bool_param(request.query, "with_member", errors, default=False)
        after = snowflake_param(request.query, "after", errors) or 0
        limit = int_param(request.query, "limit", errors, low=1, high=100, default=100)
        errors.raise_if_any()
        return json_response(
            [
                {"id": str(t.id), "user_id": str(u), "join_timestamp": now().isoformat(), "flags": 0}
                for u in sorted(t.thread_members)
                if u > after
            ][:limit]
        )
