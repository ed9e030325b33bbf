"""The prompt's shape and budget (bot.core.prompt_parts, bot.core.prompt_budget): trimming order, reply length,
stop sequences, example blocks, insertion at depth."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from bot.core.images import IMAGE_TOKENS, Attachment, image_budget
from bot.core.lore import LoreText
from bot.core.prompt_budget import KEEP_HISTORY, KEEP_MEMORIES, PromptCosts, fit_prompt
from bot.core.prompt_parts import example_blocks, insert_at_depth, reply_max_tokens, stop_sequences
from bot.templating.prompts import HistoryLine, MemoryNote, PersonaProfile, PromptContext, build_request

COSTS = PromptCosts(fixed=100, history=[10] * 10, examples=[30, 30], memories=[20] * 5, character=[50, 50, 200])


def test_nothing_is_trimmed_within_the_budget() -> None:
    fit = fit_prompt(COSTS, 10_000)
    assert (fit.history, fit.examples, fit.memories, fit.character) == (10, 2, 5, (50, 50, 200))
    assert fit.total == 100 + 100 + 60 + 100 + 300


def test_parts_go_in_the_documented_order() -> None:
    full = 660
    # 1. the oldest history, down to KEEP_HISTORY
    fit = fit_prompt(COSTS, full - 30)
    assert (fit.history, fit.examples, fit.memories) == (7, 2, 5)
    fit = fit_prompt(COSTS, full - 60)
    assert fit.history == KEEP_HISTORY and fit.examples == 2
    # 2. example dialogue, the last block first
    fit = fit_prompt(COSTS, full - 60 - 30)
    assert (fit.history, fit.examples, fit.memories) == (KEEP_HISTORY, 1, 5)
    # 3. memories beyond the top KEEP_MEMORIES
    fit = fit_prompt(COSTS, full - 60 - 60 - 60)
    assert (fit.history, fit.examples, fit.memories) == (KEEP_HISTORY, 0, KEEP_MEMORIES)
    # 4. the rest of the history, 5. the remaining memories
    fit = fit_prompt(COSTS, full - 60 - 60 - 60 - 40)
    assert (fit.history, fit.memories) == (0, KEEP_MEMORIES)
    fit = fit_prompt(COSTS, 400)
    assert (fit.history, fit.memories, fit.character) == (0, 0, (50, 50, 200))
    # 6. the scenario, then the personality, then the description, clipped
    fit = fit_prompt(COSTS, 380)
    assert fit.character == (30, 50, 200)
    fit = fit_prompt(COSTS, 250)
    assert fit.character == (0, 0, 150) and fit.total == 250
    # The fixed part is never cut: past it the prompt stays over.
    fit = fit_prompt(COSTS, 10)
    assert fit.character == (0, 0, 0) and fit.total == 100


@given(st.integers(0, 1000))
def test_what_stays_fits_unless_only_the_fixed_part_is_left(budget: int) -> None:
    fit = fit_prompt(COSTS, budget)
    assert fit.total <= max(budget, COSTS.fixed)


def test_reply_length_by_verbosity() -> None:
    assert [reply_max_tokens(v) for v in ("brief", "balanced", "detailed", "odd")] == [120, 300, 600, 300]


def test_stop_sequences_in_priority_order() -> None:
    stops = stop_sequences("Alice", ["Bob", "Ada", "Alice", "Grim: the dark"], ["Ada", "Addy"])
    assert stops == ("\nAlice:", "\nUser:", "\n### ", "\nBob:", "\nGrim the dark:")
    assert stop_sequences("Ada", [], ["Ada"]) == ("\nUser:", "\n### ")


def test_example_blocks_split_at_start_lines() -> None:
    text = "<START>\nA: hi\nB: yo\n  <start>  \n\n<START>\nA: bye"
    assert example_blocks(text) == ["A: hi\nB: yo", "A: bye"]
    assert example_blocks("just text") == ["just text"] and example_blocks("<START>\n") == []


def test_insert_at_depth() -> None:
    turns = ["t1", "t2", "t3"]
    assert insert_at_depth(turns, [(0, "a"), (1, "b"), (3, "c"), (9, "d"), (-2, "e"), (1, "f")]) == [
        "c",
        "d",
        "t1",
        "t2",
        "b",
        "f",
        "t3",
        "a",
        "e",
    ]
    assert insert_at_depth([], [(2, "x")]) == ["x"]


def test_the_request_stays_within_the_budget_and_keeps_the_message_answered() -> None:
    now = datetime(2025, 1, 1, tzinfo=UTC)
    persona = PersonaProfile(
        id=1,
        name="Ada",
        description="D" * 8000,
        scenario="S" * 4000,
        example_dialogue="<START>\n" + "E" * 2000 + "\n<START>\n" + "F" * 2000,
    )
    context = PromptContext(
        persona=persona,
        now=now,
        author="Bob",
        message="What now?",
        history=[HistoryLine(f"P{i}", "words " * 40) for i in range(30)],
        memories=[MemoryNote(f"memory {i} " + "m" * 300, now) for i in range(6)],
        token_budget=1500,
    )
    request = build_request(context)
    total = sum(len(m.content) for m in request.messages) + len(request.system)
    assert total / 4 <= 1500
    assert request.messages[-2].content == "Bob: What now?"
    assert "E" * 2000 not in request.system and "memory 5" not in request.system
    assert "S" * 4000 not in request.system  # clipped, scenario first
    assert "D" * 1000 in request.system


def _long_context(**changes: object) -> PromptContext:
    now = datetime(2025, 1, 1, tzinfo=UTC)
    return PromptContext(
        persona=PersonaProfile(id=1, name="Ada", description="D" * 2000),
        now=now,
        author="Bob",
        message="What now?",
        history=[HistoryLine(f"P{i}", f"line {i} " + "words " * 40) for i in range(30)],
        token_budget=2000,
        **changes,  # type: ignore[arg-type]
    )


def _history_kept(request_messages: object) -> int:
    return sum(1 for m in request_messages if m.content.startswith("P") and ": line " in m.content)  # type: ignore[attr-defined]


def test_at_depth_lore_counts_in_the_budget() -> None:
    """Lore placed among the turns is never trimmed, so it takes the room of the oldest history instead."""
    lore = [LoreText("at_depth", 2, 0, "L" * 2400)]  # about 600 tokens
    without = build_request(_long_context())
    with_lore = build_request(_long_context(lore=lore))
    assert any(m.content == "L" * 2400 for m in with_lore.messages)
    assert _history_kept(with_lore.messages) < _history_kept(without.messages)
    total = sum(len(m.content) for m in with_lore.messages) + len(with_lore.system)
    assert total / 4 <= 2000


def test_attachments_count_in_the_budget() -> None:
    """Images shown to the model cost IMAGE_TOKENS each: the history gives way for them."""
    without = build_request(_long_context())
    with_images = build_request(_long_context(attachment_tokens=2 * IMAGE_TOKENS))
    kept, kept_with_images = _history_kept(without.messages), _history_kept(with_images.messages)
    assert kept_with_images < kept
    total = sum(len(m.content) for m in with_images.messages) + len(with_images.system)
    assert total / 4 + 2 * IMAGE_TOKENS <= 2000


def test_an_image_budget_costs_its_images_and_notes() -> None:
    shown = image_budget([Attachment("a.png", "https://x/a.png", "image/png", 10)], vision=True)
    noted = image_budget([Attachment("a.png", "https://x/a.png", "image/png", 10)], vision=False)
    assert shown.tokens == IMAGE_TOKENS
    assert 0 < noted.tokens < 50
    assert image_budget([], vision=True).tokens == 0
