"""Checking a persona's model server before the bot sends it anything: the URL's shape, then every address its host
resolves to (:mod:`bot.core.server_urls` says which are refused). The name is resolved by the event loop's resolver,
which runs ``getaddrinfo`` in a worker thread, so a slow DNS server never stalls the loop; it has
:data:`RESOLVE_SECONDS` to answer.

The check runs when an owner sets the address, again when the bot first makes a provider for it in this process,
and before every request to it (:mod:`bot.services.server_guard`: a name may point elsewhere since).
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot.core.errors import DomainError
from bot.core.server_urls import ServerUrl, check_addresses, is_ip_address, parse_server_url

RESOLVE_SECONDS = 5.0

Resolver = Callable[[str, int], Awaitable[list[str]]]


@dataclass(frozen=True)
class SafeServerUrl:
    """A server address that passed :func:`check_server_url` (only that function makes one)."""

    url: str
    host: str


async def resolve(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (IPv4 and IPv6), off the event loop."""
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return sorted({str(info[4][0]) for info in infos})


async def check_server_url(text: str, *, allow_private: bool, resolver: Resolver | None = None) -> SafeServerUrl:
    """``text`` as a model server address the bot may use; DomainError with a sentence when its shape is wrong, its
    host does not resolve, or it (or any address it resolves to) is private and ``allow_private`` is off."""
    server = parse_server_url(text)
    addresses = await addresses_of(server, resolver or resolve)
    check_addresses(server, addresses, allow_private=allow_private)
    return SafeServerUrl(url=server.url, host=server.host)


async def addresses_of(server: ServerUrl, resolver: Resolver) -> list[str]:
    """The addresses ``server``'s host stands for (itself when it is one); DomainError with a sentence when it does
    not resolve (in :data:`RESOLVE_SECONDS`)."""
    if is_ip_address(server.host):  # an address as written needs no resolver
        return [server.host]
    try:
        async with asyncio.timeout(RESOLVE_SECONDS):
            return await resolver(server.host, server.port)
    except TimeoutError:
        raise DomainError(f"{server.host} could not be resolved in time; try again later.") from None
    except (OSError, UnicodeError):
        raise DomainError(f"{server.host} does not resolve to any address (is the name right?).") from None
