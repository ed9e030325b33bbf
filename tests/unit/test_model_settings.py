"""Per-persona model settings, the pure parts: a model server's address (shape, private addresses, IPv4 and IPv6),
the numbers' ranges, what a server's admins allow, the request a choice tunes, and the bounded provider pool."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest

from bot.core import model_settings as rules
from bot.core.errors import DomainError
from bot.core.model_settings import ModelAllowances, ModelChoice
from bot.core.server_urls import check_addresses, is_local_name, is_private_address, parse_server_url
from bot.llm.base import ChatMessage, ChatReply, ChatRequest, Provider
from bot.llm.pool import ProviderPool
from bot.llm.tuning import tuned
from bot.services.model_servers import check_server_url

# --------------------------------------------------------------------------------------------------- addresses


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "127.255.0.9",
        "10.1.2.3",
        "172.16.0.1",
        "172.31.255.255",
        "192.168.1.1",
        "169.254.169.254",  # cloud metadata
        "0.0.0.0",
        "::1",
        "::",
        "fc00::1",
        "fd12:3456::1",
        "fe80::1",
        "fe80::1%eth0",
        "::ffff:127.0.0.1",  # IPv4 inside IPv6
        "::ffff:10.0.0.1",
        "2002:7f00:1::",  # 6to4 of 127.0.0.1
        "224.0.0.1",
        "not an address",
    ],
)
def test_private_loopback_and_link_local_addresses_are_private(address: str) -> None:
    assert is_private_address(address)


@pytest.mark.parametrize("address", ["8.8.8.8", "1.1.1.1", "172.32.0.1", "192.169.0.1", "2606:4700:4700::1111"])
def test_public_addresses_are_not(address: str) -> None:
    assert not is_private_address(address)


def test_local_names() -> None:
    assert is_local_name("localhost") and is_local_name("LOCALHOST.") and is_local_name("api.localhost")
    assert not is_local_name("localhost.example.com")


@pytest.mark.parametrize(
    ("text", "sentence"),
    [
        ("", "Give the server's address"),
        ("ftp://example.com/v1", "http:// or https://"),
        ("file:///etc/passwd", "http:// or https://"),
        ("example.com/v1", "http:// or https://"),
        ("https://", "names no server"),
        ("https://user:secret@example.com/v1", "Leave the user name and password out"),
        ("https://example.com:99999/v1", "port"),
        ("https://example.com/v1?x=1", "query or #fragment"),
        ("https://exa mple.com/v1", "no spaces"),
        ("https://example.com/" + "a" * 600, "longer than"),
    ],
)
def test_malformed_addresses_are_refused_with_a_sentence(text: str, sentence: str) -> None:
    with pytest.raises(DomainError, match=sentence):
        parse_server_url(text)


def test_a_good_address_is_kept_without_its_trailing_slash() -> None:
    server = parse_server_url(" HTTPS://api.example.com/v1/ ")
    assert (server.url, server.host, server.port) == ("https://api.example.com/v1", "api.example.com", 443)
    assert parse_server_url("http://[::1]:8080/v1").host == "::1"


def test_every_resolved_address_is_checked_unless_the_operator_allows_private_ones() -> None:
    server = parse_server_url("https://models.example.com/v1")
    check_addresses(server, ["8.8.8.8", "2606:4700:4700::1111"], allow_private=False)
    with pytest.raises(DomainError, match="private, loopback or link-local"):
        check_addresses(server, ["8.8.8.8", "10.0.0.5"], allow_private=False)  # one bad address is enough
    with pytest.raises(DomainError, match="ALLOW_PRIVATE_MODEL_SERVERS"):
        check_addresses(server, ["fe80::1"], allow_private=False)
    check_addresses(server, ["10.0.0.5"], allow_private=True)
    with pytest.raises(DomainError, match="does not resolve"):
        check_addresses(server, [], allow_private=True)
    with pytest.raises(DomainError, match="private"):
        check_addresses(parse_server_url("http://localhost:8080/v1"), ["8.8.8.8"], allow_private=False)


async def test_the_service_resolves_names_and_refuses_private_answers() -> None:
    async def rebinding(host: str, port: int) -> list[str]:
        return ["93.184.216.34", "127.0.0.1"]

    async def public(host: str, port: int) -> list[str]:
        return ["93.184.216.34"]

    async def slow(host: str, port: int) -> list[str]:
        await asyncio.sleep(60)
        return []

    with pytest.raises(DomainError, match="private"):
        await check_server_url("https://evil.example/v1", allow_private=False, resolver=rebinding)
    safe = await check_server_url("https://good.example/v1/", allow_private=False, resolver=public)
    assert safe.url == "https://good.example/v1"
    # The system resolver, for real: localhost and loopback literals are refused, decimal 127.0.0.1 too.
    for text in ("http://localhost:8080/v1", "http://127.0.0.1:8080/v1", "http://[::1]:8080/v1", "http://2130706433/"):
        with pytest.raises(DomainError, match="private"):
            await check_server_url(text, allow_private=False)
    assert (await check_server_url("http://127.0.0.1:8080/v1", allow_private=True)).url == "http://127.0.0.1:8080/v1"
    from bot.services import model_servers

    original = model_servers.RESOLVE_SECONDS
    model_servers.RESOLVE_SECONDS = 0.05
    try:
        with pytest.raises(DomainError, match="in time"):
            await check_server_url("https://slow.example/v1", allow_private=False, resolver=slow)
    finally:
        model_servers.RESOLVE_SECONDS = original


# --------------------------------------------------------------------------------------------------- settings


def test_numbers_are_checked_against_their_ranges() -> None:
    assert rules.check_numbers(temperature=0.3, top_p=1.0, max_tokens=50) == {
        "temperature": 0.3,
        "top_p": 1.0,
        "max_tokens": 50,
    }
    for bad, sentence in (
        ({"temperature": 2.5}, "Temperature"),
        ({"temperature": float("nan")}, "Temperature"),
        ({"top_p": -0.1}, "Top-p"),
        ({"max_tokens": 0}, "Max tokens"),
        ({"presence_penalty": 3.0}, "Presence penalty"),
        ({"frequency_penalty": -2.1}, "Frequency penalty"),
    ):
        with pytest.raises(DomainError, match=sentence):
            rules.check_numbers(**bad)


def test_model_names() -> None:
    assert rules.model_name(" meta-llama/Llama-3-8B:free ") == "meta-llama/Llama-3-8B:free"
    for bad in ("", "two words", "x" * 201, "tab\there"):
        with pytest.raises(DomainError):
            rules.model_name(bad)


def test_what_the_admins_allow() -> None:
    listed = ModelAllowances(models=("gpt-4o-mini", "Llama3"), own_servers=False)
    rules.require_allowed(ModelChoice(model="LLAMA3", temperature=0.2), listed)
    with pytest.raises(DomainError, match="do not allow the model gpt-5"):
        rules.require_allowed(ModelChoice(model="gpt-5"), listed)
    with pytest.raises(DomainError, match="another model server"):
        rules.require_allowed(ModelChoice(base_url="https://x.example/v1"), listed)
    rules.require_allowed(ModelChoice(model="anything", base_url="https://x.example/v1"), ModelAllowances((), True))
    # Where it speaks: what is no longer allowed is left out of the reply.
    own = ModelChoice(model="their-model", base_url="https://x.example/v1", api_key_token="t", temperature=0.1)
    assert rules.within(own, listed) == ModelChoice(temperature=0.1)
    assert rules.within(ModelChoice(model="gpt-5"), listed) is None
    assert rules.within(own, ModelAllowances((), True)) == own
    # A model that reads pictures goes with its server or its model: the default model is as LLM_VISION says.
    seeing = replace(own, vision=True)
    assert rules.within(seeing, listed) == ModelChoice(temperature=0.1)
    assert rules.within(ModelChoice(model="gpt-5", vision=True), listed) is None
    assert rules.within(seeing, ModelAllowances((), True)) == seeing
    assert rules.allowed_models(["a", "A", " b "]) == ("a", "b")


def test_describe_says_which_model_speaks() -> None:
    assert rules.describe(None, "fake-model via server") == "fake-model via server"
    assert rules.describe(ModelChoice(model="m1", temperature=0.5), "d") == "m1 (its own choice); temperature 0.5"
    assert rules.describe(ModelChoice(base_url="https://x/v1"), "d") == "the server's default model via its own server"


def test_a_choice_tunes_the_request_and_leaves_the_rest() -> None:
    request = ChatRequest(system="s", messages=(ChatMessage("user", "hi"),), max_tokens=123, temperature=0.8)
    assert tuned(request, None) is request
    assert tuned(request, ModelChoice(vision=True)) is request
    out = tuned(request, ModelChoice(model="m", temperature=0.2, top_p=0.9, frequency_penalty=0.5))
    assert (out.model, out.temperature, out.top_p, out.frequency_penalty, out.presence_penalty, out.max_tokens) == (
        "m",
        0.2,
        0.9,
        0.5,
        None,
        123,  # from the verbosity unless the persona sets it
    )
    assert tuned(request, ModelChoice(max_tokens=40)).max_tokens == 40


# --------------------------------------------------------------------------------------------------- the pool


class Counting(Provider):
    def __init__(self, url: str) -> None:
        self.url = url
        self.closed = False

    async def reply(self, request: ChatRequest) -> ChatReply:
        return ChatReply(self.url)

    async def aclose(self) -> None:
        self.closed = True


async def test_the_pool_keeps_one_provider_per_server_and_key_bounded_and_closes_them() -> None:
    made: list[Counting] = []

    async def make(url: str, key: str | None) -> Provider:
        made.append(Counting(url))
        return made[-1]

    pool = ProviderPool(make, size=2)
    async with pool.lease("http://a", "k") as first, pool.lease("http://a", "k") as again:
        assert first is again
    async with pool.lease("http://a", "other key") as other:
        assert other is not first
    async with pool.lease("http://b", None) as busy:
        assert len(pool) == 2 and made[0].closed  # the least recently used went, closed at once (unused)
        async with pool.lease("http://c", None):
            assert made[1].closed and len(pool) == 2
        async with pool.lease("http://d", None):
            assert len(pool) == 2 and busy is made[2] and not busy.closed  # let go while its reply runs
        assert not busy.closed
    assert busy.closed  # closed when that reply ended
    await pool.aclose()
    assert all(p.closed for p in made) and len(pool) == 0
    with pytest.raises(RuntimeError):
        async with pool.lease("http://a", None):
            pass
