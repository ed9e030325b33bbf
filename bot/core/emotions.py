"""Emotions and mood (SCIENCE.md sections 3-4).

Triggers, responses, fading, the ALMA mood, learned feedback, reactions and explanations.

Everything here is pure. The numbers live in ``data/emotions.toml``, ``data/triggers.toml`` and
``data/reactions.toml``; time is always a timezone-aware parameter.

**Emotions.** An active emotion has a type, an intensity 0..100, a duration in minutes and a start time. Its
intensity falls linearly to zero over its duration; then it is no longer active (the event log keeps it).

**Responses.** A trigger has one or more base responses (type, intensity, duration). For each::

    t'_k         = (t_k - 50) / 50                                (a missing trait counts as 50)
    personality  = max(modifier_floor, 1 + sum_k sensitivity[type][k] * t'_k)
    state        = 1 - opposite_response_damping * o / 100   (o: current intensity of the active opposite)
    intensity    = min(100, base * personality * state * learned_scale)
    duration     = base_duration * personality

So a positive sensitivity makes the emotion stronger *and* longer as the trait grows: neuroticism for
sadness, anger, fear, disgust and frustration; extraversion for joy, excitement, trust and contentment;
openness for curiosity and surprise; agreeableness for trust, and negatively for anger and disgust.

**Applying responses** (:func:`apply`): the state is first advanced to ``now``. A response whose type is
already active *reinforces* it: intensities add (capped at 100), it restarts now, and it lasts the longer of
its remaining time and the response's duration. An active Plutchik opposite is *dampened*: its current
intensity drops by ``opposite_cancel * response intensity`` with its end time kept (it ends at zero).

**Mood** (ALMA, Gebhard 2005): see :func:`emotion_center`, :func:`move_mood`, :func:`return_mood` and
:func:`advance`.

**Learned feedback**: see :func:`apply_feedback` and :func:`learn`.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from itertools import pairwise
from typing import Any, Literal

from bot.core import catalog
from bot.core.errors import DomainError
from bot.core.pad import MAX_LENGTH, PAD, clamp_pad, describe, length

Verdict = Literal["right", "wrong"]
Adjustment = Literal["too_strong", "too_weak"]

_EPS = 1e-12

# ----------------------------------------------------------------------------------------------------
# Tables


def _emotions() -> dict[str, Any]:
    return catalog.load("emotions")


def _triggers() -> dict[str, Any]:
    return catalog.load("triggers")


def emotion_types() -> tuple[str, ...]:
    """All emotion type names, in the order of ``data/emotions.toml``."""
    return tuple(_emotions()["emotions"])


def trigger_names() -> tuple[str, ...]:
    """All trigger names, in the order of ``data/triggers.toml``."""
    return tuple(_triggers())


def _emotion(kind: str) -> dict[str, Any]:
    table = _emotions()["emotions"]
    if kind not in table:
        raise DomainError(f"I don't know the emotion '{kind}'. Known emotions: {', '.join(table)}.")
    return table[kind]


def _trigger(name: str) -> dict[str, Any]:
    table = _triggers()
    if name not in table:
        raise DomainError(f"I don't know the trigger '{name}'. Known triggers: {', '.join(table)}.")
    return table[name]


def emotion_pad(kind: str) -> PAD:
    """The PAD point of an emotion type."""
    return PAD(*(float(value) for value in _emotion(kind)["pad"]))


def opposite(kind: str) -> str | None:
    """Plutchik's opposite of an emotion type, or None for the non-Plutchik types."""
    return _emotion(kind).get("opposite")


def emotion_word(kind: str, intensity: float) -> str:
    """The intensity band's word: below ``mild_below`` mild ("annoyance"), above ``intense_above`` intense
    ("rage"), basic ("anger") between (both bounds inclusive)."""
    bands = _emotions()["bands"]
    mild, basic, intense = _emotion(kind)["words"]
    if intensity < bands["mild_below"]:
        return mild
    if intensity > bands["intense_above"]:
        return intense
    return basic


