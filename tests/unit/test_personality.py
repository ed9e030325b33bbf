"""The personality engine: traits, custom traits, templates, derived traits, random traits, mood, words.

Expected numbers are worked by hand in the comments from the formulas in SCIENCE.md and the tables in data/.
"""

from __future__ import annotations

import itertools
import json
import statistics

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.core import catalog, personality
from bot.core.errors import DomainError, NotFound
from bot.core.personality import (
    CustomTrait,
    TraitInfluence,
    custom_trait_from_dict,
    custom_trait_to_dict,
    default_mood,
    derive_traits,
    describe_traits,
    get_template,
    list_leanings,
    list_templates,
    mood_words,
    random_traits,
    validate_custom_traits,
    validate_traits,
)
from bot.core.traits import ALL_TRAITS, BIG_FIVE, MAX_CUSTOM_TRAITS

DERIVED = [t for t in ALL_TRAITS if t not in BIG_FIVE]
NEUTRAL = dict.fromkeys(BIG_FIVE, 50.0)
trait_values = st.integers(0, 100).map(float)
big_fives = st.fixed_dictionaries({t: trait_values for t in BIG_FIVE})


# --- Built-in traits ----------------------------------------------------------------------------------------


def test_validate_traits_fills_the_nine_from_the_big_five() -> None:
    given_traits = {"openness": 75, "conscientiousness": 85, "extraversion": 70, "agreeableness": 90,
                    "neuroticism": 20, "humor": 10}  # fmt: skip
    checked = validate_traits(given_traits)
    assert list(checked) == list(ALL_TRAITS)
    assert checked["humor"] == 10.0  # given values win
    derived = derive_traits(given_traits)
    assert all(checked[t] == derived[t] for t in DERIVED if t != "humor")
    # creativity = 50 + 0.7 x (75 - 50) + 0.2 x (70 - 50) = 50 + 17.5 + 4 = 71.5
    assert checked["creativity"] == pytest.approx(71.5)


def test_validate_traits_accepts_camel_case_and_returns_snake_case() -> None:
    checked = validate_traits({**NEUTRAL, "technicalFocus": 90})
    assert checked["technical_focus"] == 90.0
    assert "technicalFocus" not in checked


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({**NEUTRAL, "charisma": 50}, r"There is no trait called 'charisma'"),
        ({**NEUTRAL, "humor": 101}, r"^Humor must be from 0 to 100; got 101\.$"),
        ({**NEUTRAL, "openness": -1}, r"^Openness must be from 0 to 100; got -1\.$"),
        ({**NEUTRAL, "empathy": "high"}, r"^Empathy must be a number"),
        ({**NEUTRAL, "empathy": True}, r"^Empathy must be a number"),
        ({**NEUTRAL, "empathy": float("nan")}, r"^Empathy must be a number"),
        ({k: v for k, v in NEUTRAL.items() if k != "agreeableness"}, r"^Agreeableness is missing"),
        ({**NEUTRAL, "technical_focus": 1, "technicalFocus": 2}, r"^Technical focus is given twice"),
    ],
)
def test_validate_traits_refuses_bad_input_naming_the_trait(values: dict, message: str) -> None:
    with pytest.raises(DomainError, match=message):
        validate_traits(values)


def test_trait_bounds_are_inclusive() -> None:
    checked = validate_traits({**NEUTRAL, "openness": 0, "neuroticism": 100})
    assert (checked["openness"], checked["neuroticism"]) == (0.0, 100.0)


# --- Custom traits ------------------------------------------------------------------------------------------


def sarcasm() -> CustomTrait:
    return CustomTrait(
        name="Sarcasm",
        value=70,
        description="Dry, ironic remarks",
        category="humour",
        influences=(
            TraitInfluence("teasing", 60, "with friends"),
            TraitInfluence("formal replies", -40, None),
        ),
    )


def test_a_valid_custom_trait_passes_trimmed() -> None:
    trait = CustomTrait(name="  Sarcasm ", value=70, description=" Dry ", category=" humour ",
                        influences=(TraitInfluence(" teasing ", 60, "  "),))  # fmt: skip
    (checked,) = validate_custom_traits([trait])
    assert checked == CustomTrait("Sarcasm", 70.0, "Dry", "humour", (TraitInfluence("teasing", 60, None),))


