"""The sandbox server: a local Discord (REST API v10 and the Gateway) built on aiohttp.

- :mod:`.http`: error codes, :class:`ApiError`, JSON responses, request keys, rate-limit records;
- :mod:`.core`, :mod:`.messaging`, :mod:`.interacting`: state, lookups and the domain operations;
- :mod:`.middleware`: auth, rate limits, body parsing, the request log;
- :mod:`.routes`: the REST handlers, one module per resource;
- :mod:`.app`: :class:`SandboxServer`, which puts them together with the gateway.
"""

from bot.sandbox.server.app import SandboxServer
from bot.sandbox.server.http import API_PREFIX, ApiError, Bucket, ForcedLimit, form_error, json_response, no_content

__all__ = [
    "API_PREFIX",
    "ApiError",
    "Bucket",
    "ForcedLimit",
    "SandboxServer",
    "form_error",
    "json_response",
    "no_content",
]
