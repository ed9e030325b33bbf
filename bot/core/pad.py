"""Points in PAD space (pleasure, arousal, dominance), each in [-1, 1], and their names (SCIENCE.md section 2).

Mood names by octant follow Mehrabian (1996): the signs of (P, A, D). Intensity is the vector length out of
sqrt(3), in three equal bands: slightly, moderately, fully.
"""

from __future__ import annotations

import math
from typing import NamedTuple


class PAD(NamedTuple):
    pleasure: float
    arousal: float
    dominance: float


ORIGIN = PAD(0.0, 0.0, 0.0)
MAX_LENGTH = math.sqrt(3.0)

# Signs of (P, A, D) -> mood name. Zero counts as positive (a point on a plane belongs to the + side).
OCTANT_NAMES: dict[tuple[bool, bool, bool], str] = {
    (True, True, True): "exuberant",
    (True, True, False): "dependent",
    (True, False, True): "relaxed",
    (True, False, False): "docile",
    (False, False, False): "bored",
    (False, False, True): "disdainful",
    (False, True, False): "anxious",
    (False, True, True): "hostile",
}


def clamp(value: float, low: float = -1.0, high: float = 1.0) -> float:
    return max(low, min(high, value))


def clamp_pad(point: tuple[float, float, float]) -> PAD:
    """The point with each axis clamped to [-1, 1]."""
    return PAD(clamp(point[0]), clamp(point[1]), clamp(point[2]))


def length(point: tuple[float, float, float]) -> float:
    return math.sqrt(point[0] ** 2 + point[1] ** 2 + point[2] ** 2)


def mood_name(point: tuple[float, float, float]) -> str:
    """The octant's name: exuberant, dependent, relaxed, docile, bored, disdainful, anxious or hostile."""
    return OCTANT_NAMES[(point[0] >= 0, point[1] >= 0, point[2] >= 0)]


def mood_intensity(point: tuple[float, float, float]) -> str:
    """'slightly' up to sqrt(3)/3, 'moderately' up to 2 sqrt(3)/3, 'fully' beyond."""
    size = length(point)
    if size <= MAX_LENGTH / 3:
        return "slightly"
    if size <= 2 * MAX_LENGTH / 3:
        return "moderately"
    return "fully"


def describe(point: tuple[float, float, float]) -> str:
    """'moderately relaxed', or 'neutral' at the origin."""
    if length(point) < 1e-9:
        return "neutral"
    return f"{mood_intensity(point)} {mood_name(point)}"
