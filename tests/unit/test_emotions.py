"""Emotions and mood (the bot/core/emotions package): hand-worked formulas, section 4's properties, reactions."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.core import catalog
from bot.core import emotions as em
from bot.core.errors import DomainError
from bot.core.pad import PAD
from bot.core.traits import ALL_TRAITS

T0 = datetime(2024, 5, 6, 12, 0, tzinfo=UTC)
ORIGIN = PAD(0.0, 0.0, 0.0)

NEGATIVE = ("sadness", "anger", "fear", "disgust", "frustration")
POSITIVE = ("joy", "excitement", "trust", "contentment")


def approx3(point, expected, tol=1e-6):
    return all(math.isclose(a, b, abs_tol=tol) for a, b in zip(point, expected, strict=True))


def calm(now=T0, baseline=ORIGIN):
    return em.new_state(baseline, now)


def with_active(*emotions, now=T0, mood=ORIGIN):
    return em.EmotionalState(mood=mood, baseline=ORIGIN, active=tuple(emotions), as_of=now)


def triggers_producing(kind):
    return [name for name, t in catalog.load("triggers").items() if any(r["emotion"] == kind for r in t["responses"])]


# ----------------------------------------------------------------------------------------------------
# Data tables


def test_pad_table_is_the_specification():
    # SCIENCE.md section 3, typed in from the specification.
    spec = {
        "joy": (0.40, 0.20, 0.10),
        "sadness": (-0.40, -0.20, -0.50),
        "anger": (-0.51, 0.59, 0.25),
        "fear": (-0.64, 0.60, -0.43),
        "surprise": (0.40, 0.67, -0.13),
        "disgust": (-0.60, 0.35, 0.11),
        "trust": (0.50, 0.30, -0.20),
        "anticipation": (0.20, 0.20, -0.10),
        "curiosity": (0.64, 0.51, 0.17),
        "frustration": (-0.30, 0.10, -0.40),
        "excitement": (0.62, 0.75, 0.38),
        "contentment": (0.30, -0.20, 0.40),
    }
    assert set(em.emotion_types()) == set(spec)
    for kind, point in spec.items():
        assert em.emotion_pad(kind) == point


def test_plutchik_opposites_and_band_words():
    pairs = {("joy", "sadness"), ("trust", "disgust"), ("fear", "anger"), ("surprise", "anticipation")}
    for a, b in pairs:
        assert em.opposite(a) == b and em.opposite(b) == a
    for kind in ("curiosity", "frustration", "excitement", "contentment"):
        assert em.opposite(kind) is None
    # Plutchik's mild / intense words, from the specification.
    words = {
        "joy": ("serenity", "ecstasy"),
        "trust": ("acceptance", "admiration"),
        "fear": ("apprehension", "terror"),
        "surprise": ("distraction", "amazement"),
        "sadness": ("pensiveness", "grief"),
        "disgust": ("boredom", "loathing"),
        "anger": ("annoyance", "rage"),
        "anticipation": ("interest", "vigilance"),
    }
    for kind, (mild, intense) in words.items():
        assert em.emotion_word(kind, 33.9) == mild
        assert em.emotion_word(kind, 34) == kind
        assert em.emotion_word(kind, 66) == kind
        assert em.emotion_word(kind, 66.1) == intense
    assert em.emotion_word("frustration", 10) == "irritation"
    assert em.emotion_word("frustration", 90) == "exasperation"


def test_sensitivities_name_real_traits_and_triggers_are_complete():
    for kind in em.emotion_types():
        assert set(catalog.load("emotions")["emotions"][kind].get("sensitivity", {})) <= set(ALL_TRAITS)
    required = set(
        "praise affection humour sympathy agreement surprise curiosity criticism hostility disgust boredom "
        "confusion".split()
    )
    assert required <= set(em.trigger_names())
    for name in em.trigger_names():
        table = catalog.load("triggers")[name]
        assert table["label"] and table["description"] and table["one"] and table["many"]
        assert table["responses"]
        for response in table["responses"]:
            assert response["emotion"] in em.emotion_types()
            assert 0 < response["intensity"] <= 100 and response["duration_minutes"] > 0


# ----------------------------------------------------------------------------------------------------
# Fading


def test_fading_is_linear_and_ends():
    joy = em.ActiveEmotion("joy", 80.0, 30.0, T0)
    # 80 * (1 - 12/30) = 80 * 0.6 = 48
    assert math.isclose(joy.intensity_at(T0 + timedelta(minutes=12)), 48.0)
    # 80 * (1 - 29/30) = 80/30 = 2.666...
    assert math.isclose(joy.intensity_at(T0 + timedelta(minutes=29)), 80 / 30)
    assert joy.is_active(T0 + timedelta(minutes=29, seconds=59))
    assert not joy.is_active(T0 + timedelta(minutes=30))
    assert joy.intensity_at(T0 + timedelta(minutes=30)) == 0.0
    assert joy.intensity_at(T0 - timedelta(seconds=1)) == 0.0


def test_bad_emotions_are_refused():
    with pytest.raises(DomainError):
        em.ActiveEmotion("smugness", 10, 10, T0)
    with pytest.raises(DomainError):
        em.ActiveEmotion("joy", 101, 10, T0)
    with pytest.raises(DomainError):
        em.ActiveEmotion("joy", 10, 10, datetime(2024, 1, 1))  # naive time


# ----------------------------------------------------------------------------------------------------
# Mood formulas (ALMA)


def test_emotion_center_hand_worked():
    # joy (0.40, 0.20, 0.10) at 0.5 and anger (-0.51, 0.59, 0.25) at 0.25; sum of intensities 0.75
    # P = (0.5*0.40 + 0.25*-0.51) / 0.75 = (0.2 - 0.1275) / 0.75 = 0.0725 / 0.75 = 0.096667
    # A = (0.5*0.20 + 0.25*0.59) / 0.75 = (0.1 + 0.1475) / 0.75 = 0.33
    # D = (0.5*0.10 + 0.25*0.25) / 0.75 = (0.05 + 0.0625) / 0.75 = 0.15
    # I = (0.5 + 0.25) / 2 = 0.375
    center, intensity = em.emotion_center([((0.40, 0.20, 0.10), 0.5), ((-0.51, 0.59, 0.25), 0.25)])
    assert approx3(center, (0.096667, 0.33, 0.15))
    assert math.isclose(intensity, 0.375)


def test_emotion_center_empty():
    assert em.emotion_center([]) == ((0.0, 0.0, 0.0), 0.0)
    assert em.emotion_center([((0.4, 0.2, 0.1), 0.0)]) == ((0.0, 0.0, 0.0), 0.0)


def test_pull_hand_worked():
    # c = (0.3, 0.4, 0), |c| = 0.5; mood at the origin (projection 0 < 0.5: pull).
    # d = I / 600 * t = 0.5 / 600 * 120 = 0.1 along (0.6, 0.8, 0) -> (0.06, 0.08, 0)
    assert approx3(em.move_mood((0, 0, 0), (0.3, 0.4, 0), 0.5, 120), (0.06, 0.08, 0.0))


def test_pull_off_axis_hand_worked():
    # mood (0, 0.5, 0), c = (0.5, 0, 0): projection 0 < 0.5, pull. gap (0.5, -0.5, 0), |gap| = 0.707107
    # d = 0.6 / 600 * 300 = 0.3 -> mood + 0.3 * (0.707107, -0.707107, 0) = (0.212132, 0.287868, 0)
    assert approx3(em.move_mood((0, 0.5, 0), (0.5, 0, 0), 0.6, 300), (0.212132, 0.287868, 0.0))


def test_pull_reaching_center_continues_as_push():
    # d = 1 / 600 * 600 = 1.0; the centre (0.3, 0.4, 0) is 0.5 away; the remaining 0.5 is push along
    # (0.6, 0.8, 0): (0.3 + 0.3, 0.4 + 0.4, 0) = (0.6, 0.8, 0)
    assert approx3(em.move_mood((0, 0, 0), (0.3, 0.4, 0), 1.0, 600), (0.6, 0.8, 0.0))


def test_push_hand_worked_and_clamped():
    # mood (0.6, 0.2, 0), c = (0.4, 0, 0): projection 0.6 >= 0.4, push along (1, 0, 0)
    # d = 0.5 / 600 * 240 = 0.2 -> (0.8, 0.2, 0)
    assert approx3(em.move_mood((0.6, 0.2, 0), (0.4, 0, 0), 0.5, 240), (0.8, 0.2, 0.0))
    # from (0.9, 0, 0): 0.9 + 0.2 = 1.1, clamped to 1
    assert approx3(em.move_mood((0.9, 0, 0), (0.4, 0, 0), 0.5, 240), (1.0, 0.0, 0.0))


def test_no_intensity_or_no_direction_no_move():
    assert approx3(em.move_mood((0.2, 0.1, 0), (0.4, 0, 0), 0.0, 600), (0.2, 0.1, 0))
    assert approx3(em.move_mood((0.2, 0.1, 0), (0, 0, 0), 1.0, 600), (0.2, 0.1, 0))


def test_return_hand_worked():
    # speed sqrt(3) / 1200; in 600 s: sqrt(3)/2 = 0.866025 of the 1.0 from (0.6, 0.8, 0) to the origin
    # left: 1 - 0.866025 = 0.133975 of the way
    # -> (0.6 * 0.133975, 0.8 * 0.133975, 0) = (0.080385, 0.107180, 0)
    assert approx3(em.return_mood((0.6, 0.8, 0), (0, 0, 0), 600), (0.080385, 0.107180, 0.0))
    # in 1200 s it could travel sqrt(3) > 1.0: it stops at home
    assert em.return_mood((0.6, 0.8, 0), (0, 0, 0), 1200) == (0.0, 0.0, 0.0)
    # across the whole cube in twenty minutes
    assert approx3(em.return_mood((-1, -1, -1), (1, 1, 1), 2400), (1, 1, 1))
    assert not approx3(em.return_mood((-1, -1, -1), (1, 1, 1), 2399), (1, 1, 1), tol=1e-4)


def test_advance_one_substep_uses_the_midpoint_intensity():
    # joy 100 for 10 min from T0; advance 60 s: one sub-step, midpoint 30 s: 100 * (1 - 30/600) = 95 -> 0.95
    # |joy| = sqrt(0.16 + 0.04 + 0.01) = 0.458258; d = 0.95 / 600 * 60 = 0.095 < |joy|: pull
    # mood = 0.095 / 0.458258 * (0.4, 0.2, 0.1) = 0.207306 * (0.4, 0.2, 0.1) = (0.082922, 0.041461, 0.020731)
    state = with_active(em.ActiveEmotion("joy", 100.0, 10.0, T0))
    after = em.advance(state, T0 + timedelta(seconds=60))
    assert approx3(after.mood, (0.082922, 0.041461, 0.020731))
    assert after.as_of == T0 + timedelta(seconds=60)


def test_advance_splits_at_expiry_then_returns_home():
    # joy 100 for 1 min: [0, 60 s] one sub-step, midpoint intensity 50 -> 0.5, d = 0.5 / 600 * 60 = 0.05
    # mood = 0.05 along the unit of joy; then 10 s without emotions: back by sqrt(3)/1200 * 10 = 0.0144338
    # left 0.05 - 0.0144338 = 0.0355662 along joy: factor 0.0355662 / 0.458258 = 0.077612
    # -> (0.031045, 0.015522, 0.007761)
    state = with_active(em.ActiveEmotion("joy", 100.0, 1.0, T0))
    after = em.advance(state, T0 + timedelta(seconds=70))
    assert approx3(after.mood, (0.031045, 0.015522, 0.007761))
    assert after.active == ()


def test_advance_long_gap_is_home_and_refuses_the_past():
    state = with_active(em.ActiveEmotion("anger", 90.0, 30.0, T0))
    after = em.advance(state, T0 + timedelta(days=3))
    assert after.mood == ORIGIN and after.active == ()
    with pytest.raises(DomainError):
        em.advance(state, T0 - timedelta(seconds=1))


def test_advance_in_pieces_matches_in_one_go_when_cut_on_substeps():
    state = with_active(em.ActiveEmotion("fear", 70.0, 20.0, T0), em.ActiveEmotion("joy", 40.0, 5.0, T0))
    once = em.advance(state, T0 + timedelta(minutes=30))
    stepwise = state
    for minute in range(1, 31):
        stepwise = em.advance(stepwise, T0 + timedelta(minutes=minute))
    assert approx3(once.mood, stepwise.mood, tol=1e-9)


# ----------------------------------------------------------------------------------------------------
# Responses


def test_respond_hand_worked():
    # hostility: anger 55 for 30 min, fear 15 for 20 min (data/triggers.toml)
    # anger: neuroticism +0.6, agreeableness -0.5; N 80 -> t' = 0.6, A 20 -> t' = -0.6
    #   modifier = 1 + 0.6*0.6 + (-0.5)(-0.6) = 1 + 0.36 + 0.30 = 1.66 -> 55 * 1.66 = 91.3, 30 * 1.66 = 49.8
    # fear: neuroticism +0.7, extraversion -0.1 (E missing: 50, t' = 0)
    #   modifier = 1 + 0.7*0.6 = 1.42 -> 15 * 1.42 = 21.3, 20 * 1.42 = 28.4
    anger, fear = em.respond("hostility", {"neuroticism": 80, "agreeableness": 20}, calm(), T0)
    assert anger.emotion_type == "anger" and fear.emotion_type == "fear"
    assert math.isclose(anger.intensity, 91.3) and math.isclose(anger.duration_minutes, 49.8)
    assert math.isclose(fear.intensity, 21.3) and math.isclose(fear.duration_minutes, 28.4)
    assert anger.cause == "hostility"


def test_modifier_floor():
    # anger with N 0 (t' -1) and A 100 (t' +1): 1 - 0.6 - 0.5 = -0.1 -> floor 0.2; 55 * 0.2 = 11
    (anger, _) = em.respond("hostility", {"neuroticism": 0, "agreeableness": 100}, calm(), T0)
    assert math.isclose(anger.intensity, 11.0) and math.isclose(anger.duration_minutes, 6.0)


def test_intensity_capped_at_100():
    # anger: 55 * 1.66 * 2.0 (learned) = 182.6 -> 100
    (anger, _) = em.respond("hostility", {"neuroticism": 80, "agreeableness": 20}, calm(), T0, learned_scale=2.0)
    assert anger.intensity == 100.0


def test_active_opposite_dampens_the_response():
    # fear 60 active (the opposite of anger); neutral traits:
    # anger 55 * (1 - 0.5 * 60/100) = 55 * 0.7 = 38.5
    state = with_active(em.ActiveEmotion("fear", 60.0, 30.0, T0))
    (anger, _) = em.respond("hostility", {}, state, T0)
    assert math.isclose(anger.intensity, 38.5)


def test_learned_scale_and_override():
    # praise, neutral traits: joy 45, trust 20; scale 0.8 -> 36 and 16 (durations unchanged: 30 and 60)
    joy, trust = em.respond("praise", {}, calm(), T0, learned_scale=0.8)
    assert math.isclose(joy.intensity, 36.0) and math.isclose(trust.intensity, 16.0)
    assert math.isclose(joy.duration_minutes, 30.0)
    # override: one response of the learned type from the strongest base response (joy 45, 30 min)
    (only,) = em.respond("praise", {}, calm(), T0, override="sadness")
    assert (only.emotion_type, only.intensity, only.duration_minutes) == ("sadness", 45.0, 30.0)
    with pytest.raises(DomainError):
        em.respond("praise", {}, calm(), T0, learned_scale=3.0)
    with pytest.raises(DomainError):
        em.respond("tickling", {}, calm(), T0)
    with pytest.raises(DomainError):
        em.respond("praise", {"extraversion": 140}, calm(), T0)


traits_strategy = st.fixed_dictionaries({name: st.integers(0, 100) for name in ALL_TRAITS})


def _monotone(trait, kinds, direction, traits, low, high):
    """Raising ``trait`` from low to high moves each kind's modifier and responses in ``direction``."""
    floor = catalog.load("emotions")["dynamics"]["modifier_floor"]
    lower = {**traits, trait: low}
    upper = {**traits, trait: high}
    for kind in kinds:
        m_low, m_high = em.personality_modifier(kind, lower), em.personality_modifier(kind, upper)
        if direction > 0:
            assert m_high >= m_low
            if m_low > floor and high > low:
                assert m_high > m_low
        else:
            assert m_high <= m_low
            if m_high > floor and high > low:
                assert m_high < m_low
        for trigger in triggers_producing(kind):
            r_low = [r for r in em.respond(trigger, lower, calm(), T0) if r.emotion_type == kind]
            r_high = [r for r in em.respond(trigger, upper, calm(), T0) if r.emotion_type == kind]
            for a, b in zip(r_low, r_high, strict=True):
                if direction > 0:
                    assert b.intensity >= a.intensity and b.duration_minutes >= a.duration_minutes
                else:
                    assert b.intensity <= a.intensity and b.duration_minutes <= a.duration_minutes


