"""The REST middleware: body parsing, auth, rate limits (buckets and forced 429s), the request log and Discord's
error bodies; plus the answer for routes the sandbox does not have.

The middleware reads the server's settings each time (``forced``, ``route_limits``, ``rate_limit``, ...), so a test
may change them while the server runs.
"""

from __future__ import annotations

import hashlib
import json
import time
from typing import Any

from aiohttp import BodyPartReader, web
from aiohttp.typedefs import Middleware

from bot.sandbox.server.core import ServerCore
from bot.sandbox.server.http import (
    API_PREFIX,
    FILES_KEY,
    JSON_KEY,
    KNOWN_KEY,
    ApiError,
    Bucket,
    Handler,
    json_response,
)
from bot.sandbox.state import RequestRecord


def api_middleware(server: ServerCore) -> Middleware:
    """The middleware for ``server``'s application (API routes only; the gateway and attachments pass through)."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        return await _handle(server, request, handler)

    return middleware


async def _handle(server: ServerCore, request: web.Request, handler: Handler) -> web.StreamResponse:
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
        await _parse_body(request, record)
        response = await _guarded(server, request, handler, record)
    except ApiError as e:
        body: dict[str, Any] = {"message": e.message, "code": e.code}
        if e.errors:
            body["errors"] = e.errors
        response = json_response(body, e.status)
    record.status = response.status
    if server.record_requests:
        server.state.requests.append(record)
        server.notify()
    return response


async def _parse_body(request: web.Request, record: RequestRecord) -> None:
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
            assert isinstance(part, BodyPartReader), "nested multipart bodies are not supported"
            name = part.name or ""
            filename = part.filename
            data = await part.read()
            if filename is not None:
                ct = part.headers.get("Content-Type")
                request[FILES_KEY].append((name, filename, bytes(data), ct))
                record.files.append((name, filename, len(data)))
            elif name == "payload_json":
                record.json = json.loads(data)
            else:
                record.form[name] = data.decode()
    if record.json is not None:
        request[JSON_KEY] = record.json


async def _guarded(
    server: ServerCore, request: web.Request, handler: Handler, record: RequestRecord
) -> web.StreamResponse:
    key = record.key
    token_route = "{webhook_token}" in record.route or "{interaction_token}" in record.route
    if request[KNOWN_KEY] and not token_route:
        auth = request.headers.get("Authorization", "")
        if auth != f"Bot {server.token}":
            raise ApiError(401, 0, "401: Unauthorized")
    for f in server.forced:
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
                headers.update(_bucket_headers(server, request, record, consume=False))
                headers["X-RateLimit-Remaining"] = "0"
            return web.Response(status=429, body=json.dumps(body).encode(), headers=headers)
    limit_headers = _bucket_headers(server, request, record, consume=True)
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


def _bucket_headers(
    server: ServerCore, request: web.Request, record: RequestRecord, *, consume: bool
) -> dict[str, str]:
    limit, window = server.route_limits.get(record.key, (server.rate_limit, server.rate_window))
    mi = request.match_info
    major = "+".join(mi.get(k, "") for k in ("channel_id", "guild_id", "webhook_id", "webhook_token"))
    bucket_hash = hashlib.md5(record.key.encode()).hexdigest()[:16]
    bkey = f"{bucket_hash}:{major}"
    t = time.monotonic()
    b = server.buckets.get(bkey)
    if b is None or t >= b.resets_at:
        b = server.buckets[bkey] = Bucket(remaining=limit, resets_at=t + window)
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


async def unknown_route(request: web.Request) -> web.Response:
    path = request.path[len(API_PREFIX) :]
    raise ApiError(404, 0, f"404: Not Found (the sandbox has no route {request.method} {path})")