def test_custom_trait_dict_round_trip_through_json() -> None:
    trait = sarcasm()
    data = json.loads(json.dumps(custom_trait_to_dict(trait)))
    assert data == {
        "name": "Sarcasm",
        "value": 70,
        "description": "Dry, ironic remarks",
        "category": "humour",
        "influences": [
            {"behavior": "teasing", "impact": 60, "context": "with friends"},
            {"behavior": "formal replies", "impact": -40, "context": None},
        ],
    }
    assert custom_trait_from_dict(data) == validate_custom_traits([trait])[0]


def test_custom_trait_dicts_may_leave_out_optional_fields() -> None:
    assert custom_trait_from_dict({"name": "Grit", "value": 55}) == CustomTrait("Grit", 55.0, "", "", ())
    assert validate_custom_traits([{"name": "Grit", "value": 55}]) == (CustomTrait("Grit", 55.0),)


# Validation trims names, so only names that are already trimmed can survive unchanged (U+00A0 is whitespace).
names = st.text(st.characters(min_codepoint=33, max_codepoint=0x2FF), min_size=1, max_size=40).filter(
    lambda n: n == n.strip()
)
influences = st.builds(
    TraitInfluence,
    behavior=st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=100),
    impact=st.integers(-100, 100),
    context=st.none() | st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=100),
)
custom_traits = st.builds(
    CustomTrait,
    name=names.filter(lambda n: n.casefold() not in ALL_TRAITS and n not in {"technicalFocus",
                                                                              "socialOrientation",
                                                                              "taskOrientation"}),
    value=trait_values,
    description=st.text(st.characters(min_codepoint=33, max_codepoint=126), max_size=200),
    category=st.text(st.characters(min_codepoint=33, max_codepoint=126), max_size=40),
    influences=st.lists(influences, max_size=10).map(tuple),
)  # fmt: skip


@given(custom_traits)
def test_any_valid_custom_trait_survives_the_dict_round_trip(trait: CustomTrait) -> None:
    assert validate_custom_traits([trait]) == (trait,)
    assert custom_trait_from_dict(json.loads(json.dumps(custom_trait_to_dict(trait)))) == trait


def with_changes(**changes: object) -> CustomTrait:
    fields = {"name": "Sarcasm", "value": 70, "description": "", "category": "", "influences": ()}
    fields.update(changes)
    return CustomTrait(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("trait", "message"),
    [
        (with_changes(name=""), r"name of custom trait 1 must be 1 to 40 characters"),
        (with_changes(name="   "), r"name of custom trait 1 must be 1 to 40 characters"),
        (with_changes(name="x" * 41), r"must be 1 to 40 characters long; it has 41"),
        (with_changes(name="Humor"), r"'Humor' is a built-in trait"),
        (with_changes(name="technical focus"), r"built-in trait"),
        (with_changes(value=101), r"'Sarcasm' must have a value from 0 to 100; got 101"),
        (with_changes(value=-0.5), r"'Sarcasm' must have a value from 0 to 100"),
        (with_changes(description="d" * 201), r"description of 'Sarcasm' must be at most 200"),
        (with_changes(category="c" * 41), r"category of 'Sarcasm' must be at most 40"),
        (
            with_changes(influences=(TraitInfluence("tease", 101),)),
            r"Influence 1 .*'Sarcasm'.* impact of 101",
        ),
        (with_changes(influences=(TraitInfluence("tease", -101),)), r"impact of -101"),
        (with_changes(influences=(TraitInfluence("tease", 2.5),)), r"impact of 2.5"),  # type: ignore[arg-type]
        (with_changes(influences=(TraitInfluence("", 10),)), r"behaviour of influence 1"),
        (with_changes(influences=(TraitInfluence("tease", 10),) * 11), r"11 influences; the most is 10"),
    ],
)
def test_custom_trait_rules(trait: CustomTrait, message: str) -> None:
    with pytest.raises(DomainError, match=message):
        validate_custom_traits([trait])


