"""Active emotions, the emotional state, responses to triggers and the ALMA mood (SCIENCE.md sections 3-4).

The formulas are in the :mod:`bot.core.emotions` package docstring. Pure; time is a timezone-aware parameter.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from itertools import pairwise

from bot.core.emotions.tables import (
    aware,
    checked_scale,
    emotion_entry,
    emotion_pad,
    emotion_table,
    finite,
    opposite,
    trigger_entry,
)
from bot.core.errors import DomainError
from bot.core.pad import MAX_LENGTH, PAD, clamp_pad, length

_EPS = 1e-12


# ----------------------------------------------------------------------------------------------------
# Active emotions and state


@dataclass(frozen=True)
class ActiveEmotion:
    """An emotion felt since ``started_at``: ``intensity`` (0..100) then, fading linearly to zero over
    ``duration_minutes``. ``cause`` is the trigger that produced it, if known."""

    type: str
    intensity: float
    duration_minutes: float
    started_at: datetime
    cause: str | None = None

    def __post_init__(self) -> None:
        emotion_entry(self.type)
        aware(self.started_at, "start time")
        if not 0.0 <= finite(self.intensity, "intensity") <= 100.0:
            raise DomainError("An emotion's intensity must be between 0 and 100.")
        if not finite(self.duration_minutes, "duration") > 0.0:
            raise DomainError("An emotion's duration must be longer than zero minutes.")

    @property
    def ends_at(self) -> datetime:
        """When the intensity reaches zero."""
        return self.started_at + timedelta(minutes=self.duration_minutes)

    def intensity_at(self, now: datetime) -> float:
        """``intensity * (1 - elapsed / duration)`` while active, else 0."""
        if not self.is_active(now):
            return 0.0
        elapsed = (now - self.started_at).total_seconds()
        return self.intensity * (1.0 - elapsed / (self.duration_minutes * 60.0))

    def is_active(self, now: datetime) -> bool:
        """Started at or before ``now`` and not yet over."""
        return self.started_at <= now < self.ends_at

    def remaining_minutes(self, now: datetime) -> float:
        """Minutes until the end (the whole duration before it started, 0 after it ended)."""
        end = self.ends_at
        if now >= end:
            return 0.0
        if now <= self.started_at:
            return self.duration_minutes
        return (end - now).total_seconds() / 60.0


@dataclass(frozen=True)
class EmotionalState:
    """A persona's stored emotional state, true at ``as_of``; read it through :func:`advance`."""

    mood: PAD
    baseline: PAD
    active: tuple[ActiveEmotion, ...]
    as_of: datetime

    def __post_init__(self) -> None:
        aware(self.as_of, "state time")


def new_state(baseline: tuple[float, float, float], now: datetime) -> EmotionalState:
    """A calm state: the mood at the baseline (the default mood), nothing active."""
    home = clamp_pad(baseline)
    return EmotionalState(mood=home, baseline=home, active=(), as_of=aware(now))


@dataclass(frozen=True)
class Response:
    """One emotional response to a trigger, ready for :func:`apply`."""

    emotion_type: str
    intensity: float
    duration_minutes: float
    cause: str | None = None


# ----------------------------------------------------------------------------------------------------
# Responses


def personality_modifier(kind: str, traits: Mapping[str, float]) -> float:
    """``max(floor, 1 + sum_k sensitivity_k * (t_k - 50) / 50)`` for an emotion type.

    Missing traits count as 50; traits must be within 0..100.
    """
    total = 1.0
    for trait, sensitivity in emotion_entry(kind).get("sensitivity", {}).items():
        value = finite(traits.get(trait, 50.0), f"trait {trait}")
        if not 0.0 <= value <= 100.0:
            raise DomainError(f"The trait {trait} must be between 0 and 100.")
        total += float(sensitivity) * (value - 50.0) / 50.0
    return max(float(emotion_table()["dynamics"]["modifier_floor"]), total)


def state_modifier(kind: str, state: EmotionalState, now: datetime) -> float:
    """``1 - opposite_response_damping * o / 100`` with o the current intensity of the active opposite (0 if
    none): an active opposite dampens a new response."""
    other = opposite(kind)
    if other is None:
        return 1.0
    current = max((e.intensity_at(now) for e in state.active if e.type == other), default=0.0)
    return 1.0 - float(emotion_table()["dynamics"]["opposite_response_damping"]) * current / 100.0


