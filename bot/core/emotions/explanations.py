"""Explanations: why a persona feels as it does, in words, from its state and recent events. Pure."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.core.emotions.state import EmotionalState, advance
from bot.core.emotions.tables import emotion_table, emotion_word, trigger_table
from bot.core.pad import describe, length

# ----------------------------------------------------------------------------------------------------
# Explanations


@dataclass(frozen=True)
class EventRecord:
    """Something that happened to a persona: the trigger, the (main) emotion it produced and its intensity
    0..100, who and where (Discord ids, if any), and when."""

    trigger: str
    emotion_type: str
    intensity: float
    user_id: int | None
    channel_id: int | None
    at: datetime


_UNITS = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen"
).split()
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()


def _count_words(count: int) -> str:
    """Numbers below 100 in words ("forty-two"), larger ones in digits."""
    if count < 20:
        return _UNITS[count]
    if count < 100:
        tens, units = divmod(count, 10)
        return _TENS[tens] + ("" if units == 0 else f"-{_UNITS[units]}")
    return str(count)


def _span_words(delta: timedelta) -> str:
    minutes = max(1, math.ceil(delta.total_seconds() / 60.0 - 1e-9))
    if minutes == 1:
        return "minute"
    if minutes < 120:
        return f"{_count_words(minutes)} minutes"
    hours = math.ceil(minutes / 60)
    if hours < 48:
        return f"{_count_words(hours)} hours"
    return f"{_count_words(math.ceil(hours / 24))} days"


def _event_phrase(trigger: str, count: int) -> str:
    table = trigger_table().get(trigger)
    if table is None:
        noun = f"{trigger} event" if count == 1 else f"{trigger} events"
    else:
        noun = table["one"] if count == 1 else table["many"]
    return f"{_count_words(count)} {noun}"


def _join(parts: Sequence[str]) -> str:
    if len(parts) == 1:
        return parts[0]
    return ", ".join(parts[:-1]) + " and " + parts[-1]


def explain(state: EmotionalState, events: Sequence[EventRecord], now: datetime, most: int = 3) -> str:
    """Why the persona feels as it does at ``now``, in one sentence.

    The state is advanced to ``now``. The head names the mood (:func:`bot.core.pad.describe`) and the
    strongest active emotion in its intensity band's word. The causes are the events up to ``now`` of the last
    ``explain_window_minutes``, or of a type still active and within that emotion's duration, grouped by
    trigger, strongest total intensity first (at most ``most`` groups), with the time since the earliest, e.g.
    "I'm moderately hostile, feeling anger: three hostile remarks in the last ten minutes."
    """
    current = advance(state, now)
    mood = describe(current.mood)
    head = "I feel neutral" if mood == "neutral" else f"I'm {mood}"
    felt = [(e.intensity_at(now), e) for e in current.active if e.is_active(now)]
    if felt:
        level, strongest = max(felt, key=lambda pair: pair[0])
        head += f", feeling {emotion_word(strongest.type, level)}"
    window = timedelta(minutes=float(emotion_table()["dynamics"]["explain_window_minutes"]))
    durations = {e.type: timedelta(minutes=e.duration_minutes) for _, e in felt}
    causes = [
        event
        for event in events
        if timedelta(0) <= now - event.at <= max(window, durations.get(event.emotion_type, window))
    ]
    if not causes:
        felt_now, usual = current.mood, current.baseline
        if length((felt_now[0] - usual[0], felt_now[1] - usual[1], felt_now[2] - usual[2])) < 0.05:
            return f"{head}: nothing in particular has happened lately, and this is how I usually am."
        return f"{head}: nothing in particular has happened lately; I'm settling back to my usual self."
    groups: dict[str, list[EventRecord]] = {}
    for event in causes:
        groups.setdefault(event.trigger, []).append(event)
    ranked = sorted(groups.items(), key=lambda item: (-sum(e.intensity for e in item[1]), item[0]))[:most]
    earliest = min(e.at for _, group in ranked for e in group)
    parts = [_event_phrase(trigger, len(group)) for trigger, group in ranked]
    return f"{head}: {_join(parts)} in the last {_span_words(now - earliest)}."
