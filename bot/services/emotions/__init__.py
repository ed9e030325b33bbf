"""Emotion use cases: the present mood, triggers, reaction bursts, history, patterns and feedback.

The package, by part (each function is re-exported here: ``from bot.services import emotions; emotions.x(...)``):

- :mod:`~bot.services.emotions.views`: the frozen dataclasses returned;
- :mod:`~bot.services.emotions.stored`: loading a persona's state for a read or a write, and storing it back;
- :mod:`~bot.services.emotions.present`: the present (:func:`current_state`);
- :mod:`~bot.services.emotions.triggers`: applying triggers (:func:`apply_trigger`, and the ordered batch the
  reactions use);
- :mod:`~bot.services.emotions.reactions`: the burst path (:func:`apply_reactions`), the servers' reaction maps,
  :func:`remove_reaction`; :mod:`~bot.services.emotions.reaction_behaviors`: the emoji behaviours a reaction fires
  (emotional triggers, reactions, and the persona's answer with a reply template);
- :mod:`~bot.services.emotions.past`: :func:`history` and :func:`patterns`;
- :mod:`~bot.services.emotions.learning`: :func:`feedback` and :func:`withdraw_feedback`;
- :mod:`~bot.services.emotions.reading`: who may read a persona's emotions, and its recent events.

Each function takes an open session (the caller owns the transaction), ids and plain data, calls
:mod:`bot.core.emotions`, writes rows and returns frozen dataclasses. The buffered reaction path
(:class:`~bot.services.reactions.ReactionBuffer`) lives in :mod:`bot.services.reactions`.

**Stored state.** ``emotional_states`` holds the mood true at ``as_of`` and the baseline (default mood);
``active_emotions`` holds the emotions felt at ``as_of``. The present is computed on read with
:func:`bot.core.emotions.advance` (closed form per sub-step, no per-second loop). Every write advances the state to
the write's time and stores it with ``as_of`` = that time; expired emotions are removed then.

**Events.** Each counted trigger writes one ``emotional_events`` row: the trigger, its strongest response (type and
intensity), who and where, ``previous_*`` = the mood as last recorded (the stored state's mood, at its old
``as_of``), and ``new_*`` = the mood at the event's moment (``created_at``). ALMA moves the mood continuously, not
in jumps, so an event's own pull shows in the moods of later moments; ``new_*`` is therefore an exact sample of
the mood timeline, which is what :func:`history` and :func:`patterns` read.

**Reactions count once.** The unique constraint on (persona, message, user, emoji) makes one person's reaction with
one emoji on one message count once, however often it is removed and re-added. :func:`remove_reaction` changes
nothing: a felt emotion is not un-felt, and the kept event row is what stops a re-add from counting again.

**Anonymous reactions.** A reaction from a person the persona may not remember (no consent under
:func:`bot.services.consent.decide_many`, or opted out) still moves the persona's feelings, but its event row has
no ``user_id`` and no relationship moves: such a person leaves no trace. Their "count once" is kept in the
caller's memory instead (``counted_anonymously``: salted digests of the keys, :func:`anonymous_key`; the
:class:`~bot.services.reactions.ReactionBuffer` keeps them while the process runs), so a re-add counts again only
after a restart.

**SQLite.** One connection per process (``bot/db/sqlite_inline.py``): nothing here awaits anything that opens
another session while its session is open.
"""

from __future__ import annotations

from bot.services.emotions.learning import feedback, withdraw_feedback
from bot.services.emotions.past import PATTERN_EVENT_LIMIT, history, patterns
from bot.services.emotions.present import EXPLAIN_EVENT_LIMIT, current_state
from bot.services.emotions.reactions import anonymous_key, apply_reactions, load_reaction_maps, remove_reaction
from bot.services.emotions.reading import EVENT_SCAN_LIMIT, mood_access, recent_events
from bot.services.emotions.triggers import apply_trigger
from bot.services.emotions.views import (
    ActiveEmotionView,
    BatchResult,
    EventSummary,
    EventView,
    FeedbackResult,
    HistoryPoint,
    HistoryView,
    MoodView,
    Outcome,
    ReactionAnswer,
    ReactionItem,
    RemovalResult,
    ResponseView,
)

__all__ = [
    "EVENT_SCAN_LIMIT",
    "EXPLAIN_EVENT_LIMIT",
    "PATTERN_EVENT_LIMIT",
    "ActiveEmotionView",
    "BatchResult",
    "EventSummary",
    "EventView",
    "FeedbackResult",
    "HistoryPoint",
    "HistoryView",
    "MoodView",
    "Outcome",
    "ReactionAnswer",
    "ReactionItem",
    "RemovalResult",
    "ResponseView",
    "anonymous_key",
    "apply_reactions",
    "apply_trigger",
    "current_state",
    "feedback",
    "history",
    "load_reaction_maps",
    "mood_access",
    "patterns",
    "recent_events",
    "remove_reaction",
    "withdraw_feedback",
]
