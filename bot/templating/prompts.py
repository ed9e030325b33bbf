"""The trusted prompt templates: ``prompts/`` rendered with Jinja2, and the system prompt and messages of a reply.

The templates in ``prompts/`` are our own source (trusted); :func:`render_template` renders any of them (the
system prompt here, the retirement ceremony's texts in :mod:`bot.services.retirement`). It is defined with the
providers (:mod:`bot.llm.prompt_files`), because the offline responder renders ``prompts/offline/`` too, and
re-exported here, where the services look for it.

The context is plain data (:class:`PromptContext`), no database rows or Discord objects. Numbers become words
here (traits by :func:`bot.core.personality.describe_traits`, mood by :func:`bot.core.pad.describe`, emotions by
:func:`bot.core.emotions.emotion_word`, affinity, dates and style by :mod:`bot.core.prompt_words`); the templates
arrange them.

Templates render with ``StrictUndefined`` (a missing variable is an error, not an empty string) and without
autoescaping (the output is plain text for a model, not HTML). Everything users wrote (descriptions, messages,
memories, names) is passed as *data* in variables and never becomes template source, so ``{{ 7*7 }}`` in a
description reaches the model as those characters.

Channel history goes into the system prompt as a transcript within ``history_token_budget`` estimated tokens
(:func:`bot.core.conversation.estimate_tokens`: ceil(characters / 4)), oldest dropped first; the message being
answered is the one user message after it (:func:`build_messages`), prefixed with its author's name. When several
messages waited for the persona while it was speaking (``PromptContext.earlier``), that user message holds them all,
one line each ("Author: text", each clipped to :data:`MAX_EARLIER_CHARS`), and one reply answers every one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.core import emotions as emotion_rules
from bot.core import pad
from bot.core.conversation import fit_to_budget
from bot.core.lore import LoreText
from bot.core.personality import describe_traits
from bot.core.personas import BehaviorSettings
from bot.core.prompt_words import (
    affinity_words,
    custom_trait_words,
    date_in_words,
    messages_words,
    strength_words,
    style_lines,
)
from bot.core.text import clip_line
from bot.llm.base import ChatMessage, ChatRequest, Voice, message_name
from bot.llm.prompt_files import PROMPTS_DIR as PROMPTS_DIR  # re-exported: the prompt files, for the services
from bot.llm.prompt_files import environment as environment
from bot.llm.prompt_files import render_template as render_template

DEFAULT_HISTORY_BUDGET = 1200
MAX_EARLIER_CHARS = 1000  # of each message that waited, in the turn that answers them together


# ----------------------------------------------------------------------------------------------------
# The context


@dataclass(frozen=True)
class PersonaProfile:
    """Who the persona is."""

    id: int
    name: str
    description: str = ""
    traits: Mapping[str, float] = field(default_factory=dict)
    custom_traits: Sequence[tuple[str, float]] = ()  # (name, value 0..100)
    behavior: BehaviorSettings = field(default_factory=BehaviorSettings)


@dataclass(frozen=True)
class FeltEmotion:
    """An active emotion now: its type and current intensity (0..100)."""

    type: str
    intensity: float


@dataclass(frozen=True)
class PersonPresent:
    """A person in the conversation and the persona's relationship with them."""

    display_name: str
    messages_exchanged: int = 0
    affinity: float = 0.0  # -1..1


@dataclass(frozen=True)
class PersonaTie:
    """Another persona present, and the relationship its owner set."""

    name: str
    kind: str
    strength: float = 0.5  # 0..1


@dataclass(frozen=True)
class MemoryNote:
    """A memory retrieved for this message."""

    content: str
    created_at: datetime
    pinned: bool = False


@dataclass(frozen=True)
class HistoryLine:
    """A message earlier in the channel, oldest first; ``is_self`` marks the persona's own."""

    author: str
    content: str
    is_self: bool = False


@dataclass(frozen=True)
class PromptContext:
    """Everything the prompt is rendered from, for one reply."""

    persona: PersonaProfile
    now: datetime
    author: str  # who wrote the message being answered
    message: str  # the message being answered
    mood: tuple[float, float, float] | None = None  # PAD; None: neutral
    mood_explanation: str | None = None  # bot.core.emotions.explain(...)
    emotions: Sequence[FeltEmotion] = ()
    people: Sequence[PersonPresent] = ()
    personas: Sequence[PersonaTie] = ()
    memories: Sequence[MemoryNote] = ()
    instructions: Sequence[str] = ()  # from matching custom behaviours
    history: Sequence[HistoryLine] = ()
    history_token_budget: int = DEFAULT_HISTORY_BUDGET
    channel: str | None = None
    tools: Sequence[str] = ()  # names of the tools offered
    # Messages to the persona that waited while it spoke (author, text), oldest first: answered with ``message``.
    earlier: Sequence[tuple[str, str]] = ()
    # Lore entries that fired for this reply (bot.core.lore), in prompt order.
    lore: Sequence[LoreText] = ()


