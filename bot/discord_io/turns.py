"""Whose turn it is to speak: one reply at a time per persona and channel, and the messages that wait for it.

The chat listener (``bot/cogs/conversation.py``) asks :meth:`SpeakingTurns.claim` before a persona replies in a
channel. When the persona is already speaking there, a message addressed to it waits in its line
(:meth:`SpeakingTurns.wait`, the rules of :mod:`bot.core.waiting`); the task that holds the turn answers the line
when its reply is done (:meth:`SpeakingTurns.answer_waiting`), again until nothing waits, and only then lets the
turn go, so a message that joined the line is always answered or, past the line's limit, returned for a visible
sign. The lines live in this process's memory: a crash or restart loses what was waiting (nobody is told).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

from bot.core.waiting import MAX_WAITING, WaitingRoom

log = logging.getLogger(__name__)

K = TypeVar("K", bound=Hashable)
T = TypeVar("T")


class SpeakingTurns(Generic[K, T]):
    """Turns and lines by key (a persona in a channel); ``T`` is what a waiting message keeps."""

    def __init__(self, limit: int = MAX_WAITING) -> None:
        self.room: WaitingRoom[K, T] = WaitingRoom(limit)
        self._speaking: set[K] = set()

    def speaking(self, key: K) -> bool:
        return key in self._speaking

    def keys(self) -> frozenset[K]:
        """Every key that holds the turn now."""
        return frozenset(self._speaking)

    def claim(self, key: K) -> bool:
        """Take the turn for ``key``: False when someone holds it. Whoever gets it gives it back with
        :meth:`answer_waiting` (or :meth:`release` when it gives up)."""
        if key in self._speaking:
            return False
        self._speaking.add(key)
        return True

    def release(self, key: K) -> None:
        """Give the turn back without answering the line (the next to claim the turn answers it)."""
        self._speaking.discard(key)

    def wait(self, key: K, author_id: int, item: T, written: int = 0) -> tuple[bool, list[T]]:
        """Put a message (written at ``written``, e.g. its id) in ``key``'s line. Returns whether the caller must
        answer the line itself (nobody held the turn any more, so it was claimed for the caller), and the items that
        left the line past its limit."""
        dropped = self.room.add(key, author_id, item, written)
        return self.claim(key), dropped

    async def answer_waiting(self, key: K, answer: Callable[[list[T]], Awaitable[object]]) -> None:
        """With the turn held for ``key``: ``answer`` everything waiting, again until nothing does, then give the
        turn back. A failed answer is logged and the next still runs, so a line never lacks someone to answer it."""
        try:
            while waiting := self.room.take(key):
                try:
                    await answer(waiting)
                except Exception:
                    log.exception("the messages waiting for %s could not be answered", key)
        finally:
            # Nothing awaits between the empty line and this: a message that joins the line later finds the turn
            # free and answers it itself (wait() says so).
            self._speaking.discard(key)
