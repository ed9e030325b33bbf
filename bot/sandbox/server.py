"""The sandbox's aiohttp application: Discord's REST API v10 under ``/api/v10`` and the Gateway.

:class:`SandboxServer` owns the state, the gateway and the domain operations (create a message,
start an interaction, ...) that both the REST handlers and the test harness use, so what a test
does as a user and what the bot does through discord.py go through one code path.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import logging
import re
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import unquote

from aiohttp import web

from bot.sandbox.gateway import Gateway
from bot.sandbox.state import (
    ATTACHMENT_SIZE_LIMIT,
    SKU,
    Attachment,
    Channel,
    ChannelType,
    Entitlement,
    Interaction,
    Message,
    Overwrite,
    P,
    RequestRecord,
    SandboxState,
    User,
    Webhook,
    channel_json,
    entitlement_json,
    guild_json,
    member_json,
    message_json,
    now,
    role_json,
    sku_json,
    user_json,
    webhook_json,
)

log = logging.getLogger(__name__)

API_PREFIX = "/api/v10"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

# Discord's JSON error codes used here.
UNKNOWN_CHANNEL, UNKNOWN_GUILD, UNKNOWN_MEMBER, UNKNOWN_MESSAGE = 10003, 10004, 10007, 10008
UNKNOWN_ROLE, UNKNOWN_WEBHOOK, UNKNOWN_USER, UNKNOWN_EMOJI = 10011, 10015, 10013, 10014
UNKNOWN_INTERACTION, UNKNOWN_COMMAND, UNKNOWN_ENTITLEMENT = 10062, 10063, 10069
UNAUTHORIZED, MISSING_ACCESS, CANNOT_EDIT_OTHERS, EMPTY_MESSAGE = 40001, 50001, 50005, 50006
MISSING_PERMISSIONS, INVALID_WEBHOOK_TOKEN, INVALID_FORM_BODY = 50013, 50027, 50035
ALREADY_ACKNOWLEDGED = 40060


class ApiError(Exception):
    def __init__(self, status: int, code: int, message: str, errors: dict[str, Any] | None = None) -> None:
        super().__init__(f"{status} {code} {message}")
        self.status, self.code, self.message, self.errors = status, code, message, errors


def json_response(data: Any, status: int = 200) -> web.Response:
    # Exactly "application/json": discord.py treats anything else (even with a charset) as text.
    return web.Response(
        body=json.dumps(data, separators=(",", ":")).encode(),
        status=status,
        headers={"Content-Type": "application/json"},
    )


def no_content() -> web.Response:
    return web.Response(status=204)


def form_error(field: str, message: str) -> ApiError:
    return ApiError(
        400,
        INVALID_FORM_BODY,
        "Invalid Form Body",
        {field: {"_errors": [{"code": "BASE_TYPE_INVALID", "message": message}]}},
    )


@dataclass
class ForcedLimit:
    route: str  # "METHOD /template" or "/template" or "*"
    times: int
    retry_after: float
    is_global: bool


@dataclass
class Bucket:
    remaining: int
    resets_at: float


# Per-request values the middleware parses once for the handlers.
FILES_KEY = web.RequestKey("files", list)
JSON_KEY = web.RequestKey("json", object)
KNOWN_KEY = web.RequestKey("known_route", bool)

NONCE_WINDOW = 300.0  # seconds a message nonce is remembered for enforce_nonce ("the past few minutes")
COMMAND_NAME = re.compile(r"^[-_'\w]{1,32}$")
MENTION = re.compile(r"<@(!?&?)(\d+)>")


class SandboxServer:
    """State + gateway + REST. ``await start()`` binds 127.0.0.1 on ``port`` (0: any free port)."""

    def __init__(self, *, token: str = "sandbox-token", bot_name: str = "Persona Hub") -> None:
        self.token = token
        self.state = SandboxState()
        self.state.bot_user = self.state.add_user(bot_name, bot=True)
        self.gateway = Gateway(self)
        self.application_flags = (1 << 19) | (1 << 15) | (1 << 13)  # message content / members / presence
        self.host = "127.0.0.1"
        self.port = 0
        self.runner: web.AppRunner | None = None
        self.shard_count = 1
        # Rate limits: default bucket size and window; per-route overrides; forced 429s.
        self.rate_limit = 10_000
        self.rate_window = 1.0
        self.route_limits: dict[str, tuple[int, float]] = {}
        self.buckets: dict[str, Bucket] = {}
        self.forced: list[ForcedLimit] = []
        # enforce_nonce: (author id, nonce) -> (message id, monotonic time created), for NONCE_WINDOW seconds.
        self.nonces: dict[tuple[int, str], tuple[int, float]] = {}
        self.interaction_deadline = 3.0
        self.interaction_token_ttl = 15 * 60.0
        self.record_requests = True
        self._changed = asyncio.Event()
        self.attachments: dict[int, Attachment] = {}
        self.routes: list[tuple[str, str]] = []
        self.app = self._build_app()

    # ----- lifecycle -----

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def api_url(self) -> str:
        return self.base_url + API_PREFIX

    @property
    def gateway_url(self) -> str:
        return f"ws://{self.host}:{self.port}/gateway"

    @property
    def bot_user(self) -> User:
        assert self.state.bot_user is not None
        return self.state.bot_user

    @property
    def application_id(self) -> int:
        # As on Discord, a bot's application id equals its user id.
        return self.bot_user.id

    async def start(self, port: int = 0) -> None:
        self.runner = web.AppRunner(self.app, access_log=None, handle_signals=False)
        await self.runner.setup()
        site = web.TCPSite(self.runner, self.host, port, reuse_address=True)
        await site.start()
        server = site._server
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]

    async def stop(self) -> None:
        for c in list(self.gateway.connections):
            await c.ws.close(code=1001, message=b"sandbox shutting down")
        if self.runner is not None:
            await self.runner.cleanup()
            self.runner = None

    # ----- change notification for the harness's waits -----

    def notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    async def wait_change(self, timeout: float) -> bool:
        """True when something changed within ``timeout`` seconds."""
        ev = self._changed
        try:
            await asyncio.wait_for(ev.wait(), timeout)
        except TimeoutError:
            return False
        return True

    def dispatch(self, event: str, data: Any, *, guild_id: int | None = None) -> None:
        self.gateway.dispatch(event, data, guild_id=guild_id)
        self.notify()

    # ----- JSON helpers -----

    def bot_user_json(self) -> dict[str, Any]:
        data = user_json(self.bot_user)
        data.update(verified=True, mfa_enabled=False, locale="en-US", email=None)
        return data

    def message_event(self, m: Message) -> dict[str, Any]:
        data = message_json(self.state, m)
        if m.guild_id is not None and m.webhook_id is None:
            guild = self.state.guilds[m.guild_id]
            member = guild.members.get(m.author_id)
            if member is not None:
                data["member"] = member_json(self.state, member, with_user=False)
        return data

    # ----- lookups that raise Discord's errors -----

    def channel(self, channel_id: Any) -> Channel:
        try:
            return self.state.channels[int(channel_id)]
        except (KeyError, ValueError):
            raise ApiError(404, UNKNOWN_CHANNEL, "Unknown Channel") from None

    def message(self, channel: Channel, message_id: Any, viewer_id: int | None = None) -> Message:
        try:
            m = self.state.messages[int(message_id)]
        except (KeyError, ValueError):
            raise ApiError(404, UNKNOWN_MESSAGE, "Unknown Message") from None
        if m.deleted or m.channel_id != channel.id or (m.visible_to is not None and m.visible_to != viewer_id):
            raise ApiError(404, UNKNOWN_MESSAGE, "Unknown Message")
        return m

    def require(self, channel: Channel, user_id: int, *needed: int) -> int:
        """403 50001 without VIEW_CHANNEL, 403 50013 without any of ``needed``."""
        perms = self.state.permissions_in(channel, user_id)
        if not perms & P.VIEW_CHANNEL:
            raise ApiError(403, MISSING_ACCESS, "Missing Access")
        for bit in needed:
            if not perms & bit:
                raise ApiError(403, MISSING_PERMISSIONS, "Missing Permissions")
        return perms

    def send_permission(self, channel: Channel) -> int:
        return P.SEND_MESSAGES_IN_THREADS if channel.is_thread else P.SEND_MESSAGES

    # ----- domain operations (shared by REST handlers and the harness) -----

    def add_attachment(
        self, channel_id: int, filename: str, data: bytes, content_type: str | None = None
    ) -> Attachment:
        aid = self.state.snowflake()
        url = f"{self.base_url}/attachments/{channel_id}/{aid}/{filename}"
        att = Attachment(id=aid, filename=filename, data=data, content_type=content_type, url=url)
        self.attachments[aid] = att
        return att

    def resolve_mentions(self, m: Message, allowed: dict[str, Any] | None, author_perms: int | None = None) -> None:
        users: list[int] = []
        roles: list[int] = []
        for kind, sid in MENTION.findall(m.content):
            (roles if "&" in kind else users).append(int(sid))
        everyone = "@everyone" in m.content or "@here" in m.content
        if allowed is not None:
            parse = allowed.get("parse", [])
            ok_users = {int(u) for u in allowed.get("users", [])}
            ok_roles = {int(r) for r in allowed.get("roles", [])}
            users = [u for u in users if "users" in parse or u in ok_users]
            roles = [r for r in roles if "roles" in parse or r in ok_roles]
            everyone = everyone and "everyone" in parse
        if author_perms is not None and not author_perms & P.MENTION_EVERYONE:
            everyone = False
        if m.reference and m.type == 19 and (allowed is None or allowed.get("replied_user", True)):
            ref = self.state.messages.get(int(m.reference["message_id"]))
            if ref is not None and ref.webhook_id is None:
                users.append(ref.author_id)
        m.mention_ids = list(dict.fromkeys(u for u in users if u in self.state.users))
        m.mention_role_ids = list(dict.fromkeys(r for r in roles if r in self.state.roles))
        m.mention_everyone = everyone

    def validate_message(self, body: dict[str, Any], files: list[Attachment], *, editing: bool = False) -> None:
        content = body.get("content")
        if content is not None and not isinstance(content, str):
            raise form_error("content", "Must be a string.")
        if content and len(content) > 2000:
            raise form_error("content", "Must be 2000 or fewer in length.")
        embeds = body.get("embeds") or []
        if len(embeds) > 10:
            raise form_error("embeds", "Must be 10 or fewer in length.")
        for i, e in enumerate(embeds):
            if len(e.get("title") or "") > 256:
                raise form_error(f"embeds.{i}.title", "Must be 256 or fewer in length.")
            if len(e.get("description") or "") > 4096:
                raise form_error(f"embeds.{i}.description", "Must be 4096 or fewer in length.")
        comps = body.get("components") or []
        if not int(body.get("flags") or 0) & (1 << 15) and len(comps) > 5:
            raise form_error("components", "Must be 5 or fewer in length.")
        for f in files:
            if len(f.data) > ATTACHMENT_SIZE_LIMIT:
                raise ApiError(413, 40005, "Request entity too large")
        if not editing and not (content or embeds or comps or files or body.get("sticker_ids") or body.get("poll")):
            raise ApiError(400, EMPTY_MESSAGE, "Cannot send an empty message")

    def create_message(
        self,
        channel: Channel,
        author_id: int,
        body: dict[str, Any],
        files: list[Attachment] | None = None,
        *,
        webhook: Webhook | None = None,
        application_id: int | None = None,
        interaction: Interaction | None = None,
        visible_to: int | None = None,
        type: int | None = None,
        dispatch: bool = True,
    ) -> Message:
        files = files or []
        self.validate_message(body, files)
        reference = body.get("message_reference")
        if reference:
            ref_id = int(reference["message_id"])
            ref = self.state.messages.get(ref_id)
            if ref is None or ref.deleted:
                if reference.get("fail_if_not_exists", True):
                    raise form_error("message_reference", "Unknown message")
                reference = None
            else:
                reference = {
                    "type": int(reference.get("type", 0)),
                    "message_id": str(ref_id),
                    "channel_id": str(ref.channel_id),
                    "guild_id": str(ref.guild_id) if ref.guild_id else None,
                }
        flags = int(body.get("flags") or 0) & (4 | 64 | 4096 | (1 << 15))
        m = Message(
            id=self.state.snowflake(),
            channel_id=channel.id,
            author_id=author_id,
            guild_id=channel.guild_id,
            content=body.get("content") or "",
            embeds=[self._normalise_embed(e) for e in body.get("embeds") or []],
            components=body.get("components") or [],
            attachments=list(files),
            flags=flags,
            tts=bool(body.get("tts")),
            reference=reference,
            allowed_mentions=body.get("allowed_mentions"),
            nonce=body.get("nonce"),
            webhook_id=webhook.id if webhook else (application_id if interaction else None),
            webhook_username=body.get("username") if webhook else None,
            webhook_avatar_url=body.get("avatar_url") if webhook else None,
            application_id=application_id,
            visible_to=visible_to,
        )
        if type is not None:
            m.type = type
        elif reference and reference["type"] == 0:
            m.type = 19
        if interaction is not None:
            m.interaction_metadata = self.interaction_metadata(interaction)
        perms = None if channel.guild_id is None else self.state.permissions_in(channel, author_id)
        self.resolve_mentions(m, m.allowed_mentions, None if webhook or interaction else perms)
        self.state.messages[m.id] = m
        channel.message_ids.append(m.id)
        channel.last_message_id = m.id
        if channel.is_thread:
            channel.thread_members.add(author_id)
        if dispatch and visible_to is None:
            self.dispatch("MESSAGE_CREATE", self.message_event(m), guild_id=channel.guild_id)
        else:
            self.notify()
        return m

    @staticmethod
    def _normalise_embed(e: dict[str, Any]) -> dict[str, Any]:
        e = dict(e)
        e.setdefault("type", "rich")
        return e

    def edit_message(
        self,
        m: Message,
        body: dict[str, Any],
        files: list[Attachment] | None = None,
        *,
        dispatch: bool = True,
    ) -> Message:
        files = files or []
        self.validate_message(body, files, editing=True)
        if "content" in body:
            m.content = body["content"] or ""
        if "embeds" in body:
            m.embeds = [self._normalise_embed(e) for e in body["embeds"] or []]
        if "components" in body:
            m.components = body["components"] or []
        if "flags" in body and body["flags"] is not None:
            # Only SUPPRESS_EMBEDS can be toggled by an edit; ephemeral/loading stay as they are.
            m.flags = (m.flags & ~4) | (int(body["flags"]) & 4)
        if "attachments" in body and body["attachments"] is not None:
            keep = {int(a["id"]) for a in body["attachments"] if "id" in a and str(a["id"]).isdigit()}
            m.attachments = [a for a in m.attachments if a.id in keep]
        m.attachments.extend(files)
        if "allowed_mentions" in body:
            m.allowed_mentions = body["allowed_mentions"]
        self.resolve_mentions(m, m.allowed_mentions)
        m.edited_timestamp = now()
        if dispatch and m.visible_to is None:
            self.dispatch("MESSAGE_UPDATE", self.message_event(m), guild_id=m.guild_id)
        else:
            self.notify()
        return m

    def delete_message(self, m: Message) -> None:
        m.deleted = True
        data: dict[str, Any] = {"id": str(m.id), "channel_id": str(m.channel_id)}
        if m.guild_id:
            data["guild_id"] = str(m.guild_id)
        if m.visible_to is None:
            self.dispatch("MESSAGE_DELETE", data, guild_id=m.guild_id)
        else:
            self.notify()

    @staticmethod
    def emoji_key(raw: str) -> str:
        raw = unquote(raw)
        # Custom emoji arrive as "name:id" (or "a:name:id"); keep "name:id".
        parts = raw.split(":")
        if len(parts) == 3:
            return f"{parts[1]}:{parts[2]}"
        return raw

    def reaction_event(self, m: Message, user_id: int, key: str) -> dict[str, Any]:
        name, _, eid = key.partition(":")
        data: dict[str, Any] = {
            "user_id": str(user_id),
            "channel_id": str(m.channel_id),
            "message_id": str(m.id),
            "emoji": {"id": eid or None, "name": name},
            "burst": False,
            "type": 0,
            "message_author_id": str(m.author_id),
            "burst_colors": [],
        }
        if m.guild_id:
            data["guild_id"] = str(m.guild_id)
            member = self.state.guilds[m.guild_id].members.get(user_id)
            if member is not None:
                data["member"] = member_json(self.state, member)
        return data

    def add_reaction(self, m: Message, user_id: int, key: str) -> bool:
        users = m.reactions.setdefault(key, {})
        if user_id in users:
            return False
        users[user_id] = None
        self.dispatch("MESSAGE_REACTION_ADD", self.reaction_event(m, user_id, key), guild_id=m.guild_id)
        return True

    def remove_reaction(self, m: Message, user_id: int, key: str) -> bool:
        users = m.reactions.get(key, {})
        if user_id not in users:
            return False
        del users[user_id]
        data = self.reaction_event(m, user_id, key)
        data.pop("member", None)
        self.dispatch("MESSAGE_REACTION_REMOVE", data, guild_id=m.guild_id)
        return True

    # ----- interactions -----

    def interaction_metadata(self, i: Interaction) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": str(i.id),
            "type": i.type,
            "user": user_json(self.state.users[i.user_id]),
            "authorizing_integration_owners": i.payload.get("authorizing_integration_owners", {}),
        }
        if i.type == 2:
            data["name"] = i.data.get("name")
            data["command_type"] = i.data.get("type", 1)
        if i.message_id is not None:
            data["interacted_message_id"] = str(i.message_id)
        return data

    def create_interaction(
        self,
        type: int,
        user: User,
        channel: Channel,
        data: dict[str, Any],
        *,
        message: Message | None = None,
    ) -> Interaction:
        state = self.state
        iid = state.snowflake()
        # Shaped like Discord's: base64 of "interaction:<id>:<secret>", URL-safe, no padding.
        raw = f"interaction:{iid}:{secrets.token_urlsafe(48)}".encode()
        token = base64.urlsafe_b64encode(raw).decode().rstrip("=")
        i = Interaction(
            id=iid,
            token=token,
            type=type,
            user_id=user.id,
            channel_id=channel.id,
            guild_id=channel.guild_id,
            data=data,
            created=asyncio.get_running_loop().time(),
            message_id=message.id if message else None,
        )
        payload: dict[str, Any] = {
            "id": str(iid),
            "application_id": str(self.application_id),
            "type": type,
            "data": data,
            "channel_id": str(channel.id),
            "channel": self._interaction_channel_json(channel, user.id),
            "token": token,
            "version": 1,
            "locale": "en-US",
            "app_permissions": str(state.permissions_in(channel, self.bot_user.id)),
            "entitlements": [
                entitlement_json(self.application_id, e) for e in state.find_entitlements(user.id, channel.guild_id)
            ],
            "attachment_size_limit": ATTACHMENT_SIZE_LIMIT,
        }
        if channel.guild_id is not None:
            guild = state.guilds[channel.guild_id]
            member = guild.members[user.id]
            mj = member_json(state, member)
            mj["permissions"] = str(state.permissions_in(channel, user.id))
            payload.update(
                guild_id=str(guild.id),
                guild={"id": str(guild.id), "locale": guild.locale, "features": []},
                guild_locale=guild.locale,
                member=mj,
                authorizing_integration_owners={"0": str(guild.id)},
                context=0,
            )
        else:
            payload.update(user=user_json(user), authorizing_integration_owners={"0": "0"}, context=1)
        if message is not None:
            payload["message"] = message_json(state, message)
        i.payload = payload
        state.interactions[iid] = i
        state.interactions_by_token[token] = i
        self.dispatch("INTERACTION_CREATE", payload, guild_id=channel.guild_id)
        return i

    def _interaction_channel_json(self, channel: Channel, user_id: int) -> dict[str, Any]:
        data = channel_json(self.state, channel)
        if channel.guild_id is not None:
            data["permissions"] = str(self.state.permissions_in(channel, user_id))
        return data

    def interaction_for_token(self, token: str) -> Interaction:
        i = self.state.interactions_by_token.get(token)
        if i is None:
            raise ApiError(404, UNKNOWN_WEBHOOK, "Unknown Webhook")
        if asyncio.get_running_loop().time() - i.created > self.interaction_token_ttl:
            raise ApiError(401, INVALID_WEBHOOK_TOKEN, "Invalid Webhook Token")
        return i

    def interaction_callback(self, i: Interaction, body: dict[str, Any], files: list[Attachment]) -> dict[str, Any]:
        loop_now = asyncio.get_running_loop().time()
        if i.response_type is not None:
            raise ApiError(400, ALREADY_ACKNOWLEDGED, "Interaction has already been acknowledged.")
        if loop_now - i.created > self.interaction_deadline:
            i.error = "late"
            self.notify()
            raise ApiError(404, UNKNOWN_INTERACTION, "Unknown interaction")
        rtype = int(body.get("type", 0))
        data = body.get("data") or {}
        allowed = {
            2: {4, 5, 9},
            3: {4, 5, 6, 7, 9},
            4: {8},
            5: {4, 5, 6, 7},
        }[i.type]
        if rtype == 7 and i.message_id is None:
            allowed = allowed - {6, 7}
        if rtype not in allowed:
            raise form_error("type", f"Interaction callback type {rtype} is not valid for interaction type {i.type}")
        channel = self.state.channels[i.channel_id]
        result: dict[str, Any] = {
            "interaction": {
                "id": str(i.id),
                "type": i.type,
                "response_message_loading": rtype == 5,
                "response_message_ephemeral": False,
            }
        }
        message: Message | None = None
        if rtype in (4, 5):
            ephemeral = bool(int(data.get("flags") or 0) & 64)
            if rtype == 5:
                # A placeholder ("is thinking..."), filled by the first follow-up or @original edit.
                message = self._create_loading(channel, i, ephemeral)
            else:
                message = self.create_message(
                    channel,
                    self.bot_user.id,
                    data,
                    files,
                    application_id=self.application_id,
                    interaction=i,
                    visible_to=i.user_id if ephemeral else None,
                    type=20 if i.type == 2 else 0,
                )
            i.ephemeral = ephemeral
            i.original_message_id = message.id
            i.original_filled = rtype == 4
            result["interaction"]["response_message_id"] = str(message.id)
            result["interaction"]["response_message_ephemeral"] = ephemeral
        elif rtype in (6, 7):
            i.original_message_id = i.message_id
            i.original_filled = True
            if rtype == 7:
                target = self.state.messages[i.message_id]  # type: ignore[index]
                message = self.edit_message(target, data, files)
                i.ephemeral = target.ephemeral
                result["interaction"]["response_message_id"] = str(target.id)
        elif rtype == 8:
            choices = data.get("choices") or []
            if len(choices) > 25:
                raise form_error("data.choices", "Must be 25 or fewer in length.")
        elif rtype == 9:
            if not data.get("custom_id") or not data.get("title") or not data.get("components"):
                raise form_error("data", "A modal needs custom_id, title and components.")
        i.response_type = rtype
        i.response_data = data
        if message is not None:
            result["resource"] = {"type": rtype, "message": message_json(self.state, message)}
        self.notify()
        return result

    def _create_loading(self, channel: Channel, i: Interaction, ephemeral: bool) -> Message:
        m = Message(
            id=self.state.snowflake(),
            channel_id=channel.id,
            author_id=self.bot_user.id,
            guild_id=channel.guild_id,
            flags=128 | (64 if ephemeral else 0),
            webhook_id=self.application_id,
            application_id=self.application_id,
            visible_to=i.user_id if ephemeral else None,
            type=20 if i.type == 2 else 0,
        )
        m.interaction_metadata = self.interaction_metadata(i)
        self.state.messages[m.id] = m
        channel.message_ids.append(m.id)
        if m.visible_to is None:
            self.dispatch("MESSAGE_CREATE", self.message_event(m), guild_id=channel.guild_id)
        return m

    def fill_deferred(self, i: Interaction, body: dict[str, Any], files: list[Attachment]) -> Message:
        m = self.state.messages[i.original_message_id]  # type: ignore[index]
        self.validate_message(body, files)
        m.flags &= ~128
        i.original_filled = True
        body = {k: v for k, v in body.items() if k != "flags"}
        return self.edit_message(m, body, files)

    # ----- entitlements -----

    def entitlement_event(self, name: str, e: Entitlement) -> None:
        self.dispatch(name, entitlement_json(self.application_id, e), guild_id=None)

    # ----- app construction -----

    def _build_app(self) -> web.Application:
        app = web.Application(middlewares=[self._middleware], client_max_size=64 * 1024 * 1024)
        r = app.router
        r.add_get("/gateway", self.gateway.handle)
        r.add_get("/attachments/{channel_id}/{attachment_id}/{filename}", self._get_attachment)
        for method, template, handler in self._route_table():
            r.add_route(method, API_PREFIX + template, handler, name=None)
            self.routes.append((method, template))
        r.add_route("*", API_PREFIX + "/{tail:.*}", self._unknown_route)
        return app

    def _route_table(self) -> list[tuple[str, str, Handler]]:
        ch = "/channels/{channel_id}"
        msg = ch + "/messages/{message_id}"
        app = "/applications/{application_id}"
        wh = "/webhooks/{webhook_id}/{webhook_token}"
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
            ("GET", ch, self.h_channel),
            ("PATCH", ch, self.h_edit_channel),
            ("DELETE", ch, self.h_delete_channel),
            ("PUT", ch + "/permissions/{overwrite_id}", self.h_overwrite),
            ("DELETE", ch + "/permissions/{overwrite_id}", self.h_overwrite),
            ("POST", ch + "/typing", self.h_typing),
            ("GET", ch + "/messages", self.h_history),
            ("POST", ch + "/messages", self.h_send),
            ("POST", ch + "/messages/bulk-delete", self.h_bulk_delete),
            ("GET", ch + "/messages/pins", self.h_pins),
            ("PUT", ch + "/messages/pins/{message_id}", self.h_pin),
            ("DELETE", ch + "/messages/pins/{message_id}", self.h_pin),
            ("GET", msg, self.h_fetch),
            ("PATCH", msg, self.h_edit),
            ("DELETE", msg, self.h_delete),
            ("PUT", msg + "/reactions/{emoji}/@me", self.h_react),
            ("DELETE", msg + "/reactions/{emoji}/@me", self.h_unreact),
            ("DELETE", msg + "/reactions/{emoji}/{member_id}", self.h_unreact),
            ("GET", msg + "/reactions/{emoji}", self.h_reactors),
            ("DELETE", msg + "/reactions/{emoji}", self.h_clear_reactions),
            ("DELETE", msg + "/reactions", self.h_clear_reactions),
            ("POST", msg + "/threads", self.h_create_thread),
            ("POST", ch + "/threads", self.h_create_thread),
            ("PUT", ch + "/thread-members/@me", self.h_thread_member),
            ("DELETE", ch + "/thread-members/@me", self.h_thread_member),
            ("PUT", ch + "/thread-members/{user_id}", self.h_thread_member),
            ("DELETE", ch + "/thread-members/{user_id}", self.h_thread_member),
            ("GET", ch + "/thread-members", self.h_thread_members),
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
            ("POST", "/interactions/{interaction_id}/{interaction_token}/callback", self.h_callback),
            ("GET", app + "/commands", self.h_commands),
            ("PUT", app + "/commands", self.h_commands),
            ("POST", app + "/commands", self.h_commands),
            ("GET", app + "/commands/{command_id}", self.h_command),
            ("PATCH", app + "/commands/{command_id}", self.h_command),
            ("DELETE", app + "/commands/{command_id}", self.h_command),
            ("GET", app + "/guilds/{guild_id}/commands", self.h_commands),
            ("PUT", app + "/guilds/{guild_id}/commands", self.h_commands),
            ("POST", app + "/guilds/{guild_id}/commands", self.h_commands),
            ("GET", app + "/guilds/{guild_id}/commands/{command_id}", self.h_command),
            ("PATCH", app + "/guilds/{guild_id}/commands/{command_id}", self.h_command),
            ("DELETE", app + "/guilds/{guild_id}/commands/{command_id}", self.h_command),
            ("GET", app + "/skus", self.h_skus),
            ("GET", app + "/entitlements", self.h_entitlements),
            ("POST", app + "/entitlements", self.h_create_entitlement),
            ("GET", app + "/entitlements/{entitlement_id}", self.h_entitlement),
            ("DELETE", app + "/entitlements/{entitlement_id}", self.h_entitlement),
            ("POST", app + "/entitlements/{entitlement_id}/consume", self.h_consume),
        ]

    # ----- middleware: body parsing, auth, rate limits, request log, errors -----

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if not request.path.startswith(API_PREFIX):
            return await handler(request)
        resource = request.match_info.route.resource
        template = resource.canonical[len(API_PREFIX) :] if resource is not None else "/{tail:.*}"
        known = template != "/{tail:.*}"
        if not known:
            template = request.path[len(API_PREFIX) :]
        request[KNOWN_KEY] = known
        record = RequestRecord(
            method=request.method,
            route=template,
            path=request.path[len(API_PREFIX) :],
            query=dict(request.query),
            json=None,
            form={},
            files=[],
            at=time.monotonic(),
        )
        try:
            await self._parse_body(request, record)
            response = await self._guarded(request, handler, record)
        except ApiError as e:
            body: dict[str, Any] = {"message": e.message, "code": e.code}
            if e.errors:
                body["errors"] = e.errors
            response = json_response(body, e.status)
        record.status = response.status
        if self.record_requests:
            self.state.requests.append(record)
            self.notify()
        return response

    async def _parse_body(self, request: web.Request, record: RequestRecord) -> None:
        request[FILES_KEY] = []
        request[JSON_KEY] = {}
        if not request.can_read_body:
            return
        ctype = request.content_type
        if ctype == "application/json":
            raw = await request.read()
            try:
                record.json = json.loads(raw) if raw else None
            except ValueError:
                raise ApiError(400, 50109, "The request body contains invalid JSON.") from None
        elif ctype.startswith("multipart/"):
            reader = await request.multipart()
            async for part in reader:
                name = part.name or ""  # type: ignore[union-attr]
                filename = part.filename  # type: ignore[union-attr]
                data = await part.read()  # type: ignore[union-attr]
                if filename is not None:
                    ct = part.headers.get("Content-Type")  # type: ignore[union-attr]
                    request[FILES_KEY].append((name, filename, bytes(data), ct))
                    record.files.append((name, filename, len(data)))
                elif name == "payload_json":
                    record.json = json.loads(data)
                else:
                    record.form[name] = data.decode()
        if record.json is not None:
            request[JSON_KEY] = record.json

    async def _guarded(self, request: web.Request, handler: Handler, record: RequestRecord) -> web.StreamResponse:
        key = record.key
        token_route = "{webhook_token}" in record.route or "{interaction_token}" in record.route
        if request[KNOWN_KEY] and not token_route:
            auth = request.headers.get("Authorization", "")
            if auth != f"Bot {self.token}":
                raise ApiError(401, 0, "401: Unauthorized")
        for f in self.forced:
            if f.times > 0 and f.route in ("*", key, record.route):
                f.times -= 1
                body = {
                    "message": "You are being rate limited.",
                    "retry_after": f.retry_after,
                    "global": f.is_global,
                }
                headers = {
                    "Content-Type": "application/json",
                    "Retry-After": str(max(1, int(f.retry_after + 0.999))),
                    "Via": "1.1 google",
                    "X-RateLimit-Scope": "global" if f.is_global else "user",
                }
                if not f.is_global:
                    headers.update(self._bucket_headers(request, record, consume=False))
                    headers["X-RateLimit-Remaining"] = "0"
                return web.Response(status=429, body=json.dumps(body).encode(), headers=headers)
        limit_headers = self._bucket_headers(request, record, consume=True)
        if limit_headers.get("X-RateLimit-Remaining") == "-1":
            bucket_reset = float(limit_headers["X-RateLimit-Reset-After"])
            limit_headers["X-RateLimit-Remaining"] = "0"
            body = {"message": "You are being rate limited.", "retry_after": bucket_reset, "global": False}
            return web.Response(
                status=429,
                body=json.dumps(body).encode(),
                headers={"Content-Type": "application/json", "Via": "1.1 google", **limit_headers},
            )
        response = await handler(request)
        response.headers.update(limit_headers)
        return response

    def _bucket_headers(self, request: web.Request, record: RequestRecord, *, consume: bool) -> dict[str, str]:
        limit, window = self.route_limits.get(record.key, (self.rate_limit, self.rate_window))
        mi = request.match_info
        major = "+".join(mi.get(k, "") for k in ("channel_id", "guild_id", "webhook_id", "webhook_token"))
        bucket_hash = hashlib.md5(record.key.encode()).hexdigest()[:16]
        bkey = f"{bucket_hash}:{major}"
        t = time.monotonic()
        b = self.buckets.get(bkey)
        if b is None or t >= b.resets_at:
            b = self.buckets[bkey] = Bucket(remaining=limit, resets_at=t + window)
        if consume:
            b.remaining -= 1
        reset_after = max(0.0, b.resets_at - t)
        return {
            "X-RateLimit-Limit": str(limit),
            "X-RateLimit-Remaining": str(max(b.remaining, -1)),
            "X-RateLimit-Reset": f"{time.time() + reset_after:.3f}",
            "X-RateLimit-Reset-After": f"{reset_after:.3f}",
            "X-RateLimit-Bucket": bucket_hash,
        }

    async def _unknown_route(self, request: web.Request) -> web.Response:
        path = request.path[len(API_PREFIX) :]
        raise ApiError(404, 0, f"404: Not Found (the sandbox has no route {request.method} {path})")

    async def _get_attachment(self, request: web.Request) -> web.Response:
        try:
            a = self.attachments[int(request.match_info["attachment_id"])]
        except (KeyError, ValueError):
            raise web.HTTPNotFound() from None
        return web.Response(body=a.data, content_type=a.content_type or "application/octet-stream")

    # ----- request helpers -----

    def _files(self, request: web.Request, channel_id: int, body: dict[str, Any]) -> list[Attachment]:
        out = []
        described = {str(a.get("id")): a for a in body.get("attachments") or [] if isinstance(a, dict)}
        for name, filename, data, ctype in request[FILES_KEY]:
            idx = name[len("files[") : -1] if name.startswith("files[") else name
            meta = described.get(idx, {})
            att = self.add_attachment(channel_id, meta.get("filename") or filename, data, ctype)
            att.description = meta.get("description")
            out.append(att)
        return out

    # ----- REST: users, application, gateway -----

    async def h_gateway(self, request: web.Request) -> web.Response:
        return json_response({"url": self.gateway_url})

    async def h_gateway_bot(self, request: web.Request) -> web.Response:
        return json_response(
            {
                "url": self.gateway_url,
                "shards": self.shard_count,
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
                self.bot_user.username = body["username"]
        return json_response(self.bot_user_json())

    async def h_my_guilds(self, request: web.Request) -> web.Response:
        return json_response([guild_json(self.state, g, full=False) for g in self.state.guilds.values()])

    async def h_user(self, request: web.Request) -> web.Response:
        try:
            return json_response(user_json(self.state.users[int(request.match_info["user_id"])]))
        except (KeyError, ValueError):
            raise ApiError(404, UNKNOWN_USER, "Unknown User") from None

    async def h_open_dm(self, request: web.Request) -> web.Response:
        try:
            user = self.state.users[int(request[JSON_KEY]["recipient_id"])]
        except (KeyError, ValueError, TypeError):
            raise ApiError(404, UNKNOWN_USER, "Unknown User") from None
        return json_response(channel_json(self.state, self.state.dm_channel(user)))

    async def h_application(self, request: web.Request) -> web.Response:
        bot = self.bot_user
        owner = next((u for u in self.state.users.values() if not u.bot), bot)
        return json_response(
            {
                "id": str(self.application_id),
                "name": bot.username,
                "icon": None,
                "description": "Persona Hub (sandbox)",
                "rpc_origins": [],
                "bot_public": False,
                "bot_require_code_grant": False,
                "bot": user_json(bot),
                "owner": user_json(owner),
                "team": None,
                "verify_key": "0" * 64,
                "flags": self.application_flags,
                "summary": "",
                "guild_id": None,
                "tags": [],
                "approximate_guild_count": len(self.state.guilds),
                "redirect_uris": [],
                "interactions_endpoint_url": None,
                "integration_types_config": {"0": {}},
                "install_params": {"scopes": ["bot", "applications.commands"], "permissions": "0"},
            }
        )

    # ----- REST: guilds -----

    def guild(self, request: web.Request) -> Any:
        try:
            g = self.state.guilds[int(request.match_info["guild_id"])]
        except (KeyError, ValueError):
            raise ApiError(404, UNKNOWN_GUILD, "Unknown Guild") from None
        if self.bot_user.id not in g.members:
            raise ApiError(403, MISSING_ACCESS, "Missing Access")
        return g

    async def h_guild(self, request: web.Request) -> web.Response:
        g = self.guild(request)
        data = guild_json(self.state, g, full=False)
        data["approximate_presence_count"] = 0
        return json_response(data)

    async def h_guild_channels(self, request: web.Request) -> web.Response:
        g = self.guild(request)
        chans = [self.state.channels[c] for c in g.channel_ids]
        return json_response([channel_json(self.state, c) for c in chans if not c.is_thread])

    async def h_create_channel(self, request: web.Request) -> web.Response:
        g = self.guild(request)
        if not self.state.base_permissions(g, self.bot_user.id) & P.MANAGE_CHANNELS:
            raise ApiError(403, MISSING_PERMISSIONS, "Missing Permissions")
        body = request[JSON_KEY]
        name = body.get("name")
        if not name:
            raise form_error("name", "This field is required")
        parent = self.state.channels.get(int(body["parent_id"])) if body.get("parent_id") else None
        c = self.state.add_channel(g, name, type=int(body.get("type") or 0), parent=parent, topic=body.get("topic"))
        for o in body.get("permission_overwrites") or []:
            c.overwrites[int(o["id"])] = Overwrite(
                int(o["id"]), int(o["type"]), int(o.get("allow", 0)), int(o.get("deny", 0))
            )
        self.dispatch("CHANNEL_CREATE", channel_json(self.state, c), guild_id=g.id)
        return json_response(channel_json(self.state, c), 201)

    async def h_roles(self, request: web.Request) -> web.Response:
        g = self.guild(request)
        return json_response([role_json(self.state.roles[r]) for r in g.role_ids])

    async def h_create_role(self, request: web.Request) -> web.Response:
        g = self.guild(request)
        if not self.state.base_permissions(g, self.bot_user.id) & P.MANAGE_ROLES:
            raise ApiError(403, MISSING_PERMISSIONS, "Missing Permissions")
        body = request[JSON_KEY] or {}
        role = self.state.add_role(g, body.get("name") or "new role", int(body.get("permissions") or 0))
        self.dispatch("GUILD_ROLE_CREATE", {"guild_id": str(g.id), "role": role_json(role)}, guild_id=g.id)
        return json_response(role_json(role))

    async def h_members(self, request: web.Request) -> web.Response:
        g = self.guild(request)
        limit = int(request.query.get("limit", 1))
        after = int(request.query.get("after", 0))
        ms = sorted((m for m in g.members.values() if m.user_id > after), key=lambda m: m.user_id)[:limit]
        return json_response([member_json(self.state, m) for m in ms])

    async def h_member(self, request: web.Request) -> web.Response:
        g = self.guild(request)
        try:
            m = g.members[int(request.match_info["user_id"])]
        except (KeyError, ValueError):
            raise ApiError(404, UNKNOWN_MEMBER, "Unknown Member") from None
        return json_response(member_json(self.state, m))

    async def h_member_role(self, request: web.Request) -> web.Response:
        g = self.guild(request)
        try:
            m = g.members[int(request.match_info["user_id"])]
        except (KeyError, ValueError):
            raise ApiError(404, UNKNOWN_MEMBER, "Unknown Member") from None
        rid = int(request.match_info["role_id"])
        role = self.state.roles.get(rid)
        if role is None or role.guild_id != g.id:
            raise ApiError(404, UNKNOWN_ROLE, "Unknown Role")
        if not self.state.base_permissions(g, self.bot_user.id) & P.MANAGE_ROLES:
            raise ApiError(403, MISSING_PERMISSIONS, "Missing Permissions")
        top = max((self.state.roles[r].position for r in g.members[self.bot_user.id].roles), default=0)
        if role.position >= top and self.bot_user.id != g.owner_id:
            # Discord: a bot may only manage roles below its highest role.
            raise ApiError(403, MISSING_PERMISSIONS, "Missing Permissions")
        if request.method == "PUT" and rid not in m.roles:
            m.roles.append(rid)
        elif request.method == "DELETE" and rid in m.roles:
            m.roles.remove(rid)
        data = member_json(self.state, m)
        data["guild_id"] = str(g.id)
        self.dispatch("GUILD_MEMBER_UPDATE", data, guild_id=g.id)
        return no_content()

    async def h_active_threads(self, request: web.Request) -> web.Response:
        g = self.guild(request)
        threads = [self.state.channels[c] for c in g.channel_ids if self.state.channels[c].is_thread]
        active = [t for t in threads if not t.archived]
        members = [
            {"id": str(t.id), "user_id": str(u), "join_timestamp": now().isoformat(), "flags": 0}
            for t in active
            for u in t.thread_members
            if u == self.bot_user.id
        ]
        return json_response({"threads": [channel_json(self.state, t) for t in active], "members": members})

    async def h_guild_webhooks(self, request: web.Request) -> web.Response:
        g = self.guild(request)
        if not self.state.base_permissions(g, self.bot_user.id) & P.MANAGE_WEBHOOKS:
            raise ApiError(403, MISSING_PERMISSIONS, "Missing Permissions")
        return json_response([webhook_json(self.state, w) for w in self.state.webhooks.values() if w.guild_id == g.id])

    # ----- REST: channels -----

    async def h_channel(self, request: web.Request) -> web.Response:
        c = self.channel(request.match_info["channel_id"])
        self.require(c, self.bot_user.id)
        return json_response(channel_json(self.state, c))

    async def h_edit_channel(self, request: web.Request) -> web.Response:
        c = self.channel(request.match_info["channel_id"])
        body = request[JSON_KEY] or {}
        if c.is_thread:
            owner = c.owner_id == self.bot_user.id
            self.require(c, self.bot_user.id, *(() if owner else (P.MANAGE_THREADS,)))
            c.archived = bool(body.get("archived", c.archived))
            c.locked = bool(body.get("locked", c.locked))
        else:
            self.require(c, self.bot_user.id, P.MANAGE_CHANNELS)
            c.topic = body.get("topic", c.topic)
        c.name = body.get("name", c.name)
        event = "THREAD_UPDATE" if c.is_thread else "CHANNEL_UPDATE"
        self.dispatch(event, channel_json(self.state, c), guild_id=c.guild_id)
        return json_response(channel_json(self.state, c))

    async def h_delete_channel(self, request: web.Request) -> web.Response:
        c = self.channel(request.match_info["channel_id"])
        self.require(c, self.bot_user.id, P.MANAGE_THREADS if c.is_thread else P.MANAGE_CHANNELS)
        data = channel_json(self.state, c)
        del self.state.channels[c.id]
        if c.guild_id:
            self.state.guilds[c.guild_id].channel_ids.remove(c.id)
        self.dispatch("THREAD_DELETE" if c.is_thread else "CHANNEL_DELETE", data, guild_id=c.guild_id)
        return json_response(data)

    async def h_overwrite(self, request: web.Request) -> web.Response:
        c = self.channel(request.match_info["channel_id"])
        self.require(c, self.bot_user.id, P.MANAGE_ROLES)
        oid = int(request.match_info["overwrite_id"])
        if request.method == "PUT":
            body = request[JSON_KEY]
            c.overwrites[oid] = Overwrite(oid, int(body["type"]), int(body.get("allow", 0)), int(body.get("deny", 0)))
        else:
            c.overwrites.pop(oid, None)
        self.dispatch("CHANNEL_UPDATE", channel_json(self.state, c), guild_id=c.guild_id)
        return no_content()

    async def h_typing(self, request: web.Request) -> web.Response:
        c = self.channel(request.match_info["channel_id"])
        self.require(c, self.bot_user.id, self.send_permission(c))
        return no_content()

    # ----- REST: messages -----

    async def h_history(self, request: web.Request) -> web.Response:
        c = self.channel(request.match_info["channel_id"])
        self.require(c, self.bot_user.id, P.READ_MESSAGE_HISTORY)
        q = request.query
        limit = max(1, min(100, int(q.get("limit", 50))))
        msgs = self.state.visible_messages(c)
        if "before" in q:
            msgs = [m for m in msgs if m.id < int(q["before"])]
            msgs = msgs[-limit:]
        elif "after" in q:
            msgs = [m for m in msgs if m.id > int(q["after"])][:limit]
        elif "around" in q:
            mid = int(q["around"])
            older = [m for m in msgs if m.id < mid][-(limit // 2) :]
            newer = [m for m in msgs if m.id >= mid][: limit - len(older)]
            msgs = older + newer
        else:
            msgs = msgs[-limit:]
        # Discord returns newest first.
        return json_response([message_json(self.state, m) for m in reversed(msgs)])

    async def h_send(self, request: web.Request) -> web.Response:
        c = self.channel(request.match_info["channel_id"])
        body = request[JSON_KEY] or {}
        if c.type == ChannelType.DM:
            if self.bot_user.id not in c.recipients:
                raise ApiError(403, MISSING_ACCESS, "Missing Access")
        else:
            files = request[FILES_KEY]
            needed = [self.send_permission(c)]
            if files:
                needed.append(P.ATTACH_FILES)
            if body.get("embeds"):
                needed.append(P.EMBED_LINKS)
            if body.get("message_reference"):
                needed.append(P.READ_MESSAGE_HISTORY)
            self.require(c, self.bot_user.id, *needed)
            if c.is_thread and (c.archived or c.locked):
                raise ApiError(400, 50083, "Thread is archived")
        # Discord: with enforce_nonce and a nonce, a message the same author created with that nonce in the past
        # few minutes is returned instead of creating another.
        nonce = body.get("nonce")
        enforced = bool(body.get("enforce_nonce")) and nonce is not None
        if enforced:
            seen = self.nonces.get((self.bot_user.id, str(nonce)))
            if seen is not None and time.monotonic() - seen[1] < NONCE_WINDOW and seen[0] in self.state.messages:
                return json_response(message_json(self.state, self.state.messages[seen[0]]))
        m = self.create_message(c, self.bot_user.id, body, self._files(request, c.id, body))
        if enforced:
            self.nonces[(self.bot_user.id, str(nonce))] = (m.id, time.monotonic())
        return json_response(message_json(self.state, m))

    async def h_fetch(self, request: web.Request) -> web.Response:
        c = self.channel(request.match_info["channel_id"])
        self.require(c, self.bot_user.id, P.READ_MESSAGE_HISTORY)
        return json_response(message_json(self.state, self.message(c, request.match_info["message_id"])))

    async def h_edit(self, request: web.Request) -> web.Response:
        c = self.channel(request.match_info["channel_id"])
        self.require(c, self.bot_user.id)
        m = self.message(c, request.match_info["message_id"])
        body = request[JSON_KEY] or {}
        if m.author_id != self.bot_user.id or m.webhook_id is not None:
            if set(body) - {"flags"}:
                raise ApiError(403, CANNOT_EDIT_OTHERS, "Cannot edit a message authored by another user")
            self.require(c, self.bot_user.id, P.MANAGE_MESSAGES)
        self.edit_message(m, body, self._files(request, c.id, body))
        return json_response(message_json(self.state, m))

    async def h_delete(self, request: web.Request) -> web.Response:
        c = self.channel(request.match_info["channel_id"])
        self.require(c, self.bot_user.id)
        m = self.message(c, request.match_info["message_id"])
        if m.author_id != self.bot_user.id or (m.webhook_id is not None and m.application_id is None):
            if c.type == ChannelType.DM:
                raise ApiError(403, 50003, "Cannot execute action on a DM channel")
            self.require(c, self.bot_user.id, P.MANAGE_MESSAGES)
        self.delete_message(m)
        return no_content()

    async def h_bulk_delete(self, request: web.Request) -> web.Response:
        c = self.channel(request.match_info["channel_id"])
        self.require(c, self.bot_user.id, P.MANAGE_MESSAGES)
        ids = [int(x) for x in (request[JSON_KEY] or {}).get("messages", [])]
        if not 2 <= len(ids) <= 100:
            raise form_error("messages", "Must be between 2 and 100 in length.")
        for mid in ids:
            m = self.state.messages.get(mid)
            if m is not None and m.channel_id == c.id:
                m.deleted = True
        data: dict[str, Any] = {"ids": [str(i) for i in ids], "channel_id": str(c.id)}
        if c.guild_id:
            data["guild_id"] = str(c.guild_id)
        self.dispatch("MESSAGE_DELETE_BULK", data, guild_id=c.guild_id)
        return no_content()

    async def h_pins(self, request: web.Request) -> web.Response:
        c = self.channel(request.match_info["channel_id"])
        self.require(c, self.bot_user.id, P.READ_MESSAGE_HISTORY)
        items = [
            {"pinned_at": now().isoformat(), "message": message_json(self.state, m)}
            for m in reversed(self.state.visible_messages(c))
            if m.pinned
        ]
        return json_response({"items": items, "has_more": False})

    async def h_pin(self, request: web.Request) -> web.Response:
        c = self.channel(request.match_info["channel_id"])
        self.require(c, self.bot_user.id, P.MANAGE_MESSAGES)
        m = self.message(c, request.match_info["message_id"])
        m.pinned = request.method == "PUT"
        self.dispatch("MESSAGE_UPDATE", self.message_event(m), guild_id=m.guild_id)
        return no_content()

    # ----- REST: reactions -----

    async def h_react(self, request: web.Request) -> web.Response:
        c = self.channel(request.match_info["channel_id"])
        m = self.message(c, request.match_info["message_id"])
        key = self.emoji_key(request.match_info["emoji"])
        if not key:
            raise ApiError(400, UNKNOWN_EMOJI, "Unknown Emoji")
        needed = [P.READ_MESSAGE_HISTORY]
        if not m.reactions.get(key):
            needed.append(P.ADD_REACTIONS)
        self.require(c, self.bot_user.id, *needed)
        self.add_reaction(m, self.bot_user.id, key)
        return no_content()

    async def h_unreact(self, request: web.Request) -> web.Response:
        c = self.channel(request.match_info["channel_id"])
        m = self.message(c, request.match_info["message_id"])
        key = self.emoji_key(request.match_info["emoji"])
        target = request.match_info.get("member_id")
        uid = self.bot_user.id if target is None else int(target)
        if uid != self.bot_user.id:
            self.require(c, self.bot_user.id, P.MANAGE_MESSAGES)
        self.remove_reaction(m, uid, key)
        return no_content()

    async def h_reactors(self, request: web.Request) -> web.Response:
        c = self.channel(request.match_info["channel_id"])
        self.require(c, self.bot_user.id, P.READ_MESSAGE_HISTORY)
        m = self.message(c, request.match_info["message_id"])
        key = self.emoji_key(request.match_info["emoji"])
        after = int(request.query.get("after", 0))
        limit = int(request.query.get("limit", 25))
        users = sorted(u for u in m.reactions.get(key, []) if u > after)[:limit]
        return json_response([user_json(self.state.users[u]) for u in users])

    async def h_clear_reactions(self, request: web.Request) -> web.Response:
        c = self.channel(request.match_info["channel_id"])
        self.require(c, self.bot_user.id, P.MANAGE_MESSAGES)
        m = self.message(c, request.match_info["message_id"])
        base: dict[str, Any] = {"channel_id": str(c.id), "message_id": str(m.id)}
        if m.guild_id:
            base["guild_id"] = str(m.guild_id)
        raw = request.match_info.get("emoji")
        if raw is None:
            m.reactions.clear()
            self.dispatch("MESSAGE_REACTION_REMOVE_ALL", base, guild_id=m.guild_id)
        else:
            key = self.emoji_key(raw)
            m.reactions.pop(key, None)
            name, _, eid = key.partition(":")
            self.dispatch(
                "MESSAGE_REACTION_REMOVE_EMOJI",
                {**base, "emoji": {"id": eid or None, "name": name}},
                guild_id=m.guild_id,
            )
        return no_content()

    # ----- REST: threads -----

    async def h_create_thread(self, request: web.Request) -> web.Response:
        c = self.channel(request.match_info["channel_id"])
        body = request[JSON_KEY] or {}
        mid = request.match_info.get("message_id")
        ttype = ChannelType.PUBLIC_THREAD if mid else int(body.get("type") or ChannelType.PRIVATE_THREAD)
        self.require(
            c,
            self.bot_user.id,
            P.CREATE_PUBLIC_THREADS if ttype == ChannelType.PUBLIC_THREAD else P.CREATE_PRIVATE_THREADS,
        )
        if not body.get("name"):
            raise form_error("name", "This field is required")
        g = self.state.guilds[c.guild_id] if c.guild_id else None
        t = self.state.add_channel(g, body["name"], type=ttype, parent=c, owner=self.bot_user)
        if mid:
            # The thread started from a message shares its id on Discord; we keep our own id but link it.
            self.message(c, mid)
        data = channel_json(self.state, t)
        data["newly_created"] = True
        self.dispatch("THREAD_CREATE", data, guild_id=t.guild_id)
        return json_response(channel_json(self.state, t), 201)

    async def h_thread_member(self, request: web.Request) -> web.Response:
        t = self.channel(request.match_info["channel_id"])
        if not t.is_thread:
            raise ApiError(400, 50024, "Cannot execute action on this channel type")
        self.require(t, self.bot_user.id)
        uid = int(request.match_info.get("user_id", self.bot_user.id))
        if request.method == "PUT":
            t.thread_members.add(uid)
        else:
            t.thread_members.discard(uid)
        self.notify()
        return no_content()

    async def h_thread_members(self, request: web.Request) -> web.Response:
        t = self.channel(request.match_info["channel_id"])
        self.require(t, self.bot_user.id)
        return json_response(
            [
                {"id": str(t.id), "user_id": str(u), "join_timestamp": now().isoformat(), "flags": 0}
                for u in sorted(t.thread_members)
            ]
        )

    # ----- REST: webhooks -----

    def webhook(self, request: web.Request) -> Webhook:
        try:
            w = self.state.webhooks[int(request.match_info["webhook_id"])]
        except (KeyError, ValueError):
            raise ApiError(404, UNKNOWN_WEBHOOK, "Unknown Webhook") from None
        token = request.match_info.get("webhook_token")
        if token is not None and token != w.token:
            raise ApiError(401, INVALID_WEBHOOK_TOKEN, "Invalid Webhook Token")
        if token is None:
            self.require(self.state.channels[w.channel_id], self.bot_user.id, P.MANAGE_WEBHOOKS)
        return w

    @staticmethod
    def avatar_hash(data_uri: str | None) -> str | None:
        return None if not data_uri else hashlib.md5(data_uri.encode()).hexdigest()

    async def h_create_webhook(self, request: web.Request) -> web.Response:
        c = self.channel(request.match_info["channel_id"])
        self.require(c, self.bot_user.id, P.MANAGE_WEBHOOKS)
        body = request[JSON_KEY] or {}
        name = body.get("name") or ""
        if not 1 <= len(name) <= 80 or "clyde" in name.lower() or "discord" in name.lower():
            raise form_error("name", "Webhook names must be 1-80 characters and not contain 'clyde' or 'discord'.")
        w = Webhook(
            id=self.state.snowflake(),
            token=secrets.token_urlsafe(48),
            channel_id=c.id,
            guild_id=c.guild_id,
            name=name,
            avatar=self.avatar_hash(body.get("avatar")),
            creator_id=self.bot_user.id,
        )
        self.state.webhooks[w.id] = w
        self.dispatch("WEBHOOKS_UPDATE", {"guild_id": str(c.guild_id), "channel_id": str(c.id)}, guild_id=c.guild_id)
        return json_response(webhook_json(self.state, w))

    async def h_channel_webhooks(self, request: web.Request) -> web.Response:
        c = self.channel(request.match_info["channel_id"])
        self.require(c, self.bot_user.id, P.MANAGE_WEBHOOKS)
        return json_response(
            [webhook_json(self.state, w) for w in self.state.webhooks.values() if w.channel_id == c.id]
        )

    async def h_webhook(self, request: web.Request) -> web.Response:
        w = self.webhook(request)
        return json_response(webhook_json(self.state, w, with_token="webhook_token" not in request.match_info))

    async def h_edit_webhook(self, request: web.Request) -> web.Response:
        w = self.webhook(request)
        body = request[JSON_KEY] or {}
        if "name" in body:
            w.name = body["name"]
        if "avatar" in body:
            w.avatar = self.avatar_hash(body["avatar"])
        if "channel_id" in body and "webhook_token" not in request.match_info:
            w.channel_id = int(body["channel_id"])
        self.notify()
        return json_response(webhook_json(self.state, w))

    async def h_delete_webhook(self, request: web.Request) -> web.Response:
        w = self.webhook(request)
        del self.state.webhooks[w.id]
        self.dispatch(
            "WEBHOOKS_UPDATE",
            {"guild_id": str(w.guild_id), "channel_id": str(w.channel_id)},
            guild_id=w.guild_id,
        )
        return no_content()

    def _webhook_target(self, request: web.Request) -> tuple[Webhook | None, Interaction | None]:
        token = request.match_info["webhook_token"]
        if token in self.state.interactions_by_token:
            i = self.interaction_for_token(token)
            if str(i.payload["application_id"]) != request.match_info["webhook_id"]:
                raise ApiError(404, UNKNOWN_WEBHOOK, "Unknown Webhook")
            return None, i
        return self.webhook(request), None

    async def h_execute(self, request: web.Request) -> web.Response:
        w, i = self._webhook_target(request)
        body = request[JSON_KEY] or {}
        wait = request.query.get("wait", "false").lower() in ("1", "true")
        if i is not None:
            if i.response_type is None:
                raise ApiError(404, UNKNOWN_WEBHOOK, "Unknown Webhook")
            channel = self.state.channels[i.channel_id]
            files = self._files(request, channel.id, body)
            if i.response_type == 5 and not i.original_filled:
                m = self.fill_deferred(i, body, files)
            else:
                ephemeral = bool(int(body.get("flags") or 0) & 64)
                m = self.create_message(
                    channel,
                    self.bot_user.id,
                    body,
                    files,
                    application_id=self.application_id,
                    interaction=i,
                    visible_to=i.user_id if ephemeral else None,
                )
                i.followup_ids.append(m.id)
            self.notify()
            return json_response(message_json(self.state, m))
        assert w is not None
        channel = self.state.channels.get(w.channel_id)
        if channel is None:
            raise ApiError(404, UNKNOWN_CHANNEL, "Unknown Channel")
        if "thread_id" in request.query:
            channel = self.channel(request.query["thread_id"])
            if channel.parent_id != w.channel_id:
                raise ApiError(400, 220001, "Webhook can only send to threads of its channel")
        m = self.create_message(channel, w.id, body, self._files(request, channel.id, body), webhook=w)
        return json_response(message_json(self.state, m)) if wait else no_content()

    async def h_webhook_message(self, request: web.Request) -> web.Response:
        w, i = self._webhook_target(request)
        raw_id = request.match_info.get("message_id", "@original")
        if i is not None:
            if raw_id == "@original":
                if i.original_message_id is None:
                    raise ApiError(404, UNKNOWN_MESSAGE, "Unknown Message")
                mid = i.original_message_id
            else:
                mid = int(raw_id)
                if mid not in i.followup_ids and mid != i.original_message_id:
                    raise ApiError(404, UNKNOWN_MESSAGE, "Unknown Message")
            m = self.state.messages[mid]
        else:
            assert w is not None
            if raw_id == "@original":
                raise ApiError(404, UNKNOWN_MESSAGE, "Unknown Message")
            m = self.state.messages.get(int(raw_id))  # type: ignore[assignment]
            if m is None or m.webhook_id != w.id:
                raise ApiError(404, UNKNOWN_MESSAGE, "Unknown Message")
        if m.deleted:
            raise ApiError(404, UNKNOWN_MESSAGE, "Unknown Message")
        if request.method == "GET":
            return json_response(message_json(self.state, m))
        if request.method == "DELETE":
            self.delete_message(m)
            return no_content()
        body = request[JSON_KEY] or {}
        files = self._files(request, m.channel_id, body)
        if i is not None and raw_id == "@original" and i.response_type == 5 and not i.original_filled:
            self.fill_deferred(i, body, files)
        else:
            self.edit_message(m, body, files)
        return json_response(message_json(self.state, m))

    # ----- REST: interactions -----

    async def h_callback(self, request: web.Request) -> web.Response:
        try:
            i = self.state.interactions[int(request.match_info["interaction_id"])]
        except (KeyError, ValueError):
            raise ApiError(404, UNKNOWN_INTERACTION, "Unknown interaction") from None
        if i.token != request.match_info["interaction_token"]:
            raise ApiError(401, INVALID_WEBHOOK_TOKEN, "Invalid Webhook Token")
        body = request[JSON_KEY] or {}
        files = self._files(request, i.channel_id, body.get("data") or {})
        result = self.interaction_callback(i, body, files)
        if request.query.get("with_response", "").lower() in ("1", "true"):
            return json_response(result)
        return no_content()

    # ----- REST: application commands -----

    def _app(self, request: web.Request) -> None:
        if request.match_info["application_id"] != str(self.application_id):
            raise ApiError(403, MISSING_ACCESS, "Missing Access")

    def _scope(self, request: web.Request) -> int | None:
        self._app(request)
        gid = request.match_info.get("guild_id")
        if gid is None:
            return None
        guild = self.guild(request)
        return guild.id

    def _upsert_command(
        self, scope: int | None, data: dict[str, Any], existing: dict[str, dict[str, Any]]
    ) -> dict[str, Any]:
        name = data.get("name") or ""
        ctype = int(data.get("type") or 1)
        if not COMMAND_NAME.match(name) or (ctype == 1 and name != name.lower()):
            raise form_error("name", f"Invalid command name {name!r}")
        if ctype == 1 and not 1 <= len(data.get("description") or "") <= 100:
            raise form_error("description", "Must be between 1 and 100 in length.")
        self._validate_options(data.get("options") or [], f"{name}.options")
        old = existing.get(f"{ctype}:{name}")
        cmd = {
            "id": old["id"] if old else str(self.state.snowflake()),
            "application_id": str(self.application_id),
            "version": str(self.state.snowflake()),
            "type": ctype,
            "name": name,
            "name_localizations": data.get("name_localizations"),
            "description": data.get("description") or "",
            "description_localizations": data.get("description_localizations"),
            "options": data.get("options") or [],
            "default_member_permissions": data.get("default_member_permissions"),
            "dm_permission": data.get("dm_permission", True),
            "nsfw": bool(data.get("nsfw", False)),
            "contexts": data.get("contexts"),
            "integration_types": data.get("integration_types") or [0],
        }
        if scope is not None:
            cmd["guild_id"] = str(scope)
        return cmd

    def _validate_options(self, options: list[dict[str, Any]], where: str) -> None:
        if len(options) > 25:
            raise form_error(where, "Must be 25 or fewer in length.")
        seen_optional = False
        for o in options:
            t = int(o.get("type", 0))
            if not 1 <= t <= 11:
                raise form_error(where, f"Unknown option type {t}")
            if not COMMAND_NAME.match(o.get("name") or ""):
                raise form_error(where, f"Invalid option name {o.get('name')!r}")
            if t in (1, 2):
                self._validate_options(o.get("options") or [], f"{where}.{o['name']}.options")
            elif o.get("required"):
                if seen_optional:
                    raise form_error(where, "Required options must be placed before non-required options")
            else:
                seen_optional = True

    async def h_commands(self, request: web.Request) -> web.Response:
        scope = self._scope(request)
        table = self.state.commands.setdefault(scope, {})
        if request.method == "GET":
            return json_response(list(table.values()))
        body = request[JSON_KEY]
        if request.method == "PUT":
            if not isinstance(body, list):
                raise form_error("_", "Expected a list of commands")
            new: dict[str, dict[str, Any]] = {}
            for data in body:
                cmd = self._upsert_command(scope, data, table)
                new[f"{cmd['type']}:{cmd['name']}"] = cmd
            table.clear()
            table.update(new)
            self.notify()
            return json_response(list(table.values()))
        cmd = self._upsert_command(scope, body or {}, table)
        created = f"{cmd['type']}:{cmd['name']}" not in table
        table[f"{cmd['type']}:{cmd['name']}"] = cmd
        self.notify()
        return json_response(cmd, 201 if created else 200)

    async def h_command(self, request: web.Request) -> web.Response:
        scope = self._scope(request)
        table = self.state.commands.setdefault(scope, {})
        cid = request.match_info["command_id"]
        key = next((k for k, v in table.items() if v["id"] == cid), None)
        if key is None:
            raise ApiError(404, UNKNOWN_COMMAND, "Unknown application command")
        if request.method == "GET":
            return json_response(table[key])
        if request.method == "DELETE":
            del table[key]
            self.notify()
            return no_content()
        merged = {**table[key], **(request[JSON_KEY] or {})}
        del table[key]
        cmd = self._upsert_command(scope, merged, {key: {"id": cid}})
        table[f"{cmd['type']}:{cmd['name']}"] = cmd
        self.notify()
        return json_response(cmd)

    # ----- REST: SKUs and entitlements -----

    async def h_skus(self, request: web.Request) -> web.Response:
        self._app(request)
        return json_response([sku_json(self.application_id, s) for s in self.state.skus.values()])

    async def h_entitlements(self, request: web.Request) -> web.Response:
        self._app(request)
        q = request.query
        out = sorted(self.state.entitlements.values(), key=lambda e: e.id)
        if "user_id" in q:
            out = [e for e in out if e.user_id == int(q["user_id"])]
        if "guild_id" in q:
            out = [e for e in out if e.guild_id == int(q["guild_id"])]
        if q.get("sku_ids"):
            skus = {int(s) for s in q["sku_ids"].split(",")}
            out = [e for e in out if e.sku_id in skus]
        if q.get("exclude_ended", "0") in ("1", "true"):
            out = [e for e in out if not (e.ends_at and e.ends_at <= now())]
        if q.get("exclude_deleted", "1") in ("1", "true"):
            out = [e for e in out if not e.deleted]
        if "before" in q:
            out = [e for e in out if e.id < int(q["before"])]
        if "after" in q:
            out = [e for e in out if e.id > int(q["after"])]
        limit = int(q.get("limit", 100))
        out = out[-limit:] if "before" in q else out[:limit]
        return json_response([entitlement_json(self.application_id, e) for e in out])

    def make_entitlement(
        self,
        sku: SKU,
        *,
        user_id: int | None = None,
        guild_id: int | None = None,
        type: int = 4,
        starts_at: datetime | None = None,
        ends_at: datetime | None = None,
    ) -> Entitlement:
        e = Entitlement(
            id=self.state.snowflake(),
            sku_id=sku.id,
            user_id=user_id,
            guild_id=guild_id,
            type=type,
            starts_at=starts_at,
            ends_at=ends_at,
        )
        self.state.entitlements[e.id] = e
        self.entitlement_event("ENTITLEMENT_CREATE", e)
        return e

    async def h_create_entitlement(self, request: web.Request) -> web.Response:
        self._app(request)
        body = request[JSON_KEY] or {}
        sku = self.state.skus.get(int(body.get("sku_id") or 0))
        if sku is None:
            raise ApiError(404, 10070, "Unknown SKU")
        owner = int(body.get("owner_id") or 0)
        owner_type = int(body.get("owner_type") or 0)
        if owner_type == 1:
            if owner not in self.state.guilds:
                raise ApiError(404, UNKNOWN_GUILD, "Unknown Guild")
            e = self.make_entitlement(sku, guild_id=owner)
        elif owner_type == 2:
            if owner not in self.state.users:
                raise ApiError(404, UNKNOWN_USER, "Unknown User")
            e = self.make_entitlement(sku, user_id=owner)
        else:
            raise form_error("owner_type", "Must be 1 (guild) or 2 (user).")
        return json_response(entitlement_json(self.application_id, e))

    def _entitlement(self, request: web.Request) -> Entitlement:
        self._app(request)
        try:
            return self.state.entitlements[int(request.match_info["entitlement_id"])]
        except (KeyError, ValueError):
            raise ApiError(404, UNKNOWN_ENTITLEMENT, "Unknown Entitlement") from None

    async def h_entitlement(self, request: web.Request) -> web.Response:
        e = self._entitlement(request)
        if request.method == "GET":
            return json_response(entitlement_json(self.application_id, e))
        if e.type != 4 or e.deleted:
            raise ApiError(404, UNKNOWN_ENTITLEMENT, "Unknown Entitlement")
        e.deleted = True
        self.entitlement_event("ENTITLEMENT_DELETE", e)
        return no_content()

    async def h_consume(self, request: web.Request) -> web.Response:
        e = self._entitlement(request)
        sku = self.state.skus.get(e.sku_id)
        if sku is None or sku.type != 3:
            raise ApiError(400, 40074, "Only consumable entitlements can be consumed")
        e.consumed = True
        self.entitlement_event("ENTITLEMENT_UPDATE", e)
        return no_content()
