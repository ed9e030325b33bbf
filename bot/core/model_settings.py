"""A persona's model settings: which model speaks for it and how, within what its server's admins allow.

Every setting is optional: unset means the bot's default (``LLM_MODEL`` on ``LLM_BASE_URL``, the request's own
temperature, ``max_tokens`` from the persona's verbosity). A persona may name another OpenAI-compatible server
(``base_url``, with an API key kept encrypted: ``api_key_token`` is the ciphertext, never shown, only "set").

A server's admins say what its personas may use (:class:`ModelAllowances`): an allow-list of model names (empty:
any) and whether owners may point a persona at another server. The allowances count where the persona speaks: a
setting they no longer allow is left out of the reply (:func:`within`), not deleted.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from bot.core.errors import DomainError

MAX_MODEL_NAME = 200
MAX_API_KEY = 500
MAX_ALLOWED_MODELS = 50
TEMPERATURE_RANGE = (0.0, 2.0)
TOP_P_RANGE = (0.0, 1.0)
PENALTY_RANGE = (-2.0, 2.0)
MAX_TOKENS_RANGE = (1, 32_768)


@dataclass(frozen=True)
class ModelChoice:
    """A persona's own model settings (None: the default)."""

    model: str | None = None
    temperature: float | None = None
    top_p: float | None = None
    max_tokens: int | None = None
    presence_penalty: float | None = None
    frequency_penalty: float | None = None
    base_url: str | None = None
    api_key_token: str | None = None  # the API key, encrypted (bot.services.crypto); never shown
    vision: bool | None = None  # the model accepts images (None: as the default model, LLM_VISION)

    @property
    def has_api_key(self) -> bool:
        return self.api_key_token is not None

    @property
    def is_default(self) -> bool:
        return self == ModelChoice()


@dataclass(frozen=True)
class ModelAllowances:
    """What a server's admins allow its personas: ``models`` (empty: any model) and ``own_servers`` (whether an
    owner may point a persona at another model server)."""

    models: tuple[str, ...] = ()
    own_servers: bool = False

    def allows_model(self, name: str) -> bool:
        return not self.models or name.casefold() in {m.casefold() for m in self.models}


def model_name(text: str) -> str:
    """A model's name as servers spell them (``gpt-4o-mini``, ``meta-llama/Llama-3-8B:free``): no spaces or control
    characters, at most :data:`MAX_MODEL_NAME` characters."""
    name = (text or "").strip()
    if not name:
        raise DomainError("Give the model's name, such as gpt-4o-mini.")
    if len(name) > MAX_MODEL_NAME:
        raise DomainError(f"A model name is at most {MAX_MODEL_NAME} characters.")
    if any(ch.isspace() or not ch.isprintable() for ch in name):
        raise DomainError("A model name has no spaces or control characters (such as gpt-4o-mini).")
    return name


def api_key(text: str) -> str:
    key = (text or "").strip()
    if not key:
        raise DomainError("Give the API key, or leave the option out.")
    if len(key) > MAX_API_KEY or any(ch.isspace() or not ch.isprintable() for ch in key):
        raise DomainError(f"That is not an API key (no spaces, at most {MAX_API_KEY} characters).")
    return key


def _in_range(label: str, value: float, bounds: tuple[float, float]) -> float:
    low, high = bounds
    if not (low <= value <= high):  # NaN is refused too
        raise DomainError(f"{label} must be between {low:g} and {high:g}.")
    return float(value)


def check_numbers(
    *,
    temperature: float | None = None,
    top_p: float | None = None,
    max_tokens: int | None = None,
    presence_penalty: float | None = None,
    frequency_penalty: float | None = None,
) -> dict[str, Any]:
    """The numbers given (None: not given), each checked against its range; DomainError naming the first
    that is out of it."""
    out: dict[str, Any] = {}
    if temperature is not None:
        out["temperature"] = _in_range("Temperature", temperature, TEMPERATURE_RANGE)
    if top_p is not None:
        out["top_p"] = _in_range("Top-p", top_p, TOP_P_RANGE)
    if max_tokens is not None:
        low, high = MAX_TOKENS_RANGE
        if not (low <= max_tokens <= high):
            raise DomainError(f"Max tokens must be between {low} and {high:,}.")
        out["max_tokens"] = int(max_tokens)
    if presence_penalty is not None:
        out["presence_penalty"] = _in_range("Presence penalty", presence_penalty, PENALTY_RANGE)
    if frequency_penalty is not None:
        out["frequency_penalty"] = _in_range("Frequency penalty", frequency_penalty, PENALTY_RANGE)
    return out


def require_allowed(choice: ModelChoice, allowances: ModelAllowances) -> None:
    """Refuse (DomainError) a choice the server's admins do not allow."""
    if choice.model is not None and not allowances.allows_model(choice.model):
        raise DomainError(
            f"This server's admins do not allow the model {choice.model}. Allowed: {', '.join(allowances.models)}."
        )
    if choice.base_url is not None and not allowances.own_servers:
        raise DomainError(
            "This server's admins do not let personas use another model server (/admin models own_servers)."
        )


def within(choice: ModelChoice | None, allowances: ModelAllowances) -> ModelChoice | None:
    """``choice`` as far as ``allowances`` allow it where the persona speaks: another server that is not allowed is
    dropped with its model name (the default server may not know it); a model not on the list falls back to the
    default. Either way what the persona said of its model's pictures (``vision``) goes with it: the default model
    is as ``LLM_VISION`` says. None when nothing is left."""
    if choice is None:
        return None
    if choice.base_url is not None and not allowances.own_servers:
        choice = replace(choice, base_url=None, api_key_token=None, model=None, vision=None)
    if choice.model is not None and not allowances.allows_model(choice.model):
        choice = replace(choice, model=None, vision=None)
    return None if choice.is_default else choice


def allowed_models(names: list[str]) -> tuple[str, ...]:
    """An allow-list, checked: each a model name, no repeats (ignoring case), at most :data:`MAX_ALLOWED_MODELS`."""
    out: list[str] = []
    for name in names:
        checked = model_name(name)
        if checked.casefold() not in {m.casefold() for m in out}:
            out.append(checked)
    if len(out) > MAX_ALLOWED_MODELS:
        raise DomainError(f"Allow at most {MAX_ALLOWED_MODELS} models.")
    return tuple(out)


def describe(choice: ModelChoice | None, default: str) -> str:
    """One short line: which model speaks for the persona (``default`` describes the bot's default model)."""
    if choice is None or (choice.model is None and choice.base_url is None):
        line = default
    else:
        model = choice.model or "the server's default model"
        line = f"{model} via its own server" if choice.base_url is not None else f"{model} (its own choice)"
    tuned = [
        f"{label} {value:g}"
        for label, value in (
            ("temperature", choice.temperature if choice else None),
            ("top-p", choice.top_p if choice else None),
            ("max tokens", choice.max_tokens if choice else None),
        )
        if value is not None
    ]
    return f"{line}; {', '.join(tuned)}" if tuned else line
