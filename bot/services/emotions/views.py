"""The plain data the emotion services return (frozen dataclasses; no database, no Discord)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from bot.core.pad import PAD

Outcome = Literal["applied", "duplicate", "ignored", "missing_persona"]


@dataclass(frozen=True)
class ActiveEmotionView:
    """An emotion felt now: its current (linearly faded) intensity and band word, and how long it lasts."""

    type: str
    word: str
    intensity: float
    initial_intensity: float
    started_at: datetime
    ends_at: datetime
    remaining_minutes: float
    cause: str | None


@dataclass(frozen=True)
class MoodView:
    """A persona's emotional present at ``at``."""

    persona_id: int
    at: datetime
    mood: PAD
    mood_words: str  # bot.core.pad.describe: "moderately relaxed" or "neutral"
    mood_name: str  # the octant: exuberant, relaxed, ...
    intensity_word: str  # slightly | moderately | fully
    baseline: PAD
    baseline_words: str
    active: tuple[ActiveEmotionView, ...]
    explanation: str


@dataclass(frozen=True)
class ResponseView:
    emotion_type: str
    intensity: float
    duration_minutes: float


@dataclass(frozen=True)
class EventView:
    """One counted trigger and what it did."""

    id: int
    persona_id: int
    trigger: str
    emotion_type: str | None
    intensity: float
    responses: tuple[ResponseView, ...]
    emoji: str | None
    user_id: int | None
    channel_id: int | None
    message_id: int | None
    previous_mood: PAD
    new_mood: PAD
    created_at: datetime
    context: str | None


@dataclass(frozen=True)
class ReactionItem:
    """One reaction added to a message a persona spoke (ids as Discord gives them).

    ``guild_id`` selects the server's reaction map (None: DMs, the default map only); ``at`` is when the reaction
    happened (None: the batch's ``now``)."""

    persona_id: int
    user_id: int
    message_id: int
    emoji: str
    guild_id: int | None = None
    channel_id: int | None = None
    at: datetime | None = None
    author_name: str | None = None  # who reacted, as shown (a reply template's ``author``); never stored


@dataclass(frozen=True)
class ReactionAnswer:
    """A persona's answer to a reaction on its message: an emoji behaviour's reply template, rendered with the name
    of who reacted (:mod:`bot.core.reaction_answers`). The caller sends it after the commit, within its cooldown,
    in reply to ``message_id``."""

    persona_id: int
    persona_name: str
    avatar_url: str | None
    guild_id: int | None
    channel_id: int
    message_id: int  # the message reacted on (the persona's)
    text: str


@dataclass(frozen=True)
class BatchResult:
    """What a batch did: counts, and each item's outcome in the order given."""

    applied: int
    duplicates: int
    ignored: int  # emoji with no trigger (no emotional effect), nothing recorded
    missing_personas: int  # the persona no longer exists
    outcomes: tuple[Outcome, ...] = ()
    # item index -> emoji the persona's emoji behaviours react with (the caller adds them, after commit)
    behavior_reactions: Mapping[int, tuple[str, ...]] = field(default_factory=dict)
    # item index -> the persona's answer to that reaction (a reply template; the caller sends it, after commit)
    behavior_answers: Mapping[int, ReactionAnswer] = field(default_factory=dict)
    # anonymous_key() of each reaction counted without its person's id (the caller remembers them, after commit)
    counted_anonymously: tuple[bytes, ...] = ()

    @property
    def total(self) -> int:
        return self.applied + self.duplicates + self.ignored + self.missing_personas


@dataclass(frozen=True)
class RemovalResult:
    """A reaction was removed: whether it had been counted. Nothing changes either way (see the package docstring)."""

    persona_id: int
    counted: bool
    event_id: int | None


@dataclass(frozen=True)
class HistoryPoint:
    """A bucket of events (or one event, when the range holds few): its start, how many events of each emotion
    type, their mean intensity per type, and the mean mood after them (None without events)."""

    at: datetime
    count: int
    by_emotion: Mapping[str, int]
    intensity_by_emotion: Mapping[str, float]
    mood: PAD | None


@dataclass(frozen=True)
class HistoryView:
    persona_id: int
    since: datetime
    until: datetime
    bucket_seconds: float | None  # None: one point per event
    points: tuple[HistoryPoint, ...]
    total: int
    by_emotion: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class FeedbackResult:
    event_id: int
    trigger: str
    verdict: str | None  # right | wrong | too_strong | too_weak, None when withdrawn
    should_be: str | None
    scale_before: float
    scale: float
    override_before: str | None
    override: str | None
    feedback_count: int
    replaced: bool  # an earlier verdict on this event was undone first


@dataclass(frozen=True)
class EventSummary:
    """One emotional event, for choosing it (``/mood feedback``)."""

    id: int
    created_at: datetime
    trigger: str
    emoji: str | None
    emotion_type: str | None
    intensity: float
    user_id: int | None
    feedback_verdict: str | None
