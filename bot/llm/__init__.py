"""Model providers (an OpenAI-compatible server, or the offline responder): what talks to a model.

- :mod:`bot.llm.base`: requests, replies, the :class:`Provider` interface and the :class:`ModelError` family.
- :mod:`bot.llm.openai_provider`: any OpenAI-compatible server (timeouts, retries, streaming).
- :mod:`bot.llm.offline`: the in-character offline responder, used when no server is configured.
- :mod:`bot.llm.prompt_files`: where ``prompts/`` is and the Jinja2 settings for those trusted templates.
- :mod:`bot.llm.tools`: the tools registry and the tool-call loop.

Building prompts from those files, and the sandboxed templates persona owners write, live one layer up in
:mod:`bot.templating` (it imports this package, never the reverse).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from bot.config import Settings
from bot.llm.base import (
    ChatMessage,
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
    Voice,
)
from bot.llm.offline import OfflineResponder
from bot.llm.openai_provider import OpenAICompatibleProvider

__all__ = [
    "ChatMessage",
    "ChatReply",
    "ChatRequest",
    "ModelError",
    "ModelOverrun",
    "ModelRefused",
    "ModelTimeout",
    "ModelUnavailable",
    "OfflineResponder",
    "OpenAICompatibleProvider",
    "Provider",
    "ToolCall",
    "Usage",
    "Voice",
    "describe_provider",
    "make_provider",
]


def describe_provider(settings: Settings) -> str:
    """Which model answers, in words (for /about and /persona show)."""
    if settings.llm_base_url is None:
        return "offline responder (no model server configured)"
    host = urlsplit(settings.llm_base_url).netloc
    model = settings.llm_model or "the server's default model"
    return f"{model} via OpenAI-compatible server at {host}"


def make_provider(settings: Settings) -> Provider:
    """The provider the settings call for: the OpenAI-compatible server at ``LLM_BASE_URL``, or the offline
    responder when none is set. Close it with ``await provider.aclose()`` at shutdown."""
    if settings.llm_base_url is None:
        return OfflineResponder()
    api_key = settings.llm_api_key.get_secret_value() if settings.llm_api_key is not None else None
    return OpenAICompatibleProvider(
        base_url=settings.llm_base_url,
        api_key=api_key,
        model=settings.llm_model,
        timeout_seconds=settings.llm_timeout_seconds,
        reply_seconds=settings.llm_reply_seconds,
        max_stop_sequences=settings.llm_max_stop_sequences,
    )
