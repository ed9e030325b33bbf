"""REST routes for the gateway URL, users (the bot itself, other users, opening a DM) and the application."""

from __future__ import annotations

from aiohttp import web

from bot.sandbox.server.http import (
    JSON_KEY,
    UNKNOWN_USER,
    ApiError,
    Route,
    json_response,
)
from bot.sandbox.server.routes.group import RouteGroup
from bot.sandbox.state import (
    application_json,
    bot_user_json,
    channel_json,
    partial_guild_json,
    user_json,
)


class UserRoutes(RouteGroup):
    def table(self) -> list[Route]:
        return [
            ("GET", "/gateway", self.h_gateway),
            ("GET", "/gateway/bot", self.h_gateway_bot),
            ("GET", "/users/@me", self.h_me),
            ("PATCH", "/users/@me", self.h_me),
            ("GET", "/users/@me/guilds", self.h_my_guilds),
            ("POST", "/users/@me/channels", self.h_open_dm),
            ("GET", "/users/{user_id}", self.h_user),
            ("GET", "/oauth2/applications/@me", self.h_application),
            ("GET", "/applications/@me", self.h_application),
        ]

    async def h_gateway(self, request: web.Request) -> web.Response:
        return json_response({"url": self.server.gateway_url})

    async def h_gateway_bot(self, request: web.Request) -> web.Response:
        return json_response(
            {
                "url": self.server.gateway_url,
                "shards": self.server.shard_count,
                "session_start_limit": {
                    "total": 1000,
                    "remaining": 999,
                    "reset_after": 14_400_000,
                    "max_concurrency": 1,
                },
            }
        )

    async def h_me(self, request: web.Request) -> web.Response:
        if request.method == "PATCH":
            body = request[JSON_KEY]
            if "username" in body:
                self.server.bot_user.username = body["username"]
        return json_response(bot_user_json(self.server.bot_user))

    async def h_my_guilds(self, request: web.Request) -> web.Response:
        counts = request.query.get("with_counts") == "true"
        me = self.server.bot_user.id
        guilds = [g for g in self.server.state.guilds.values() if me in g.members]
        return json_response([partial_guild_json(self.server.state, g, me, with_counts=counts) for g in guilds])

    async def h_user(self, request: web.Request) -> web.Response:
        try:
            return json_response(user_json(self.server.state.users[int(request.match_info["user_id"])]))
        except (KeyError, ValueError):
            raise ApiError(404, UNKNOWN_USER, "Unknown User") from None

    async def h_open_dm(self, request: web.Request) -> web.Response:
        try:
            user = self.server.state.users[int(request[JSON_KEY]["recipient_id"])]
        except (KeyError, ValueError, TypeError):
            raise ApiError(404, UNKNOWN_USER, "Unknown User") from None
        return json_response(channel_json(self.server.state, self.server.state.dm_channel(user)))

    async def h_application(self, request: web.Request) -> web.Response:
        srv = self.server
        return json_response(application_json(srv.state, srv.application_id, srv.application_flags))