def test_custom_trait_limits_are_inclusive() -> None:
    edge = with_changes(name="x" * 40, value=100, description="d" * 200, category="c" * 40,
                        influences=(TraitInfluence("a", 100), TraitInfluence("b", -100)) * 5)  # fmt: skip
    assert validate_custom_traits([edge])[0].value == 100.0


def test_at_most_twenty_custom_traits() -> None:
    twenty = [with_changes(name=f"trait {n}") for n in range(MAX_CUSTOM_TRAITS)]
    assert len(validate_custom_traits(twenty)) == 20
    with pytest.raises(DomainError, match=r"at most 20 custom traits; got 21"):
        validate_custom_traits([*twenty, with_changes(name="one more")])


def test_custom_trait_names_are_unique_ignoring_case() -> None:
    with pytest.raises(DomainError, match=r"two custom traits called 'SARCASM'"):
        validate_custom_traits([with_changes(name="Sarcasm"), with_changes(name="SARCASM")])


def test_custom_trait_dicts_are_checked() -> None:
    with pytest.raises(DomainError, match=r"unknown fields: colour"):
        custom_trait_from_dict({"name": "Grit", "value": 5, "colour": "red"})
    with pytest.raises(DomainError, match=r"needs a name and a value"):
        custom_trait_from_dict({"name": "Grit"})
    with pytest.raises(DomainError, match=r"needs a behavior and an impact"):
        custom_trait_from_dict({"name": "Grit", "value": 5, "influences": [{"behavior": "x"}]})
    # The position is the item's own in a list.
    with pytest.raises(DomainError, match=r"custom trait 2 must be 1 to 40"):
        validate_custom_traits([{"name": "Grit", "value": 5}, {"name": "", "value": 5}])


# --- Templates ----------------------------------------------------------------------------------------------

SEED_TEMPLATES = {
    "friendly-assistant": ("Friendly Assistant", "Helpful, patient, and empathetic", {
        "openness": 75, "conscientiousness": 85, "extraversion": 70, "agreeableness": 90, "neuroticism": 20,
        "empathy": 85, "humor": 60, "adaptability": 80}),
    "analytical-expert": ("Analytical Expert", "Logical, precise, and detail-oriented", {
        "openness": 80, "conscientiousness": 95, "extraversion": 40, "agreeableness": 60, "neuroticism": 25,
        "technical_focus": 90, "curiosity": 85, "assertiveness": 70}),
    "creative-collaborator": ("Creative Collaborator", "Imaginative, inspiring, and innovative", {
        "openness": 95, "conscientiousness": 60, "extraversion": 80, "agreeableness": 75, "neuroticism": 40,
        "creativity": 95, "curiosity": 90, "humor": 85}),
}  # fmt: skip


def test_templates_are_complete_and_valid() -> None:
    templates = list_templates()
    assert len(templates) >= 10
    ids = [t.id for t in templates]
    assert len(set(ids)) == len(ids)
    for template in templates:
        assert template.name and template.description and template.emoji
        assert list(template.traits) == list(ALL_TRAITS)
        assert all(0 <= v <= 100 for v in template.traits.values())


def test_every_template_sets_every_trait_in_the_file() -> None:
    # Explicit values, not defaults filled in by validate_traits.
    for row in catalog.load("templates")["template"]:
        assert set(row["traits"]) == set(ALL_TRAITS), row["id"]


def test_the_seed_templates_keep_the_seed_values() -> None:
    templates = list_templates()
    assert [t.id for t in templates[:3]] == list(SEED_TEMPLATES)
    for template_id, (name, description, traits) in SEED_TEMPLATES.items():
        template = get_template(template_id)
        assert (template.name, template.description) == (name, description)
        assert {k: template.traits[k] for k in traits} == traits


def test_unknown_template() -> None:
    with pytest.raises(NotFound, match=r"^There is no template called 'x'\. The templates are: Friendly Assistant, "):
        get_template("x")


def test_changing_a_returned_template_changes_nothing_shared() -> None:
    get_template("friendly-assistant").traits["openness"] = 0
    assert get_template("friendly-assistant").traits["openness"] == 75


