"""Emotional patterns over a persona's history (seed section 4.2).

Pure functions of event records and mood samples.

Every pattern has a confidence in 0..1 from a documented statistic; :func:`analyze_patterns` reports only
those above ``report_above`` (``data/emotions.toml``, [patterns], like every number here).

Two statistics are used:

- **Wilson lower bound** of a proportion ``k / n`` (z = ``wilson_z``)::

      (p + z²/2n - z sqrt(p(1-p)/n + z²/4n²)) / (1 + z²/n)

  the share we can be ~97.5 % sure is at least reached; it grows with both the share and the sample size
  (10 of 10 gives 0.72, 20 of 20 gives 0.84, 8 of 10 gives 0.49).

- **Contrast** of a group against the rest (both need ``min_group`` values): Cohen's d with the pooled
  standard deviation (floored at ``sd_floor``), ``z = d / sqrt(1/n_a + 1/n_b)``, the two-sided normal
  p-value Bonferroni-corrected for the ``k`` groups tested, ``p' = min(1, 2 k (1 - Φ(z)))``, and::

      confidence = min(1 - p', d / large_effect)   (capped at 1)

  a pattern must be both statistically clear and large (a medium effect in a huge sample is not reported).

The patterns:

- ``mood_cycle_hour`` / ``mood_cycle_weekday``: mood pleasure in one period of the day (UTC, ``day_periods``)
  or one weekday against the others; contrast, k = the periods (weekdays) with enough samples; the strongest.
- ``trigger_consistency``: for each trigger with ``min_group`` events, the share of its most common emotion;
  Wilson lower bound.
- ``stability`` / ``volatility``: the share of steps between consecutive mood samples (Euclidean, PAD) below
  ``small_step`` / above ``large_step``; Wilson lower bound (needs ``min_group`` steps).
- ``channel_context`` / ``person_context``: the pleasure of events (the emotion's P times intensity / 100) in
  one channel (from one person) against all others; contrast, k = the channels (people) tested.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from itertools import pairwise
from typing import Any

from bot.core import catalog
from bot.core.emotions.explanations import EventRecord
from bot.core.emotions.tables import emotion_pad, emotion_types, trigger_names
from bot.core.pad import PAD, length

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@dataclass(frozen=True)
class MoodSample:
    """The persona's mood at a moment (e.g. sampled hourly)."""

    at: datetime
    mood: PAD


@dataclass(frozen=True)
class Pattern:
    """A regularity found in the history: its kind, a sentence, a confidence 0..1 and advice for the owner.
    ``subject`` names what it is about ("evening", "Monday", "praise", "channel:42", "user:7") if anything."""

    kind: str
    description: str
    confidence: float
    recommendations: list[str] = field(default_factory=list)
    subject: str | None = None


def _settings() -> dict[str, Any]:
    settings: dict[str, Any] = catalog.load("emotions")["patterns"]
    return settings


def _step(a: PAD, b: PAD) -> tuple[float, float, float]:
    """The move from mood ``a`` to mood ``b``."""
    return (b[0] - a[0], b[1] - a[1], b[2] - a[2])


# ----------------------------------------------------------------------------------------------------
# Statistics


def wilson_lower_bound(successes: int, total: int, z: float | None = None) -> float:
    """The Wilson score interval's lower bound for ``successes / total`` (0 when ``total`` is 0)."""
    if total <= 0:
        return 0.0
    z = float(_settings()["wilson_z"]) if z is None else z
    p = successes / total
    z2 = z * z
    centre = p + z2 / (2 * total)
    spread = z * math.sqrt(p * (1 - p) / total + z2 / (4 * total * total))
    return max(0.0, (centre - spread) / (1 + z2 / total))


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values)


