"""REST routes for guilds: the guild, its channels, roles, members, active threads and webhooks."""

from __future__ import annotations

from aiohttp import web

from bot.sandbox.server.http import (
    JSON_KEY,
    MISSING_PERMISSIONS,
    UNKNOWN_MEMBER,
    UNKNOWN_ROLE,
    ApiError,
    Route,
    form_error,
    json_response,
    no_content,
)
from bot.sandbox.server.routes.group import RouteGroup
from bot.sandbox.state import (
    Overwrite,
    P,
    channel_json,
    guild_json,
    member_json,
    now,
    role_json,
    webhook_json,
)


class GuildRoutes(RouteGroup):
    def table(self) -> list[Route]:
        return [
            ("GET", "/guilds/{guild_id}", self.h_guild),
            ("GET", "/guilds/{guild_id}/channels", self.h_guild_channels),
            ("POST", "/guilds/{guild_id}/channels", self.h_create_channel),
            ("GET", "/guilds/{guild_id}/roles", self.h_roles),
            ("POST", "/guilds/{guild_id}/roles", self.h_create_role),
            ("GET", "/guilds/{guild_id}/members", self.h_members),
            ("GET", "/guilds/{guild_id}/members/{user_id}", self.h_member),
            ("PUT", "/guilds/{guild_id}/members/{user_id}/roles/{role_id}", self.h_member_role),
            ("DELETE", "/guilds/{guild_id}/members/{user_id}/roles/{role_id}", self.h_member_role),
            ("GET", "/guilds/{guild_id}/threads/active", self.h_active_threads),
            ("GET", "/guilds/{guild_id}/webhooks", self.h_guild_webhooks),
        ]

    async def h_guild(self, request: web.Request) -> web.Response:
        g = self.guild(request)
        counts = request.query.get("with_counts") == "true"
        return json_response(guild_json(self.server.state, g, full=False, with_counts=counts))

    async def h_guild_channels(self, request: web.Request) -> web.Response:
        g = self.guild(request)
        chans = [self.server.state.channels[c] for c in g.channel_ids]
        return json_response([channel_json(self.server.state, c) for c in chans if not c.is_thread])

    async def h_create_channel(self, request: web.Request) -> web.Response:
        g = self.guild(request)
        if not self.server.state.base_permissions(g, self.server.bot_user.id) & P.MANAGE_CHANNELS:
            raise ApiError(403, MISSING_PERMISSIONS, "Missing Permissions")
        body = request[JSON_KEY]
        name = body.get("name")
        if not name:
            raise form_error("name", "This field is required")
        parent = self.server.state.channels.get(int(body["parent_id"])) if body.get("parent_id") else None
        c = self.server.state.add_channel(
            g, name, type=int(body.get("type") or 0), parent=parent, topic=body.get("topic")
        )
        for o in body.get("permission_overwrites") or []:
            c.overwrites[int(o["id"])] = Overwrite(
                int(o["id"]), int(o["type"]), int(o.get("allow", 0)), int(o.get("deny", 0))
            )
        self.server.dispatch("CHANNEL_CREATE", channel_json(self.server.state, c), guild_id=g.id)
        return json_response(channel_json(self.server.state, c), 201)

    async def h_roles(self, request: web.Request) -> web.Response:
        g = self.guild(request)
        return json_response([role_json(self.server.state.roles[r]) for r in g.role_ids])

    async def h_create_role(self, request: web.Request) -> web.Response:
        g = self.guild(request)
        if not self.server.state.base_permissions(g, self.server.bot_user.id) & P.MANAGE_ROLES:
            raise ApiError(403, MISSING_PERMISSIONS, "Missing Permissions")
        body = request[JSON_KEY] or {}
        role = self.server.state.add_role(g, body.get("name") or "new role", int(body.get("permissions") or 0))
        self.server.dispatch("GUILD_ROLE_CREATE", {"guild_id": str(g.id), "role": role_json(role)}, guild_id=g.id)
        return json_response(role_json(role))

    async def h_members(self, request: web.Request) -> web.Response:
        g = self.guild(request)
        limit = int(request.query.get("limit", 1))
        after = int(request.query.get("after", 0))
        ms = sorted((m for m in g.members.values() if m.user_id > after), key=lambda m: m.user_id)[:limit]
        return json_response([member_json(self.server.state, m) for m in ms])

    async def h_member(self, request: web.Request) -> web.Response:
        g = self.guild(request)
        try:
            m = g.members[int(request.match_info["user_id"])]
        except (KeyError, ValueError):
            raise ApiError(404, UNKNOWN_MEMBER, "Unknown Member") from None
        return json_response(member_json(self.server.state, m))

    async def h_member_role(self, request: web.Request) -> web.Response:
        g = self.guild(request)
        try:
            m = g.members[int(request.match_info["user_id"])]
        except (KeyError, ValueError):
            raise ApiError(404, UNKNOWN_MEMBER, "Unknown Member") from None
        rid = int(request.match_info["role_id"])
        role = self.server.state.roles.get(rid)
        if role is None or role.guild_id != g.id:
            raise ApiError(404, UNKNOWN_ROLE, "Unknown Role")
        if not self.server.state.base_permissions(g, self.server.bot_user.id) & P.MANAGE_ROLES:
            raise ApiError(403, MISSING_PERMISSIONS, "Missing Permissions")
        top = max((self.server.state.roles[r].position for r in g.members[self.server.bot_user.id].roles), default=0)
        if role.position >= top and self.server.bot_user.id != g.owner_id:
            # Discord: a bot may only manage roles below its highest role.
            raise ApiError(403, MISSING_PERMISSIONS, "Missing Permissions")
        if request.method == "PUT" and rid not in m.roles:
            m.roles.append(rid)
        elif request.method == "DELETE" and rid in m.roles:
            m.roles.remove(rid)
        data = member_json(self.server.state, m)
        data["guild_id"] = str(g.id)
        self.server.dispatch("GUILD_MEMBER_UPDATE", data, guild_id=g.id)
        return no_content()

    async def h_active_threads(self, request: web.Request) -> web.Response:
        g = self.guild(request)
        threads = [self.server.state.channels[c] for c in g.channel_ids if self.server.state.channels[c].is_thread]
        active = [t for t in threads if not t.archived]
        members = [
            {"id": str(t.id), "user_id": str(u), "join_timestamp": now().isoformat(), "flags": 0}
            for t in active
            for u in t.thread_members
            if u == self.server.bot_user.id
        ]
        return json_response({"threads": [channel_json(self.server.state, t) for t in active], "members": members})

    async def h_guild_webhooks(self, request: web.Request) -> web.Response:
        g = self.guild(request)
        if not self.server.state.base_permissions(g, self.server.bot_user.id) & P.MANAGE_WEBHOOKS:
            raise ApiError(403, MISSING_PERMISSIONS, "Missing Permissions")
        return json_response(
            [webhook_json(self.server.state, w) for w in self.server.state.webhooks.values() if w.guild_id == g.id]
        )
