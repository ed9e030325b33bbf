"""Emotional patterns (bot/core/emotion_patterns.py): the statistics by hand, constructed histories."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from bot.core import emotion_patterns as ep
from bot.core import emotions as em
from bot.core.pad import PAD

MONDAY = datetime(2024, 5, 6, 0, 0, tzinfo=UTC)  # a Monday


def noise(i: int) -> float:
    return 0.02 if i % 2 else -0.02


def hourly(pleasure_of, days=7):
    """Hourly samples whose pleasure is pleasure_of(moment) plus a small alternating wobble."""
    out = []
    for i in range(24 * days):
        at = MONDAY + timedelta(hours=i)
        out.append(ep.MoodSample(at, PAD(pleasure_of(at) + noise(i), 0.1, 0.1)))
    return out


def kinds(patterns):
    return {p.kind for p in patterns}


def event(trigger, emotion, intensity, user, channel, minutes=0):
    return em.EventRecord(trigger, emotion, intensity, user, channel, MONDAY + timedelta(minutes=minutes))


# ----------------------------------------------------------------------------------------------------
# Statistics


def test_wilson_lower_bound_hand_worked():
    # z = 1.96, z² = 3.8416
    # 10 of 10: (1 + 3.8416/20 - 1.96 sqrt(3.8416/400)) / (1 + 3.8416/10)
    #         = (1.19208 - 0.19208) / 1.38416 = 0.72246
    assert math.isclose(ep.wilson_lower_bound(10, 10), 0.72246, abs_tol=1e-4)
    # 8 of 10: (0.8 + 0.19208 - 1.96 sqrt(0.016 + 0.009604)) / 1.38416
    #        = (0.99208 - 0.313623) / 1.38416 = 0.49016
    assert math.isclose(ep.wilson_lower_bound(8, 10), 0.49016, abs_tol=1e-4)
    # 20 of 20: 1 / (1 + 3.8416/20) = 1 / 1.19208 = 0.83887
    assert math.isclose(ep.wilson_lower_bound(20, 20), 0.83887, abs_tol=1e-4)
    assert ep.wilson_lower_bound(0, 0) == 0.0


def test_contrast_confidence_hand_worked():
    group = [0.1, 0.3, 0.1, 0.3, 0.2]  # mean 0.2, sum of squares 4 * 0.01 = 0.04
    rest = [-0.1, 0.1, -0.1, 0.1, 0.0]  # mean 0.0, sum of squares 0.04
    # pooled sd = sqrt(0.08 / 8) = 0.1; d = 0.2 / 0.1 = 2; z = 2 / sqrt(1/5 + 1/5) = 3.16228
    # 1 - Φ(3.16228) = 0.000783; p = 2 * 0.000783 = 0.001565 -> 1 - p = 0.998435; d / 0.8 = 2.5 -> 1
    assert math.isclose(ep.contrast_confidence(group, rest), 0.998435, abs_tol=2e-4)
    # with four groups tested (Bonferroni): p = 8 * 0.000783 = 0.00626 -> 0.99374
    assert math.isclose(ep.contrast_confidence(group, rest, tests=4), 0.99374, abs_tol=3e-4)
    # a smaller effect: group shifted by only 0.04 (d = 0.4); z = 0.4 / 0.632456 = 0.632456
    # 1 - Φ(0.6325) = 0.2635; 1 - 2 * 0.2635 = 0.473; d / 0.8 = 0.5 -> min = 0.473
    small = [v - 0.2 + 0.04 for v in group]
    assert math.isclose(ep.contrast_confidence(small, rest), 0.473, abs_tol=3e-3)
    # the same small effect in 50 + 50 values: pooled sd = sqrt(0.8 / 98) = 0.0903508, d = 0.04 / 0.0903508
    # = 0.442719; z = 0.442719 / sqrt(2/50) = 2.2136 -> 1 - p = 1 - 2 * 0.01343 = 0.973; d / 0.8 = 0.553399
    # a clear but modest effect: the effect size decides
    assert math.isclose(ep.contrast_confidence(small * 10, rest * 10), 0.553399, abs_tol=1e-4)


def test_contrast_needs_enough_values():
    assert ep.contrast_confidence([1.0] * 4, [0.0] * 50) == 0.0


# ----------------------------------------------------------------------------------------------------
# Mood cycles


def test_evening_cycle_found():
    samples = hourly(lambda at: 0.5 if at.hour >= 18 else -0.1)
    found = ep.analyze_patterns([], samples)
    cycle = next(p for p in found if p.kind == "mood_cycle_hour")
    assert cycle.subject == "evening" and "better in the evening" in cycle.description
    assert cycle.confidence > 0.99 and cycle.recommendations
    # every weekday has the same hours: no weekday cycle
    assert "mood_cycle_weekday" not in kinds(found)


def test_monday_cycle_found():
    samples = hourly(lambda at: -0.5 if at.weekday() == 0 else 0.3, days=21)
    found = ep.analyze_patterns([], samples)
    cycle = next(p for p in found if p.kind == "mood_cycle_weekday")
    assert cycle.subject == "Monday" and "worse on Mondays" in cycle.description
    assert "mood_cycle_hour" not in kinds(found)


def test_flat_history_has_no_cycle():
    samples = hourly(lambda at: 0.1)
    candidates = ep.find_patterns([], samples)
    cycles = [p for p in candidates if p.kind.startswith("mood_cycle")]
    assert cycles and all(p.confidence < 0.1 for p in cycles)
    assert not kinds(ep.analyze_patterns([], samples)) & {"mood_cycle_hour", "mood_cycle_weekday"}


# ----------------------------------------------------------------------------------------------------
# Trigger consistency


def test_consistent_trigger_found():
    events = [event("praise", "joy", 40 + i, 1, 1, i) for i in range(12)]
    (pattern,) = [p for p in ep.analyze_patterns(events, []) if p.kind == "trigger_consistency"]
    # Wilson 12 of 12: (1 + 3.8416/24 - 1.96 sqrt(3.8416/576)) / (1 + 3.8416/12) = 1 / 1.320133 = 0.757499
    assert math.isclose(pattern.confidence, 0.757499, abs_tol=1e-4)
    assert pattern.subject == "praise" and "12 of 12" in pattern.description


def test_inconsistent_or_rare_trigger_not_reported():
    mixed = [event("praise", "joy" if i % 2 else "sadness", 40, 1, 1, i) for i in range(12)]
    # Wilson 6 of 12 = 0.25378
    (candidate,) = [p for p in ep.find_patterns(mixed, []) if p.kind == "trigger_consistency"]
    assert math.isclose(candidate.confidence, 0.25378, abs_tol=1e-4)
    assert "trigger_consistency" not in kinds(ep.analyze_patterns(mixed, []))
    rare = [event("praise", "joy", 40, 1, 1, i) for i in range(4)]
    assert not [p for p in ep.find_patterns(rare, []) if p.kind == "trigger_consistency"]


# ----------------------------------------------------------------------------------------------------
# Stability


def test_volatile_mood_found():
    samples = [
        ep.MoodSample(MONDAY + timedelta(hours=i), PAD(0.6, 0.5, 0.0) if i % 2 else PAD(-0.6, -0.5, 0.0))
        for i in range(20)
    ]
    found = ep.analyze_patterns([], samples)
    volatile = next(p for p in found if p.kind == "volatility")
    # 19 of 19 steps are jumps: Wilson = 1 / (1 + 3.8416/19) = 0.831816
    assert math.isclose(volatile.confidence, 0.831816, abs_tol=1e-4)
    assert "stability" not in kinds(found)


def test_steady_mood_found():
    samples = hourly(lambda at: 0.2, days=2)  # steps of 0.04 < 0.05
    found = ep.analyze_patterns([], samples)
    assert "stability" in kinds(found) and "volatility" not in kinds(found)


def test_few_samples_no_stability_claim():
    samples = hourly(lambda at: 0.2, days=1)[:5]  # 4 steps < 5
    assert not kinds(ep.find_patterns([], samples)) & {"stability", "volatility"}


# ----------------------------------------------------------------------------------------------------
# Context


def mixed_channels(hostile_channel=None, hostile_user=None):
    """30 events: channel 1 hostile (if asked), channels 2 and 3 praise; five users spread evenly."""
    events = []
    for channel in (1, 2, 3):
        for i in range(10):
            user = (len(events) % 5) + 1
            hostile = channel == hostile_channel
            if hostile_user is not None:
                hostile = i % 3 == 0
                user = hostile_user if hostile else user
            if hostile:
                events.append(event("hostility", "anger", 50 if i % 2 else 70, user, channel, len(events)))
            else:
                events.append(event("praise", "joy", 40 if i % 2 else 60, user, channel, len(events)))
    return events


def test_unpleasant_channel_found():
    found = ep.analyze_patterns(mixed_channels(hostile_channel=1), [])
    channel = next(p for p in found if p.kind == "channel_context" and p.subject == "channel:1")
    assert "lowers my mood" in channel.description and channel.confidence > 0.9
    # each user saw the same mix: no person stands out
    assert "person_context" not in kinds(found)


def test_unpleasant_person_found():
    found = ep.analyze_patterns(mixed_channels(hostile_user=99), [])
    person = next(p for p in found if p.kind == "person_context")
    assert person.subject == "person:99" and "lowers my mood" in person.description


def test_even_history_has_no_context_pattern():
    found = ep.analyze_patterns(mixed_channels(), [])
    assert not kinds(found) & {"channel_context", "person_context"}


def test_analyze_reports_only_confident_patterns():
    events = mixed_channels(hostile_channel=1)
    samples = hourly(lambda at: 0.5 if at.hour >= 18 else -0.1)
    everything = ep.find_patterns(events, samples)
    reported = ep.analyze_patterns(events, samples)
    assert reported == [p for p in everything if p.confidence > 0.7]
    assert any(p.confidence <= 0.7 for p in everything)  # some candidates were left out
    assert [p.confidence for p in reported] == sorted((p.confidence for p in reported), reverse=True)


@given(
    st.lists(
        st.tuples(
            st.sampled_from(em.trigger_names()),
            st.sampled_from(em.emotion_types()),
            st.floats(0, 100),
            st.integers(1, 4),
            st.integers(1, 3),
        ),
        max_size=60,
    ),
    st.lists(st.tuples(st.floats(-1, 1), st.floats(-1, 1), st.floats(-1, 1)), max_size=60),
)
def test_confidences_are_probabilities(raw_events, raw_moods):
    events = [event(t, e, i, u, c, n) for n, (t, e, i, u, c) in enumerate(raw_events)]
    samples = [ep.MoodSample(MONDAY + timedelta(hours=3 * n), PAD(*m)) for n, m in enumerate(raw_moods)]
    for pattern in ep.find_patterns(events, samples):
        assert 0.0 <= pattern.confidence <= 1.0
        assert pattern.description and pattern.recommendations