def trigger_label(name: str) -> str:
    """A trigger's short name for people."""
    return _trigger(name)["label"]


def trigger_description(name: str) -> str:
    """A trigger's sentence fragment for explanations ("someone praised or thanked me")."""
    return _trigger(name)["description"]


# ----------------------------------------------------------------------------------------------------
# Validation helpers


def _aware(moment: datetime, what: str = "time") -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise DomainError(f"The {what} must be timezone-aware (UTC).")
    return moment


def _finite(value: float, what: str) -> float:
    if not math.isfinite(value):
        raise DomainError(f"The {what} must be a finite number.")
    return float(value)


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
        _emotion(self.type)
        _aware(self.started_at, "start time")
        if not 0.0 <= _finite(self.intensity, "intensity") <= 100.0:
            raise DomainError("An emotion's intensity must be between 0 and 100.")
        if not _finite(self.duration_minutes, "duration") > 0.0:
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
        _aware(self.as_of, "state time")


def new_state(baseline: tuple[float, float, float], now: datetime) -> EmotionalState:
    """A calm state: the mood at the baseline (the default mood), nothing active."""
    home = clamp_pad(baseline)
    return EmotionalState(mood=home, baseline=home, active=(), as_of=_aware(now))


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
    for trait, sensitivity in _emotion(kind).get("sensitivity", {}).items():
        value = _finite(traits.get(trait, 50.0), f"trait {trait}")
        if not 0.0 <= value <= 100.0:
            raise DomainError(f"The trait {trait} must be between 0 and 100.")
        total += float(sensitivity) * (value - 50.0) / 50.0
    return max(float(_emotions()["dynamics"]["modifier_floor"]), total)


def state_modifier(kind: str, state: EmotionalState, now: datetime) -> float:
    """``1 - opposite_response_damping * o / 100`` with o the current intensity of the active opposite (0 if
    none): an active opposite dampens a new response."""
    other = opposite(kind)
    if other is None:
        return 1.0
    current = max((e.intensity_at(now) for e in state.active if e.type == other), default=0.0)
    return 1.0 - float(_emotions()["dynamics"]["opposite_response_damping"]) * current / 100.0


def _check_scale(scale: float) -> float:
    bounds = _emotions()["feedback"]
    value = _finite(scale, "learned scale")
    if not bounds["min_scale"] <= value <= bounds["max_scale"]:
        raise DomainError(f"A learned scale must be between {bounds['min_scale']} and {bounds['max_scale']}.")
    return value


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
    _aware(now)
    base = _trigger(trigger)["responses"]
    scale = _check_scale(learned_scale)
    if override is not None:
        _emotion(override)
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
    cancel = float(_emotions()["dynamics"]["opposite_cancel"])
    active = list(current.active)
    for response in responses:
        _emotion(response.emotion_type)
        amount = min(100.0, max(0.0, _finite(response.intensity, "intensity")))
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
    return (_finite(point[0], "PAD value"), _finite(point[1], "PAD value"), _finite(point[2], "PAD value"))


def emotion_center(
    active: Sequence[tuple[tuple[float, float, float], float]],
) -> tuple[tuple[float, float, float], float]:
    """The virtual emotion centre and its intensity (ALMA).

    ``c = sum(i_k p_k) / sum(i_k)`` over (PAD point p_k, intensity i_k in 0..1) pairs, and
    ``I = min(1, mean(i_k))``. No pairs, or all intensities zero: ``((0, 0, 0), 0.0)``.
    """
    points = [(_vec(point), _finite(weight, "intensity")) for point, weight in active]
    if any(not 0.0 <= weight <= 1.0 for _, weight in points):
        raise DomainError("Emotion intensities for the mood must be between 0 and 1.")
    total = sum(weight for _, weight in points)
    if not points or total <= 0.0:
        return (0.0, 0.0, 0.0), 0.0
    center = tuple(sum(weight * point[axis] for point, weight in points) / total for axis in range(3))
    return (center[0], center[1], center[2]), min(1.0, total / len(points))