pair = st.tuples(st.integers(0, 100), st.integers(0, 100)).map(sorted)


@given(traits_strategy, pair)
def test_neuroticism_makes_negative_emotions_stronger_and_longer(traits, levels):
    _monotone("neuroticism", NEGATIVE, +1, traits, *levels)


@given(traits_strategy, pair)
def test_neuroticism_strictly_lengthens_unfloored_negative_emotions(traits, levels):
    low, high = levels
    for kind in NEGATIVE:
        for trigger in triggers_producing(kind):
            a = [r for r in em.respond(trigger, {**traits, "neuroticism": low}, calm(), T0) if r.emotion_type == kind]
            b = [r for r in em.respond(trigger, {**traits, "neuroticism": high}, calm(), T0) if r.emotion_type == kind]
            floor = catalog.load("emotions")["dynamics"]["modifier_floor"]
            if high > low and em.personality_modifier(kind, {**traits, "neuroticism": low}) > floor:
                assert all(y.duration_minutes > x.duration_minutes for x, y in zip(a, b, strict=True))


@given(traits_strategy, pair)
def test_extraversion_makes_positive_emotions_stronger(traits, levels):
    _monotone("extraversion", POSITIVE, +1, traits, *levels)


@given(traits_strategy, pair)
def test_openness_makes_curiosity_and_surprise_stronger(traits, levels):
    _monotone("openness", ("curiosity", "surprise"), +1, traits, *levels)


