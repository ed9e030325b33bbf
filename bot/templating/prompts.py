"""The trusted prompt templates: ``prompts/`` rendered with Jinja2, and the request of a reply.

The templates in ``prompts/`` are our own source (trusted); :func:`render_template` renders any of them (the
system prompt here, the retirement ceremony's texts in :mod:`bot.services.retirement`). It is defined with the
providers (:mod:`bot.llm.prompt_files`), because the offline responder renders ``prompts/offline/`` too, and
re-exported here, where the services look for it.

The context is plain data (:class:`PromptContext`, :mod:`bot.templating.context`). Numbers become words here
(traits by :func:`bot.core.personality.describe_traits`, mood by :func:`bot.core.pad.describe`, emotions by
:func:`bot.core.emotions.emotion_word`, affinity, dates and style by :mod:`bot.core.prompt_words`); the templates
arrange them. The character's own texts come with their macros resolved (:mod:`bot.templating.character`).

Templates render with ``StrictUndefined`` (a missing variable is an error, not an empty string) and without
autoescaping (the output is plain text for a model, not HTML). Everything users wrote (descriptions, messages,
memories, names, a card's texts) is passed as *data* in variables and never becomes template source, so
``{{ 7*7 }}`` in a description reaches the model as those characters.

**The request** (:func:`build_request`), chat-shaped: a system message with the character and its state
(``prompts/system.j2``: our main instruction or the card's system prompt, description, personality, scenario, mood,
style, people, memories, instructions, tools, and the card's example dialogue as a block of examples), then the
channel history as chat turns, the message being answered, and the post-history instructions
(:mod:`bot.templating.chat`); ``stop`` sequences for the speakers' name labels and the common role labels;
``max_tokens`` from the persona's verbosity (:func:`bot.core.prompt_parts.reply_max_tokens`: 120/300/600).

**The budget**: the whole prompt fits in ``PromptContext.token_budget`` estimated tokens. What is never trimmed
counts first (the system prompt's frame with the lore before and after the character, the message answered, the
post-history instructions, the lore at a depth, and the images and notes of the messages answered); when the rest
would not fit, parts are trimmed in the order :mod:`bot.core.prompt_budget` documents (oldest history, example
dialogue, memories beyond the top two, the rest of the history and memories, then the scenario, personality and
description clipped).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from bot.core import emotions as emotion_rules
from bot.core import pad
from bot.core.conversation import CHARS_PER_TOKEN, estimate_tokens
from bot.core.personality import describe_traits
from bot.core.prompt_budget import MESSAGE_OVERHEAD, PromptCosts, PromptFit, fit_prompt
from bot.core.prompt_parts import reply_max_tokens
from bot.core.prompt_words import (
    affinity_words,
    custom_trait_words,
    date_in_words,
    messages_words,
    strength_words,
    style_lines,
)
from bot.core.text import clip
from bot.llm.base import ChatRequest, Voice
from bot.llm.prompt_files import PROMPTS_DIR as PROMPTS_DIR  # re-exported: the prompt files, for the services
from bot.llm.prompt_files import environment as environment
from bot.llm.prompt_files import render_template as render_template
from bot.templating.character import CharacterTexts, character_texts
from bot.templating.chat import MAX_EARLIER_CHARS as MAX_EARLIER_CHARS
from bot.templating.chat import chat_turns, history_turn, reply_stops
from bot.templating.chat import current_message as current_message  # re-exported
from bot.templating.chat import reply_labels as reply_labels  # re-exported: the labels a reply is cleaned with
from bot.templating.context import DEFAULT_TOKEN_BUDGET as DEFAULT_TOKEN_BUDGET
from bot.templating.context import FeltEmotion as FeltEmotion
from bot.templating.context import HistoryLine as HistoryLine
from bot.templating.context import MemoryNote as MemoryNote
from bot.templating.context import PersonaProfile as PersonaProfile
from bot.templating.context import PersonaTie as PersonaTie
from bot.templating.context import PersonPresent as PersonPresent
from bot.templating.context import PromptContext as PromptContext

MEMORY_LINE_OVERHEAD = 10  # tokens of "(3 days ago; important to you)" around a memory
TEMPERATURE = 0.8  # a reply's sampling temperature, unless the persona's model settings say otherwise


# ----------------------------------------------------------------------------------------------------
# The budget


@dataclass(frozen=True)
class FittedPrompt:
    """What of the context goes into the prompt after the token budget (:mod:`bot.core.prompt_budget`)."""

    texts: CharacterTexts  # scenario, personality and description possibly clipped, examples possibly fewer
    history: tuple[HistoryLine, ...]
    memories: tuple[MemoryNote, ...]
    fit: PromptFit


def _clip_tokens(text: str, tokens: int) -> str:
    if estimate_tokens(text) <= tokens:
        return text
    return clip(text, tokens * CHARS_PER_TOKEN) if tokens > 0 else ""


def depth_items(context: PromptContext, extra: Sequence[tuple[int, str]] = ()) -> list[tuple[int, str]]:
    """The ``(depth, text)`` items placed among the turns: the context's at-depth lore, then ``extra``."""
    return [(t.depth, t.text) for t in context.lore if t.position == "at_depth"] + list(extra)


