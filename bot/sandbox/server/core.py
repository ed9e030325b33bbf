"""The sandbox server's shared core: its settings and state, change notification, dispatch to the gateway, the
lookups that raise Discord's errors, and entitlements.

The domain operations build on it (:mod:`.messaging`, :mod:`.interacting`) and :class:`~.app.SandboxServer`
adds the aiohttp application; the REST route groups (:mod:`.routes`) and the test harness call into it.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

from aiohttp import web

from bot.sandbox.gateway import Gateway
from bot.sandbox.server.http import (
    API_PREFIX,
    MISSING_ACCESS,
    MISSING_PERMISSIONS,
    UNKNOWN_CHANNEL,
    UNKNOWN_MESSAGE,
    ApiError,
    Bucket,
    ForcedLimit,
)
from bot.sandbox.state import (
    SKU,
    Attachment,
    Channel,
    Entitlement,
    Message,
    P,
    SandboxState,
    User,
    entitlement_json,
    message_event_json,
)


class ServerCore:
    """State, settings, notification and dispatch; the lookups every route and operation uses."""

    def __init__(self, *, token: str = "sandbox-token", bot_name: str = "Persona Hub") -> None:
        self.token = token
        self.state = SandboxState()
        self.state.bot_user = self.state.add_user(bot_name, bot=True)
        self.application_flags = (1 << 19) | (1 << 15) | (1 << 13)  # message content / members / presence
        self.gateway = Gateway(
            self.state, token=token, url=lambda: self.gateway_url, application_flags=self.application_flags
        )
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
        # enforce_nonce: (author id, nonce) -> (message id, monotonic time created); see routes.messages.NONCE_WINDOW.
        self.nonces: dict[tuple[int, str], tuple[int, float]] = {}
        self.interaction_deadline = 3.0
        self.interaction_token_ttl = 15 * 60.0
        self.record_requests = True
        self._changed = asyncio.Event()
        self.attachments: dict[int, Attachment] = {}
        self.animated_emoji: set[str] = set()  # reaction keys ("name:id") of the custom emoji that are animated

    # ----- addresses and identity -----

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

    def message_event(self, m: Message, *, update: bool = False) -> dict[str, Any]:
        """``m`` as MESSAGE_CREATE (or, with ``update``, MESSAGE_UPDATE) carries it."""
        return message_event_json(self.state, m, update=update)

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

    # ----- entitlements -----

    def entitlement_event(self, name: str, e: Entitlement) -> None:
        self.dispatch(name, entitlement_json(self.application_id, e), guild_id=None)

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
