"""REST route for interaction callbacks (the bot's answer to an interaction)."""

from __future__ import annotations

from aiohttp import web

from bot.sandbox.server.http import (
    INVALID_WEBHOOK_TOKEN,
    JSON_KEY,
    UNKNOWN_INTERACTION,
    ApiError,
    Route,
    json_response,
    no_content,
)
from bot.sandbox.server.routes.group import RouteGroup


class InteractionRoutes(RouteGroup):
    def table(self) -> list[Route]:
        return [
            ("POST", "/interactions/{interaction_id}/{interaction_token}/callback", self.h_callback),
        ]

    async def h_callback(self, request: web.Request) -> web.Response:
        try:
            i = self.server.state.interactions[int(request.match_info["interaction_id"])]
        except (KeyError, ValueError):
            raise ApiError(404, UNKNOWN_INTERACTION, "Unknown interaction") from None
        if i.token != request.match_info["interaction_token"]:
            raise ApiError(401, INVALID_WEBHOOK_TOKEN, "Invalid Webhook Token")
        body = request[JSON_KEY] or {}
        files = self.files(request, i.channel_id, body.get("data") or {})
        result = self.server.interaction_callback(i, body, files)
        if request.query.get("with_response", "").lower() in ("1", "true"):
            return json_response(result)
        return no_content()
