"""The prompt's token budget (pure): which parts stay when the whole prompt would be longer than the budget.

Costs are estimated tokens (:func:`bot.core.conversation.estimate_tokens`, ceil(characters / 4)) plus
:data:`MESSAGE_OVERHEAD` per chat message. What is never trimmed: the instructions (ours or the card's system prompt),
the persona's state, the message being answered and the post-history instructions (the ``fixed`` cost). When the
total is over the budget, parts go in this order, each step only as far as needed:

1. the oldest history turns, until :data:`KEEP_HISTORY` newest remain;
2. the example dialogue, a whole block at a time, the last block first;
3. the memories beyond the :data:`KEEP_MEMORIES` most relevant, the least relevant first;
4. the rest of the history, oldest first;
5. the remaining memories, the least relevant first;
6. the character's texts, clipped at their end, in order: scenario, personality, description (each to what fits,
   possibly nothing). Past that the prompt is over the budget: the fixed parts are never cut.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

MESSAGE_OVERHEAD = 4  # tokens a chat message costs besides its text (role, separators)
KEEP_HISTORY = 4
KEEP_MEMORIES = 2


@dataclass(frozen=True)
class PromptCosts:
    """Estimated tokens of each trimmable part; ``fixed`` is the rest of the prompt."""

    fixed: int
    history: Sequence[int] = ()  # oldest first (each turn with its overhead)
    examples: Sequence[int] = ()  # in order
    memories: Sequence[int] = ()  # most relevant first
    character: Sequence[int] = ()  # in clipping order: scenario, personality, description


@dataclass(frozen=True)
class PromptFit:
    """How much of each part stays: the newest ``history`` turns, the first ``examples`` blocks and ``memories``,
    and at most ``character[i]`` tokens of each character text (same order as the costs)."""

    history: int
    examples: int
    memories: int
    character: tuple[int, ...]
    total: int  # estimated tokens of what stays


def fit_prompt(costs: PromptCosts, budget: int) -> PromptFit:
    """What stays of each part within ``budget`` (trimming order in the module docstring)."""
    history = list(costs.history)
    examples = list(costs.examples)
    memories = list(costs.memories)
    character = list(costs.character)

    def total() -> int:
        return costs.fixed + sum(history) + sum(examples) + sum(memories) + sum(character)

    while total() > budget and len(history) > KEEP_HISTORY:
        history.pop(0)
    while total() > budget and examples:
        examples.pop()
    while total() > budget and len(memories) > KEEP_MEMORIES:
        memories.pop()
    while total() > budget and history:
        history.pop(0)
    while total() > budget and memories:
        memories.pop()
    for index in range(len(character)):
        over = total() - budget
        if over <= 0:
            break
        character[index] = max(0, character[index] - over)
    return PromptFit(len(history), len(examples), len(memories), tuple(character), total())
