"""The OpenAI-compatible provider: OpenAI, Ollama, vLLM, llama.cpp server, LM Studio, OpenRouter.

Timeouts and retries:

- ``timeout_seconds`` (``LLM_TIMEOUT_SECONDS``) is the **overall deadline** for one reply, retries included: the
  caller never waits longer. Each HTTP attempt has the same read timeout (connecting at most 5 seconds).
- The ``openai`` client retries connection errors, 408/409/429 and 5xx itself (``max_retries``, exponential
  backoff, honouring ``Retry-After``), inside the deadline.
- Streaming: the first delta must arrive within the deadline; after that each delta must follow the previous one
  within ``timeout_seconds``. A server that ignores ``stream: true`` and answers in one piece is read as one delta.

Stop sequences: the first ``max_stop_sequences`` of ``request.stop`` are sent as ``stop`` (``LLM_MAX_STOP_SEQUENCES``:
OpenAI takes at most 4; 0 sends none, for models that refuse the parameter).

Every answer is bounded, whatever the server does: ``max_tokens`` is sent; at most ``request.max_chars``
characters are read (a longer plain answer is cut there; a stream is closed there); and a stream still flowing
``reply_seconds`` (``LLM_REPLY_SECONDS``) after the request began is closed. A cut stream ends with
:class:`~bot.llm.base.ModelOverrun` after the text up to the cap.

``http_client`` replaces the SDK's own (which follows redirects): a persona's server gets one that does not
(:mod:`bot.services.server_guard`); the provider closes it.

Errors are mapped to :class:`~bot.llm.base.ModelError` subclasses; nothing from ``openai`` or its HTTP client
escapes, nor a body or a stream event that is not JSON (a proxy's error page answering 200).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncGenerator
from typing import Any

import httpx2
import openai
from openai import AsyncOpenAI

from bot.llm.base import (
    ChatReply,
    ChatRequest,
    ModelError,
    ModelOverrun,
    ModelRefused,
    ModelTimeout,
    ModelUnavailable,
    Provider,
    ToolCall,
    Usage,
)

log = logging.getLogger(__name__)

FALLBACK_MODEL = "default"  # single-model servers (llama.cpp) accept any name
DEFAULT_MAX_STOP = 4  # OpenAI's limit; llama.cpp, vLLM and Ollama take more


def map_error(error: BaseException) -> ModelError:
    """Our error for an ``openai`` exception (or a timeout)."""
    if isinstance(error, ModelError):
        return error
    if isinstance(error, TimeoutError | openai.APITimeoutError):
        return ModelTimeout("The model server did not answer in time.")
    if isinstance(error, openai.APIConnectionError):
        return ModelUnavailable("The model server cannot be reached.")
    if isinstance(error, openai.RateLimitError):
        return ModelUnavailable("The model server is busy (rate limited); try again in a moment.")
    if isinstance(error, openai.AuthenticationError | openai.PermissionDeniedError):
        return ModelUnavailable("The model server refused the API key (check LLM_API_KEY).")
    if isinstance(error, openai.NotFoundError):
        return ModelUnavailable("The model server does not know this model (check LLM_MODEL and LLM_BASE_URL).")
    if isinstance(error, openai.ContentFilterFinishReasonError):
        return ModelRefused("The model's answer was withheld by its content filter.")
    if isinstance(error, openai.APIStatusError):
        if 300 <= error.status_code < 400:
            return ModelError(
                f"The model server answered with a redirect (HTTP {error.status_code}), which the bot does not "
                "follow; use the address it points to."
            )
        if error.status_code >= 500:
            return ModelUnavailable(f"The model server is failing (HTTP {error.status_code}).")
        return ModelError(f"The model server rejected the request (HTTP {error.status_code}).")
    if isinstance(error, json.JSONDecodeError):
        return ModelError("The model server sent an answer that is not JSON (is LLM_BASE_URL its API address?).")
    if isinstance(error, openai.OpenAIError | ValueError | TypeError | AttributeError | LookupError):
        return ModelError("The model server sent an answer that could not be read.")
    log.debug("unexpected error from the model client", exc_info=error)
    return ModelError(f"The model call failed ({type(error).__name__}).")


class OpenAICompatibleProvider(Provider):
    """Chat completions over HTTP with the ``openai`` client."""

    supports_tools = True

    def __init__(
        self,
        *,
        base_url: str,
        api_key: str | None = None,
        model: str | None = None,
        timeout_seconds: float = 30.0,
        reply_seconds: float = 120.0,
        max_retries: int = 2,
        supports_tools: bool = True,
        max_stop_sequences: int = DEFAULT_MAX_STOP,
        http_client: httpx2.AsyncClient | None = None,
    ) -> None:
        self.base_url = base_url
        self.model = model
        self.timeout_seconds = timeout_seconds
        self.reply_seconds = reply_seconds
        self.supports_tools = supports_tools
        self.max_stop_sequences = max(0, max_stop_sequences)
        self.name = f"openai-compatible ({model or 'server default'})"
        self._client = AsyncOpenAI(
            base_url=base_url,
            api_key=api_key or "not-needed",  # local servers need none, the client insists on one
            timeout=openai.Timeout(timeout_seconds, connect=min(5.0, timeout_seconds)),
            max_retries=max_retries,
            http_client=http_client,  # closed with the provider (the client closes it)
        )
        self._model_lock = asyncio.Lock()

    async def aclose(self) -> None:
        await self._client.close()

    async def _model_name(self) -> str:
        """The configured model, or the server's first listed model (asked once), or a placeholder."""
        if self.model:
            return self.model
        async with self._model_lock:
            if self.model:
                return self.model
            try:
                async with asyncio.timeout(min(5.0, self.timeout_seconds)):
                    page = await self._client.models.list()
                ids = [m.id for m in page.data]
            except (TimeoutError, openai.OpenAIError):
                ids = []
            self.model = ids[0] if ids else FALLBACK_MODEL
            self.name = f"openai-compatible ({self.model})"
            return self.model

    async def _params(self, request: ChatRequest, *, stream: bool) -> dict[str, Any]:
        params: dict[str, Any] = {
            "model": request.model or await self._model_name(),
            "messages": request.to_openai_messages(),
        }
        if request.max_tokens is not None:
            params["max_tokens"] = request.max_tokens
        for name in ("temperature", "top_p", "presence_penalty", "frequency_penalty"):
            value = getattr(request, name)
            if value is not None:
                params[name] = value
        stop = request.stop[: self.max_stop_sequences]
        if stop:
            params["stop"] = list(stop)
        if request.response_format is not None:
            params["response_format"] = dict(request.response_format)
        if request.tools and self.supports_tools and not stream:
            params["tools"] = [dict(tool) for tool in request.tools]
        if stream:
            params["stream"] = True
        return params

    async def reply(self, request: ChatRequest) -> ChatReply:
        try:
            async with asyncio.timeout(min(self.timeout_seconds, self.reply_seconds)):
                params = await self._params(request, stream=False)
                completion = await self._client.chat.completions.create(**params)
            return _to_reply(completion, request.max_chars)
        except Exception as error:  # a provider lets nothing but ModelError out (module docstring)
            raise map_error(error) from None

    async def stream(self, request: ChatRequest) -> AsyncGenerator[str, None]:
        loop = asyncio.get_running_loop()
        started = loop.time()
        cut_at = started + self.reply_seconds  # the whole reply, however steadily it flows
        deadline = min(started + self.timeout_seconds, cut_at)
        room = request.max_chars
        sent_any = False
        finish: str | None = None
        try:
            async with asyncio.timeout_at(deadline):
                params = await self._params(request, stream=True)
                response = await self._client.chat.completions.create(**params)
            chunks = response.__aiter__()
            try:
                while True:
                    # Until the first delta: the overall deadline. Then: at most timeout_seconds between deltas,
                    # and never past cut_at.
                    limit = deadline if not sent_any else min(loop.time() + self.timeout_seconds, cut_at)
                    try:
                        async with asyncio.timeout_at(limit):
                            chunk = await chunks.__anext__()
                    except StopAsyncIteration:
                        break
                    except TimeoutError:
                        if sent_any and loop.time() >= cut_at:
                            raise ModelOverrun(
                                f"The model's answer was still going after {self.reply_seconds:g} seconds; "
                                "it was cut off there."
                            ) from None
                        raise
                    if not chunk.choices:
                        continue
                    choice = chunk.choices[0]
                    if getattr(choice.delta, "refusal", None):
                        raise ModelRefused("The model refused to answer.")
                    if choice.finish_reason:
                        finish = choice.finish_reason
                    text = choice.delta.content
                    if text:
                        sent_any = True
                        if len(text) > room:  # keep what fits; closing the response (finally) ends the stream
                            if room:
                                yield text[:room]
                            raise ModelOverrun(
                                f"The model's answer ran past {request.max_chars:,} characters; it was cut off there."
                            )
                        room -= len(text)
                        yield text
            finally:
                await response.close()
        except Exception as error:  # a provider lets nothing but ModelError out (module docstring)
            raise map_error(error) from None
        if finish == "content_filter":
            raise ModelRefused("The model's answer was withheld by its content filter.")
        if not sent_any:
            if finish is None:
                # The server did not stream (no events at all): ask again without streaming.
                reply = await self.reply(request)
                yield reply.text
                return
            raise ModelRefused("The model returned an empty answer.")


def _to_reply(completion: Any, max_chars: int) -> ChatReply:
    if not getattr(completion, "choices", None):
        raise ModelRefused("The model returned no answer.")
    choice = completion.choices[0]
    message = choice.message
    finish = choice.finish_reason or "stop"
    if getattr(message, "refusal", None):
        raise ModelRefused("The model refused to answer.")
    if finish == "content_filter":
        raise ModelRefused("The model's answer was withheld by its content filter.")
    calls = tuple(
        ToolCall(id=call.id or f"call_{n}", name=call.function.name, arguments=call.function.arguments or "{}")
        for n, call in enumerate(message.tool_calls or ())
        if getattr(call, "function", None) is not None
    )
    text = (message.content or "").strip()
    if len(text) > max_chars:
        log.warning("the model's answer ran past %s characters; it was cut off there", max_chars)
        text, finish = text[:max_chars], "length"
    if not text and not calls:
        raise ModelRefused("The model returned an empty answer.")
    usage = Usage()
    if completion.usage is not None:
        usage = Usage(completion.usage.prompt_tokens or 0, completion.usage.completion_tokens or 0)
    return ChatReply(text=text, tool_calls=calls, finish_reason=finish, usage=usage)
