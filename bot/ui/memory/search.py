"""``/memory search`` results, and one memory as a choice label or in a sentence."""

from __future__ import annotations

from collections.abc import Sequence

import discord

from bot.core import memory as rules
from bot.core.text import clip, one_line
from bot.services.memories import MemoryRecord, RetrievedMemory
from bot.ui.memory.common import (
    CHOICE_NAME_MAX,
    DESCRIPTION_MAX,
    FIELD_NAME_MAX,
    FIELD_VALUE_MAX,
    MEMORY_COLOUR,
    TITLE_MAX,
    escape,
    fit,
)

SEARCH_PREVIEW_MAX = 300
FORGET_PREVIEW_MAX = 1000


def _content(memory: MemoryRecord, limit: int) -> str:
    return clip(escape(one_line(memory.content)), limit) or "(empty)"


def _weights(config: rules.MemoryConfig) -> str:
    return " · ".join(
        f"{name} ×{weight:g}"
        for name, weight in (
            ("recency", config.weight_recency),
            ("importance", config.weight_importance),
            ("relevance", config.weight_relevance),
        )
    )


def _how(order: str, config: rules.MemoryConfig) -> str:
    if order == "relevance":
        return (
            "Only memories holding a word you searched for, the best match first (the matched words are shown). "
            "Use `order: prompt` to see them as a prompt would rank them."
        )
    return (
        "Ranked as a prompt would rank them: score = weighted sum of recency, importance and relevance, "
        f"each scaled 0–1 over the candidates (weights: {_weights(config)})."
    )


def _why(found: RetrievedMemory, words: Sequence[str], order: str) -> str:
    memory = found.memory
    flags = " · pinned" if memory.pinned else ""
    matched = rules.matched_words(words, memory.content)
    why = f"matched: {escape(', '.join(matched))}" if matched else "matches none of the words"
    parts = (
        f"recency {found.recency:.2f} · importance {found.importance:.2f} · relevance {found.relevance:.2f} · "
        f"{memory.tier}{flags} · {memory.category} · importance {memory.importance}/10"
    )
    if order == "relevance":
        return f"-# {why} · text rank {found.text_rank:.2f}\n-# prompt score {found.score:.2f}: {parts}"
    return f"-# {parts}\n-# {why}"


def search_embed(
    persona_name: str,
    query: str,
    results: Sequence[RetrievedMemory],
    config: rules.MemoryConfig,
    *,
    shown_at_most: int,
    order: str = "prompt",
    words: Sequence[str] = (),
) -> discord.Embed:
    """``/memory search``: the memories by relevance (only those matching ``words``, the query's words) or in the
    order a prompt would take them, each with why it matched and its score's parts."""
    embed = discord.Embed(
        title=clip(f"{persona_name}'s memories for “{one_line(query)}”", TITLE_MAX),
        description=_how(order, config),
        colour=MEMORY_COLOUR,
    )
    if not results:
        nothing = "No memory holds any of these words." if order == "relevance" else "No memory matches."
        embed.description = clip(f"{embed.description}\n\n{nothing}", DESCRIPTION_MAX)
        return embed
    for rank, found in enumerate(results, start=1):
        memory = found.memory
        score = f"text rank {found.text_rank:.2f}" if order == "relevance" else f"score {found.score:.2f}"
        embed.add_field(
            name=clip(f"{rank}. #{memory.id} · {score}", FIELD_NAME_MAX),
            value=clip(f"{_content(memory, SEARCH_PREVIEW_MAX)}\n{_why(found, words, order)}", FIELD_VALUE_MAX),
            inline=False,
        )
    if len(results) >= shown_at_most:
        embed.set_footer(text=f"The top {shown_at_most} are shown; use more specific words to find others.")
    return fit(embed)


def memory_choice_label(memory: MemoryRecord) -> str:
    """An autocomplete label for a memory: its id, a pin mark, and the start of its content (<= 100 chars)."""
    pin = "📌 " if memory.pinned else ""
    return clip(f"#{memory.id} {pin}{one_line(memory.content)}", CHOICE_NAME_MAX)


def memory_text(memory: MemoryRecord) -> str:
    """One memory in a sentence, for replies."""
    return f"#{memory.id} “{_content(memory, FORGET_PREVIEW_MAX)}” ({memory.category}, importance {memory.importance})"
