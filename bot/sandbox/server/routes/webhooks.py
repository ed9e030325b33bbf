"""REST routes for webhooks: create, list, read, edit, delete, execute, and the messages a webhook (or an
interaction's token) sent."""

from __future__ import annotations

import hashlib
import secrets

from aiohttp import web

from bot.sandbox.server.http import (
    INVALID_WEBHOOK_TOKEN,
    JSON_KEY,
    UNKNOWN_CHANNEL,
    UNKNOWN_MESSAGE,
    UNKNOWN_WEBHOOK,
    ApiError,
    Route,
    json_response,
    no_content,
)
from bot.sandbox.server.routes.group import RouteGroup
from bot.sandbox.server.validation.errors import FormErrors
from bot.sandbox.server.validation.messages import check_webhook_name
from bot.sandbox.server.validation.queries import bool_param, snowflake_param
from bot.sandbox.state import (
    Interaction,
    Message,
    P,
    Webhook,
    message_json,
    webhook_json,
)


class WebhookRoutes(RouteGroup):
    def table(self) -> list[Route]:
        ch = "/channels/{channel_id}"
        wh = "/webhooks/{webhook_id}/{webhook_token}"
        return [
            ("POST", ch + "/webhooks", self.h_create_webhook),
            ("GET", ch + "/webhooks", self.h_channel_webhooks),
            ("GET", "/webhooks/{webhook_id}", self.h_webhook),
            ("PATCH", "/webhooks/{webhook_id}", self.h_edit_webhook),
            ("DELETE", "/webhooks/{webhook_id}", self.h_delete_webhook),
            ("GET", wh, self.h_webhook),
            ("PATCH", wh, self.h_edit_webhook),
            ("DELETE", wh, self.h_delete_webhook),
            ("POST", wh, self.h_execute),
            ("GET", wh + "/messages/@original", self.h_webhook_message),
            ("PATCH", wh + "/messages/@original", self.h_webhook_message),
            ("DELETE", wh + "/messages/@original", self.h_webhook_message),
            ("GET", wh + "/messages/{message_id}", self.h_webhook_message),
            ("PATCH", wh + "/messages/{message_id}", self.h_webhook_message),
            ("DELETE", wh + "/messages/{message_id}", self.h_webhook_message),
        ]

    def webhook(self, request: web.Request) -> Webhook:
        try:
            w = self.server.state.webhooks[int(request.match_info["webhook_id"])]
        except (KeyError, ValueError):
            raise ApiError(404, UNKNOWN_WEBHOOK, "Unknown Webhook") from None
        token = request.match_info.get("webhook_token")
        if token is not None and token != w.token:
            raise ApiError(401, INVALID_WEBHOOK_TOKEN, "Invalid Webhook Token")
        if token is None:
            self.server.require(self.server.state.channels[w.channel_id], self.server.bot_user.id, P.MANAGE_WEBHOOKS)
        return w

    @staticmethod
    def avatar_hash(data_uri: str | None) -> str | None:
        return None if not data_uri else hashlib.md5(data_uri.encode()).hexdigest()

    async def h_create_webhook(self, request: web.Request) -> web.Response:
        c = self.server.channel(request.match_info["channel_id"])
        self.server.require(c, self.server.bot_user.id, P.MANAGE_WEBHOOKS)
        body = request[JSON_KEY] or {}
        errors = FormErrors()
        if body.get("name") is None:
            errors.required(["name"])
        else:
            check_webhook_name(body["name"], errors, ["name"])
        errors.raise_if_any()
        name: str = body["name"]
        w = Webhook(
            id=self.server.state.snowflake(),
            token=secrets.token_urlsafe(48),
            channel_id=c.id,
            guild_id=c.guild_id,
            name=name,
            avatar=self.avatar_hash(body.get("avatar")),
            creator_id=self.server.bot_user.id,
        )
        self.server.state.webhooks[w.id] = w
        self.server.dispatch(
            "WEBHOOKS_UPDATE", {"guild_id": str(c.guild_id), "channel_id": str(c.id)}, guild_id=c.guild_id
        )
        return json_response(webhook_json(self.server.state, w))

    async def h_channel_webhooks(self, request: web.Request) -> web.Response:
        c = self.server.channel(request.match_info["channel_id"])
        self.server.require(c, self.server.bot_user.id, P.MANAGE_WEBHOOKS)
        return json_response(
            [webhook_json(self.server.state, w) for w in self.server.state.webhooks.values() if w.channel_id == c.id]
        )

    async def h_webhook(self, request: web.Request) -> web.Response:
        w = self.webhook(request)
        return json_response(webhook_json(self.server.state, w, with_token="webhook_token" not in request.match_info))

    async def h_edit_webhook(self, request: web.Request) -> web.Response:
        w = self.webhook(request)
        body = request[JSON_KEY] or {}
        if body.get("name") is not None:
            errors = FormErrors()
            check_webhook_name(body["name"], errors, ["name"])
            errors.raise_if_any()
            w.name = body["name"]
        if "avatar" in body:
            w.avatar = self.avatar_hash(body["avatar"])
        if "channel_id" in body and "webhook_token" not in request.match_info:
            w.channel_id = int(body["channel_id"])
        self.server.notify()
        return json_response(webhook_json(self.server.state, w))

    async def h_delete_webhook(self, request: web.Request) -> web.Response:
        w = self.webhook(request)
        del self.server.state.webhooks[w.id]
        self.server.dispatch(
            "WEBHOOKS_UPDATE",
            {"guild_id": str(w.guild_id), "channel_id": str(w.channel_id)},
            guild_id=w.guild_id,
        )
        return no_content()

    def _webhook_target(self, request: web.Request) -> tuple[Webhook | None, Interaction | None]:
        token = request.match_info["webhook_token"]
        if token in self.server.state.interactions_by_token:
            i = self.server.interaction_for_token(token)
            if str(i.payload["application_id"]) != request.match_info["webhook_id"]:
                raise ApiError(404, UNKNOWN_WEBHOOK, "Unknown Webhook")
            return None, i
        return self.webhook(request), None

    async def h_execute(self, request: web.Request) -> web.Response:
        w, i = self._webhook_target(request)
        body = request[JSON_KEY] or {}
        query = FormErrors()
        wait = bool_param(request.query, "wait", query, default=False)
        thread_id = snowflake_param(request.query, "thread_id", query)
        bool_param(request.query, "with_components", query, default=False)
        query.raise_if_any()
        if i is not None:
            if i.response_type is None:
                raise ApiError(404, UNKNOWN_WEBHOOK, "Unknown Webhook")
            channel = self.server.state.channels[i.channel_id]
            files = self.files(request, channel.id, body)
            if i.response_type == 5 and not i.original_filled:
                m = self.server.fill_deferred(i, body, files)
            else:
                ephemeral = bool(int(body.get("flags") or 0) & 64)
                m = self.server.create_message(
                    channel,
                    self.server.bot_user.id,
                    body,
                    files,
                    application_id=self.server.application_id,
                    interaction=i,
                    visible_to=i.user_id if ephemeral else None,
                )
                i.followup_ids.append(m.id)
            self.server.notify()
            return json_response(message_json(self.server.state, m))
        assert w is not None
        if w.channel_id not in self.server.state.channels:
            raise ApiError(404, UNKNOWN_CHANNEL, "Unknown Channel")
        channel = self.server.state.channels[w.channel_id]
        if thread_id is not None:
            channel = self.server.channel(str(thread_id))
            if channel.parent_id != w.channel_id:
                raise ApiError(400, 220001, "Webhook can only send to threads of its channel")
        m = self.server.create_message(channel, w.id, body, self.files(request, channel.id, body), webhook=w)
        return json_response(message_json(self.server.state, m)) if wait else no_content()

    def _sent_message(self, w: Webhook | None, i: Interaction | None, raw_id: str) -> Message:
        """The message ``raw_id`` ("@original" or an id) that webhook ``w`` or interaction ``i`` sent; 404 if not."""
        if i is not None:
            if raw_id == "@original":
                if i.original_message_id is None:
                    raise ApiError(404, UNKNOWN_MESSAGE, "Unknown Message")
                mid = i.original_message_id
            else:
                mid = int(raw_id)
                if mid not in i.followup_ids and mid != i.original_message_id:
                    raise ApiError(404, UNKNOWN_MESSAGE, "Unknown Message")
            return self.server.state.messages[mid]
        assert w is not None
        if raw_id == "@original":
            raise ApiError(404, UNKNOWN_MESSAGE, "Unknown Message")
        m = self.server.state.messages.get(int(raw_id))
        if m is None or m.webhook_id != w.id:
            raise ApiError(404, UNKNOWN_MESSAGE, "Unknown Message")
        return m

    async def h_webhook_message(self, request: web.Request) -> web.Response:
        w, i = self._webhook_target(request)
        query = FormErrors()
        snowflake_param(request.query, "thread_id", query)
        if request.method == "PATCH":
            bool_param(request.query, "with_components", query, default=False)
        query.raise_if_any()
        raw_id = request.match_info.get("message_id", "@original")
        m = self._sent_message(w, i, raw_id)
        if m.deleted:
            raise ApiError(404, UNKNOWN_MESSAGE, "Unknown Message")
        if request.method == "GET":
            return json_response(message_json(self.server.state, m))
        if request.method == "DELETE":
            self.server.delete_message(m)
            return no_content()
        body = request[JSON_KEY] or {}
        files = self.files(request, m.channel_id, body)
        if i is not None and raw_id == "@original" and i.response_type == 5 and not i.original_filled:
            self.server.fill_deferred(i, body, files)
        else:
            self.server.edit_message(m, body, files)
        return json_response(message_json(self.server.state, m))
