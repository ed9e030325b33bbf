"""What the message, embed, component, webhook, reaction and query conformance tests share: sending a raw body
through discord.py's own HTTP client (so discord.py parses the refusal as it would Discord's), reading a raw
refusal's nested ``errors`` object, and the assertion every refused case makes."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

import aiohttp
import discord
import pytest

from bot.sandbox import Sandbox

INVALID_FORM_BODY = 50035


async def refusal(pending: Awaitable[Any]) -> discord.HTTPException:
    """The ``HTTPException`` discord.py raises for ``pending``."""
    with pytest.raises(discord.HTTPException) as info:
        await pending
    return info.value


def assert_form_error(error: discord.HTTPException, path: str, message: str | None = None) -> None:
    """``error`` is Discord's ``400 50035 Invalid Form Body`` naming ``path`` (as discord.py flattens it)."""
    assert (error.status, error.code) == (400, INVALID_FORM_BODY), error.text
    lines = [line for line in error.text.splitlines() if line.startswith(f"In {path}: ")]
    assert lines, error.text
    if message is not None:
        assert message in lines[0], error.text


def send_route(channel_id: int) -> discord.http.Route:
    return discord.http.Route("POST", "/channels/{channel_id}/messages", channel_id=channel_id)


async def send_raw(client: discord.Client, channel_id: int, body: dict[str, Any]) -> Any:
    """POST ``body`` as a message through discord.py's HTTP client (any shape, unlike ``Messageable.send``)."""
    return await client.http.request(send_route(channel_id), json=body)


async def raw(
    sandbox: Sandbox, method: str, path: str, *, json: Any = None, params: dict[str, str] | None = None
) -> tuple[int, Any]:
    """One request as the bot, outside discord.py: the status and the decoded body (None when empty)."""
    headers = {"Authorization": f"Bot {sandbox.token}"}
    async with (
        aiohttp.ClientSession() as http,
        http.request(method, sandbox.server.api_url + path, json=json, params=params, headers=headers) as response,
    ):
        text = await response.text()
        return response.status, (None if not text else await response.json(content_type=None))


def codes_at(body: dict[str, Any], *path: str | int) -> list[str]:
    """The error codes Discord's nested ``errors`` object holds at ``path``."""
    node = body.get("errors", {})
    for part in path:
        node = node.get(str(part), {})
    return [e["code"] for e in node.get("_errors", [])]