@given(traits_strategy, pair)
def test_agreeableness_weakens_anger_and_disgust_and_strengthens_trust(traits, levels):
    _monotone("agreeableness", ("anger", "disgust"), -1, traits, *levels)
    _monotone("agreeableness", ("trust",), +1, traits, *levels)


@given(
    traits_strategy,
    st.sampled_from(em.trigger_names()),
    st.floats(0.25, 2.0),
    st.lists(st.tuples(st.sampled_from(em.emotion_types()), st.floats(0.1, 100)), max_size=4),
)
def test_response_intensity_never_exceeds_100(traits, trigger, scale, present):
    state = with_active(*(em.ActiveEmotion(kind, level, 30.0, T0) for kind, level in present))
    responses = em.respond(trigger, traits, state, T0, learned_scale=scale)
    assert responses
    assert all(0 < r.intensity <= 100 and r.duration_minutes > 0 for r in responses)
    after = em.apply(state, responses * 3, T0 + timedelta(seconds=5))
    assert all(0 < e.intensity <= 100 for e in after.active)


# ----------------------------------------------------------------------------------------------------
# Applying responses


def test_reinforcement_hand_worked():
    # anger 40 for 30 min from T0; at +10 min: 40 * (1 - 10/30) = 26.667, 20 min left
    # + anger 50 for 15 min: 26.667 + 50 = 76.667, restarted now, for max(20, 15) = 20 min
    state = with_active(em.ActiveEmotion("anger", 40.0, 30.0, T0))
    now = T0 + timedelta(minutes=10)
    after = em.apply(state, [em.Response("anger", 50.0, 15.0)], now)
    (anger,) = after.active
    assert math.isclose(anger.intensity, 40 * 2 / 3 + 50)
    assert math.isclose(anger.duration_minutes, 20.0) and anger.started_at == now
    # capped: 26.667 + 90 -> 100
    (capped,) = em.apply(state, [em.Response("anger", 90.0, 15.0)], now).active
    assert capped.intensity == 100.0


