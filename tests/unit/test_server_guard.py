"""A persona's model server through the guarded client (bot/services/server_guard.py), against real HTTP(S) servers on
loopback (tests/fakes/model_server.py): a redirect is never followed, every request checks again where the name
points (a resolver the test controls) and goes to the address it checked, and a name now pointing at a private
address is refused before anything is sent."""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from bot.llm import ChatMessage, ChatRequest, ModelError, ModelUnavailable, OpenAICompatibleProvider
from bot.services import server_guard
from tests.fakes.model_server import FakeModelServer, redirect, reply

REQUEST = ChatRequest(system="You are Ada.", messages=(ChatMessage(role="user", content="hello"),), max_tokens=20)


@pytest.fixture
async def servers() -> AsyncIterator[tuple[FakeModelServer, FakeModelServer]]:
    async with FakeModelServer() as first, FakeModelServer() as second:
        yield first, second


def guarded(base_url: str, **options: object) -> OpenAICompatibleProvider:
    client = server_guard.server_client(timeout_seconds=2.0, **options)  # type: ignore[arg-type]
    return OpenAICompatibleProvider(
        base_url=base_url, model="m", timeout_seconds=2.0, max_retries=0, http_client=client
    )


async def test_the_client_follows_no_redirects_and_keeps_the_timeout() -> None:
    client = server_guard.server_client(allow_private=False, timeout_seconds=7.0)
    try:
        assert client.follow_redirects is False
        assert client.timeout.read == 7.0 and client.timeout.connect == 5.0
    finally:
        await client.aclose()


async def test_a_redirect_becomes_a_model_error_and_is_not_followed(
    servers: tuple[FakeModelServer, FakeModelServer],
) -> None:
    public, inner = servers  # "inner" stands for 169.254.169.254
    public.script(redirect(f"{inner.base_url}/chat/completions"))
    provider = guarded(public.base_url, allow_private=True)
    try:
        with pytest.raises(ModelError, match="redirect"):
            await provider.reply(REQUEST)
    finally:
        await provider.aclose()
    assert len(public.requests) == 1 and inner.requests == []
    # The SDK's own client (what a persona's server had before) follows it: the reason for the guarded client.
    public.script(redirect(f"{inner.base_url}/chat/completions"))
    unguarded = OpenAICompatibleProvider(base_url=public.base_url, model="m", timeout_seconds=2.0, max_retries=0)
    try:
        await unguarded.reply(REQUEST)
    finally:
        await unguarded.aclose()
    assert len(inner.requests) == 1


async def test_every_request_checks_the_name_and_goes_to_the_checked_address(
    servers: tuple[FakeModelServer, FakeModelServer],
) -> None:
    server, _ = servers
    server.script(reply("one"), reply("two"), reply("three"))
    port = server.base_url.rsplit(":", 1)[1].split("/")[0]
    asked: list[str] = []
    now = [1000.0]

    async def resolver(host: str, _port: int) -> list[str]:
        asked.append(host)
        return ["127.0.0.1"]

    client = server_guard.server_client(allow_private=True, timeout_seconds=2.0, resolver=resolver)
    transport = client._transport  # the clock, to pass the remembered check
    assert isinstance(transport, server_guard.GuardedTransport)
    transport._clock = lambda: now[0]
    # "model.test" resolves nowhere on this machine: the reply proves the request went to the checked address.
    provider = OpenAICompatibleProvider(
        base_url=f"http://model.test:{port}/v1", model="m", timeout_seconds=2.0, max_retries=0, http_client=client
    )
    try:
        assert (await provider.reply(REQUEST)).text == "one"
        assert (await provider.reply(REQUEST)).text == "two"
        assert asked == ["model.test"]  # remembered for a few seconds
        now[0] += server_guard.CHECK_SECONDS + 1
        assert (await provider.reply(REQUEST)).text == "three"
        assert asked == ["model.test", "model.test"]  # then asked again
    finally:
        await provider.aclose()
    assert server.headers[0]["Host"] == f"model.test:{port}"


