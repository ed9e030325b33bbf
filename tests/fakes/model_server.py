"""A small OpenAI-compatible model server on loopback, for tests.

It speaks ``POST /v1/chat/completions`` (plain JSON, or server-sent events with ``stream: true``: ``data: {...}``
chunks, then ``data: [DONE]``), ``GET /v1/models`` and ``POST /v1/embeddings`` (:func:`hashed_words`, or
``embed``; ``embedding_fault`` spoils it). Each request takes the next scripted behaviour from the
queue (:meth:`FakeModelServer.script`), or the default reply when the queue is empty. Every request body is
recorded in :attr:`FakeModelServer.requests`.

Behaviours (build them with the functions below): :func:`reply` (text, optionally streamed in given chunks, after
a delay), :func:`tool_call`, :func:`status` (HTTP 500, 429, ...), :func:`hang` (never answers until the server
stops), :func:`refusal`, :func:`content_filter`, :func:`endless` (streams until the client hangs up),
:func:`not_json` (a 200 whose body is not JSON), :func:`bad_event` (a stream with a line that is not JSON) and
:func:`answer_with` (text computed from the request) and :func:`redirect` (a 3xx pointing elsewhere).

Run it by hand with ``python -m tests.fakes.model_server`` (it prints its base URL and answers "Hello!").
"""

from __future__ import annotations

import asyncio
import json
import ssl
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from aiohttp import web

MODEL_ID = "fake-model"


@dataclass(frozen=True)
class Behaviour:
    kind: (
        str  # reply | tool_call | status | hang | refusal | content_filter | endless | not_json | bad_event | redirect
    )
    text: str = ""
    chunks: tuple[str, ...] | None = None
    calls: tuple[tuple[str, dict[str, Any]], ...] = ()
    status: int = 200
    delay: float = 0.0
    chunk_delay: float = 0.0
    retry_after_ms: int | None = None
    finish_reason: str = "stop"
    ignore_stream: bool = False
    compute: Callable[[dict[str, Any]], str] | None = None  # the text, from the request body
    pause: Callable[[dict[str, Any]], float] | None = None  # the delay, from the request body


def reply(
    text: str,
    *,
    chunks: list[str] | None = None,
    delay: float = 0.0,
    chunk_delay: float = 0.0,
    finish_reason: str = "stop",
    ignore_stream: bool = False,
) -> Behaviour:
    """A text reply; streamed as ``chunks`` (default: word by word) when the request streams. ``ignore_stream``
    answers with plain JSON even to a streaming request (servers that do not stream)."""
    return Behaviour(
        "reply",
        text=text,
        chunks=tuple(chunks) if chunks is not None else None,
        delay=delay,
        chunk_delay=chunk_delay,
        finish_reason=finish_reason,
        ignore_stream=ignore_stream,
    )


def tool_call(*calls: tuple[str, dict[str, Any]], text: str = "") -> Behaviour:
    """The model asks for tools: ``("roll_dice", {"notation": "2d6"})``, ..."""
    return Behaviour("tool_call", text=text, calls=tuple(calls), finish_reason="tool_calls")


def status(code: int, *, retry_after_ms: int | None = 10, message: str = "scripted failure") -> Behaviour:
    """An HTTP error with an OpenAI-style error body (and a short ``retry-after-ms`` so retries are quick)."""
    return Behaviour("status", text=message, status=code, retry_after_ms=retry_after_ms)


def redirect(location: str, code: int = 307) -> Behaviour:
    """An HTTP redirect (``code``) to ``location``."""
    return Behaviour("redirect", text=location, status=code)


def hang() -> Behaviour:
    """Accept the request and never answer (until the server stops)."""
    return Behaviour("hang")


def refusal(text: str = "I can't help with that.") -> Behaviour:
    """A refusal: ``message.refusal`` set, no content."""
    return Behaviour("refusal", text=text)


def content_filter() -> Behaviour:
    """No content, ``finish_reason: content_filter``."""
    return Behaviour("content_filter", finish_reason="content_filter")


def endless(piece: str = "la ", *, chunk_delay: float = 0.0) -> Behaviour:
    """A stream that never ends: ``piece`` after ``piece`` (every ``chunk_delay`` seconds) until the client hangs
    up or the server stops. Without streaming: one answer of a million characters."""
    return Behaviour("endless", text=piece, chunk_delay=chunk_delay)


def not_json(body: str = "<html><body>502 Bad Gateway</body></html>") -> Behaviour:
    """HTTP 200 with ``Content-Type: application/json`` and a body that is not JSON (a proxy's error page), to a
    plain or a streaming request alike."""
    return Behaviour("not_json", text=body)


