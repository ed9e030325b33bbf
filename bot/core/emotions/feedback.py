"""Learned feedback: how an owner's verdicts on a persona's responses change the learned scale and override of a
trigger (:func:`apply_feedback`, :func:`learn`). Pure.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from bot.core.emotions.tables import checked_scale, emotion_entry, emotion_table, trigger_entry
from bot.core.errors import DomainError

Verdict = Literal["right", "wrong"]
Adjustment = Literal["too_strong", "too_weak"]


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
    bounds = emotion_table()["feedback"]
    value = checked_scale(scale)
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
    trigger_entry(trigger)
    if verdict == "right":
        checked_scale(learned.scale)
        return learned
    if verdict != "wrong":
        raise DomainError("A verdict is 'right' or 'wrong'.")
    if adjustment is None and should_be is None:
        raise DomainError("Say what was wrong: too strong, too weak, or which emotion it should have been.")
    scale = learned.scale if adjustment is None else apply_feedback(learned.scale, "wrong", adjustment)
    override = learned.override
    if should_be is not None:
        emotion_entry(should_be)
        own = max(trigger_entry(trigger)["responses"], key=lambda item: item["intensity"])["emotion"]
        override = None if should_be == own else should_be
    return Learned(scale=scale, override=override)
