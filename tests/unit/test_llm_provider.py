"""The OpenAI-compatible provider against a real HTTP server on loopback (tests/fakes/model_server.py)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest

from bot.config import Settings
from bot.llm import (
    ChatMessage,
    ChatRequest,
    ModelError,
    ModelRefused,
    ModelTimeout,
    ModelUnavailable,
    OfflineResponder,
    OpenAICompatibleProvider,
    describe_provider,
    make_provider,
)
from tests.fakes.model_server import (
    MODEL_ID,
    FakeModelServer,
    content_filter,
    hang,
    refusal,
    reply,
    status,
)

REQUEST = ChatRequest(
    system="You are Ada.",
    messages=(ChatMessage(role="user", content="Bob: hello there", name="Bob Smith"),),
    max_tokens=50,
    temperature=0.5,
)


@pytest.fixture
async def server() -> AsyncIterator[FakeModelServer]:
    async with FakeModelServer() as running:
        yield running


@pytest.fixture
async def provider(server: FakeModelServer) -> AsyncIterator[OpenAICompatibleProvider]:
    made = OpenAICompatibleProvider(base_url=server.base_url, model="test-model", timeout_seconds=2.0)
    yield made
    await made.aclose()


async def test_a_plain_reply_and_the_request_sent(server: FakeModelServer, provider: OpenAICompatibleProvider) -> None:
    server.script(reply("Hello, Bob!"))
    answer = await provider.reply(REQUEST)
    assert answer.text == "Hello, Bob!"
    assert answer.finish_reason == "stop"
    assert answer.usage.total_tokens > 0
    sent = server.requests[-1]
    assert sent["model"] == "test-model"
    assert sent["max_tokens"] == 50 and sent["temperature"] == 0.5
    assert sent["messages"][0] == {"role": "system", "content": "You are Ada."}
    # Message names are reduced to what the API accepts.
    assert sent["messages"][1] == {"role": "user", "content": "Bob: hello there", "name": "Bob_Smith"}
    assert "tools" not in sent and "stream" not in sent


async def test_stop_sequences_are_sent_up_to_the_servers_limit(server: FakeModelServer) -> None:
    stops = ("\nAlice:", "\nUser:", "\n### ", "\nBob:", "\nGrim:")
    request = ChatRequest(system="You are Ada.", messages=REQUEST.messages, stop=stops)
    for limit, expected in ((4, list(stops[:4])), (16, list(stops)), (0, None)):
        server.script(reply("Hi."), reply("Hi."))
        made = OpenAICompatibleProvider(base_url=server.base_url, model="m", max_stop_sequences=limit)
        try:
            await made.reply(request)
            assert server.requests[-1].get("stop") == expected
            assert [d async for d in made.stream(request)] == ["Hi."]
            assert server.requests[-1].get("stop") == expected and server.requests[-1]["stream"] is True
        finally:
            await made.aclose()


def test_the_stop_limit_comes_from_the_settings() -> None:
    made = make_provider(Settings(_env_file=None, llm_base_url="http://127.0.0.1:9/v1", llm_max_stop_sequences=7))
    assert isinstance(made, OpenAICompatibleProvider) and made.max_stop_sequences == 7


async def test_streaming_deltas_arrive_in_order(server: FakeModelServer, provider: OpenAICompatibleProvider) -> None:
    server.script(reply("", chunks=["One", ", two", ", three", "!"], chunk_delay=0.01))
    deltas = [delta async for delta in provider.stream(REQUEST)]
    assert deltas == ["One", ", two", ", three", "!"]
    assert server.requests[-1]["stream"] is True


async def test_a_server_that_does_not_stream_still_gives_the_text(server: FakeModelServer) -> None:
    provider = OpenAICompatibleProvider(base_url=server.base_url, model="m", timeout_seconds=2.0)
    # It answers a streaming request with plain JSON (no events); the provider asks again without streaming.
    server.script(reply("ignored", ignore_stream=True), reply("All in one piece."))
    assert [d async for d in provider.stream(REQUEST)] == ["All in one piece."]
    assert [r.get("stream") for r in server.requests] == [True, None]
    await provider.aclose()


async def test_without_a_model_name_the_server_s_first_model_is_used(server: FakeModelServer) -> None:
    provider = OpenAICompatibleProvider(base_url=server.base_url, timeout_seconds=2.0)
    await provider.reply(REQUEST)
    assert server.requests[-1]["model"] == MODEL_ID
    assert MODEL_ID in provider.name
    await provider.aclose()


async def test_connection_refused_is_model_unavailable() -> None:
    async with FakeModelServer() as gone:
        url = gone.base_url
    provider = OpenAICompatibleProvider(base_url=url, model="m", timeout_seconds=3.0, max_retries=1)
    with pytest.raises(ModelUnavailable, match="cannot be reached"):
        await provider.reply(REQUEST)
    with pytest.raises(ModelUnavailable):
        [d async for d in provider.stream(REQUEST)]
    await provider.aclose()


async def test_a_hanging_server_is_a_timeout_within_the_deadline(server: FakeModelServer) -> None:
    provider = OpenAICompatibleProvider(base_url=server.base_url, model="m", timeout_seconds=0.5)
    server.script(hang())
    started = time.monotonic()
    with pytest.raises(ModelTimeout, match="in time"):
        await provider.reply(REQUEST)
    assert time.monotonic() - started < 1.5  # the overall deadline, retries included
    await provider.aclose()


async def test_a_slow_reply_beyond_the_timeout_is_a_timeout(server: FakeModelServer) -> None:
    provider = OpenAICompatibleProvider(base_url=server.base_url, model="m", timeout_seconds=0.4)
    server.script(reply("too late", delay=3.0), reply("too late", delay=3.0), reply("too late", delay=3.0))
    started = time.monotonic()
    with pytest.raises(ModelTimeout):
        await provider.reply(REQUEST)
    assert time.monotonic() - started < 1.4
    await provider.aclose()


async def test_a_stream_that_stalls_is_a_timeout(server: FakeModelServer) -> None:
    provider = OpenAICompatibleProvider(base_url=server.base_url, model="m", timeout_seconds=0.4)
    server.script(reply("", chunks=["fast", " then slow"], chunk_delay=2.0))
    started = time.monotonic()
    with pytest.raises(ModelTimeout):
        [d async for d in provider.stream(REQUEST)]
    assert time.monotonic() - started < 1.4
    await provider.aclose()


async def test_500_then_success_is_retried(server: FakeModelServer, provider: OpenAICompatibleProvider) -> None:
    server.script(status(500), reply("Back on my feet."))
    answer = await provider.reply(REQUEST)
    assert answer.text == "Back on my feet."
    assert len(server.requests) == 2


async def test_429_is_retried_then_reported_as_unavailable(server: FakeModelServer) -> None:
    provider = OpenAICompatibleProvider(base_url=server.base_url, model="m", timeout_seconds=2.0, max_retries=2)
    server.script(status(429), status(429), status(429))
    with pytest.raises(ModelUnavailable, match="busy"):
        await provider.reply(REQUEST)
    assert len(server.requests) == 3  # one try and two retries
    await provider.aclose()


async def test_a_500_that_persists_is_unavailable(server: FakeModelServer) -> None:
    provider = OpenAICompatibleProvider(base_url=server.base_url, model="m", timeout_seconds=2.0, max_retries=1)
    server.script(status(503), status(503))
    with pytest.raises(ModelUnavailable, match="HTTP 503"):
        await provider.reply(REQUEST)
    await provider.aclose()


async def test_a_bad_request_is_a_model_error_not_a_library_exception(
    server: FakeModelServer, provider: OpenAICompatibleProvider
) -> None:
    server.script(status(400, retry_after_ms=None))
    with pytest.raises(ModelError, match="HTTP 400") as caught:
        await provider.reply(REQUEST)
    assert type(caught.value) is ModelError


async def test_a_refusal_is_model_refused(server: FakeModelServer, provider: OpenAICompatibleProvider) -> None:
    server.script(refusal("I won't."))
    with pytest.raises(ModelRefused, match="refused"):
        await provider.reply(REQUEST)
    server.script(refusal("I won't."))
    with pytest.raises(ModelRefused, match="refused"):
        [d async for d in provider.stream(REQUEST)]


async def test_content_filter_and_empty_answers_are_refusals(
    server: FakeModelServer, provider: OpenAICompatibleProvider
) -> None:
    server.script(content_filter())
    with pytest.raises(ModelRefused, match="content filter"):
        await provider.reply(REQUEST)
    server.script(reply(""))
    with pytest.raises(ModelRefused, match="empty"):
        await provider.reply(REQUEST)
    server.script(reply("", chunks=[]))
    with pytest.raises(ModelRefused, match="empty"):
        [d async for d in provider.stream(REQUEST)]


async def test_the_api_key_is_sent_when_configured(server: FakeModelServer) -> None:
    settings = Settings(_env_file=None, llm_base_url=server.base_url, llm_api_key="sk-test-123", llm_model="m")
    provider = make_provider(settings)
    assert isinstance(provider, OpenAICompatibleProvider)
    await provider.reply(REQUEST)
    assert server.headers[-1]["Authorization"] == "Bearer sk-test-123"
    await provider.aclose()


def test_make_provider_without_a_server_is_the_offline_responder() -> None:
    settings = Settings(_env_file=None, llm_base_url=None)
    provider = make_provider(settings)
    assert isinstance(provider, OfflineResponder)
    assert provider.supports_tools is False
    assert describe_provider(settings) == "offline responder (no model server configured)"
    served = Settings(_env_file=None, llm_base_url="http://127.0.0.1:11434/v1", llm_model="llama3")
    assert describe_provider(served) == "llama3 via OpenAI-compatible server at 127.0.0.1:11434"
