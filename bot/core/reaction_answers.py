"""A persona answering a reaction on its message (issue 19): the bounds that keep it from being made to spam (pure).

An enabled emoji-triggered behaviour with a ``reply`` action answers when someone reacts with its emoji on one of
the persona's messages: the reply template rendered with the reacting person's name, sent as the persona. Two
bounds:

- **Once per message and emoji**: only the *first* reaction with that emoji on that message (by anyone) is
  answered; a second person reacting the same gets no answer, nor does the first person removing and re-adding
  it. "First" is read from the emotional events the reactions left (the oldest event per persona, message and
  emoji, emoji compared as :func:`bot.core.behaviors.normalise_emoji` does), so it holds across restarts. When
  the cooldown below holds that first answer back, the message stays unanswered for that emoji (nothing is
  queued, so nothing piles up to be said later).
- **A cooldown per persona and channel** (:data:`ANSWER_COOLDOWN`): at most one reaction answer there in that
  time, whatever the messages and emoji. Kept in memory (:class:`AnswerCooldown`): a restart forgets it, which
  can let one more answer through at most once per channel.

Only ``reply`` actions answer; an ``instruction`` action cannot apply to a reaction (no model reply is made for
one), and its description says so (:func:`bot.core.behaviors.describe_action`).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from datetime import datetime, timedelta

from bot.core.behaviors import REACTION_ANSWER_COOLDOWN, normalise_emoji

ANSWER_COOLDOWN = REACTION_ANSWER_COOLDOWN
COOLDOWN_KEPT = 10_000  # (persona, channel) pairs remembered; the oldest are forgotten first

# (persona id, message id, emoji as stored) -> the id of the oldest event with it
EventFirsts = Mapping[tuple[int, int, str], int]


def first_event_ids(oldest: EventFirsts) -> dict[tuple[int, int, str], int]:
    """The id of the first reaction per persona, message and *normalised* emoji (🎉 and 🎉️ are one), from the
    oldest event id per emoji as stored."""
    out: dict[tuple[int, int, str], int] = {}
    for (persona_id, message_id, emoji), event_id in oldest.items():
        key = (persona_id, message_id, normalise_emoji(emoji))
        if key not in out or event_id < out[key]:
            out[key] = event_id
    return out


def is_first(
    firsts: Mapping[tuple[int, int, str], int], persona_id: int, message_id: int, emoji: str, event_id: int
) -> bool:
    """Whether the reaction recorded as ``event_id`` is the first with its emoji on the message (module docstring)."""
    return firsts.get((persona_id, message_id, normalise_emoji(emoji))) == event_id


class AnswerCooldown:
    """At most one reaction answer per persona per channel every ``cooldown`` (in memory; module docstring)."""

    def __init__(self, cooldown: timedelta = ANSWER_COOLDOWN, *, kept: int = COOLDOWN_KEPT) -> None:
        self.cooldown = cooldown
        self._kept = kept
        self._last: OrderedDict[tuple[int, int], datetime] = OrderedDict()

    def take(self, persona_id: int, channel_id: int, now: datetime) -> bool:
        """Whether the persona may answer a reaction in the channel at ``now``; when it may, the time is taken
        (the next answer there waits a full cooldown)."""
        key = (persona_id, channel_id)
        last = self._last.get(key)
        if last is not None and now - last < self.cooldown:
            return False
        self._last[key] = now
        self._last.move_to_end(key)
        while len(self._last) > self._kept:
            self._last.popitem(last=False)
        return True