def contrast_confidence(group: Sequence[float], rest: Sequence[float], tests: int = 1) -> float:
    """The confidence that ``group`` differs from ``rest`` (see the module docstring); 0 if either is smaller
    than ``min_group``. ``tests`` is the number of groups compared (Bonferroni)."""
    settings = _settings()
    minimum = int(settings["min_group"])
    if len(group) < minimum or len(rest) < minimum:
        return 0.0
    n_a, n_b = len(group), len(rest)
    mean_a, mean_b = _mean(group), _mean(rest)
    squares = sum((v - mean_a) ** 2 for v in group) + sum((v - mean_b) ** 2 for v in rest)
    pooled = max(float(settings["sd_floor"]), math.sqrt(squares / (n_a + n_b - 2)))
    d = abs(mean_a - mean_b) / pooled
    z = d / math.sqrt(1 / n_a + 1 / n_b)
    tail = 0.5 * math.erfc(z / math.sqrt(2))  # 1 - Φ(z)
    corrected = min(1.0, 2 * max(1, tests) * tail)
    return max(0.0, min(1.0 - corrected, d / float(settings["large_effect"]), 1.0))


def _signed(value: float) -> str:
    return f"{value:+.2f}"


def _best_contrast(
    items: Sequence[tuple[Hashable, float]],
) -> list[tuple[Hashable, float, float, float, int]]:
    """Per key with enough values: (key, confidence, group mean, rest mean, n); k = the keys tested."""
    minimum = int(_settings()["min_group"])
    groups: dict[Hashable, list[float]] = {}
    for key, value in items:
        groups.setdefault(key, []).append(value)
    tested = [key for key, values in groups.items() if len(values) >= minimum]
    out = []
    for key in tested:
        group = groups[key]
        rest = [value for other, values in groups.items() if other != key for value in values]
        confidence = contrast_confidence(group, rest, len(tested))
        if rest:
            out.append((key, confidence, _mean(group), _mean(rest), len(group)))
    return out


# ----------------------------------------------------------------------------------------------------
# Patterns


def _period_of(moment: datetime) -> str:
    periods = sorted(_settings()["day_periods"], key=lambda item: item["start_hour"])
    hour = moment.hour
    name: str = periods[-1]["name"]  # before the first start hour: the last period wraps around midnight
    for item in periods:
        if hour >= item["start_hour"]:
            name = item["name"]
    return name


def _cycle(samples: Sequence[MoodSample], kind: str, key: Callable[[datetime], str], where: str) -> list[Pattern]:
    results = _best_contrast([(key(s.at), s.mood[0]) for s in samples])
    if not results:
        return []
    name, confidence, inside, outside, n = max(results, key=lambda item: item[1])
    better = inside > outside
    label = str(name)
    description = (
        f"My mood tends to be {'better' if better else 'worse'} {where.format(label)} "
        f"(average pleasure {_signed(inside)} over {n} samples, against {_signed(outside)} otherwise)."
    )
    advice = (
        [f"{where.format(label).capitalize()} is a good time for me to start conversations or post."]
        if better
        else [
            f"Expect me to be less cheerful {where.format(label)}; schedule fewer posts then.",
            f"Look at what usually happens {where.format(label)}: it may be what weighs on me.",
        ]
    )
    return [Pattern(kind, description, confidence, advice, label)]


def mood_cycles(samples: Sequence[MoodSample]) -> list[Pattern]:
    """The hour-of-day period and the weekday whose mood pleasure differs most clearly from the rest."""
    return _cycle(samples, "mood_cycle_hour", _period_of, "in the {}") + _cycle(
        samples, "mood_cycle_weekday", lambda at: WEEKDAYS[at.weekday()], "on {}s"
    )


def trigger_consistency(events: Sequence[EventRecord]) -> list[Pattern]:
    """For each trigger with ``min_group`` events: how reliably it produces its most common emotion."""
    minimum = int(_settings()["min_group"])
    known = set(trigger_names())
    by_trigger: dict[str, list[EventRecord]] = {}
    for event in events:
        by_trigger.setdefault(event.trigger, []).append(event)
    out = []
    for trigger, group in by_trigger.items():
        if len(group) < minimum:
            continue
        kind, count = Counter(e.emotion_type for e in group).most_common(1)[0]
        confidence = wilson_lower_bound(count, len(group))
        mean = _mean([e.intensity for e in group if e.emotion_type == kind])
        label = catalog.load("triggers")[trigger]["label"] if trigger in known else trigger
        out.append(
            Pattern(
                "trigger_consistency",
                f"{label.capitalize()} reliably makes me feel {kind} ({count} of {len(group)} times, "
                f"average intensity {mean:.0f}).",
                confidence,
                [f"This is a dependable part of my character: {label} is a sure way to bring out my {kind}."],
                trigger,
            )
        )
    return out