def respond(
    trigger: str,
    traits: Mapping[str, float],
    state: EmotionalState,
    now: datetime,
    learned_scale: float = 1.0,
    override: str | None = None,
) -> list[Response]:
    """The responses of a persona with ``traits`` in ``state`` to ``trigger`` at ``now``.

    Each base response of the trigger becomes
    ``intensity = min(100, base * personality * state * learned_scale)`` and
    ``duration = base_duration * personality`` (see the module docstring). ``learned_scale`` (from
    :func:`learn`) scales intensities only. With ``override`` (a learned "should have been X"), the trigger
    yields one response of that type instead, from the strongest base response's intensity and duration.
    """
    aware(now)
    base = trigger_entry(trigger)["responses"]
    scale = checked_scale(learned_scale)
    if override is not None:
        emotion_entry(override)
        strongest = max(base, key=lambda item: item["intensity"])
        base = [{**strongest, "emotion": override}]
    out: list[Response] = []
    for item in base:
        kind = item["emotion"]
        personality = personality_modifier(kind, traits)
        intensity = float(item["intensity"]) * personality * state_modifier(kind, state, now) * scale
        out.append(
            Response(
                emotion_type=kind,
                intensity=min(100.0, intensity),
                duration_minutes=float(item["duration_minutes"]) * personality,
                cause=trigger,
            )
        )
    return out


def apply(state: EmotionalState, responses: Iterable[Response], now: datetime) -> EmotionalState:
    """The state at ``now`` after ``responses``.

    The state is advanced to ``now``; then each response in turn reinforces its type or starts it, and
    dampens its active opposite (see the module docstring for the amounts)."""
    current = advance(state, now)
    cancel = float(emotion_table()["dynamics"]["opposite_cancel"])
    active = list(current.active)
    for response in responses:
        emotion_entry(response.emotion_type)
        amount = min(100.0, max(0.0, finite(response.intensity, "intensity")))
        if amount <= 0.0 or response.duration_minutes <= 0.0:
            continue
        other = opposite(response.emotion_type)
        kept: list[ActiveEmotion] = []
        for emotion in active:
            if other is not None and emotion.type == other and emotion.is_active(now):
                left = emotion.intensity_at(now) - cancel * amount
                if left > 0.0:
                    kept.append(
                        replace(
                            emotion,
                            intensity=left,
                            duration_minutes=emotion.remaining_minutes(now),
                            started_at=now,
                        )
                    )
                continue
            kept.append(emotion)
        active = kept
        same = next((i for i, e in enumerate(active) if e.type == response.emotion_type and e.is_active(now)), None)
        if same is None:
            active.append(ActiveEmotion(response.emotion_type, amount, response.duration_minutes, now, response.cause))
        else:
            old = active[same]
            active[same] = ActiveEmotion(
                type=old.type,
                intensity=min(100.0, old.intensity_at(now) + amount),
                duration_minutes=max(old.remaining_minutes(now), response.duration_minutes),
                started_at=now,
                cause=response.cause or old.cause,
            )
    return replace(current, active=tuple(active))


# ----------------------------------------------------------------------------------------------------
# Mood (ALMA)


def _vec(point: Sequence[float]) -> tuple[float, float, float]:
    if len(point) != 3:
        raise DomainError("A PAD point has three coordinates.")
    return (finite(point[0], "PAD value"), finite(point[1], "PAD value"), finite(point[2], "PAD value"))


def emotion_center(
    active: Sequence[tuple[tuple[float, float, float], float]],
) -> tuple[tuple[float, float, float], float]:
    """The virtual emotion centre and its intensity (ALMA).

    ``c = sum(i_k p_k) / sum(i_k)`` over (PAD point p_k, intensity i_k in 0..1) pairs, and
    ``I = min(1, mean(i_k))``. No pairs, or all intensities zero: ``((0, 0, 0), 0.0)``.
    """
    points = [(_vec(point), finite(weight, "intensity")) for point, weight in active]
    if any(not 0.0 <= weight <= 1.0 for _, weight in points):
        raise DomainError("Emotion intensities for the mood must be between 0 and 1.")
    total = sum(weight for _, weight in points)
    if not points or total <= 0.0:
        return (0.0, 0.0, 0.0), 0.0
    center = tuple(sum(weight * point[axis] for point, weight in points) / total for axis in range(3))
    return (center[0], center[1], center[2]), min(1.0, total / len(points))


def _speed_pull() -> float:
    return 1.0 / float(emotion_table()["dynamics"]["pull_seconds"])