def test_opposite_is_dampened_hand_worked():
    # fear 60 for 20 min from T0 (at T0: 60, ends T0 + 20 min); anger 30 arrives: fear 60 - 0.5 * 30 = 45
    state = with_active(em.ActiveEmotion("fear", 60.0, 20.0, T0))
    after = em.apply(state, [em.Response("anger", 30.0, 10.0)], T0)
    fear = next(e for e in after.active if e.type == "fear")
    assert math.isclose(fear.intensity_at(T0), 45.0)
    assert fear.ends_at == T0 + timedelta(minutes=20)
    # anger 100 cancels 50 >= 45 more: fear ends
    gone = em.apply(after, [em.Response("anger", 100.0, 10.0)], T0)
    assert [e.type for e in gone.active] == ["anger"]


@given(st.floats(1, 100), st.floats(1, 100), st.floats(1, 120), st.floats(0, 0.99))
def test_reinforcement_adds_and_caps(first, second, minutes, elapsed_fraction):
    state = with_active(em.ActiveEmotion("joy", first, minutes, T0))
    now = T0 + timedelta(minutes=minutes * elapsed_fraction)
    current = state.active[0].intensity_at(now)
    (joy,) = em.apply(state, [em.Response("joy", second, 10.0)], now).active
    assert math.isclose(joy.intensity, min(100.0, current + second), rel_tol=1e-9)
    assert joy.intensity >= max(min(current, 100), second) - 1e-9