async def test_a_name_that_now_points_at_a_private_address_is_refused(
    servers: tuple[FakeModelServer, FakeModelServer],
) -> None:
    server, _ = servers
    port = server.base_url.rsplit(":", 1)[1].split("/")[0]
    answers = [["93.184.216.34"], ["127.0.0.1"]]

    async def rebinding(host: str, _port: int) -> list[str]:
        return answers.pop(0) if len(answers) > 1 else answers[0]

    # Checked when it was set (public) ...
    from bot.services.model_servers import check_server_url

    safe = await check_server_url(f"http://model.test:{port}/v1", allow_private=False, resolver=rebinding)
    # ... and now it points at loopback: the request is refused before anything is sent.
    provider = guarded(safe.url, allow_private=False, resolver=rebinding)
    try:
        with pytest.raises(ModelUnavailable, match="private"):
            await provider.reply(REQUEST)
    finally:
        await provider.aclose()
    assert server.requests == []


def _authority_and_server_cert(folder: Path, name: str) -> tuple[Path, Path, Path]:
    """A private certificate authority and a server certificate for ``name`` signed by it: (ca, cert, key)."""
    now = datetime.now(UTC)

    def made(
        subject: str,
        key: ec.EllipticCurvePrivateKey,
        issuer: x509.Name,
        signer: ec.EllipticCurvePrivateKey,
        *,
        ca: bool,
    ) -> x509.Certificate:
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
            .issuer_name(issuer)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        )
        if not ca:
            builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        return builder.sign(signer, hashes.SHA256())

    ca_key, server_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test authority")])
    ca_cert = made("Test authority", ca_key, ca_name, ca_key, ca=True)
    server_cert = made(name, server_key, ca_name, ca_key, ca=False)
    paths = folder / "ca.pem", folder / "server.pem", folder / "server.key"
    paths[0].write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(server_cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(
        server_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return paths


async def test_https_goes_to_the_checked_address_with_the_name_in_tls_and_the_certificate_checked(
    tmp_path: Path,
) -> None:
    """Over HTTPS the request goes to the checked address, the TLS server name (SNI) is the URL's name, and the
    certificate is verified against that name: a certificate for another name is refused and nothing is sent."""
    ca, cert, key = _authority_and_server_cert(tmp_path, "model.test")
    served = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    served.load_cert_chain(cert, key)
    names: list[str | None] = []
    served.sni_callback = lambda _socket, name, _context: names.append(name)  # type: ignore[assignment,misc,return-value]
    trusted = ssl.create_default_context(cafile=str(ca))

    async def resolver(host: str, _port: int) -> list[str]:
        return ["127.0.0.1"]

    async with FakeModelServer(ssl_context=served) as server:
        server.script(reply("secure"))
        port = server.port
        provider = guarded(f"https://model.test:{port}/v1", allow_private=True, resolver=resolver, verify=trusted)
        try:
            assert (await provider.reply(REQUEST)).text == "secure"
        finally:
            await provider.aclose()
        assert names == ["model.test"]
        assert server.headers[0]["Host"] == f"model.test:{port}"
        # The same server under another name: its certificate does not name it, so nothing is sent.
        other = guarded(f"https://other.test:{port}/v1", allow_private=True, resolver=resolver, verify=trusted)
        try:
            with pytest.raises(ModelError):
                await other.reply(REQUEST)
        finally:
            await other.aclose()
        assert len(server.requests) == 1
        # And an authority the client does not trust is refused too.
        untrusting = guarded(f"https://model.test:{port}/v1", allow_private=True, resolver=resolver)
        try:
            with pytest.raises(ModelError):
                await untrusting.reply(REQUEST)
        finally:
            await untrusting.aclose()
        assert len(server.requests) == 1