# --- Derived traits -----------------------------------------------------------------------------------------


def test_neutral_big_five_derive_neutral_traits() -> None:
    assert derive_traits(NEUTRAL) == dict.fromkeys(ALL_TRAITS, 50.0)


def test_derived_traits_worked_example() -> None:
    # The friendly assistant's Big Five, centred on 50: O +25, C +35, E +20, A +40, N -30.
    derived = derive_traits({"openness": 75, "conscientiousness": 85, "extraversion": 70, "agreeableness": 90,
                             "neuroticism": 20, "humor": 0})  # fmt: skip
    assert derived["openness"] == 75  # the Big Five pass through; other keys are ignored
    assert derived["humor"] != 0
    # empathy = 50 + 0.7 x 40 + 0.2 x 25 = 83
    assert derived["empathy"] == pytest.approx(83)
    # assertiveness = 50 + 0.6 x 20 - 0.2 x 40 - 0.2 x (-30) = 50 + 12 - 8 + 6 = 60
    assert derived["assertiveness"] == pytest.approx(60)
    # task_orientation = 50 + 0.8 x 35 - 0.1 x (-30) = 81
    assert derived["task_orientation"] == pytest.approx(81)
    # adaptability = 50 + 0.4 x 25 - 0.4 x (-30) + 0.1 x 40 = 50 + 10 + 12 + 4 = 76
    assert derived["adaptability"] == pytest.approx(76)


def test_derivation_weights_follow_what_the_traits_mean() -> None:
    weights = catalog.load("trait_rules")["derived"]
    assert set(weights) == set(DERIVED)
    for trait, row in weights.items():
        assert set(row) <= set(BIG_FIVE), trait
        # Absolute weights add up to at most 1, so 50 +- 50 x sum stays in 0..100 without clamping.
        assert sum(abs(w) for w in row.values()) <= 1 + 1e-9, trait
    main_source = {t: max(row, key=lambda k: abs(row[k])) for t, row in weights.items()}
    assert main_source["creativity"] == "openness"
    assert main_source["curiosity"] == "openness"
    assert main_source["empathy"] == "agreeableness"
    assert main_source["assertiveness"] == "extraversion"
    assert weights["assertiveness"]["agreeableness"] < 0
    assert main_source["social_orientation"] == "extraversion"
    assert main_source["task_orientation"] == "conscientiousness"


@given(big_fives)
def test_derived_traits_follow_the_documented_rule(five: dict[str, float]) -> None:
    weights = catalog.load("trait_rules")["derived"]
    derived = derive_traits(five)
    for trait in DERIVED:
        rule = 50 + sum(w * (five[k] - 50) for k, w in weights[trait].items())
        assert derived[trait] == pytest.approx(min(100, max(0, rule)))
        assert 0 <= derived[trait] <= 100


@given(big_fives, st.integers(1, 100))
def test_derived_traits_move_with_their_sources(five: dict[str, float], step: int) -> None:
    def raised(trait: str) -> dict[str, float]:
        return derive_traits({**five, trait: min(100.0, five[trait] + step)})

    base = derive_traits(five)
    if five["openness"] < 100:
        assert raised("openness")["creativity"] > base["creativity"]
        assert raised("openness")["curiosity"] > base["curiosity"]
    if five["agreeableness"] < 100:
        assert raised("agreeableness")["empathy"] > base["empathy"]
        assert raised("agreeableness")["assertiveness"] < base["assertiveness"]
    if five["extraversion"] < 100:
        assert raised("extraversion")["assertiveness"] > base["assertiveness"]
        assert raised("extraversion")["social_orientation"] > base["social_orientation"]


def test_derive_traits_needs_the_big_five() -> None:
    with pytest.raises(DomainError, match=r"^Neuroticism is missing"):
        derive_traits({k: v for k, v in NEUTRAL.items() if k != "neuroticism"})


# --- Random generation --------------------------------------------------------------------------------------

seeds = st.integers(-(2**63), 2**63)
leaning_ids = [leaning.id for leaning in list_leanings()]


