"""REST routes for reactions: add, remove (own or another's), list who reacted, clear."""

from __future__ import annotations

from aiohttp import web

from bot.sandbox.server.http import (
    Route,
    json_response,
    no_content,
)
from bot.sandbox.server.routes.group import RouteGroup
from bot.sandbox.server.validation.errors import FormErrors
from bot.sandbox.server.validation.queries import choice_param, int_param, snowflake_param
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

    def emoji(self, request: web.Request) -> str:
        """The route's ``{emoji}`` as a reaction key; 400 10014 Unknown Emoji unless Discord would know it."""
        key = self.server.emoji_key(request.match_info["emoji"])
        self.server.require_emoji(key)
        return key

    async def h_react(self, request: web.Request) -> web.Response:
        c = self.server.channel(request.match_info["channel_id"])
        m = self.server.message(c, request.match_info["message_id"])
        key = self.emoji(request)
        needed = [P.READ_MESSAGE_HISTORY]
        if not m.reactions.get(key):
            needed.append(P.ADD_REACTIONS)
        self.server.require(c, self.server.bot_user.id, *needed)
        self.server.add_reaction(m, self.server.bot_user.id, key)
        return no_content()

    async def h_unreact(self, request: web.Request) -> web.Response:
        c = self.server.channel(request.match_info["channel_id"])
        m = self.server.message(c, request.match_info["message_id"])
        key = self.emoji(request)
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
        key = self.emoji(request)
        errors = FormErrors()
        limit = int_param(request.query, "limit", errors, low=1, high=100, default=25)
        after = snowflake_param(request.query, "after", errors) or 0
        choice_param(request.query, "type", errors, (0, 1), 0)
        errors.raise_if_any()
        users = sorted(u for u in m.reactions.get(key, []) if u > after)[:limit]
        return json_response([user_json(self.server.state.users[u]) for u in users])

    async def h_clear_reactions(self, request: web.Request) -> web.Response:
        c = self.server.channel(request.match_info["channel_id"])
        self.server.require(c, self.server.bot_user.id, P.MANAGE_MESSAGES)
        m = self.server.message(c, request.match_info["message_id"])
        raw = request.match_info.get("emoji")
        self.server.clear_reactions(m, None if raw is None else self.emoji(request))
        return no_content()