def stability(samples: Sequence[MoodSample]) -> list[Pattern]:
    """Whether the mood is steady (most steps small) or volatile (most steps large) between samples."""
    settings = _settings()
    ordered = sorted(samples, key=lambda s: s.at)
    steps = [length(_step(x.mood, y.mood)) for x, y in pairwise(ordered)]
    if len(steps) < int(settings["min_group"]):
        return []
    calm = sum(1 for step in steps if step < float(settings["small_step"]))
    jumps = sum(1 for step in steps if step > float(settings["large_step"]))
    n = len(steps)
    return [
        Pattern(
            "stability",
            f"My mood is steady: {calm} of {n} changes between samples were small.",
            wilson_lower_bound(calm, n),
            ["I am emotionally stable; strong events are what move me, so they are worth noticing."],
        ),
        Pattern(
            "volatility",
            f"My mood is volatile: {jumps} of {n} changes between samples were large jumps.",
            wilson_lower_bound(jumps, n),
            [
                "Consider lowering my neuroticism or the learned scale of the triggers that move me most.",
                "Check whether a few people or channels cause most of the swings.",
            ],
        ),
    ]


def _event_pleasure(event: EventRecord, known: set[str]) -> float | None:
    if event.emotion_type not in known:
        return None
    return emotion_pad(event.emotion_type).pleasure * event.intensity / 100.0


def _contexts(events: Sequence[EventRecord], kind: str, attribute: str, noun: str, mention: str) -> list[Pattern]:
    known = set(emotion_types())
    items = []
    for event in events:
        key = getattr(event, attribute)
        value = _event_pleasure(event, known)
        if key is not None and value is not None:
            items.append((key, value))
    out = []
    for key, confidence, inside, outside, n in _best_contrast(items):
        better = inside > outside
        place = mention.format(key)
        description = (
            f"{place} {'lifts' if better else 'lowers'} my mood: events there average pleasure "
            f"{_signed(inside)} over {n}, against {_signed(outside)} elsewhere."
            if noun == "channel"
            else f"{place} {'lifts' if better else 'lowers'} my mood: their events average pleasure "
            f"{_signed(inside)} over {n}, against {_signed(outside)} from others."
        )
        advice = (
            [f"I enjoy {place}; I could be more present there."]
            if better
            else [f"{place} tends to upset me; consider whether I should engage less there or be given support."]
            if noun == "channel"
            else [f"{place} tends to upset me; a moderator may want to look at our exchanges."]
        )
        out.append(Pattern(kind, description, confidence, advice, f"{noun}:{key}"))
    return out


def contextual_patterns(events: Sequence[EventRecord]) -> list[Pattern]:
    """Channels and people whose events are more pleasant or unpleasant than the rest."""
    return _contexts(events, "channel_context", "channel_id", "channel", "Channel <#{}>") + _contexts(
        events, "person_context", "user_id", "person", "<@{}>"
    )


def find_patterns(events: Sequence[EventRecord], samples: Sequence[MoodSample]) -> list[Pattern]:
    """Every candidate pattern with its confidence, whatever it is (most confident first)."""
    found = mood_cycles(samples) + trigger_consistency(events) + stability(samples) + contextual_patterns(events)
    return sorted(found, key=lambda p: (-p.confidence, p.kind, p.subject or ""))


def analyze_patterns(events: Sequence[EventRecord], samples: Sequence[MoodSample]) -> list[Pattern]:
    """The patterns with confidence above ``report_above`` (0.7), most confident first."""
    threshold = float(_settings()["report_above"])
    return [pattern for pattern in find_patterns(events, samples) if pattern.confidence > threshold]