@st.composite
def trait_ranges(draw: st.DrawFn) -> dict[str, tuple[float, float]]:
    chosen = draw(st.lists(st.sampled_from(ALL_TRAITS), unique=True, max_size=6))
    bounds = st.floats(0, 100, allow_nan=False) | st.integers(0, 100).map(float)
    result = {}
    for trait in chosen:
        low, high = sorted((draw(bounds), draw(bounds)))
        result[trait] = (low, high)
    return result


@given(seeds)
def test_random_traits_are_reproducible_and_in_range(seed: int) -> None:
    first = random_traits(seed)
    assert first == random_traits(seed)
    assert list(first) == list(ALL_TRAITS)
    assert all(0 <= v <= 100 and v == int(v) for v in first.values())


def test_different_seeds_give_different_personalities() -> None:
    assert len({tuple(random_traits(seed).values()) for seed in range(20)}) == 20


@given(seeds, trait_ranges(), st.lists(st.sampled_from(["more-creative", "warmer", "calmer"]), max_size=2))
def test_random_traits_respect_ranges_and_leanings(seed: int, ranges: dict, chosen: list[str]) -> None:
    presets = {leaning.id: leaning.ranges for leaning in list_leanings()}
    try:
        traits = random_traits(seed, chosen, ranges)
    except DomainError:
        # Only when a range and a leaning leave a trait no value.
        assert any(
            trait in presets[name] and (high < presets[name][trait][0] or low > presets[name][trait][1])
            for trait, (low, high) in ranges.items()
            for name in chosen
        )
        return
    assert traits == random_traits(seed, chosen, ranges)
    for trait, (low, high) in ranges.items():
        assert low <= traits[trait] <= high
    for name in chosen:
        for trait, (low, high) in presets[name].items():
            assert low <= traits[trait] <= high


def mean_of(trait: str, runs: list[dict[str, float]]) -> float:
    return statistics.fmean(run[trait] for run in runs)


BASELINE_SEEDS = range(400)


@pytest.fixture(scope="module")
def baseline() -> list[dict[str, float]]:
    return [random_traits(seed) for seed in BASELINE_SEEDS]


@pytest.mark.parametrize("leaning", leaning_ids)
def test_leanings_shift_the_mean_their_way(leaning: str, baseline: list[dict[str, float]]) -> None:
    ranges = {leaning.id: leaning.ranges for leaning in list_leanings()}[leaning]
    leaned = [random_traits(seed, [leaning]) for seed in BASELINE_SEEDS]
    for trait, (low, high) in ranges.items():
        # A floor raises the average, a ceiling lowers it; by a clear margin over 400 draws.
        if low > 0:
            assert mean_of(trait, leaned) > mean_of(trait, baseline) + 5, (trait, leaning)
        if high < 100:
            assert mean_of(trait, leaned) < mean_of(trait, baseline) - 5, (trait, leaning)


def test_named_leanings_go_the_intended_way(baseline: list[dict[str, float]]) -> None:
    def leaned(name: str) -> list[dict[str, float]]:
        return [random_traits(seed, [name]) for seed in BASELINE_SEEDS]

    assert mean_of("creativity", leaned("more-creative")) > mean_of("creativity", baseline)
    assert mean_of("neuroticism", leaned("calmer")) < mean_of("neuroticism", baseline)
    assert mean_of("extraversion", leaned("more-social")) > mean_of("extraversion", baseline)
    assert mean_of("technical_focus", leaned("more-analytical")) > mean_of("technical_focus", baseline)
    assert mean_of("empathy", leaned("warmer")) > mean_of("empathy", baseline)
    assert mean_of("assertiveness", leaned("bolder")) > mean_of("assertiveness", baseline)
    assert mean_of("humor", leaned("more-playful")) > mean_of("humor", baseline)
    # Derived traits follow the Big Five drawn: a calmer persona is more adaptable on average.
    assert mean_of("adaptability", leaned("calmer")) > mean_of("adaptability", baseline)


