"""The base of every REST route group: the server it serves, and the request helpers several groups share."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web

from bot.sandbox.server.http import FILES_KEY, MISSING_ACCESS, UNKNOWN_GUILD, ApiError, Route
from bot.sandbox.state import Attachment, Guild

if TYPE_CHECKING:
    from bot.sandbox.server.app import SandboxServer


class RouteGroup:
    """Handlers for one kind of resource; ``table()`` lists its routes (templates under ``/api/v10``)."""

    def __init__(self, server: SandboxServer) -> None:
        self.server = server

    def table(self) -> list[Route]:
        raise NotImplementedError

    def files(self, request: web.Request, channel_id: int, body: dict[str, Any]) -> list[Attachment]:
        """The uploaded files of a multipart request, as attachments (named and described by ``body``)."""
        out = []
        described = {str(a.get("id")): a for a in body.get("attachments") or [] if isinstance(a, dict)}
        for name, filename, data, ctype in request[FILES_KEY]:
            idx = name[len("files[") : -1] if name.startswith("files[") else name
            meta = described.get(idx, {})
            att = self.server.add_attachment(channel_id, meta.get("filename") or filename, data, ctype)
            att.description = meta.get("description")
            out.append(att)
        return out

    def guild(self, request: web.Request) -> Guild:
        """The ``{guild_id}`` of the route; 404 10004 if unknown, 403 50001 if the bot is not in it."""
        try:
            g = self.server.state.guilds[int(request.match_info["guild_id"])]
        except (KeyError, ValueError):
            raise ApiError(404, UNKNOWN_GUILD, "Unknown Guild") from None
        if self.server.bot_user.id not in g.members:
            raise ApiError(403, MISSING_ACCESS, "Missing Access")
        return g

    def check_application(self, request: web.Request) -> None:
        """403 50001 unless the route's ``{application_id}`` is the bot's."""
        if request.match_info["application_id"] != str(self.server.application_id):
            raise ApiError(403, MISSING_ACCESS, "Missing Access")
