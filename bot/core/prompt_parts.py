"""The shape of a chat-completion prompt (pure): how long a reply may be, the stop sequences, example dialogue in
blocks, and where at-depth insertions go among the turns.

- **Reply length** (:func:`reply_max_tokens`): the persona's verbosity decides ``max_tokens``: brief 120, balanced
  300, detailed 600 (:data:`REPLY_TOKENS`); the style line of the system prompt says the same in words.
- **Stop sequences** (:func:`stop_sequences`): a newline then a speaker's label (``"\\nAlice:"``) ends the reply,
  for the person being answered first, then the common role labels (``"\\nUser:"``, ``"\\n### "``), then the other
  recent speakers, newest first; never the persona's own names. Servers differ in how many they take (OpenAI: 4),
  so the list is in that priority order and the provider sends as many as it may.
- **Example dialogue** (:func:`example_blocks`): a card's ``mes_example`` split into blocks at its ``<START>``
  lines, blank blocks dropped; the budget drops whole blocks, the last first.
- **At depth** (:func:`insert_at_depth`): an item at depth 0 goes after the last turn, at depth 1 before the last
  turn, and so on; a depth past the oldest turn puts the item before it; items at the same depth keep their order.
  (SillyTavern's "@ depth" World Info and author's notes count the same way.)
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TypeVar

REPLY_TOKENS = {"brief": 120, "balanced": 300, "detailed": 600}
ROLE_LABELS = ("User", "Human", "System")  # labels models write for a turn that is not theirs
ROLE_STOPS = ("\nUser:", "\n### ")
_START = re.compile(r"^[ \t]*<START>[ \t]*$", re.IGNORECASE | re.MULTILINE)

T = TypeVar("T")
U = TypeVar("U")


def reply_max_tokens(verbosity: str) -> int:
    """``max_tokens`` for a verbosity (brief, balanced, detailed; anything else: balanced)."""
    return REPLY_TOKENS.get(verbosity, REPLY_TOKENS["balanced"])


def label_name(name: str) -> str:
    """A name as it would stand in a label: one line, no colon, trimmed."""
    return " ".join(name.replace(":", " ").split())


def stop_sequences(author: str, recent_speakers: Sequence[str], own_names: Sequence[str]) -> tuple[str, ...]:
    """The stop sequences of a reply, in priority order (module docstring). ``recent_speakers`` newest first."""
    own = {label_name(n).lower() for n in own_names if label_name(n)}
    out: list[str] = []
    seen: set[str] = set()

    def add(stop: str) -> None:
        if stop.lower() not in seen:
            seen.add(stop.lower())
            out.append(stop)

    names = [label_name(author), *(label_name(n) for n in recent_speakers)]
    usable = [n for n in names if n and n.lower() not in own]
    if usable and usable[0] == label_name(author):
        add(f"\n{usable.pop(0)}:")
    for stop in ROLE_STOPS:
        add(stop)
    for name in usable:
        add(f"\n{name}:")
    return tuple(out)


def example_blocks(text: str) -> list[str]:
    """A card's example dialogue in blocks (split at ``<START>`` lines), each stripped; blank ones left out."""
    return [block.strip() for block in _START.split(text) if block.strip()]


def insert_at_depth(turns: Sequence[T], items: Sequence[tuple[int, U]]) -> list[T | U]:
    """``turns`` with each ``(depth, item)`` inserted at its depth (module docstring)."""
    size = len(turns)
    places: dict[int, list[U]] = {}
    for depth, item in items:
        places.setdefault(size - min(max(depth, 0), size), []).append(item)
    out: list[T | U] = []
    for index in range(size + 1):
        out.extend(places.get(index, ()))
        if index < size:
            out.append(turns[index])
    return out
