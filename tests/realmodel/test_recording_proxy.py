"""The realmodel suite's recording proxy, checked against the fake model server (fast: part of ``make test``)."""

from __future__ import annotations

from openai import AsyncOpenAI

from tests.fakes.model_server import FakeModelServer, reply
from tests.realmodel.proxy import RecordingProxy


async def test_the_proxy_passes_streams_and_plain_answers_through_and_records_both() -> None:
    async with FakeModelServer() as fake, RecordingProxy(fake.base_url.removesuffix("/v1")) as proxy:
        fake.script(reply("one two three", chunks=["one ", "two ", "three"]), reply("plain answer"))
        client = AsyncOpenAI(base_url=proxy.base_url, api_key="unused", max_retries=0)
        try:
            stream = await client.chat.completions.create(
                model="m", messages=[{"role": "user", "content": "hi"}], max_tokens=50, stream=True, stop=["\nBob:"]
            )
            streamed = "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
            plain = await client.chat.completions.create(
                model="m", messages=[{"role": "user", "content": "hi"}], max_tokens=50
            )
        finally:
            await client.close()
    assert streamed == "one two three" and plain.choices[0].message.content == "plain answer"
    assert fake.requests == proxy.requests  # what the server got is what the proxy recorded
    first, second = proxy.chats()
    assert first["stream"] is True and first["stop"] == ["\nBob:"] and "stream" not in second
    assert (proxy.answer_to(first).text, proxy.answer_to(first).events) == ("one two three", 3)
    assert (proxy.answer_to(second).text, proxy.answer_to(second).events) == ("plain answer", 0)