def move_mood(
    mood: tuple[float, float, float], center: tuple[float, float, float], intensity: float, seconds: float
) -> tuple[float, float, float]:
    """The mood after ``seconds`` under an emotion centre of ``intensity`` (ALMA pull and push).

    Closed form, no per-second loop.

    The mood moves ``d = intensity / pull_seconds * seconds`` PAD units. While its projection on the centre
    ``c`` is shorter than ``|c|`` it is *pulled* straight toward ``c``; if it reaches ``c`` within the step,
    the rest of ``d`` is *push*: movement along ``c / |c|``. Once beyond, it is pushed along ``c / |c|``.
    Each axis is clamped to [-1, 1] (along a fixed direction, clamping at the end equals clamping every
    second). A centre at the origin has no direction: the mood stays.
    """
    m, c = _vec(mood), _vec(center)
    level, span = finite(intensity, "intensity"), finite(seconds, "time step")
    if level < 0.0 or span < 0.0:
        raise DomainError("Intensity and time step must not be negative.")
    size = length(c)
    distance = level * _speed_pull() * span
    if size < _EPS or distance <= 0.0:
        return clamp_pad(m)
    unit = (c[0] / size, c[1] / size, c[2] / size)
    projection = m[0] * unit[0] + m[1] * unit[1] + m[2] * unit[2]
    if projection < size:
        gap = (c[0] - m[0], c[1] - m[1], c[2] - m[2])
        gap_size = length(gap)
        if distance < gap_size:
            factor = distance / gap_size
            return clamp_pad((m[0] + gap[0] * factor, m[1] + gap[1] * factor, m[2] + gap[2] * factor))
        m, distance = c, distance - gap_size
    return clamp_pad((m[0] + unit[0] * distance, m[1] + unit[1] * distance, m[2] + unit[2] * distance))


def return_mood(
    mood: tuple[float, float, float], default: tuple[float, float, float], seconds: float
) -> tuple[float, float, float]:
    """The mood after ``seconds`` with no active emotion: straight toward ``default`` at
    ``sqrt(3) / return_seconds`` PAD units per second, stopping there (no overshoot)."""
    m, home = _vec(mood), _vec(default)
    span = finite(seconds, "time step")
    if span < 0.0:
        raise DomainError("The time step must not be negative.")
    gap = (home[0] - m[0], home[1] - m[1], home[2] - m[2])
    gap_size = length(gap)
    distance = MAX_LENGTH / float(emotion_table()["dynamics"]["return_seconds"]) * span
    if distance >= gap_size:
        return clamp_pad(home)
    factor = distance / gap_size
    return clamp_pad((m[0] + gap[0] * factor, m[1] + gap[1] * factor, m[2] + gap[2] * factor))


def advance(state: EmotionalState, now: datetime) -> EmotionalState:
    """The state at ``now`` computed from the stored state (true at ``state.as_of``).

    The interval is split at every start and end of an active emotion; between those points the set of active
    emotions is fixed. Stretches with none are one :func:`return_mood` step. Stretches with some are cut into
    equal sub-steps of at most ``substep_seconds``; within each, the intensities are taken at the sub-step's
    midpoint (an approximation: they fade linearly, so the midpoint value is their mean over the sub-step)
    and the mood follows :func:`move_mood` toward that centre. The work is bounded by the active emotions'
    remaining time / ``substep_seconds``, however long the interval. Emotions that ended are dropped.
    """
    aware(now)
    if now < state.as_of:
        raise DomainError("I can't compute an emotional state for a time before the stored one.")
    cuts = {state.as_of, now}
    for emotion in state.active:
        for moment in (emotion.started_at, emotion.ends_at):
            if state.as_of < moment < now:
                cuts.add(moment)
    points = sorted(cuts)
    substep = float(emotion_table()["dynamics"]["substep_seconds"])
    mood: tuple[float, float, float] = state.mood
    for start, end in pairwise(points):
        span = (end - start).total_seconds()
        middle = start + (end - start) / 2
        if not any(e.is_active(middle) for e in state.active):
            mood = return_mood(mood, state.baseline, span)
            continue
        steps = max(1, math.ceil(span / substep))
        step = span / steps
        for index in range(steps):
            moment = start + timedelta(seconds=step * (index + 0.5))
            pairs = [(emotion_pad(e.type), e.intensity_at(moment) / 100.0) for e in state.active if e.is_active(moment)]
            center, level = emotion_center(pairs)
            mood = move_mood(mood, center, level, step)
    still = tuple(e for e in state.active if now < e.ends_at)
    return EmotionalState(mood=clamp_pad(mood), baseline=state.baseline, active=still, as_of=now)