PLUTCHIK = ("joy", "sadness", "trust", "disgust", "fear", "anger", "surprise", "anticipation")


@given(st.sampled_from(PLUTCHIK), st.floats(1, 100), st.floats(1, 100))
def test_opposite_always_dampens(kind, present, incoming):
    other = em.opposite(kind)
    state = with_active(em.ActiveEmotion(other, present, 60.0, T0))
    after = em.apply(state, [em.Response(kind, incoming, 10.0)], T0)
    left = sum(e.intensity_at(T0) for e in after.active if e.type == other)
    assert left < present
    # and the response to a trigger is no stronger with the opposite active than without
    for trigger in triggers_producing(kind):
        damped = [r.intensity for r in em.respond(trigger, {}, state, T0) if r.emotion_type == kind]
        plain = [r.intensity for r in em.respond(trigger, {}, calm(), T0) if r.emotion_type == kind]
        assert all(d < p for d, p in zip(damped, plain, strict=True))


# ----------------------------------------------------------------------------------------------------
# PAD cube and return properties

unit = st.floats(-1, 1)
point = st.tuples(unit, unit, unit)


@given(point, point, st.floats(0, 1), st.floats(0, 100_000))
def test_move_mood_stays_in_the_cube(mood, center, intensity, seconds):
    assert all(-1 <= v <= 1 for v in em.move_mood(mood, center, intensity, seconds))