@dataclass(frozen=True)
class _Prepared:
    """What a request's budget and its system prompt both need, none of it depending on the memories, worked out
    once: the character's texts (templates rendered, macros resolved), the system prompt's variables that the budget
    does not trim, and the frame the budget counts first (the system prompt without the character's trimmable texts
    and the memories)."""

    texts: CharacterTexts
    fixed: dict[str, Any]
    frame: str

    @classmethod
    def of(cls, context: PromptContext) -> _Prepared:
        texts, fixed = character_texts(context), _fixed_variables(context)
        bare = replace(texts, description="", personality="", scenario="", examples=())
        return cls(texts, fixed, render_template("system.j2", **_variables(context, bare, (), fixed)))


def fit_context(context: PromptContext, at_depth: Sequence[tuple[int, str]] = ()) -> FittedPrompt:
    """The parts of the context that fit in its token budget, trimmed in the documented order. What is never
    trimmed counts first: the system prompt's frame (with the lore before and after the character), the message
    answered, the post-history instructions, the at-depth lore and the ``at_depth`` items besides it (a turn
    each), and the attachments (:attr:`PromptContext.attachment_tokens`)."""
    return _fit(context, at_depth, _Prepared.of(context))


def _fit(context: PromptContext, at_depth: Sequence[tuple[int, str]], prepared: _Prepared) -> FittedPrompt:
    texts = prepared.texts
    fixed = sum(estimate_tokens(t) for t in (prepared.frame, current_message(context), texts.post_history))
    fixed += sum(estimate_tokens(text) + MESSAGE_OVERHEAD for _, text in depth_items(context, at_depth))
    costs = PromptCosts(
        fixed=fixed + 3 * MESSAGE_OVERHEAD + context.attachment_tokens,
        history=[estimate_tokens(history_turn(line).content) + MESSAGE_OVERHEAD for line in context.history],
        examples=[estimate_tokens(block) + 1 for block in texts.examples],
        memories=[estimate_tokens(m.content) + MEMORY_LINE_OVERHEAD for m in context.memories],
        character=[estimate_tokens(t) for t in (texts.scenario, texts.personality, texts.description)],
    )
    fit = fit_prompt(costs, max(0, context.token_budget))
    scenario, personality, description = (
        _clip_tokens(text, allowed)
        for text, allowed in zip((texts.scenario, texts.personality, texts.description), fit.character, strict=True)
    )
    kept = replace(
        texts,
        scenario=scenario,
        personality=personality,
        description=description,
        examples=texts.examples[: fit.examples],
    )
    history = tuple(context.history)[len(context.history) - fit.history :]
    return FittedPrompt(kept, history, tuple(context.memories)[: fit.memories], fit)


# ----------------------------------------------------------------------------------------------------
# Rendering


