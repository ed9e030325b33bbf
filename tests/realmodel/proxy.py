"""A recording proxy in front of the real model server, so a test sees exactly what reached the model.

Every ``POST .../chat/completions`` body is kept in :attr:`RecordingProxy.requests`, with what came back in
:attr:`RecordingProxy.answers` (the text and, for a stream, how many server-sent events carried it). Everything is
passed on unchanged, streams as they arrive.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "content-encoding", "host"}


@dataclass
class Answer:
    """What the model server sent back for one request."""

    text: str = ""
    events: int = 0  # server-sent events with text (0: a plain JSON answer)
    finish_reason: str | None = None


@dataclass
class RecordingProxy:
    upstream: str  # the real server's root, e.g. http://127.0.0.1:8181
    requests: list[dict[str, Any]] = field(default_factory=list)
    answers: list[Answer] = field(default_factory=list)
    base_url: str = ""  # the proxy's /v1 address, once started

    async def __aenter__(self) -> RecordingProxy:
        self._client = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None, sock_read=120))
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._forward)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.base_url = f"http://127.0.0.1:{port}/v1"
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._runner.cleanup()
        await self._client.close()

    def chats(self) -> list[dict[str, Any]]:
        """The recorded chat requests that asked for a conversation reply (not the importance ratings)."""
        return [body for body in self.requests if (body.get("max_tokens") or 0) > 5]

    def answer_to(self, body: dict[str, Any]) -> Answer:
        """What came back for the recorded request ``body``."""
        return next(answer for sent, answer in zip(self.requests, self.answers, strict=True) if sent is body)

    async def _forward(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        recording = request.method == "POST" and request.path.endswith("/chat/completions")
        answer = Answer()
        if recording:  # kept in step: answers[i] is what came back for requests[i], filled in as it streams
            self.requests.append(json.loads(body))
            self.answers.append(answer)
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP}
        async with self._client.request(
            request.method, self.upstream + request.path_qs, data=body, headers=headers
        ) as upstream:
            out = web.StreamResponse(status=upstream.status)
            for key, value in upstream.headers.items():
                if key.lower() not in HOP_BY_HOP:
                    out.headers[key] = value
            await out.prepare(request)
            streamed = upstream.headers.get("content-type", "").startswith("text/event-stream")
            pending = b""
            async for chunk in upstream.content.iter_any():
                await out.write(chunk)
                pending += chunk
                if recording and streamed:
                    pending = _read_events(pending, answer)
            if recording and not streamed:
                _read_plain(pending, answer)
            await out.write_eof()
            return out


def _read_events(buffer: bytes, answer: Answer) -> bytes:
    """Take the complete ``data:`` lines of a stream out of ``buffer``; what is left is returned."""
    while b"\n" in buffer:
        line, buffer = buffer.split(b"\n", 1)
        text = line.decode("utf-8", "replace").strip()
        if not text.startswith("data:") or text == "data: [DONE]":
            continue
        try:
            event = json.loads(text[5:])
        except json.JSONDecodeError:
            continue
        for choice in event.get("choices", []):
            delta = (choice.get("delta") or {}).get("content")
            if delta:
                answer.text += delta
                answer.events += 1
            answer.finish_reason = choice.get("finish_reason") or answer.finish_reason
    return buffer


def _read_plain(buffer: bytes, answer: Answer) -> None:
    try:
        choice = json.loads(buffer)["choices"][0]
    except (json.JSONDecodeError, KeyError, IndexError, TypeError):
        return
    answer.text = (choice.get("message") or {}).get("content") or ""
    answer.finish_reason = choice.get("finish_reason")