@given(point, point, st.floats(0, 100_000))
def test_return_never_overshoots(mood, home, seconds):
    after = em.return_mood(mood, home, seconds)
    before = math.dist(mood, home)
    assert math.dist(after, home) <= before + 1e-12
    # on the straight segment from the mood to home: no detour, no overshoot
    assert math.isclose(math.dist(mood, after) + math.dist(after, home), before, abs_tol=1e-9)
    assert all(-1 <= v <= 1 for v in after)


@given(
    point,
    st.lists(st.tuples(st.sampled_from(em.emotion_types()), st.floats(1, 100), st.floats(0.5, 90)), max_size=4),
    st.integers(0, 4 * 3600),
)
def test_advance_keeps_pad_in_the_cube(mood, present, seconds):
    state = em.EmotionalState(
        mood=PAD(*mood),
        baseline=PAD(0.1, 0.1, 0.1),
        active=tuple(em.ActiveEmotion(k, i, d, T0) for k, i, d in present),
        as_of=T0,
    )
    after = em.advance(state, T0 + timedelta(seconds=seconds))
    assert all(-1 <= v <= 1 for v in after.mood)
    assert all(e.is_active(after.as_of) for e in after.active)


# ----------------------------------------------------------------------------------------------------
# Learned feedback


def test_feedback_hand_worked():
    # step 1.25, bounds 0.25..2.0
    assert math.isclose(em.apply_feedback(1.0, "wrong", "too_strong"), 0.8)  # 1 / 1.25
    assert math.isclose(em.apply_feedback(0.8, "wrong", "too_strong"), 0.64)  # 0.8 / 1.25
    assert math.isclose(em.apply_feedback(1.0, "wrong", "too_weak"), 1.25)  # 1 * 1.25
    assert em.apply_feedback(1.8, "wrong", "too_weak") == 2.0  # 2.25 clipped
    assert em.apply_feedback(0.25, "wrong", "too_strong") == 0.25  # 0.2 clipped
    assert em.apply_feedback(0.64, "right") == 0.64  # confirms
    with pytest.raises(DomainError):
        em.apply_feedback(1.0, "wrong")
    with pytest.raises(DomainError):
        em.apply_feedback(1.0, "maybe", "too_weak")  # type: ignore[arg-type]