def _speed_pull() -> float:
    return 1.0 / float(_emotions()["dynamics"]["pull_seconds"])


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
    level, span = _finite(intensity, "intensity"), _finite(seconds, "time step")
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
    span = _finite(seconds, "time step")
    if span < 0.0:
        raise DomainError("The time step must not be negative.")
    gap = (home[0] - m[0], home[1] - m[1], home[2] - m[2])
    gap_size = length(gap)
    distance = MAX_LENGTH / float(_emotions()["dynamics"]["return_seconds"]) * span
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
    _aware(now)
    if now < state.as_of:
        raise DomainError("I can't compute an emotional state for a time before the stored one.")
    cuts = {state.as_of, now}
    for emotion in state.active:
        for moment in (emotion.started_at, emotion.ends_at):
            if state.as_of < moment < now:
                cuts.add(moment)
    points = sorted(cuts)
    substep = float(_emotions()["dynamics"]["substep_seconds"])
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


# ----------------------------------------------------------------------------------------------------
# Learned feedback


@dataclass(frozen=True)
class Learned:
    """What a persona learned about its response to one trigger: the intensity ``scale`` and an optional
    ``override`` emotion type ("it should have been X")."""

    scale: float = 1.0
    override: str | None = None


def apply_feedback(scale: float, verdict: Verdict, adjustment: Adjustment | None = None) -> float:
    """The learned scale after a verdict on a response to one trigger.

    - ``"right"`` confirms: the scale is unchanged (moving it would undo the corrections just confirmed);
    - ``"wrong"``, ``"too_strong"``: divided by ``step``; ``"wrong"``, ``"too_weak"``: multiplied by ``step``;
    - always clipped to ``[min_scale, max_scale]`` (``data/emotions.toml``, [feedback]).

    Reversible: "too_weak" exactly undoes "too_strong" and vice versa, whenever the first was not clipped by a
    bound (a clipped verdict only went part of the way, and the opposite then goes one whole step).
    """
    bounds = _emotions()["feedback"]
    value = _check_scale(scale)
    if verdict == "right":
        return value
    if verdict != "wrong":
        raise DomainError("A verdict is 'right' or 'wrong'.")
    step = float(bounds["step"])
    if adjustment == "too_strong":
        return max(float(bounds["min_scale"]), value / step)
    if adjustment == "too_weak":
        return min(float(bounds["max_scale"]), value * step)
    raise DomainError("Say whether the response was too strong or too weak.")


def learn(
    learned: Learned,
    trigger: str,
    verdict: Verdict,
    adjustment: Adjustment | None = None,
    should_be: str | None = None,
) -> Learned:
    """What is learned about ``trigger`` after a verdict.

    ``"right"`` confirms (nothing changes). ``"wrong"`` needs an ``adjustment`` (see :func:`apply_feedback`),
    a ``should_be`` emotion type, or both. ``should_be`` records an override; naming the trigger's own
    (strongest base) emotion clears it, which undoes an earlier override.
    """
    _trigger(trigger)
    if verdict == "right":
        _check_scale(learned.scale)
        return learned
    if verdict != "wrong":
        raise DomainError("A verdict is 'right' or 'wrong'.")
    if adjustment is None and should_be is None:
        raise DomainError("Say what was wrong: too strong, too weak, or which emotion it should have been.")
    scale = learned.scale if adjustment is None else apply_feedback(learned.scale, "wrong", adjustment)
    override = learned.override
    if should_be is not None:
        _emotion(should_be)
        own = max(_trigger(trigger)["responses"], key=lambda item: item["intensity"])["emotion"]
        override = None if should_be == own else should_be
    return Learned(scale=scale, override=override)


# ----------------------------------------------------------------------------------------------------
# Reactions


