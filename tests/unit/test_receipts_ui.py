"""The receipt's rules and its message: who a memory is about, and the Forget/Correct buttons within Discord's
limits (5 rows of at most 5 buttons) for as many memories as a prompt holds, with custom ids a restart parses."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime

import discord
import pytest

from bot.services.conversation import MEMORY_K
from bot.services.conversation.planning import _reached
from bot.services.memories import MemoryRecord
from bot.services.receipts import UsedMemory, Why, about_only
from bot.templating.prompts import HistoryLine, MemoryNote, PersonaProfile, PromptContext, build_request
from bot.ui.receipts import RECEIPT_BUTTON_TEMPLATE, why_embed, why_view

WHEN = datetime(2026, 12, 6, tzinfo=UTC)


def _memory(memory_id: int, source: int | None, subject: int | None = None, fill: str = "x") -> MemoryRecord:
    return MemoryRecord(
        id=memory_id, persona_id=1, content=f"memory {memory_id} " + fill * 500, category="conversation",
        importance=5, strength=1.0, stability=1.0, tier="hot", pinned=False, sensitive=False, encrypted=False,
        readable=True, source_user_id=source, source_channel_id=None, source_message_id=None,
        subject_user_id=subject, created_at=WHEN, last_accessed_at=WHEN, access_count=0, cold_since=None,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("source", "subject", "about"),
    [
        (7, None, True),
        (None, 7, True),
        (7, 7, True),
        (7, 8, False),
        (8, 7, False),
        (None, None, False),
        (8, None, False),
    ],
)
def test_a_memory_is_about_a_person_alone_only_when_it_names_nobody_else(
    source: int | None, subject: int | None, about: bool
) -> None:
    assert about_only(_memory(1, source, subject), 7) is about


@pytest.mark.parametrize("count", [0, 1, MEMORY_K, 12])
def test_the_buttons_fit_discords_rows_and_carry_what_a_restart_needs(count: int) -> None:
    shown = tuple(UsedMemory(_memory(i + 1, 7), i, True) for i in range(count))
    why = Why(1, "Ada", 555, 7, shown, hidden=2, as_owner=False)
    view = why_view(why)
    if count == 0:
        assert view is None
        return
    assert view is not None
    buttons = [item for item in view.children if isinstance(item, discord.ui.DynamicItem)]
    rows = [item.item.row for item in buttons]
    assert all(row is not None and 0 <= row < 5 for row in rows)
    assert all(rows.count(row) <= 5 for row in set(rows))
    assert len(buttons) == 2 * min(count, 10)
    for item in buttons:
        custom_id = item.item.custom_id
        assert custom_id is not None and len(custom_id) <= 100
        assert re.fullmatch(RECEIPT_BUTTON_TEMPLATE, custom_id)
    embed = why_embed(why)
    assert len(embed) <= 6000 and "2 others not shown" in (embed.description or "")


def test_a_reply_no_memory_shaped_says_so() -> None:
    embed = why_embed(Why(1, "Ada", 555, 7, (), hidden=0, as_owner=False))
    assert "No memories shaped this reply" in (embed.description or "")


@pytest.mark.parametrize("fill", ["x", "*", "_`"])
def test_the_count_of_the_others_survives_long_and_markdown_heavy_memories(fill: str) -> None:
    shown = tuple(UsedMemory(_memory(i + 1, 7, fill=fill), i, True) for i in range(12))
    embed = why_embed(Why(1, "Ada", 555, 7, shown, hidden=3, as_owner=False), note="Forgotten: memory #4.")
    description = embed.description or ""
    assert len(description) <= 4096 and "3 others not shown" in description and "Forget removes" in description


@pytest.mark.parametrize(("budget", "kept"), [(20_000, 6), (3500, None), (1500, 0)])
def test_the_receipt_names_only_the_memories_the_token_budget_let_into_the_prompt(
    budget: int, kept: int | None
) -> None:
    """The real prompt builder trims the last memories when the budget is short: they are not in the receipt."""
    used = [replace(_memory(i + 1, 7), content=f"memory {i} " + "m" * 300) for i in range(6)]
    context = PromptContext(
        persona=PersonaProfile(id=1, name="Ada", description="D" * 8000, scenario="S" * 4000),
        now=WHEN,
        author="Bob",
        message="What now?",
        history=[HistoryLine(f"P{i}", "words " * 40) for i in range(30)],
        memories=[MemoryNote(m.content, m.created_at) for m in used],
        token_budget=budget,
    )
    system = build_request(context).system
    reached = _reached(used, system)
    in_prompt = [m.id for m in used if m.content in system]
    assert reached == tuple(in_prompt)
    if kept is not None:
        assert len(reached) == kept
    else:
        assert 0 < len(reached) < 6 and reached == tuple(range(1, len(reached) + 1))  # the best ones stay
