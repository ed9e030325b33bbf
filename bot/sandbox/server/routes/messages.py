"""REST routes for a channel's messages: history, send (with enforce_nonce), fetch, edit, delete, bulk delete
and pins."""

from __future__ import annotations

import time
from typing import Any

from aiohttp import web

from bot.sandbox.server.http import (
    CANNOT_DM,
    CANNOT_EDIT_OTHERS,
    FILES_KEY,
    JSON_KEY,
    MISSING_ACCESS,
    ApiError,
    Route,
    json_response,
    no_content,
)
from bot.sandbox.server.routes.group import RouteGroup
from bot.sandbox.server.validation.errors import FormErrors
from bot.sandbox.server.validation.queries import int_param, snowflake_param, timestamp_param
from bot.sandbox.state import (
    DISCORD_EPOCH_MS,
    ChannelType,
    P,
    message_json,
    now,
)

BULK_DELETE_MAX_AGE_MS = 14 * 24 * 3600 * 1000  # "will not delete messages older than 2 weeks"
MESSAGE_TOO_OLD = 50034
NONCE_WINDOW = 300.0  # seconds a message nonce is remembered for enforce_nonce ("the past few minutes")


class MessageRoutes(RouteGroup):
    def table(self) -> list[Route]:
        ch = "/channels/{channel_id}"
        msg = ch + "/messages/{message_id}"
        return [
            ("GET", ch + "/messages", self.h_history),
            ("POST", ch + "/messages", self.h_send),
            ("POST", ch + "/messages/bulk-delete", self.h_bulk_delete),
            ("GET", ch + "/messages/pins", self.h_pins),
            ("PUT", ch + "/messages/pins/{message_id}", self.h_pin),
            ("DELETE", ch + "/messages/pins/{message_id}", self.h_pin),
            ("GET", msg, self.h_fetch),
            ("PATCH", msg, self.h_edit),
            ("DELETE", msg, self.h_delete),
        ]

    async def h_history(self, request: web.Request) -> web.Response:
        c = self.server.channel(request.match_info["channel_id"])
        self.server.require(c, self.server.bot_user.id, P.READ_MESSAGE_HISTORY)
        errors = FormErrors()
        limit = int_param(request.query, "limit", errors, low=1, high=100, default=50)
        before, after, around = (snowflake_param(request.query, k, errors) for k in ("before", "after", "around"))
        errors.raise_if_any()
        msgs = self.server.state.visible_messages(c)
        if before is not None:
            msgs = [m for m in msgs if m.id < before]
            msgs = msgs[-limit:]
        elif after is not None:
            msgs = [m for m in msgs if m.id > after][:limit]
        elif around is not None:
            mid = around
            older = [m for m in msgs if m.id < mid][-(limit // 2) :]
            newer = [m for m in msgs if m.id >= mid][: limit - len(older)]
            msgs = older + newer
        else:
            msgs = msgs[-limit:]
        # Discord returns newest first.
        return json_response([message_json(self.server.state, m) for m in reversed(msgs)])

    async def h_send(self, request: web.Request) -> web.Response:
        c = self.server.channel(request.match_info["channel_id"])
        body = request[JSON_KEY] or {}
        if c.type == ChannelType.DM:
            if self.server.bot_user.id not in c.recipients:
                raise ApiError(403, MISSING_ACCESS, "Missing Access")
            users = self.server.state.users
            if any(not users[r].accepts_dms for r in c.recipients if r in users and r != self.server.bot_user.id):
                raise ApiError(403, CANNOT_DM, "Cannot send messages to this user")
        else:
            files = request[FILES_KEY]
            needed = [self.server.send_permission(c)]
            if files:
                needed.append(P.ATTACH_FILES)
            if body.get("embeds"):
                needed.append(P.EMBED_LINKS)
            if body.get("message_reference"):
                needed.append(P.READ_MESSAGE_HISTORY)
            self.server.require(c, self.server.bot_user.id, *needed)
            if c.is_thread and (c.archived or c.locked):
                raise ApiError(400, 50083, "Thread is archived")
        # Discord: with enforce_nonce and a nonce, a message the same author created with that nonce in the past
        # few minutes is returned instead of creating another.
        nonce = body.get("nonce")
        enforced = bool(body.get("enforce_nonce")) and nonce is not None
        if enforced:
            seen = self.server.nonces.get((self.server.bot_user.id, str(nonce)))
            if seen is not None and time.monotonic() - seen[1] < NONCE_WINDOW and seen[0] in self.server.state.messages:
                return json_response(message_json(self.server.state, self.server.state.messages[seen[0]]))
        m = self.server.create_message(c, self.server.bot_user.id, body, self.files(request, c.id, body))
        if enforced:
            self.server.nonces[(self.server.bot_user.id, str(nonce))] = (m.id, time.monotonic())
        return json_response(message_json(self.server.state, m))

    async def h_fetch(self, request: web.Request) -> web.Response:
        c = self.server.channel(request.match_info["channel_id"])
        self.server.require(c, self.server.bot_user.id, P.READ_MESSAGE_HISTORY)
        return json_response(message_json(self.server.state, self.server.message(c, request.match_info["message_id"])))

    async def h_edit(self, request: web.Request) -> web.Response:
        c = self.server.channel(request.match_info["channel_id"])
        self.server.require(c, self.server.bot_user.id)
        m = self.server.message(c, request.match_info["message_id"])
        body = request[JSON_KEY] or {}
        if m.author_id != self.server.bot_user.id or m.webhook_id is not None:
            if set(body) - {"flags"}:
                raise ApiError(403, CANNOT_EDIT_OTHERS, "Cannot edit a message authored by another user")
            self.server.require(c, self.server.bot_user.id, P.MANAGE_MESSAGES)
        self.server.edit_message(m, body, self.files(request, c.id, body))
        return json_response(message_json(self.server.state, m))

    async def h_delete(self, request: web.Request) -> web.Response:
        c = self.server.channel(request.match_info["channel_id"])
        self.server.require(c, self.server.bot_user.id)
        m = self.server.message(c, request.match_info["message_id"])
        if m.author_id != self.server.bot_user.id or (m.webhook_id is not None and m.application_id is None):
            if c.type == ChannelType.DM:
                raise ApiError(403, 50003, "Cannot execute action on a DM channel")
            self.server.require(c, self.server.bot_user.id, P.MANAGE_MESSAGES)
        self.server.delete_message(m)
        return no_content()

    def bulk_ids(self, raw: object) -> list[int]:
        """The ids of a bulk delete: 2 to 100 (unknown ids count too), no duplicates, none older than two weeks
        (50034 "A message provided was too old to bulk delete")."""
        errors = FormErrors()
        if not isinstance(raw, list):
            errors.required(["messages"])
            errors.raise_if_any()
        assert isinstance(raw, list)
        ids: list[int] = []
        for i, value in enumerate(raw):
            if not str(value).isdigit():
                errors.add(["messages", i], "NUMBER_TYPE_COERCE", f'Value "{value}" is not snowflake.')
            else:
                ids.append(int(value))
        errors.bad_length(["messages"], raw, 2, 100)
        if len(set(ids)) != len(ids):
            errors.add(["messages"], "BASE_TYPE_DUPLICATES", "Duplicate message ids are not allowed.")
        errors.raise_if_any()
        oldest = (int(time.time() * 1000) - BULK_DELETE_MAX_AGE_MS - DISCORD_EPOCH_MS) << 22
        if any(mid < oldest for mid in ids):
            raise ApiError(400, MESSAGE_TOO_OLD, "A message provided was too old to bulk delete")
        return ids

    async def h_bulk_delete(self, request: web.Request) -> web.Response:
        c = self.server.channel(request.match_info["channel_id"])
        self.server.require(c, self.server.bot_user.id, P.MANAGE_MESSAGES)
        ids = self.bulk_ids((request[JSON_KEY] or {}).get("messages"))
        for mid in ids:
            m = self.server.state.messages.get(mid)
            if m is not None and m.channel_id == c.id:
                m.deleted = True
        data: dict[str, Any] = {"ids": [str(i) for i in ids], "channel_id": str(c.id)}
        if c.guild_id:
            data["guild_id"] = str(c.guild_id)
        self.server.dispatch("MESSAGE_DELETE_BULK", data, guild_id=c.guild_id)
        return no_content()

    async def h_pins(self, request: web.Request) -> web.Response:
        c = self.server.channel(request.match_info["channel_id"])
        self.server.require(c, self.server.bot_user.id, P.READ_MESSAGE_HISTORY)
        errors = FormErrors()
        limit = int_param(request.query, "limit", errors, low=1, high=50, default=50)
        timestamp_param(request.query, "before", errors)
        errors.raise_if_any()
        pinned = [m for m in reversed(self.server.state.visible_messages(c)) if m.pinned]
        items = [{"pinned_at": now().isoformat(), "message": message_json(self.server.state, m)} for m in pinned]
        return json_response({"items": items[:limit], "has_more": len(items) > limit})

    async def h_pin(self, request: web.Request) -> web.Response:
        c = self.server.channel(request.match_info["channel_id"])
        self.server.require(c, self.server.bot_user.id, P.MANAGE_MESSAGES)
        m = self.server.message(c, request.match_info["message_id"])
        m.pinned = request.method == "PUT"
        self.server.dispatch("MESSAGE_UPDATE", self.server.message_event(m, update=True), guild_id=m.guild_id)
        return no_content()
