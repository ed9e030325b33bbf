"""Raw REST and gateway access for the shape tests: the JSON exactly as the sandbox sends it (discord.py would parse
it into objects and hide what came back), and the documented field lists those tests hold it to."""

from __future__ import annotations

import json
import re
import zlib
from collections.abc import Iterator
from typing import Any

import aiohttp

from bot.sandbox import Sandbox

# developers/resources/message.mdx, "Message Structure" (every field; the ones without "?" always present).
MESSAGE_FIELDS = {
    *("id", "channel_id", "author", "content", "timestamp", "edited_timestamp", "tts", "mention_everyone"),
    *("mentions", "mention_roles", "mention_channels", "attachments", "embeds", "reactions", "nonce", "pinned"),
    *("webhook_id", "type", "activity", "application", "application_id", "flags", "message_reference"),
    *("message_snapshots", "referenced_message", "interaction_metadata", "interaction", "thread", "components"),
    *("sticker_items", "stickers", "position", "role_subscription_data", "resolved", "poll", "call"),
    "shared_client_theme",
}
MESSAGE_REQUIRED = {
    *("id", "channel_id", "author", "content", "timestamp", "edited_timestamp", "tts", "mention_everyone"),
    *("mentions", "mention_roles", "attachments", "embeds", "pinned", "type"),
}
# developers/events/gateway-events.mdx, "Message Create Extra Fields".
MESSAGE_EVENT_EXTRA = {"guild_id", "member", "channel_type"}
# developers/resources/user.mdx, "User Structure".
USER_FIELDS = {
    *("id", "username", "discriminator", "global_name", "avatar", "bot", "system", "mfa_enabled", "banner"),
    *("accent_color", "locale", "verified", "email", "flags", "premium_type", "public_flags"),
    *("avatar_decoration_data", "collectibles", "primary_guild"),
}
# developers/resources/guild.mdx, "Guild Member Structure".
MEMBER_FIELDS = {
    *("user", "nick", "avatar", "banner", "roles", "joined_at", "premium_since", "deaf", "mute", "flags"),
    *("pending", "permissions", "communication_disabled_until", "avatar_decoration_data", "collectibles"),
}
# developers/resources/message.mdx, "Attachment Structure".
ATTACHMENT_FIELDS = {
    *("id", "filename", "title", "description", "content_type", "size", "url", "proxy_url", "height", "width"),
    *("placeholder", "placeholder_version", "ephemeral", "duration_secs", "waveform", "flags"),
    *("clip_participants", "clip_created_at", "application"),
}


def walk_json(value: Any, path: str = "") -> Iterator[tuple[str, str, Any]]:
    """Every ``(path, key, value)`` of a JSON document."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield path, k, v
            yield from walk_json(v, f"{path}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from walk_json(v, f"{path}.{i}")


# Keys that hold a snowflake or a permission set but are not named ``id`` / ``*_id`` / ``*_ids``.
_STRING_KEYS = {"permissions", "allow", "deny", "owner_id", "roles", "mention_roles", "flags_new"}
# Integers Discord sends under an ``id`` name: a component's numeric ``id`` (the object at ``components.<n>``,
# ``accessory`` or ``component``).
_COMPONENT_PATH = re.compile(r"\.(components\.\d+|accessory|component)$")


def non_string_ids(doc: Any) -> list[str]:
    """Paths of snowflakes and permission sets that are not strings (reference.mdx, "Snowflakes")."""
    bad = []
    for path, key, value in walk_json(doc):
        is_id = key == "id" or key.endswith("_id") or key.endswith("_ids") or key in _STRING_KEYS
        if not is_id or value is None:
            continue
        if key == "id" and _COMPONENT_PATH.search(path) and isinstance(value, int):
            continue
        if key == "id" and path.endswith(".emoji") and value is None:
            continue
        values = value if isinstance(value, list) else [value]
        if key == "roles" and values and isinstance(values[0], dict):
            continue  # a guild's role objects, checked by their own ``id``
        if key in ("permissions",) and isinstance(value, list):
            continue
        bad += [f"{path}.{key}={v!r}" for v in values if not isinstance(v, str)]
    return bad


class Rest:
    """Raw calls to the sandbox's REST API as the bot, answering ``(status, json)``."""

    def __init__(self, sandbox: Sandbox, http: aiohttp.ClientSession) -> None:
        self.sandbox = sandbox
        self.http = http
        self.headers = {"Authorization": f"Bot {sandbox.token}"}

    async def __call__(self, method: str, path: str, body: Any = None, **query: str) -> tuple[int, Any]:
        url = self.sandbox.server.api_url + path
        async with self.http.request(method, url, json=body, params=query, headers=self.headers) as r:
            return r.status, (await r.json() if r.status != 204 else None)

    async def upload(
        self, method: str, path: str, body: dict[str, Any], files: list[tuple[str, bytes, str]]
    ) -> tuple[int, Any]:
        """A multipart request: ``payload_json`` and ``files[n]`` as ``(filename, data, declared type)``."""
        form = aiohttp.FormData()
        form.add_field("payload_json", json.dumps(body), content_type="application/json")
        for n, (name, data, declared) in enumerate(files):
            form.add_field(f"files[{n}]", data, filename=name, content_type=declared)
        url = self.sandbox.server.api_url + path
        async with self.http.request(method, url, data=form, headers=self.headers) as r:
            return r.status, await r.json()


