"""What every sandbox REST module shares: Discord's error codes and error body, JSON responses, the values the
middleware parses once per request, and the rate-limit records."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

API_PREFIX = "/api/v10"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Route = tuple[str, str, Handler]  # (method, template under API_PREFIX, handler)

# Discord's JSON error codes used here.
UNKNOWN_CHANNEL, UNKNOWN_GUILD, UNKNOWN_MEMBER, UNKNOWN_MESSAGE = 10003, 10004, 10007, 10008
UNKNOWN_ROLE, UNKNOWN_WEBHOOK, UNKNOWN_USER, UNKNOWN_EMOJI = 10011, 10015, 10013, 10014
UNKNOWN_INTERACTION, UNKNOWN_COMMAND, UNKNOWN_ENTITLEMENT = 10062, 10063, 10069
UNAUTHORIZED, MISSING_ACCESS, CANNOT_EDIT_OTHERS, EMPTY_MESSAGE = 40001, 50001, 50005, 50006
CANNOT_DM = 50007  # "Cannot send messages to this user": their DMs are closed to the bot
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
# The JSON body: whatever the client sent (an object, a list for bulk command overwrites, or null).
JSON_KEY: web.RequestKey[Any] = web.RequestKey("json", object)
KNOWN_KEY = web.RequestKey("known_route", bool)