def _variables(
    context: PromptContext,
    texts: CharacterTexts,
    memories: Sequence[MemoryNote],
    fixed: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The variables of ``system.j2``: ``fixed`` (:func:`_fixed_variables`, when the caller has them) with the
    character's texts and the memories that fit."""
    return {
        **(fixed if fixed is not None else _fixed_variables(context)),
        "main": texts.main,
        "description": texts.description,
        "personality": texts.personality,
        "scenario": texts.scenario,
        "examples": list(texts.examples),
        "memories": [
            {"content": m.content.strip(), "when": date_in_words(m.created_at, context.now), "pinned": m.pinned}
            for m in memories
        ],
    }


def _fixed_variables(context: PromptContext) -> dict[str, Any]:
    """The variables of ``system.j2`` that the token budget does not trim."""
    persona = context.persona
    trait_words = describe_traits(persona.traits) if persona.traits else []
    for name, value in persona.custom_traits:
        words = custom_trait_words(name, value)
        if words:
            trait_words.append(words)
    felt = sorted(context.emotions, key=lambda e: -e.intensity)
    return {
        "name": persona.name,
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
        "instructions": [text.strip() for text in context.instructions if text.strip()],
        "tools": list(context.tools),
        "lore_before": [t.text for t in context.lore if t.position == "before_char"],
        "lore_after": [t.text for t in context.lore if t.position == "after_char"],
        "today": f"{context.now.strftime('%A')} {context.now.day} {context.now.strftime('%B %Y')}",
    }


def prompt_variables(context: PromptContext, fitted: FittedPrompt | None = None) -> dict[str, Any]:
    """The variables ``system.j2`` gets: words, not raw numbers, within the budget (exposed for tests and
    debugging)."""
    fitted = fitted or fit_context(context)
    return _variables(context, fitted.texts, fitted.memories)


def render_system_prompt(context: PromptContext, fitted: FittedPrompt | None = None) -> str:
    """The system prompt (``prompts/system.j2``)."""
    return render_template("system.j2", **prompt_variables(context, fitted))


def build_request(
    context: PromptContext,
    *,
    tools: Sequence[Mapping[str, Any]] | None = None,
    max_tokens: int | None = None,
    temperature: float | None = TEMPERATURE,
    at_depth: Sequence[tuple[int, str]] = (),
) -> ChatRequest:
    """The :class:`~bot.llm.base.ChatRequest` of a reply (module docstring), with the voice the offline responder
    needs (models never see it: the card's texts whole, macros resolved, the memories retrieved and the message's
    id as its seed). ``max_tokens`` None: by the persona's verbosity. ``at_depth``: ``(depth, text)`` items placed
    among the turns (:func:`bot.core.prompt_parts.insert_at_depth`), after the context's own at-depth lore
    entries."""
    return _build(context, _Prepared.of(context), tools, max_tokens, temperature, at_depth)


@dataclass(frozen=True)
class PromptDraft:
    """A reply's request with everything but its memories worked out (:func:`draft_request`): what a memory search
    still on its way leaves the event loop time for."""

    context: PromptContext  # without memories
    prepared: _Prepared

    def request(
        self, memories: Sequence[MemoryNote], *, tools: Sequence[Mapping[str, Any]] | None = None
    ) -> ChatRequest:
        """The request :func:`build_request` makes of the draft's context with these ``memories``."""
        return _build(replace(self.context, memories=memories), self.prepared, tools, None, TEMPERATURE, ())


def draft_request(context: PromptContext) -> PromptDraft:
    """The request of ``context`` (its memories left out), ready for the memories: ``draft_request(context)
    .request(memories)`` is ``build_request(context with those memories)``."""
    bare = replace(context, memories=())
    return PromptDraft(bare, _Prepared.of(bare))


def _build(
    context: PromptContext,
    prepared: _Prepared,
    tools: Sequence[Mapping[str, Any]] | None,
    max_tokens: int | None,
    temperature: float | None,
    at_depth: Sequence[tuple[int, str]],
) -> ChatRequest:
    persona = context.persona
    fitted = _fit(context, at_depth, prepared)
    at_depth = depth_items(context, at_depth)
    texts = prepared.texts
    return ChatRequest(
        system=render_template("system.j2", **_variables(context, fitted.texts, fitted.memories, prepared.fixed)),
        messages=chat_turns(context, fitted.history, post_history=fitted.texts.post_history, at_depth=at_depth),
        tools=tuple(tools) if tools else None,
        max_tokens=max_tokens if max_tokens is not None else reply_max_tokens(persona.behavior.verbosity),
        temperature=temperature,
        stop=reply_stops(context, fitted.history),
        voice=Voice(
            persona_id=persona.id,
            name=persona.name,
            traits=dict(persona.traits),
            mood=pad.describe(context.mood) if context.mood is not None else "neutral",
            behavior=persona.behavior,
            author=context.author,
            message=context.message,
            nickname=persona.nickname.strip(),
            description=texts.description,
            personality=texts.personality,
            scenario=texts.scenario,
            examples=texts.examples,
            memories=tuple(m.content.strip() for m in context.memories if m.content.strip()),
            seed=context.seed,
        ),
    )


def build_messages(context: PromptContext) -> list[dict[str, Any]]:
    """The chat-completions messages of :func:`build_request`."""
    return build_request(context).to_openai_messages()
