"""Every model answer is bounded (characters, total time) and an unreadable answer is a ModelError: the
OpenAI-compatible provider against the fake server on loopback."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import aclosing

import pytest

from bot.llm import ChatMessage, ChatRequest, ModelError, ModelOverrun, OpenAICompatibleProvider
from tests.fakes.model_server import FakeModelServer, bad_event, endless, not_json, reply

REQUEST = ChatRequest(system="You are Ada.", messages=(ChatMessage(role="user", content="Bob: hi"),), max_tokens=50)


@pytest.fixture
async def server() -> AsyncIterator[FakeModelServer]:
    async with FakeModelServer() as running:
        yield running


async def _read(provider: OpenAICompatibleProvider, request: ChatRequest) -> tuple[str, BaseException | None]:
    text = ""
    try:
        async with aclosing(provider.stream(request)) as deltas:
            async for delta in deltas:
                text += delta
    except ModelError as error:
        return text, error
    return text, None


async def test_an_endless_stream_stops_at_the_character_cap_and_the_server_sees_the_hang_up(
    server: FakeModelServer,
) -> None:
    server.script(endless("la "))
    provider = OpenAICompatibleProvider(base_url=server.base_url, model="m", timeout_seconds=5.0)
    try:
        text, error = await asyncio.wait_for(_read(provider, REQUEST), 10)
    finally:
        await provider.aclose()
    assert isinstance(error, ModelOverrun) and "4,000 characters" in str(error)
    assert len(text) == REQUEST.max_chars == 4000
    assert server.requests[-1]["max_tokens"] == 50  # the token cap is asked for too
    await asyncio.sleep(0.2)
    assert server.hung_up == 1  # the stream was closed, not left running


async def test_a_stream_that_keeps_flowing_is_cut_at_the_reply_time(server: FakeModelServer) -> None:
    server.script(endless("word ", chunk_delay=0.05))
    provider = OpenAICompatibleProvider(base_url=server.base_url, model="m", timeout_seconds=5.0, reply_seconds=1.0)
    started = time.perf_counter()
    try:
        text, error = await asyncio.wait_for(_read(provider, REQUEST), 10)
    finally:
        await provider.aclose()
    elapsed = time.perf_counter() - started
    assert isinstance(error, ModelOverrun) and "1 seconds" in str(error)
    assert text.startswith("word word") and 0.9 <= elapsed < 2.0


async def test_a_plain_answer_longer_than_the_cap_is_cut(server: FakeModelServer) -> None:
    server.script(endless("la "))
    provider = OpenAICompatibleProvider(base_url=server.base_url, model="m", timeout_seconds=5.0)
    try:
        answer = await provider.reply(REQUEST)
    finally:
        await provider.aclose()
    assert len(answer.text) == 4000 and answer.finish_reason == "length"


@pytest.mark.parametrize("behaviour", [not_json(), bad_event()], ids=["body", "event"])
@pytest.mark.parametrize("streaming", [False, True], ids=["plain", "streamed"])
async def test_an_answer_that_is_not_json_is_a_model_error(
    server: FakeModelServer, behaviour: object, streaming: bool
) -> None:
    server.default = behaviour  # type: ignore[assignment]
    provider = OpenAICompatibleProvider(base_url=server.base_url, model="m", timeout_seconds=5.0, max_retries=0)
    try:
        if streaming:
            text, error = await _read(provider, REQUEST)
            assert text == ""
        else:
            with pytest.raises(ModelError) as raised:
                await provider.reply(REQUEST)
            error = raised.value
    finally:
        await provider.aclose()
    assert type(error) is ModelError and "not JSON" in str(error)


async def test_text_before_a_bad_event_is_kept_and_then_the_error_is_raised(server: FakeModelServer) -> None:
    server.script(bad_event(text="Hello"), reply("unused"))
    provider = OpenAICompatibleProvider(base_url=server.base_url, model="m", timeout_seconds=5.0)
    try:
        text, error = await _read(provider, REQUEST)
    finally:
        await provider.aclose()
    assert text == "Hello" and isinstance(error, ModelError) and "not JSON" in str(error)
