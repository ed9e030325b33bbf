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
from bot.ui.memory.paging import footer_text

SEARCH_PREVIEW_MAX = 240
FORGET_PREVIEW_MAX = 1000


def _content(memory: MemoryRecord, limit: int) -> str:
    return clip(escape(one_line(memory.content)), limit) or "(empty)"


def _hours(hours: float) -> str:
    if hours < 1:
        return "used just now"
    if hours < 48:
        return f"used {hours:.0f} h ago"
    return f"used {hours / 24:.0f} days ago"


def _found_by(found: RetrievedMemory) -> str:
    places = [
        f"{'words' if n == 0 else 'meaning' if n == 1 else f'list {n + 1}'} #{place}"
        for n, place in enumerate(found.positions)
        if place is not None
    ]
    return ", ".join(places)


def explain(found: RetrievedMemory) -> str:
    """One result's parts (docs/retrieval.md): how relevant (its place in each candidate list and the fused
    relevance), then the adjustments (recency from now, importance, strength) and the score."""
    memory = found.memory
    flags = " · pinned" if memory.pinned else ""
    if found.relevant:
        relevance = f"relevance {found.relevance:.2f} (found by {_found_by(found)}; fused {found.fused:.4f})"
    else:
        relevance = "relevance 0 (no content word in common: ranked after every match)"
    adjustments = (
        f"recency {found.recency:.2f} ({_hours(found.hours_since_access)}) · importance {found.importance:.2f} "
        f"({memory.importance}/10) · strength {found.strength:.2f} · {memory.tier}{flags} · {memory.category}"
    )
    return f"-# {relevance}\n-# {adjustments}"


def _how(order: str, config: rules.MemoryConfig) -> str:
    weights = " · ".join(
        f"{name} ×{weight:g}"
        for name, weight in (
            ("recency", config.weight_recency),
            ("importance", config.weight_importance),
            ("relevance", config.weight_relevance),
        )
    )
    if order == "relevance":
        return (
            "Only memories that match your words (or their meaning), the best match first; the words each holds are "
            "shown. Use `order: prompt` to see them as a prompt would rank them."
        )
    return (
        "Ranked as a prompt would rank them: the memories that match your words come first, best match first "
        "(reciprocal rank fusion of the candidate lists); recency (from now), importance and strength only "
        f"reorder them within each group, never lifting a memory that does not match (weights: {weights})."
    )


def _matched(found: RetrievedMemory, words: Sequence[str]) -> str:
    held = rules.matched_words(words, found.memory.content)
    return f"-# matched: {escape(', '.join(held))}\n" if held else ""


def search_embed(
    persona_name: str,
    query: str,
    results: Sequence[RetrievedMemory],
    config: rules.MemoryConfig,
    *,
    shown_at_most: int,
    page: int = 1,
    order: str = "prompt",
    words: Sequence[str] = (),
) -> discord.Embed:
    """``/memory search``: one page of the memories, by relevance (only those that match) or in the order a prompt
    would take them, each with the words it holds, its score and parts; the footer says which page and holds the
    query (:func:`bot.ui.memory.paging.query_of`)."""
    embed = discord.Embed(
        title=clip(f"{persona_name}'s memories for “{one_line(query)}”", TITLE_MAX),
        description=_how(order, config),
        colour=MEMORY_COLOUR,
    )
    first = (page - 1) * shown_at_most + 1
    embed.set_footer(text=footer_text(page, first, first + len(results) - 1, one_line(query)))
    if not results:
        nothing = "No memory holds any of these words." if order == "relevance" else "No memory matches."
        embed.description = clip(f"{embed.description}\n\n{nothing}", DESCRIPTION_MAX)
        return embed
    for rank, found in enumerate(results, start=first):
        memory = found.memory
        embed.add_field(
            name=clip(f"{found.place or rank}. #{memory.id} · score {found.score:.2f}", FIELD_NAME_MAX),
            value=clip(
                f"{_content(memory, SEARCH_PREVIEW_MAX)}\n{_matched(found, words)}{explain(found)}", FIELD_VALUE_MAX
            ),
            inline=False,
        )
    return fit(embed)


def memory_choice_label(memory: MemoryRecord) -> str:
    """An autocomplete label for a memory: its id, a pin mark, and the start of its content (<= 100 chars)."""
    pin = "📌 " if memory.pinned else ""
    return clip(f"#{memory.id} {pin}{one_line(memory.content)}", CHOICE_NAME_MAX)


def memory_text(memory: MemoryRecord) -> str:
    """One memory in a sentence, for replies."""
    return f"#{memory.id} “{_content(memory, FORGET_PREVIEW_MAX)}” ({memory.category}, importance {memory.importance})"