_SKIP = frozenset({0xFE0E, 0xFE0F, *range(0x1F3FB, 0x1F400)})


def _normalise(emoji: str) -> str:
    return "".join(ch for ch in emoji.strip() if ord(ch) not in _SKIP)


def _custom_name(emoji: str) -> str | None:
    """The name of a custom emoji given as ``<:name:id>``, ``<a:name:id>``, ``:name:`` or ``name``."""
    text = emoji.strip()
    if text.startswith("<") and text.endswith(">"):
        parts = text[1:-1].split(":")
        if len(parts) == 3 and parts[0] in ("", "a") and parts[1]:
            return parts[1]
        return None
    if len(text) > 2 and text.startswith(":") and text.endswith(":"):
        text = text[1:-1]
    if text and all(ch.isascii() and (ch.isalnum() or ch in "_-") for ch in text):
        return text
    return None


def _checked_trigger(name: str) -> str:
    _trigger(name)
    return name


def trigger_for_emoji(emoji: str, server_map: Mapping[str, str] | None = None) -> str | None:
    """The trigger a reaction with ``emoji`` stands for, or None (no emotional effect).

    In order: ``server_map`` (a server's custom emoji by name, exactly or ignoring case, or a Unicode emoji;
    it overrides the default); the default map of ``data/reactions.toml`` (Unicode emoji, compared without
    variation selectors and skin tones); its ``[[fallback]]`` rules, the first whose text occurs in the
    Unicode name of one of the emoji's code points (for a custom emoji: in its name, upper-cased, with ``_``
    and ``-`` as spaces); otherwise None.
    """
    name = _custom_name(emoji)
    server = dict(server_map or {})
    if name is not None:
        if name in server:
            return _checked_trigger(server[name])
        folded = {key.casefold(): value for key, value in server.items()}
        if name.casefold() in folded:
            return _checked_trigger(folded[name.casefold()])
        texts = [name.upper().replace("_", " ").replace("-", " ")]
    else:
        key = _normalise(emoji)
        if not key:
            return None
        for candidate, value in server.items():
            if _normalise(candidate) == key:
                return _checked_trigger(value)
        table = catalog.load("reactions")
        defaults = {_normalise(k): v for k, v in table.get("emoji", {}).items()}
        if key in defaults:
            return defaults[key]
        texts = [unicodedata.name(ch, "") for ch in key]
    for rule in catalog.load("reactions").get("fallback", []):
        if any(rule["contains"] in text for text in texts):
            return rule["trigger"]
    return None


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
    table = _triggers().get(trigger)
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
    window = timedelta(minutes=float(_emotions()["dynamics"]["explain_window_minutes"]))
    durations = {e.type: timedelta(minutes=e.duration_minutes) for _, e in felt}
    causes = [
        event
        for event in events
        if timedelta(0) <= now - event.at <= max(window, durations.get(event.emotion_type, window))
    ]
    if not causes:
        if length(tuple(a - b for a, b in zip(current.mood, current.baseline, strict=True))) < 0.05:
            return f"{head}: nothing in particular has happened lately, and this is how I usually am."
        return f"{head}: nothing in particular has happened lately; I'm settling back to my usual self."
    groups: dict[str, list[EventRecord]] = {}
    for event in causes:
        groups.setdefault(event.trigger, []).append(event)
    ranked = sorted(groups.items(), key=lambda item: (-sum(e.intensity for e in item[1]), item[0]))[:most]
    earliest = min(e.at for _, group in ranked for e in group)
    parts = [_event_phrase(trigger, len(group)) for trigger, group in ranked]
    return f"{head}: {_join(parts)} in the last {_span_words(now - earliest)}."


def __getattr__(name: str) -> Any:
    # The pattern analysis lives in bot.core.emotion_patterns; reachable from here without an import cycle.
    if name in ("Pattern", "MoodSample", "analyze_patterns", "find_patterns"):
        from bot.core import emotion_patterns

        return getattr(emotion_patterns, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
