"""Model providers (an OpenAI-compatible server, or the offline responder) and prompt rendering."""

from __future__ import annotations

from urllib.parse import urlsplit

from bot.config import Settings


def describe_provider(settings: Settings) -> str:
    """Which model answers, in words (for /about and /persona show)."""
    if settings.llm_base_url is None:
        return "offline responder (no model server configured)"
    host = urlsplit(settings.llm_base_url).netloc
    model = settings.llm_model or "the server's default model"
    return f"{model} via OpenAI-compatible server at {host}"
