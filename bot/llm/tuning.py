"""A persona's own model settings applied to a request (:class:`bot.core.model_settings.ModelChoice`): each one it
set replaces the request's (the model, temperature, top-p, penalties, and ``max_tokens``, which otherwise follows
the persona's verbosity); the ones it left unset keep the request's."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from bot.core.model_settings import ModelChoice
from bot.llm.base import ChatRequest

_TUNED = ("model", "temperature", "top_p", "max_tokens", "presence_penalty", "frequency_penalty")


def tuned(request: ChatRequest, choice: ModelChoice | None) -> ChatRequest:
    """``request`` with what ``choice`` sets (the same request when it sets nothing)."""
    if choice is None:
        return request
    values: dict[str, Any] = {name: getattr(choice, name) for name in _TUNED if getattr(choice, name) is not None}
    return replace(request, **values) if values else request
