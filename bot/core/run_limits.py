"""Run limits: at most one run at a time per key, and a new one only a while after the last finished.

For work a member can start at will that costs the bot much (``/privacy export-my-data`` reads every table), so
that one member repeating it cannot crowd out everyone else. Pure: the caller passes the time.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field
from datetime import datetime, timedelta


@dataclass(frozen=True)
class Refusal:
    """Why a run may not start now: another is ``running``, or ``wait`` is left of the cool-down."""

    running: bool
    wait: timedelta = timedelta(0)


@dataclass
class RunLimits:
    """Per key, one run at a time and ``cooldown`` between the end of a finished run and the next start (a failed
    run leaves no cool-down: it may be tried again at once)."""

    cooldown: timedelta
    _running: set[Hashable] = field(default_factory=set)
    _finished: dict[Hashable, datetime] = field(default_factory=dict)

    def start(self, key: Hashable, now: datetime) -> Refusal | None:
        """Start a run for ``key`` (None) or say why not (nothing is recorded then)."""
        if key in self._running:
            return Refusal(running=True)
        finished = self._finished.get(key)
        if finished is not None and now < finished + self.cooldown:
            return Refusal(running=False, wait=finished + self.cooldown - now)
        self._running.add(key)
        return None

    def finish(self, key: Hashable, now: datetime, *, succeeded: bool) -> None:
        """End the run for ``key``; a success starts its cool-down."""
        self._running.discard(key)
        if succeeded:
            self._finished[key] = now
        # Forget cool-downs that are over, so the record stays as small as the number of recent runs.
        for other, at in list(self._finished.items()):
            if now >= at + self.cooldown:
                del self._finished[other]