verdicts = st.sampled_from([("right", None), ("wrong", "too_strong"), ("wrong", "too_weak")])


@given(st.floats(0.25, 2.0), st.lists(verdicts, max_size=30))
def test_feedback_stays_within_bounds(scale, history):
    for verdict, adjustment in history:
        scale = em.apply_feedback(scale, verdict, adjustment)
        assert 0.25 <= scale <= 2.0


@given(st.floats(0.25, 2.0), st.sampled_from(["too_strong", "too_weak"]))
def test_feedback_is_reversible(scale, adjustment):
    # step 1.25: a step that stays within 0.25..2.0 is undone exactly by the opposite verdict
    undo = "too_weak" if adjustment == "too_strong" else "too_strong"
    moved = em.apply_feedback(scale, "wrong", adjustment)
    unclipped = scale / 1.25 >= 0.25 if adjustment == "too_strong" else scale * 1.25 <= 2.0
    if unclipped:
        assert math.isclose(em.apply_feedback(moved, "wrong", undo), scale, rel_tol=1e-12)
    else:
        assert moved in (0.25, 2.0)


def test_learn_override_and_its_undo():
    learned = em.learn(em.Learned(), "praise", "wrong", should_be="sadness")
    assert learned == em.Learned(1.0, "sadness")
    assert em.learn(learned, "praise", "right") == learned
    # praise's own (strongest) emotion is joy: naming it clears the override
    assert em.learn(learned, "praise", "wrong", should_be="joy") == em.Learned(1.0, None)
    both = em.learn(em.Learned(), "praise", "wrong", adjustment="too_weak", should_be="excitement")
    assert both == em.Learned(1.25, "excitement")
    with pytest.raises(DomainError):
        em.learn(em.Learned(), "praise", "wrong")


# ----------------------------------------------------------------------------------------------------
# Reactions


def test_default_reaction_map_is_large_and_valid():
    table = catalog.load("reactions")
    assert len(table["emoji"]) >= 60
    triggers = set(em.trigger_names())
    assert set(table["emoji"].values()) <= triggers
    assert {rule["trigger"] for rule in table["fallback"]} <= triggers


@pytest.mark.parametrize(
    ("emoji", "trigger"),
    [
        ("❤", "affection"),
        ("❤️", "affection"),  # with a variation selector
        ("💜", "affection"),
        ("💔", "sorrow"),
        ("👍🏽", "agreement"),  # with a skin tone
        ("👎", "criticism"),
        ("😂", "humour"),
        ("😭", "sorrow"),
        ("😡", "hostility"),
        ("🤮", "disgust"),
        ("🤡", "hostility"),
        ("🔥", "hype"),
        ("👏", "praise"),
        ("💯", "praise"),
        ("👀", "curiosity"),
        ("🤔", "curiosity"),
        ("😱", "surprise"),
        ("🎉", "celebration"),
        ("💀", "humour"),
        ("😴", "boredom"),
        ("🥱", "boredom"),
        ("❓", "confusion"),
    ],
)
def test_default_reactions(emoji, trigger):
    assert em.trigger_for_emoji(emoji) == trigger