def test_the_required_leanings_exist_and_combine() -> None:
    required = {
        "more-creative",
        "calmer",
        "more-social",
        "more-analytical",
        "warmer",
        "bolder",
        "more-playful",
    }
    assert required <= set(leaning_ids)
    for pair in itertools.combinations(leaning_ids, 2):
        random_traits(1, pair)  # no two leanings contradict each other


def test_random_generation_errors() -> None:
    with pytest.raises(DomainError, match=r"There is no leaning called 'grumpier'"):
        random_traits(1, ["grumpier"])
    clash = r"No neuroticism value fits both the leaning 'calmer' \(0-35\) and your range \(60-80\)"
    with pytest.raises(DomainError, match=clash):
        random_traits(1, ["calmer"], {"neuroticism": (60, 80)})
    with pytest.raises(DomainError, match=r"range for humor must be two numbers from 0 to 100, low first"):
        random_traits(1, ranges={"humor": (80, 20)})
    with pytest.raises(DomainError, match=r"range for humor"):
        random_traits(1, ranges={"humor": (0, 120)})
    with pytest.raises(DomainError, match=r"range for humor"):
        random_traits(1, ranges={"humor": (10,)})  # type: ignore[dict-item]
    with pytest.raises(DomainError, match=r"no trait called 'wit'"):
        random_traits(1, ranges={"wit": (0, 10)})
    with pytest.raises(DomainError, match=r"seed must be a whole number"):
        random_traits(True)


def test_a_single_point_range_is_honoured() -> None:
    assert random_traits(5, ranges={"humor": (42.5, 42.5), "openness": (7, 7)})["humor"] == 42.5
    assert random_traits(5, ranges={"openness": (7, 7)})["openness"] == 7


# --- Default mood -------------------------------------------------------------------------------------------


def test_neutral_traits_have_a_neutral_mood() -> None:
    assert default_mood(NEUTRAL) == (0.0, 0.0, 0.0)
    assert mood_words(NEUTRAL) == "neutral"


def test_default_mood_of_the_friendly_assistant() -> None:
    # O 75, C 85, E 70, A 90, N 20 -> O' 0.5, C' 0.7, E' 0.4, A' 0.8, S' = (50 - 20) / 50 = 0.6
    # P = 0.21 x 0.4 + 0.59 x 0.8 + 0.19 x 0.6 = 0.084 + 0.472 + 0.114 = 0.670
    # A = 0.15 x 0.5 + 0.30 x 0.8 - 0.57 x 0.6 = 0.075 + 0.240 - 0.342 = -0.027
    # D = 0.25 x 0.5 + 0.17 x 0.7 + 0.60 x 0.4 - 0.32 x 0.8 = 0.125 + 0.119 + 0.240 - 0.256 = 0.228
    mood = default_mood(get_template("friendly-assistant").traits)
    assert mood == pytest.approx((0.670, -0.027, 0.228))
    # Signs + - + are "relaxed"; length sqrt(0.4489 + 0.000729 + 0.051984) = 0.708, between sqrt(3)/3 = 0.577
    # and 2 sqrt(3)/3 = 1.155: "moderately".
    assert mood_words(get_template("friendly-assistant").traits) == "moderately relaxed"


def test_neuroticism_enters_as_emotional_stability() -> None:
    # N 100, the rest 50: S' = (50 - 100) / 50 = -1, so P = 0.19 x -1 = -0.19 and A = -0.57 x -1 = 0.57.
    # (Reading N directly with the same signs, the wrong version, would give P +0.19 and A -0.57.)
    assert default_mood({**NEUTRAL, "neuroticism": 100}) == pytest.approx((-0.19, 0.57, 0.0))


def test_default_mood_is_clamped() -> None:
    # O, C, E 100 and A 0: D = 0.25 + 0.17 + 0.60 + 0.32 = 1.34 -> 1; P = 0.21 - 0.59 = -0.38;
    # A = 0.15 - 0.30 = -0.15.
    mood = default_mood({"openness": 100, "conscientiousness": 100, "extraversion": 100, "agreeableness": 0,
                         "neuroticism": 50})  # fmt: skip
    assert mood == pytest.approx((-0.38, -0.15, 1.0))
    # O, A, N 100: A = 0.15 + 0.30 + 0.57 = 1.02 -> 1.
    assert default_mood({**NEUTRAL, "openness": 100, "agreeableness": 100, "neuroticism": 100})[1] == 1.0


