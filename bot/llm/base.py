"""What every model provider speaks: requests, replies, the provider interface and the errors.

A provider never lets a library's exception out: every failure is a :class:`ModelError` whose message is a
sentence that can be logged or shown ("The model server did not answer in time.").
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import AsyncGenerator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from bot.core.personas import BehaviorSettings

Role = Literal["system", "user", "assistant", "tool"]

# What OpenAI accepts in a message's ``name``; other servers accept at least this.
_NAME_ALLOWED = re.compile(r"[^A-Za-z0-9_-]+")


class ModelError(Exception):
    """The model could not give a reply. ``str(error)`` is a sentence for logs and users."""


class ModelTimeout(ModelError):
    """No reply within the deadline."""


class ModelUnavailable(ModelError):
    """The server cannot be reached, is overloaded or failing (after retries), or refuses our credentials."""


class ModelRefused(ModelError):
    """The model refused, its output was filtered, or it returned nothing."""


class ModelOverrun(ModelError):
    """The answer ran past a cap (characters or total time) and was cut off there. Raised after the text up to
    the cap was given, so the caller keeps what came and ends it visibly."""


# The most text one reply may bring (two Discord messages): a server that ignores ``max_tokens`` and streams on
# forever is cut off here rather than posting message after message.
DEFAULT_MAX_CHARS = 4000


def message_name(name: str) -> str | None:
    """A display name as a message ``name``: letters, digits, ``_`` and ``-``, at most 64; None if nothing
    is left."""
    cleaned = _NAME_ALLOWED.sub("_", name.strip()).strip("_")[:64]
    return cleaned or None


@dataclass(frozen=True)
class ToolCall:
    """A function the model asked for; ``arguments`` is the JSON text the model wrote (not yet trusted)."""

    id: str
    name: str
    arguments: str


@dataclass(frozen=True)
class ChatMessage:
    role: Role
    content: str
    name: str | None = None
    tool_call_id: str | None = None  # for role "tool": the call this answers
    tool_calls: tuple[ToolCall, ...] = ()  # for role "assistant": the calls it made
    images: tuple[str, ...] = ()  # for role "user": URLs of images a vision-capable model is shown

    def to_openai(self) -> dict[str, Any]:
        """The message in the chat-completions shape; with ``images``, its content is a list of parts (the text,
        then one ``image_url`` part per image)."""
        content: str | list[dict[str, Any]] = self.content
        if self.images and self.role == "user":
            content = [
                {"type": "text", "text": self.content},
                *({"type": "image_url", "image_url": {"url": url}} for url in self.images),
            ]
        data: dict[str, Any] = {"role": self.role, "content": content}
        if self.name and self.role in ("user", "assistant"):
            cleaned = message_name(self.name)
            if cleaned:
                data["name"] = cleaned
        if self.role == "tool":
            data["tool_call_id"] = self.tool_call_id or ""
        if self.tool_calls:
            data["tool_calls"] = [
                {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
                for c in self.tool_calls
            ]
        return data


@dataclass(frozen=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def __add__(self, other: Usage) -> Usage:
        return Usage(self.prompt_tokens + other.prompt_tokens, self.completion_tokens + other.completion_tokens)


@dataclass(frozen=True)
class Voice:
    """What the offline responder needs to answer in character (model servers ignore it): the persona's
    id, name, traits, mood words and behaviour settings, its card's texts (macros resolved, whole: the token
    budget of the prompt does not clip them here) and the memories retrieved for the message."""

    persona_id: int
    name: str
    traits: Mapping[str, float] = field(default_factory=dict)
    mood: str = "neutral"
    behavior: BehaviorSettings = field(default_factory=BehaviorSettings)
    author: str | None = None  # who wrote the message being answered
    message: str | None = None  # that message's text, without the author prefix
    nickname: str = ""  # another name the persona answers to ("" = none)
    description: str = ""
    personality: str = ""
    scenario: str = ""
    examples: tuple[str, ...] = ()  # example dialogue blocks, one exchange per line ("Name: text")
    memories: tuple[str, ...] = ()  # texts of the memories retrieved for the message, best first
    seed: str = ""  # varies the words from one message to the next (the message's id); "" = the text alone


@dataclass(frozen=True)
class ChatRequest:
    """One call to a model: the system prompt, the conversation (which may hold more ``system`` messages: the
    post-history instructions), optional tools (OpenAI tools format) and stop sequences."""

    system: str
    messages: tuple[ChatMessage, ...]
    tools: tuple[Mapping[str, Any], ...] | None = None
    max_tokens: int | None = 400
    temperature: float | None = 0.8
    voice: Voice | None = None
    max_chars: int = DEFAULT_MAX_CHARS  # the provider stops reading the answer here, whatever the server does
    # Where the model must stop (a newline and another speaker's label), most important first: a provider sends
    # as many as its server takes.
    stop: tuple[str, ...] = ()
    # The persona's own model settings (bot/core/model_settings.py); None: the provider's model, the server's default.
    model: str | None = None
    top_p: float | None = None
    presence_penalty: float | None = None
    frequency_penalty: float | None = None
    # The shape the answer must have (OpenAI's ``response_format``, e.g. ``{"type": "json_schema", ...}``); None:
    # free text. Providers that cannot ask for a shape ignore it: the caller checks the answer either way.
    response_format: Mapping[str, Any] | None = None

    def to_openai_messages(self) -> list[dict[str, Any]]:
        return [{"role": "system", "content": self.system}, *(m.to_openai() for m in self.messages)]

    def last_user_text(self) -> str:
        for message in reversed(self.messages):
            if message.role == "user":
                return message.content
        return ""


@dataclass(frozen=True)
class ChatReply:
    text: str
    tool_calls: tuple[ToolCall, ...] = ()
    finish_reason: str = "stop"
    usage: Usage = field(default_factory=Usage)


class Provider(ABC):
    """A model that answers chat requests."""

    name: str = "provider"
    supports_tools: bool = False

    @abstractmethod
    async def reply(self, request: ChatRequest) -> ChatReply:
        """The whole reply; raises a :class:`ModelError` subclass, nothing else."""

    async def stream(self, request: ChatRequest) -> AsyncGenerator[str, None]:
        """The reply as text deltas in order (tools are not offered), at most ``request.max_chars`` characters in
        all (past them: :class:`ModelOverrun`). By default one delta: the whole reply."""
        reply = await self.reply(request)
        if reply.text:
            yield reply.text[: request.max_chars]

    async def aclose(self) -> None:
        """Release connections (nothing by default)."""
        return None