def test_fallback_by_unicode_name():
    assert "🫶" not in catalog.load("reactions")["emoji"]
    assert em.trigger_for_emoji("🫶") == "affection"  # HEART HANDS
    assert em.trigger_for_emoji("😽") == "affection"  # KISSING CAT FACE WITH CLOSED EYES
    assert em.trigger_for_emoji("🥲") == "sympathy"  # SMILING FACE WITH TEAR


def test_unknown_emoji_has_no_trigger():
    assert em.trigger_for_emoji("🛸") is None
    assert em.trigger_for_emoji("<:blob:1234>") is None
    assert em.trigger_for_emoji("") is None


def test_server_map_overrides_and_custom_names():
    server = {"pepe_love": "praise", "❤️": "hostility", "Blob": "humour"}
    assert em.trigger_for_emoji("<:pepe_love:1234>", server) == "praise"
    assert em.trigger_for_emoji("<a:pepe_love:1234>", server) == "praise"
    assert em.trigger_for_emoji(":pepe_love:", server) == "praise"
    assert em.trigger_for_emoji("pepe_love", server) == "praise"
    assert em.trigger_for_emoji("❤", server) == "hostility"  # overrides the default affection
    assert em.trigger_for_emoji("<:blob:1>", server) == "humour"  # name ignoring case
    assert em.trigger_for_emoji("<:pepe_love:1234>") == "affection"  # no server map: name fallback (LOVE)
    assert em.trigger_for_emoji("<:cat_heart:9>") == "affection"
    with pytest.raises(DomainError):
        em.trigger_for_emoji("<:x:1>", {"x": "tickling"})


# ----------------------------------------------------------------------------------------------------
# Explanations


def test_explain_names_mood_emotion_and_causes():
    traits = {"neuroticism": 70}
    state = calm()
    events = []
    for minutes in (0, 4, 9):
        now = T0 + timedelta(minutes=minutes)
        responses = em.respond("hostility", traits, state, now)
        state = em.apply(state, responses, now)
        events.append(em.EventRecord("hostility", "anger", responses[0].intensity, 7, 42, now))
    events.append(em.EventRecord("praise", "joy", 40, 8, 42, T0 - timedelta(hours=5)))  # too old
    now = T0 + timedelta(minutes=10)
    text = em.explain(state, events, now)
    mood = em.advance(state, now).mood
    assert mood.pleasure < 0  # three hostile events make the mood unpleasant
    assert text.startswith("I'm ")
    # the earliest of the three was ten minutes ago
    assert text.endswith(": three hostile remarks in the last ten minutes.")
    assert "feeling rage" in text or "feeling anger" in text
    assert "compliment" not in text


def test_explain_groups_and_orders_causes():
    events = [
        em.EventRecord("praise", "joy", 40, 1, 1, T0 - timedelta(minutes=2)),
        em.EventRecord("humour", "joy", 45, 1, 1, T0 - timedelta(minutes=30)),
        em.EventRecord("humour", "joy", 45, 2, 1, T0 - timedelta(minutes=20)),
    ]
    text = em.explain(calm(T0 - timedelta(minutes=30)), events, T0)
    # humour 90 in total before praise 40; the earliest 30 minutes ago
    assert text.endswith(": two jokes and one compliment in the last thirty minutes.")


def test_explain_without_events():
    assert em.explain(calm(), [], T0) == (
        "I feel neutral: nothing in particular has happened lately, and this is how I usually am."
    )
    residue = em.EmotionalState(mood=PAD(-0.5, 0.4, 0.2), baseline=ORIGIN, active=(), as_of=T0)
    assert em.explain(residue, [], T0).startswith("I'm moderately hostile: nothing in particular")
