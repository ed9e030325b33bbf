"""Whether a model server's address may be used for a persona: the pure parts (the URL's shape, and whether an
address is private). Resolving the host name is :mod:`bot.services.model_servers`' work.

A persona's owner may point it at another OpenAI-compatible server. The bot then sends requests from the machine
it runs on, so an address inside that machine or its network (loopback, private ranges, link-local, "this
network") would let any owner reach services nobody meant to expose. Such addresses are refused unless the
operator allows them (``ALLOW_PRIVATE_MODEL_SERVERS``). Every address a name resolves to is checked, IPv4 and IPv6
(an IPv4 address written inside IPv6 is checked as the IPv4 address it is).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from bot.core.errors import DomainError

MAX_URL_LENGTH = 500
SCHEMES = ("http", "https")

# The ranges refused by name in the issue, and the ones the ipaddress module knows as not public besides.
PRIVATE_NETWORKS = tuple(
    ipaddress.ip_network(block)
    for block in (
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "::/128",
        "::1/128",
        "fc00::/7",
        "fe80::/10",
    )
)
LOCAL_NAMES = ("localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback")

PRIVATE_REFUSED = (
    "{host} is a private, loopback or link-local address: this bot does not send requests there "
    "(its operator can allow it with ALLOW_PRIVATE_MODEL_SERVERS)."
)


@dataclass(frozen=True)
class ServerUrl:
    """A model server's base URL, checked for shape: ``url`` as it will be used (no trailing slash), its host (as
    written, without IPv6 brackets) and port."""

    url: str
    host: str
    port: int


def parse_server_url(text: str) -> ServerUrl:
    """The URL's shape checked: http or https, a host, no user name or password in it (the API key is given
    apart), no query or fragment; DomainError with a sentence otherwise."""
    raw = (text or "").strip()
    if not raw:
        raise DomainError("Give the server's address, such as https://api.example.com/v1.")
    if len(raw) > MAX_URL_LENGTH:
        raise DomainError(f"That address is longer than {MAX_URL_LENGTH} characters.")
    if any(ch.isspace() or ord(ch) < 32 for ch in raw):
        raise DomainError("A server address has no spaces or control characters in it.")
    parts = urlsplit(raw)
    if parts.scheme.lower() not in SCHEMES:
        raise DomainError("The server's address must start with http:// or https://.")
    try:
        host = parts.hostname
        port = parts.port
    except ValueError:
        raise DomainError("That address has a port that is not a number between 0 and 65535.") from None
    if not host:
        raise DomainError("That address names no server (such as https://api.example.com/v1).")
    if parts.username is not None or parts.password is not None:
        raise DomainError("Leave the user name and password out of the address: give the API key on its own.")
    if parts.query or parts.fragment:
        raise DomainError("A server's base address has no ?query or #fragment.")
    scheme = parts.scheme.lower()
    url = f"{scheme}://{parts.netloc}{parts.path}".rstrip("/")
    return ServerUrl(url=url, host=host, port=port if port is not None else (443 if scheme == "https" else 80))


def is_local_name(host: str) -> bool:
    """``localhost`` and the names that mean this machine (``*.localhost`` included)."""
    name = host.strip().rstrip(".").lower()
    return name in LOCAL_NAMES or name.endswith(".localhost")


def is_ip_address(text: str) -> bool:
    """Whether ``text`` is an IP address (IPv4 or IPv6, a scope allowed) rather than a name."""
    try:
        ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return False
    return True


def is_private_address(address: str) -> bool:
    """Whether an IP address (as text; an IPv6 scope like ``%eth0`` is ignored) is not a public one: private,
    loopback, link-local, unspecified, multicast or reserved. Text that is no IP address counts as private."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return True
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour
        if embedded is not None:
            return is_private_address(str(embedded))
    if any(ip in network for network in PRIVATE_NETWORKS):
        return True
    return ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_unspecified or ip.is_multicast or ip.is_reserved


def check_addresses(server: ServerUrl, addresses: Iterable[str], *, allow_private: bool) -> None:
    """Refuse ``server`` (DomainError) when its host is a local name or any of the addresses it resolves to is
    private, unless ``allow_private``; and when it resolves to nothing."""
    found = list(addresses)
    if not found:
        raise DomainError(f"{server.host} does not resolve to any address.")
    if allow_private:
        return
    if is_local_name(server.host) or any(is_private_address(address) for address in found):
        raise DomainError(PRIVATE_REFUSED.format(host=server.host))
