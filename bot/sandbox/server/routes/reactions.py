"""REST routes for reactions: add, remove (own or another's), list who reacted, clear."""

from __future__ import annotations

from aiohttp import web

from bot.sandbox.server.http import (
    UNKNOWN_EMOJI,
    ApiError,
    Route,
    json_response,
    no_content,
)
from bot.sandbox.server.routes.group import RouteGroup
from bot.sandbox.state import (
    P,
    user_json,
)


class ReactionRoutes(RouteGroup):
    def table(self) -> list[Route]:
        ch = "/channels/{channel_id}"
        msg = ch + "/messages/{message_id}"
        return [
            ("PUT", msg + "/reactions/{emoji}/@me", self.h_react),
            ("DELETE", msg + "/reactions/{emoji}/@me", self.h_unreact),
            ("DELETE", msg + "/reactions/{emoji}/{member_id}", self.h_unreact),
            ("GET", msg + "/reactions/{emoji}", self.h_reactors),
            ("DELETE", msg + "/reactions/{emoji}", self.h_clear_reactions),
            ("DELETE", msg + "/reactions", self.h_clear_reactions),
        ]

    async def h_react(self, request: web.Request) -> web.Response:
        c = self.server.channel(request.match_info["channel_id"])
        m = self.server.message(c, request.match_info["message_id"])
        key = self.server.emoji_key(request.match_info["emoji"])
        if not key:
            raise ApiError(400, UNKNOWN_EMOJI, "Unknown Emoji")
        needed = [P.READ_MESSAGE_HISTORY]
        if not m.reactions.get(key):
            needed.append(P.ADD_REACTIONS)
        self.server.require(c, self.server.bot_user.id, *needed)
        self.server.add_reaction(m, self.server.bot_user.id, key)
        return no_content()

    async def h_unreact(self, request: web.Request) -> web.Response:
        c = self.server.channel(request.match_info["channel_id"])
        m = self.server.message(c, request.match_info["message_id"])
        key = self.server.emoji_key(request.match_info["emoji"])
        target = request.match_info.get("member_id")
        uid = self.server.bot_user.id if target is None else int(target)
        if uid != self.server.bot_user.id:
            self.server.require(c, self.server.bot_user.id, P.MANAGE_MESSAGES)
        self.server.remove_reaction(m, uid, key)
        return no_content()

    async def h_reactors(self, request: web.Request) -> web.Response:
        c = self.server.channel(request.match_info["channel_id"])
        self.server.require(c, self.server.bot_user.id, P.READ_MESSAGE_HISTORY)
        m = self.server.message(c, request.match_info["message_id"])
        key = self.server.emoji_key(request.match_info["emoji"])
        after = int(request.query.get("after", 0))
        limit = int(request.query.get("limit", 25))
        users = sorted(u for u in m.reactions.get(key, []) if u > after)[:limit]
        return json_response([user_json(self.server.state.users[u]) for u in users])

    async def h_clear_reactions(self, request: web.Request) -> web.Response:
        c = self.server.channel(request.match_info["channel_id"])
        self.server.require(c, self.server.bot_user.id, P.MANAGE_MESSAGES)
        m = self.server.message(c, request.match_info["message_id"])
        raw = request.match_info.get("emoji")
        self.server.clear_reactions(m, None if raw is None else self.server.emoji_key(raw))
        return no_content()
