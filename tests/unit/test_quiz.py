"""The IPIP questionnaires and their scoring (SCIENCE.md section 6). Expected values are worked by hand."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.core import quiz
from bot.core.errors import DomainError
from bot.core.traits import BIG_FIVE

# Keys in administration order, transcribed from the sources (Donnellan et al. 2006; Goldberg 1992).
MINI_IPIP_KEYS = [
    ("E", "+"), ("A", "+"), ("C", "+"), ("N", "+"), ("O", "+"),
    ("E", "-"), ("A", "-"), ("C", "-"), ("N", "-"), ("O", "-"),
    ("E", "+"), ("A", "+"), ("C", "+"), ("N", "+"), ("O", "-"),
    ("E", "-"), ("A", "-"), ("C", "-"), ("N", "-"), ("O", "-"),
]  # fmt: skip
IPIP_50_KEYS = "+-+-+-+-+-+-+-+-+-+-+-+-+-+---+-+-+-+--++++-+-++-+"
IPIP_50_SCALE_BY_REMAINDER = {1: "E", 2: "A", 3: "C", 4: "ES", 0: "O"}


def result(openness: float, conscientiousness: float, extraversion: float, agreeableness: float, n: float):
    return {
        "openness": openness,
        "conscientiousness": conscientiousness,
        "extraversion": extraversion,
        "agreeableness": agreeableness,
        "neuroticism": n,
    }


# --- The instruments as shipped -----------------------------------------------------------------------------


def test_the_instruments_on_offer() -> None:
    offered = {i.id: i for i in quiz.instruments()}
    assert list(offered) == ["mini-ipip", "ipip-50"]
    assert offered["mini-ipip"].question_count == 20
    assert offered["mini-ipip"].name == "Mini-IPIP"
    assert offered["ipip-50"].question_count == 50


def test_mini_ipip_items_and_keys() -> None:
    questions = quiz.questions("mini-ipip")
    assert [q.number for q in questions] == list(range(1, 21))
    assert [(q.scale, q.keyed) for q in questions] == MINI_IPIP_KEYS
    assert questions[0].text == "Am the life of the party"
    assert questions[7].text == "Often forget to put things back in their proper place"
    assert questions[19].text == "Do not have a good imagination"


def test_ipip_50_items_and_keys() -> None:
    questions = quiz.questions("ipip-50")
    assert [q.number for q in questions] == list(range(1, 51))
    assert "".join(q.keyed for q in questions) == IPIP_50_KEYS
    assert all(q.scale == IPIP_50_SCALE_BY_REMAINDER[q.number % 5] for q in questions)
    assert questions[0].text == "Am the life of the party"
    assert questions[28].text == "Get upset easily"
    assert questions[40].text == "Don't mind being the center of attention"
    assert questions[49].text == "Am full of ideas"


def test_answer_labels_run_from_very_inaccurate_to_very_accurate() -> None:
    labels = quiz.answer_labels()
    assert len(labels) == 5
    assert labels[0] == "Very inaccurate"
    assert labels[4] == "Very accurate"
    assert quiz.instructions().startswith("Describe yourself")


# --- Scoring: worked examples -------------------------------------------------------------------------------


@pytest.mark.parametrize(("instrument", "count"), [("mini-ipip", 20), ("ipip-50", 50)])
def test_all_neutral_answers_score_fifty_everywhere(instrument: str, count: int) -> None:
    # Every item scores 3 whatever its key: sum 3k, (3k - k) / 4k = 50%. For the IPIP-50, N = 100 - 50.
    assert quiz.score(instrument, [3] * count) == result(50, 50, 50, 50, 50)


def test_mini_ipip_all_fives() -> None:
    # E, A, C, N have two + and two - items: 5 + 5 + 1 + 1 = 12, (12 - 4) / 16 = 50.
    # O has one + item (5) and three - items (10, 15, 20): 5 + 1 + 1 + 1 = 8, (8 - 4) / 16 = 25.
    assert quiz.score("mini-ipip", [5] * 20) == result(25, 50, 50, 50, 50)


def test_mini_ipip_distinct_pattern() -> None:
    answers = [5, 4, 3, 2, 1, 1, 2, 3, 4, 5, 5, 4, 3, 2, 5, 1, 2, 3, 4, 5]
    # E items 1+, 6-, 11+, 16-: answers 5, 1, 5, 1 -> 5, 5, 5, 5 = 20 -> (20 - 4) / 16 = 100
    # A items 2+, 7-, 12+, 17-: answers 4, 2, 4, 2 -> 4, 4, 4, 4 = 16 -> 12 / 16 = 75
    # C items 3+, 8-, 13+, 18-: answers 3, 3, 3, 3 -> 12 -> 50
    # N items 4+, 9-, 14+, 19-: answers 2, 4, 2, 4 -> 2, 2, 2, 2 = 8 -> 4 / 16 = 25 (neuroticism, directly)
    # O items 5+, 10-, 15-, 20-: answers 1, 5, 5, 5 -> 1, 1, 1, 1 = 4 -> 0
    assert quiz.score("mini-ipip", answers) == result(0, 50, 100, 75, 25)


def test_ipip_50_all_fives() -> None:
    # Per scale (+ items, - items): E (5, 5): 25 + 5 = 30 -> (30 - 10) / 40 = 50
    # A (6, 4): 30 + 4 = 34 -> 60;  C (6, 4): 60;  O (7, 3): 35 + 3 = 38 -> 70
    # ES (2, 8): 10 + 8 = 18 -> 20, so N = 80
    assert quiz.score("ipip-50", [5] * 50) == result(70, 60, 50, 60, 80)


def test_ipip_50_distinct_pattern() -> None:
    # 2 everywhere except the C items (i mod 5 = 3), answered 5.
    answers = [5 if number % 5 == 3 else 2 for number in range(1, 51)]
    # E (5+, 5-): 5 x 2 + 5 x 4 = 30 -> 50
    # A (6+, 4-): 6 x 2 + 4 x 4 = 28 -> 18 / 40 = 45
    # C (6+, 4-): 6 x 5 + 4 x 1 = 34 -> 24 / 40 = 60
    # ES (2+, 8-): 2 x 2 + 8 x 4 = 36 -> 26 / 40 = 65, so N = 35
    # O (7+, 3-): 7 x 2 + 3 x 4 = 26 -> 16 / 40 = 40
    assert quiz.score("ipip-50", answers) == result(40, 60, 50, 45, 35)


def test_ipip_50_keyed_answers_give_the_extremes() -> None:
    # "Very accurate" on every + item and "very inaccurate" on every - item: every item scores 5, every scale
    # 100; emotional stability 100 means neuroticism 0.
    answers = [5 if key == "+" else 1 for key in IPIP_50_KEYS]
    assert quiz.score("ipip-50", answers) == result(100, 100, 100, 100, 0)
    opposite = [6 - a for a in answers]
    assert quiz.score("ipip-50", opposite) == result(0, 0, 0, 0, 100)


# --- Scoring: keying rules ----------------------------------------------------------------------------------


def answers_with(count: int, changes: dict[int, int]) -> list[int]:
    """All 3s, except the given (1-based) items."""
    return [changes.get(number, 3) for number in range(1, count + 1)]


def test_reverse_keyed_item_scores_six_minus_the_answer() -> None:
    # Item 6 "Don't talk a lot" is E-. Answer 1 scores 5: E sum 3 + 5 + 3 + 3 = 14 -> (14 - 4) / 16 = 62.5.
    assert quiz.score("mini-ipip", answers_with(20, {6: 1}))["extraversion"] == 62.5
    # Answer 5 scores 1: sum 10 -> 37.5.
    assert quiz.score("mini-ipip", answers_with(20, {6: 5}))["extraversion"] == 37.5
    # Item 1 "Am the life of the party" is E+: answer 5 scores 5 -> 62.5.
    assert quiz.score("mini-ipip", answers_with(20, {1: 5}))["extraversion"] == 62.5


def test_mini_ipip_scores_neuroticism_directly() -> None:
    # Item 4 "Have frequent mood swings" is N+: answer 5 -> N sum 14 -> 62.5.
    assert quiz.score("mini-ipip", answers_with(20, {4: 5}))["neuroticism"] == 62.5
    # Item 9 "Am relaxed most of the time" is N-: answer 5 scores 1 -> sum 10 -> 37.5.
    assert quiz.score("mini-ipip", answers_with(20, {9: 5}))["neuroticism"] == 37.5


def test_ipip_50_turns_emotional_stability_into_neuroticism() -> None:
    # Item 9 "Am relaxed most of the time" is ES+: answer 5 -> ES sum 30 - 3 + 5 = 32 -> 22 / 40 = 55 -> N 45.
    assert quiz.score("ipip-50", answers_with(50, {9: 5}))["neuroticism"] == 45
    # Item 4 "Get stressed out easily" is ES-: answer 5 scores 1 -> ES 28 -> 45 -> N 55.
    assert quiz.score("ipip-50", answers_with(50, {4: 5}))["neuroticism"] == 55
    # Item 7 is A+ (7 mod 5 = 2): only agreeableness moves, by 2 / 40 = 5 points.
    moved = quiz.score("ipip-50", answers_with(50, {7: 5}))
    assert moved == result(50, 50, 50, 55, 50)


def test_accepts_whole_floats_and_loose_instrument_names() -> None:
    assert quiz.score(" Mini-IPIP ", [3.0] * 20) == result(50, 50, 50, 50, 50)


@given(st.sampled_from(["mini-ipip", "ipip-50"]).flatmap(
    lambda name: st.tuples(st.just(name), st.lists(st.integers(1, 5), min_size=len(quiz.questions(name)),
                                                    max_size=len(quiz.questions(name))))
))  # fmt: skip
def test_scores_are_the_big_five_within_0_and_100(case: tuple[str, list[int]]) -> None:
    instrument, answers = case
    scores = quiz.score(instrument, answers)
    assert list(scores) == list(BIG_FIVE)
    assert all(0 <= value <= 100 for value in scores.values())


@given(st.lists(st.integers(1, 5), min_size=20, max_size=20), st.integers(0, 19))
def test_agreeing_more_with_an_item_moves_its_scale_its_way(answers: list[int], index: int) -> None:
    if answers[index] == 5:
        return
    trait = {"E": "extraversion", "A": "agreeableness", "C": "conscientiousness", "N": "neuroticism"}.get(
        MINI_IPIP_KEYS[index][0], "openness"
    )
    before = quiz.score("mini-ipip", answers)[trait]
    answers[index] += 1
    after = quiz.score("mini-ipip", answers)[trait]
    # One step on one item of a four-item scale is 1 / 16 of the range: 6.25 points.
    step = 6.25 if MINI_IPIP_KEYS[index][1] == "+" else -6.25
    assert after - before == step


# --- Errors -------------------------------------------------------------------------------------------------


def test_wrong_number_of_answers_says_how_many() -> None:
    with pytest.raises(ValueError, match=r"^The Mini-IPIP has 20 questions; got 19 answers\.$"):
        quiz.score("mini-ipip", [3] * 19)
    with pytest.raises(DomainError, match=r"^The IPIP-50 has 50 questions; got 20 answers\.$"):
        quiz.score("ipip-50", [3] * 20)


def test_answer_out_of_range_says_which() -> None:
    answers = [3] * 20
    answers[6] = 6
    with pytest.raises(
        ValueError, match=r"^Answer 7 is 6; answers go from 1 \(very inaccurate\) to 5 \(very accurate\)\.$"
    ):
        quiz.score("mini-ipip", answers)
    answers[6] = 3
    answers[0] = 0
    with pytest.raises(DomainError, match=r"^Answer 1 is 0;"):
        quiz.score("mini-ipip", answers)


@pytest.mark.parametrize("bad", [2.5, True, "3", None, float("nan")])
def test_answers_must_be_whole_numbers(bad: object) -> None:
    answers: list[object] = [3] * 50
    answers[41] = bad
    with pytest.raises(DomainError, match=r"^Answer 42 is "):
        quiz.score("ipip-50", answers)  # type: ignore[arg-type]


def test_unknown_instrument_is_refused() -> None:
    with pytest.raises(ValueError, match=r"'bfi-10'.*mini-ipip or ipip-50"):
        quiz.score("bfi-10", [3] * 10)
    with pytest.raises(DomainError, match="bfi"):
        quiz.questions("bfi")


def test_answers_must_be_a_list() -> None:
    with pytest.raises(DomainError, match="list"):
        quiz.score("mini-ipip", "33333333333333333333")  # type: ignore[arg-type]
