"""The HTTP client for a persona's own model server: it never follows a redirect (a public server answering 307
would otherwise send the bot to 169.254.169.254 or localhost), and every request checks again where the server's
name points (:class:`GuardedTransport`), so a name that passed when it was set and later resolves to a private
address is refused from then on.

The request then goes to the very address that was checked (the name stays in the ``Host`` header and, for HTTPS,
in the TLS server name the certificate is verified against): the connection library never resolves the name
itself, so a name whose answers flip between the check and the connection (DNS rebinding) gains nothing. A check
is remembered for :data:`CHECK_SECONDS` per host and port, so a busy conversation does not resolve the name on
every reply.
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Callable

import httpx2

from bot.core.errors import DomainError
from bot.core.server_urls import ServerUrl, check_addresses
from bot.llm.base import ModelUnavailable
from bot.services.model_servers import Resolver, addresses_of, resolve

CHECK_SECONDS = 5.0
CONNECT_SECONDS = 5.0


class GuardedTransport(httpx2.AsyncBaseTransport):
    """``inner`` with the request's host resolved and checked first (``resolver``: the system's, off the loop) and
    the request sent to the checked address; a refused host raises :class:`~bot.llm.base.ModelUnavailable` and
    nothing is sent."""

    def __init__(
        self,
        inner: httpx2.AsyncBaseTransport,
        *,
        allow_private: bool,
        resolver: Resolver | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._inner = inner
        self._allow_private = allow_private
        self._resolver = resolver or resolve
        self._clock = clock
        self._checked: dict[tuple[str, int], tuple[str, float]] = {}  # (host, port) -> (address, check expires)

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        url = request.url
        address = await self._address(url)
        if address != url.host:
            if url.scheme == "https":
                request.extensions = {**request.extensions, "sni_hostname": url.host}
            request.url = url.copy_with(host=address)  # the Host header keeps the name
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def _address(self, url: httpx2.URL) -> str:
        """The checked address to connect to for ``url``'s host (IPv4 first); ModelUnavailable when refused."""
        port = url.port or (443 if url.scheme == "https" else 80)
        key = (url.host, port)
        found = self._checked.get(key)
        if found is not None and found[1] > self._clock():
            return found[0]
        self._checked.pop(key, None)
        server = ServerUrl(url=str(url), host=url.host, port=port)
        try:
            addresses = await addresses_of(server, self._resolver)
            check_addresses(server, addresses, allow_private=self._allow_private)
        except DomainError as error:
            raise ModelUnavailable(f"The persona's model server cannot be used: {error}") from None
        address = min(addresses, key=lambda a: (":" in a, a))
        self._checked[key] = (address, self._clock() + CHECK_SECONDS)
        return address


def server_client(
    *,
    allow_private: bool,
    timeout_seconds: float,
    resolver: Resolver | None = None,
    verify: ssl.SSLContext | bool = True,
) -> httpx2.AsyncClient:
    """The client a persona's server provider uses: no redirects, every request's host checked
    and sent to the address checked (:class:`GuardedTransport`), no proxy from the environment (a proxy would
    resolve the name itself). ``verify``: how HTTPS certificates are checked (True: against the system's
    authorities; an SSL context trusting others, e.g. a private authority)."""
    transport = GuardedTransport(
        httpx2.AsyncHTTPTransport(verify=verify), allow_private=allow_private, resolver=resolver
    )
    return httpx2.AsyncClient(
        transport=transport,
        follow_redirects=False,
        timeout=httpx2.Timeout(timeout_seconds, connect=min(CONNECT_SECONDS, timeout_seconds)),
    )