# ----------------------------------------------------------------------------------------------------
# Rendering


def _fit_history(context: PromptContext) -> list[HistoryLine]:
    lines = list(context.history)
    texts = [f"{line.author}: {line.content}" for line in lines]
    kept = fit_to_budget(texts, max(0, context.history_token_budget))
    return lines[len(lines) - kept :]


def prompt_variables(context: PromptContext) -> dict[str, Any]:
    """The variables ``system.j2`` gets: words, not raw numbers (exposed for tests and debugging)."""
    persona = context.persona
    trait_words = describe_traits(persona.traits) if persona.traits else []
    for name, value in persona.custom_traits:
        words = custom_trait_words(name, value)
        if words:
            trait_words.append(words)
    felt = sorted(context.emotions, key=lambda e: -e.intensity)
    return {
        "name": persona.name,
        "description": persona.description.strip(),
        "traits": trait_words,
        "mood": pad.describe(context.mood) if context.mood is not None else "neutral",
        "mood_explanation": (context.mood_explanation or "").strip(),
        "emotions": [
            {"word": emotion_rules.emotion_word(e.type, e.intensity), "type": e.type, "intensity": round(e.intensity)}
            for e in felt
            if e.intensity > 0
        ],
        "style": style_lines(persona.behavior),
        "people": [
            {
                "name": p.display_name,
                "feeling": affinity_words(p.affinity),
                "history": messages_words(p.messages_exchanged),
            }
            for p in context.people
        ],
        "personas": [
            {"name": t.name, "kind": t.kind, "strength": strength_words(t.strength)} for t in context.personas
        ],
        "memories": [
            {"content": m.content.strip(), "when": date_in_words(m.created_at, context.now), "pinned": m.pinned}
            for m in context.memories
        ],
        "instructions": [text.strip() for text in context.instructions if text.strip()],
        "history": [
            {"author": h.author, "content": h.content.strip(), "is_self": h.is_self} for h in _fit_history(context)
        ],
        "channel": context.channel,
        "tools": list(context.tools),
        "today": f"{context.now.strftime('%A')} {context.now.day} {context.now.strftime('%B %Y')}",
        **_lore_variables(context),
    }


def _lore_variables(context: PromptContext) -> dict[str, Any]:
    """Lore texts before and after the character, and those at a depth in the history (by the index of the history
    line they go before; past the end: after the last line)."""
    kept = len(_fit_history(context))
    at_depth: dict[int, list[str]] = {}
    for item in context.lore:
        if item.position == "at_depth":
            at_depth.setdefault(max(0, kept - item.depth), []).append(item.text)
    after = [t.text for t in context.lore if t.position == "after_char"]
    if not kept:  # no history to place them in: after the character
        after.extend(at_depth.pop(0, []))
    return {
        "lore_before": [t.text for t in context.lore if t.position == "before_char"],
        "lore_after": after,
        "lore_at_depth": at_depth,
        "lore_after_history": at_depth.get(kept, []),
    }


def render_system_prompt(context: PromptContext) -> str:
    """The system prompt (``prompts/system.j2``)."""
    return render_template("system.j2", **prompt_variables(context))


def current_message(context: PromptContext) -> str:
    """The message being answered, as the model sees it: "Author: text"; after the messages that waited for this
    turn, one line each (module docstring)."""
    lines = [f"{author}: {clip_line(text, MAX_EARLIER_CHARS)}" for author, text in context.earlier]
    return "\n".join([*lines, f"{context.author}: {context.message}"])


def build_messages(context: PromptContext) -> list[dict[str, Any]]:
    """The chat-completions messages: the system prompt, then the message being answered."""
    user: dict[str, Any] = {"role": "user", "content": current_message(context)}
    name = message_name(context.author) if not context.earlier else None  # several authors: no one name
    if name:
        user["name"] = name
    return [{"role": "system", "content": render_system_prompt(context)}, user]


def build_request(
    context: PromptContext,
    *,
    tools: Sequence[Mapping[str, Any]] | None = None,
    max_tokens: int | None = 400,
    temperature: float | None = 0.8,
) -> ChatRequest:
    """A :class:`~bot.llm.base.ChatRequest` for the context (with the voice the offline responder needs)."""
    persona = context.persona
    return ChatRequest(
        system=render_system_prompt(context),
        messages=(
            ChatMessage(
                role="user", content=current_message(context), name=None if context.earlier else context.author
            ),
        ),
        tools=tuple(tools) if tools else None,
        max_tokens=max_tokens,
        temperature=temperature,
        voice=Voice(
            persona_id=persona.id,
            name=persona.name,
            traits=dict(persona.traits),
            mood=pad.describe(context.mood) if context.mood is not None else "neutral",
            behavior=persona.behavior,
            author=context.author,
            message=context.message,
        ),
    )