class ZstdReader:
    """Reads the zstd stream as the sandbox writes it (raw blocks, RFC 8878): the frame header once, then each
    message whole blocks, none of them the last ("does not end a zstd frame", gateway.mdx)."""

    def __init__(self) -> None:
        self.started = False

    def decompress(self, data: bytes) -> bytes:
        if not self.started:
            assert data[:4] == b"\x28\xb5\x2f\xfd", "a zstd frame starts with its magic number"
            data, self.started = data[6:], True
        out = bytearray()
        while data:
            header = int.from_bytes(data[:3], "little")
            assert header & 1 == 0, "no block ends the frame"
            assert (header >> 1) & 3 == 0, "raw blocks"
            size = header >> 3
            out += data[3 : 3 + size]
            data = data[3 + size :]
        return bytes(out)


class Gateway:
    """One raw gateway connection: frames as sent, decompressed when it asked for zlib-stream or zstd-stream."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse, *, compress: str | None) -> None:
        self.ws = ws
        self.compress = compress
        self.inflator: Any = {"zlib-stream": zlib.decompressobj, "zstd-stream": ZstdReader}.get(compress or "")
        self.inflator = self.inflator() if self.inflator else None
        self.raw: list[aiohttp.WSMessage] = []

    @classmethod
    async def connect(cls, http: aiohttp.ClientSession, sandbox: Sandbox, query: str = "") -> Gateway:
        ws = await http.ws_connect(sandbox.server.gateway_url + "?v=10&encoding=json" + query)
        compress = query.partition("compress=")[2].partition("&")[0] or None
        return cls(ws, compress=compress)

    async def frame(self, timeout: float = 5.0) -> dict[str, Any]:
        msg = await self.ws.receive(timeout)
        self.raw.append(msg)
        if self.inflator is None:
            assert msg.type == aiohttp.WSMsgType.TEXT, msg
            return json.loads(msg.data)
        assert msg.type == aiohttp.WSMsgType.BINARY, msg
        if self.compress == "zlib-stream":
            assert msg.data.endswith(b"\x00\x00\xff\xff"), "each zlib-stream frame ends with a Z_SYNC_FLUSH"
        return json.loads(self.inflator.decompress(msg.data))

    async def until(self, event: str, timeout: float = 5.0) -> dict[str, Any]:
        while True:
            f = await self.frame(timeout)
            if f.get("t") == event:
                return f

    async def identify(self, token: str, intents: int) -> dict[str, Any]:
        """HELLO, IDENTIFY; answers the READY frame."""
        hello = await self.frame()
        assert hello["op"] == 10
        await self.ws.send_json({"op": 2, "d": {"token": token, "intents": intents, "properties": {}}})
        return await self.until("READY")
