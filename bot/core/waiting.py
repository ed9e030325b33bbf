"""Messages that wait for a busy persona (pure rules: no I/O, no clock).

A persona speaks one reply at a time in a channel. A message addressed to it while it is speaking there waits in
that persona's line for the channel; when the reply is done, the persona answers everything waiting in one turn
(:meth:`WaitingRoom.take` empties the line). A line is in the order the messages were written (``written``: e.g.
the message's id, which grows with time), whatever the order they join it in: messages that arrive together are
planned side by side, and their plans may end in any order. A line holds at most ``limit`` messages. Past it one
message leaves the line (:meth:`WaitingRoom.add` returns it, so the caller can show a sign on it): the oldest
message of the author with the most messages waiting (among equals, the oldest message), so a person who keeps
writing pushes out their own messages before anyone else's, and with one message each it is simply the oldest.
"""

from __future__ import annotations

from bisect import insort
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar

MAX_WAITING = 8  # messages waiting for one persona in one channel

K = TypeVar("K", bound=Hashable)
T = TypeVar("T")


@dataclass(frozen=True)
class Waiting(Generic[T]):
    """One message in a line: who wrote it, and what the caller keeps of it."""

    author_id: int
    item: T
    written: int = 0  # when it was written, in any unit that grows with time (a Discord message id)


class WaitingRoom(Generic[K, T]):
    """Lines of waiting messages by key (a persona in a channel), each at most ``limit`` long, oldest first."""

    def __init__(self, limit: int = MAX_WAITING) -> None:
        if limit < 1:
            raise ValueError("a line holds at least one message")
        self.limit = limit
        self._lines: dict[K, list[Waiting[T]]] = {}

    def add(self, key: K, author_id: int, item: T, written: int = 0) -> list[T]:
        """Put ``item`` in ``key``'s line, after every message written before it (``written``; equal values keep
        the order they joined in); the items that had to leave it (rule in the module docstring), oldest first:
        none while the line is within its limit."""
        line = self._lines.setdefault(key, [])
        insort(line, Waiting(author_id, item, written), key=lambda entry: entry.written)
        dropped: list[T] = []
        while len(line) > self.limit:
            counts: dict[int, int] = {}
            for entry in line:
                counts[entry.author_id] = counts.get(entry.author_id, 0) + 1
            most = max(counts.values())
            # The first entry of an author with the most: their oldest, and among equals the oldest overall.
            index = next(i for i, entry in enumerate(line) if counts[entry.author_id] == most)
            dropped.append(line.pop(index).item)
        return dropped

    def take(self, key: K) -> list[T]:
        """Everything waiting in ``key``'s line, oldest first; the line is left empty."""
        return [entry.item for entry in self._lines.pop(key, [])]

    def waiting(self, key: K) -> int:
        """How many messages wait in ``key``'s line."""
        return len(self._lines.get(key, ()))

    def __len__(self) -> int:
        return sum(len(line) for line in self._lines.values())