def test_default_mood_reads_only_the_big_five() -> None:
    assert default_mood({**NEUTRAL, "humor": 100, "whatever": 3}) == (0.0, 0.0, 0.0)
    with pytest.raises(DomainError, match=r"^Extraversion is missing"):
        default_mood({k: v for k, v in NEUTRAL.items() if k != "extraversion"})
    with pytest.raises(DomainError, match=r"^Openness must be from 0 to 100"):
        default_mood({**NEUTRAL, "openness": 150})


@given(big_fives, st.integers(1, 100))
def test_more_agreeableness_means_more_pleasure(five: dict[str, float], step: int) -> None:
    if five["agreeableness"] + step > 100:
        return
    warmer = {**five, "agreeableness": five["agreeableness"] + step}
    # P never reaches the clamp (0.21 + 0.59 + 0.19 = 0.99), so the rise is strict.
    assert default_mood(warmer).pleasure > default_mood(five).pleasure


@given(big_fives, st.integers(1, 100))
def test_more_neuroticism_means_more_arousal_and_less_pleasure(five: dict[str, float], step: int) -> None:
    if five["neuroticism"] + step > 100:
        return
    before = default_mood(five)
    after = default_mood({**five, "neuroticism": five["neuroticism"] + step})
    assert after.pleasure < before.pleasure
    assert after.arousal >= before.arousal
    if before.arousal > -1 and after.arousal < 1:  # strict unless the clamp flattens it
        assert after.arousal > before.arousal


@given(big_fives)
def test_default_mood_stays_in_the_cube(five: dict[str, float]) -> None:
    assert all(-1 <= axis <= 1 for axis in default_mood(five))


def test_mood_coefficients_live_in_data() -> None:
    mood = catalog.load("trait_rules")["mood"]
    assert mood["pleasure"] == {"extraversion": 0.21, "agreeableness": 0.59, "emotional_stability": 0.19}
    assert mood["arousal"] == {"openness": 0.15, "agreeableness": 0.30, "emotional_stability": -0.57}
    assert mood["dominance"] == {"openness": 0.25, "conscientiousness": 0.17, "extraversion": 0.60,
                                 "agreeableness": -0.32}  # fmt: skip


# --- Words --------------------------------------------------------------------------------------------------


def test_average_traits_say_nothing() -> None:
    assert describe_traits(dict.fromkeys(ALL_TRAITS, 50)) == []


def test_trait_words_follow_the_bands() -> None:
    words = catalog.load("trait_rules")["words"]["openness"]
    # Bands: under 20 very low, under 40 low, under 60 nothing, under 80 high, 80 and up very high.
    assert describe_traits({"openness": 0}) == [words["very_low"]]
    assert describe_traits({"openness": 19.9}) == [words["very_low"]]
    assert describe_traits({"openness": 20}) == [words["low"]]
    assert describe_traits({"openness": 40}) == []
    assert describe_traits({"openness": 59.9}) == []
    assert describe_traits({"openness": 60}) == [words["high"]]
    assert describe_traits({"openness": 80}) == ["very open to new ideas"]
    assert describe_traits({"extraversion": 30}) == ["reserved"]


def test_trait_words_come_in_trait_order_and_skip_custom_traits() -> None:
    described = describe_traits({"technicalFocus": 95, "sarcasm": 99, "openness": 95})
    assert described == ["very open to new ideas", "deeply technical"]


def test_every_trait_has_words_for_every_band_but_the_middle() -> None:
    words = catalog.load("trait_rules")["words"]
    for trait in ALL_TRAITS:
        assert set(words[trait]) == {"very_low", "low", "high", "very_high"}, trait


def test_templates_read_as_their_descriptions() -> None:
    assert "deeply empathetic" in describe_traits(get_template("calm-listener").traits)
    assert "very assertive" in describe_traits(get_template("grumpy-critic").traits)
    assert personality.mood_words(get_template("grumpy-critic").traits).endswith("hostile")