def bad_event(text: str = "", line: str = "{this is not json") -> Behaviour:
    """A stream that sends ``text`` (if any), then an event whose data is ``line`` (not JSON), then ends normally.
    Without streaming: :func:`not_json`."""
    return Behaviour("bad_event", text=text, chunks=(line,))


def answer_with(
    compute: Callable[[dict[str, Any]], str],
    *,
    delay: float = 0.0,
    pause: Callable[[dict[str, Any]], float] | None = None,
) -> Behaviour:
    """A reply whose text is ``compute(request body)``, after ``delay`` seconds, or ``pause(request body)`` seconds
    when given (as :func:`reply`: streamed word by word when asked to)."""
    return Behaviour("reply", delay=delay, compute=compute, pause=pause)


EMBEDDING_DIM = 16


def hashed_words(text: str) -> list[float]:
    """A toy embedding: each word of ``text`` counted in one of 16 buckets (by a stable hash of the word)."""
    vector = [0.0] * EMBEDDING_DIM
    for word in text.lower().split():
        vector[sum(word.encode()) % EMBEDDING_DIM] += 1.0
    return vector


@dataclass
class FakeModelServer:
    """``async with FakeModelServer() as server:`` then point a client at ``server.base_url``."""

    default: Behaviour = field(default_factory=lambda: reply("Hello!"))
    requests: list[dict[str, Any]] = field(default_factory=list)
    arrived: list[float] = field(default_factory=list)  # time.perf_counter() as each request came in
    headers: list[dict[str, str]] = field(default_factory=list)
    hung_up: int = 0  # endless streams the client ended
    _queue: deque[Behaviour] = field(default_factory=deque)
    _runner: web.AppRunner | None = None
    _stopping: asyncio.Event | None = None
    port: int = 0
    ssl_context: ssl.SSLContext | None = None  # serve HTTPS with it (base_url then says https)
    # POST /v1/embeddings: ``embed(text)`` gives each input's vector; ``embedding_fault`` spoils the answers:
    # "dimension" (one value too many), "nan" (NaN values) or "error" (HTTP 500); ``embedding_delay``: seconds
    # before each answer; ``embedding_per_token``: each input's answer is one vector per word (as llama.cpp's server
    # answers for a model with no pooling).
    embed: Callable[[str], list[float]] = field(default_factory=lambda: hashed_words)
    embedding_per_token: bool = False
    embedding_fault: str | None = None
    embedding_delay: float = 0.0
    embedding_requests: list[dict[str, Any]] = field(default_factory=list)

    def script(self, *behaviours: Behaviour) -> None:
        """Queue behaviours for the next requests, in order."""
        self._queue.extend(behaviours)

    @property
    def base_url(self) -> str:
        scheme = "https" if self.ssl_context is not None else "http"
        return f"{scheme}://127.0.0.1:{self.port}/v1"

    async def start(self) -> str:
        self._stopping = asyncio.Event()
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._chat)
        app.router.add_get("/v1/models", self._models)
        app.router.add_post("/v1/embeddings", self._embeddings)
        self._runner = web.AppRunner(app, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0, ssl_context=self.ssl_context)
        await site.start()
        server = site._server
        assert server is not None and server.sockets  # type: ignore[union-attr]
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self.base_url

    async def stop(self) -> None:
        if self._stopping is not None:
            self._stopping.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeModelServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # --- handlers -----------------------------------------------------------------------------------

    async def _models(self, request: web.Request) -> web.Response:
        return web.json_response({"object": "list", "data": [{"id": MODEL_ID, "object": "model", "owned_by": "test"}]})

    async def _embeddings(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.embedding_requests.append(body)
        if self.embedding_delay:
            await asyncio.sleep(self.embedding_delay)
        if self.embedding_fault == "error":
            return web.json_response({"error": {"message": "scripted failure", "type": "server_error"}}, status=500)
        texts = body["input"] if isinstance(body["input"], list) else [body["input"]]
        vectors: list[Any] = [self.embed(text) for text in texts]
        if self.embedding_per_token:
            vectors = [[self.embed(word) for word in text.split()] or [self.embed(text)] for text in texts]
        if self.embedding_fault == "dimension":
            vectors = [[*vector, 0.5] for vector in vectors]
        if self.embedding_fault == "nan":
            vectors = [[float("nan")] * len(vector) for vector in vectors]
        data = [{"object": "embedding", "index": i, "embedding": vector} for i, vector in enumerate(vectors)]
        answer = {"object": "list", "data": data, "model": body.get("model", MODEL_ID), "usage": {}}
        return web.Response(text=json.dumps(answer), content_type="application/json")  # NaN is written as NaN

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        arrived = time.perf_counter()
        body = await request.json()
        self.requests.append(body)
        self.arrived.append(arrived)
        self.headers.append(dict(request.headers))
        behaviour = self._queue.popleft() if self._queue else self.default
        if behaviour.compute is not None:
            behaviour = replace(behaviour, text=behaviour.compute(body), compute=None)
        if behaviour.pause is not None:
            behaviour = replace(behaviour, delay=behaviour.pause(body), pause=None)
        if behaviour.delay:
            await asyncio.sleep(behaviour.delay)
        if behaviour.kind == "hang":
            assert self._stopping is not None
            await self._stopping.wait()
            raise web.HTTPServiceUnavailable()
        if behaviour.kind == "redirect":
            return web.Response(status=behaviour.status, headers={"Location": behaviour.text})
        if behaviour.kind == "status":
            headers = {}
            if behaviour.retry_after_ms is not None:
                headers["retry-after-ms"] = str(behaviour.retry_after_ms)
            error = {"error": {"message": behaviour.text, "type": "server_error", "code": behaviour.status}}
            return web.json_response(error, status=behaviour.status, headers=headers)
        if behaviour.kind == "not_json" or (behaviour.kind == "bad_event" and not body.get("stream")):
            return web.Response(body=behaviour.text.encode(), content_type="application/json")
        if behaviour.kind == "endless" and not body.get("stream"):
            behaviour = replace(behaviour, kind="reply", text=behaviour.text * (1_000_000 // len(behaviour.text)))
        if body.get("stream") and not behaviour.ignore_stream:
            return await self._stream(request, body, behaviour)
        return web.json_response(self._completion(body, behaviour))

    def _completion(self, body: dict[str, Any], behaviour: Behaviour) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": behaviour.text or None}
        if behaviour.kind == "refusal":
            message = {"role": "assistant", "content": None, "refusal": behaviour.text}
        if behaviour.kind == "content_filter":
            message = {"role": "assistant", "content": ""}
        if behaviour.calls:
            message["tool_calls"] = [
                {"id": f"call_{n}", "type": "function", "function": {"name": name, "arguments": json.dumps(args)}}
                for n, (name, args) in enumerate(behaviour.calls)
            ]
        prompt_chars = sum(len(str(m.get("content") or "")) for m in body.get("messages", []))
        return {
            "id": f"chatcmpl-{len(self.requests)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model", MODEL_ID),
            "choices": [{"index": 0, "message": message, "finish_reason": behaviour.finish_reason}],
            "usage": {
                "prompt_tokens": prompt_chars // 4,
                "completion_tokens": len(behaviour.text) // 4,
                "total_tokens": prompt_chars // 4 + len(behaviour.text) // 4,
            },
        }

    async def _stream(self, request: web.Request, body: dict[str, Any], behaviour: Behaviour) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
        await response.prepare(request)
        base = {"id": f"chatcmpl-{len(self.requests)}", "object": "chat.completion.chunk", "created": 0}
        base["model"] = body.get("model", MODEL_ID)

        async def send(delta: dict[str, Any], finish: str | None = None) -> None:
            chunk = {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
            await response.write(f"data: {json.dumps(chunk)}\n\n".encode())

        await send({"role": "assistant", "content": ""})
        if behaviour.kind == "refusal":
            await send({"refusal": behaviour.text})
        elif behaviour.kind == "reply":
            pieces = behaviour.chunks
            if pieces is None:
                words = behaviour.text.split(" ")
                pieces = tuple(w if i == len(words) - 1 else w + " " for i, w in enumerate(words))
            for piece in pieces:
                if behaviour.chunk_delay:
                    await asyncio.sleep(behaviour.chunk_delay)
                await send({"content": piece})
        elif behaviour.kind == "endless":
            assert self._stopping is not None
            try:
                while not self._stopping.is_set():
                    await send({"content": behaviour.text})
                    await asyncio.sleep(behaviour.chunk_delay)
            except ConnectionError:  # the client hung up: the end this behaviour waits for
                self.hung_up += 1
                return response
        elif behaviour.kind == "bad_event":
            if behaviour.text:
                await send({"content": behaviour.text})
            for line in behaviour.chunks or ():
                await response.write(f"data: {line}\n\n".encode())
        await send({}, behaviour.finish_reason)
        await response.write(b"data: [DONE]\n\n")
        await response.write_eof()
        return response


async def _main() -> None:
    async with FakeModelServer() as server:
        print(f"Fake model server at {server.base_url} (Ctrl+C stops it)")
        await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(_main())
