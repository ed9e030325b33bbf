"""Point the unmodified discord.py library at a sandbox (and back).

discord.py reads ``Route.BASE`` when each request is built (webhooks and interaction callbacks
included) and ``DiscordWebSocket.DEFAULT_GATEWAY`` when a plain client connects; a sharded client
asks ``GET /gateway/bot``, which the sandbox answers with its own URL.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import yarl
from discord.gateway import DiscordWebSocket
from discord.http import Route

_ORIGINAL: tuple[str, yarl.URL] = (Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY)


def point_discord_at(base_url: str, gateway_url: str) -> None:
    """``base_url`` is the REST root ending in ``/api/v10``; ``gateway_url`` the ``ws://`` address."""
    Route.BASE = base_url.rstrip("/")
    DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway_url)


def undo() -> None:
    Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY = _ORIGINAL


@contextlib.contextmanager
def pointed_at(base_url: str, gateway_url: str) -> Iterator[None]:
    previous = (Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY)
    point_discord_at(base_url, gateway_url)
    try:
        yield
    finally:
        Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY = previous
