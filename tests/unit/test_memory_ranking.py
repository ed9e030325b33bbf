"""The hybrid ranking (``bot.core.memory.ranking``, docs/retrieval.md): reciprocal rank fusion, recency from now,
and adjustments that never lift an irrelevant memory over a relevant one."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.core import memory
from bot.core.memory import ranking

finite = st.floats(min_value=0.0, max_value=1e6, allow_nan=False)
unit = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)
weight = st.floats(min_value=0.0, max_value=100.0, allow_nan=False)
Case = tuple[list[float], int, list[float], list[float], list[float], tuple[float, float, float]]


@st.composite
def candidates(draw: st.DrawFn) -> Case:
    size = draw(st.integers(min_value=1, max_value=40))
    lists = draw(st.integers(min_value=1, max_value=4))
    # A fused sum is 0 (no list found it) or at least one list's 1/(60 + rank) for some rank up to 10,000.
    fused = draw(
        st.lists(
            st.one_of(st.just(0.0), st.floats(min_value=1 / 10_060, max_value=lists / 61)),
            min_size=size,
            max_size=size,
        )
    )
    hours = draw(st.lists(finite, min_size=size, max_size=size))
    importance = draw(st.lists(st.integers(min_value=1, max_value=10).map(float), min_size=size, max_size=size))
    strength = draw(st.lists(unit, min_size=size, max_size=size))
    weights = draw(st.tuples(weight, weight, weight).filter(lambda w: sum(w) > 0))
    return fused, lists, hours, importance, strength, weights


@given(candidates())
def test_no_irrelevant_memory_ranks_above_a_relevant_one(case: Case) -> None:
    fused, lists, hours, importance, strength, weights = case
    parts = memory.hybrid_parts(fused, lists, hours, importance, strength, weights)
    order = memory.hybrid_order(parts, len(parts))
    relevant = [parts[i].relevant for i in order]
    # Every relevant candidate comes before every irrelevant one ...
    assert relevant == sorted(relevant, reverse=True)
    # ... and the score alone says so too: relevant scores lie in (1, 2], the others in [0, 1]; the chat path's
    # scores-only ranking is the same.
    scores = memory.hybrid_scores(fused, lists, hours, importance, strength, weights)
    assert scores == [part.score for part in parts]
    assert memory.best_scores(scores, len(scores)) == order
    for part in parts:
        assert (1.0 < part.score <= 2.0) if part.relevant else (0.0 <= part.score <= 1.0)
        assert part.relevant == (part.fused > 0)


@given(candidates())
def test_the_adjustments_never_outweigh_more_than_the_bounded_boost(case: Case) -> None:
    # Within the relevant band, a candidate can only pass one whose relevance is at most (1 + beta) times its own.
    fused, lists, hours, importance, strength, weights = case
    parts = memory.hybrid_parts(fused, lists, hours, importance, strength, weights)
    beta = ranking.boost(weights)
    for a in parts:
        for b in parts:
            if a.relevant and b.relevant and a.relevance > (1 + beta) * b.relevance * (1 + 1e-9):
                assert a.score >= b.score


def test_reciprocal_rank_fusion_hand_worked() -> None:
    # Cormack et al. 2009, k = 60: x is 1st and 3rd -> 1/61 + 1/63; y is 2nd in the first list only -> 1/62.
    fused = memory.fuse([["x", "y", "z"], ["z", "w", "x"]], rrf_k=60)
    assert fused == pytest.approx({"x": 1 / 61 + 1 / 63, "y": 1 / 62, "z": 1 / 63 + 1 / 61, "w": 1 / 62})
    assert memory.fuse([["x", "x", "y"]]) == pytest.approx({"x": 1 / 61, "y": 1 / 63})  # a repeat keeps its place
    assert memory.fuse([]) == {}
    with pytest.raises(ValueError):
        memory.fuse([["x"]], rrf_k=-1)


def test_recency_decays_from_now_not_from_the_newest_memory() -> None:
    # 0.995 per hour: a day 0.886654, a year (8,760 h) practically 0, whatever the other candidates are.
    assert memory.recency(0.0) == 1.0 and memory.recency(24.0) == pytest.approx(0.886654, abs=1e-6)
    assert memory.recency(8760.0) < 1e-15
    assert memory.recency(-5.0) == 1.0  # an access "in the future" (clock skew) counts as now
    year_old = memory.hybrid_parts([0.0, 0.0], 1, [8760.0, 8761.0], [5.0, 5.0], [1.0, 1.0], (1.0, 1.0, 1.0))
    # The old rescaling made the newer of two year-old memories recency 1.0; now both are as old as they are.
    assert [p.recency for p in year_old] == pytest.approx([0.0, 0.0], abs=1e-15)


def test_hybrid_parts_hand_worked() -> None:
    # weights (1, 1, 1): beta = 0.5 * 2/3 = 1/3; strength weight 0.5.
    # Candidate 0: text rank 1 of 1 list -> relevance 1; 0 h, importance 10, strength 1 -> adjustment 1
    #   score = 1 + 1 * (1 + 1/3) / (4/3) = 2.
    # Candidate 1: rank 2 -> relevance 61/62; 24 h (0.886654), importance 5, strength 0.5
    #   adjustment = (0.886654 + 0.5 + 0.25) / 2.5 = 0.654661; score = 1 + (61/62)(1 + 0.218220)/(4/3) = 1.898929.
    # Candidate 2: no list -> score = its adjustment (1 + 1 + 0.5) / 2.5 = 1.0, still not above a relevant one.
    parts = memory.hybrid_parts(
        [1 / 61, 1 / 62, 0.0], 1, [0.0, 24.0, 0.0], [10.0, 5.0, 10.0], [1.0, 0.5, 1.0], (1.0, 1.0, 1.0)
    )
    assert [p.score for p in parts] == pytest.approx([2.0, 1.898929, 1.0], abs=1e-6)
    assert parts[1].adjustment == pytest.approx(0.654661, abs=1e-6)
    assert memory.hybrid_order(parts, 3) == [0, 1, 2] and memory.hybrid_order(parts, 0) == []


def test_no_content_words_fall_back_to_recency_importance_and_strength() -> None:
    assert memory.content_words(["hi", "how", "are", "you"]) == []
    assert memory.content_words(["how", "is", "tom", "the", "cat"]) == ["tom", "cat"]
    # No candidate is relevant: the newest, most important, strongest first.
    parts = memory.hybrid_parts([0.0] * 3, 1, [100.0, 0.0, 0.0], [5.0, 5.0, 9.0], [1.0] * 3, (1.0, 1.0, 1.0))
    assert memory.hybrid_order(parts, 3) == [2, 1, 0]


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError):
        memory.hybrid_parts([0.1], 1, [], [1.0], [1.0], (1.0, 1.0, 1.0))
    with pytest.raises(ValueError):
        memory.hybrid_parts([0.1], 1, [1.0], [1.0], [1.0], (1.0, -1.0, 1.0))
    # Not-finite inputs count as nothing rather than poisoning the order.
    parts = memory.hybrid_parts([float("nan")], 1, [1.0], [float("inf")], [float("nan")], (1.0, 1.0, 1.0))
    assert not parts[0].relevant and 0.0 <= parts[0].score <= 1.0


@given(
    st.lists(st.tuples(st.floats(min_value=0.0, max_value=2.0), st.sampled_from([1, 2])), min_size=1, max_size=30),
    st.integers(min_value=0, max_value=35),
)
def test_a_higher_tier_comes_first_whatever_the_scores(items: list[tuple[float, int]], k: int) -> None:
    scores = [score for score, _ in items]
    tiers = [tier for _, tier in items]
    chosen = memory.best_scores(scores, k, tiers)
    assert len(chosen) == min(k, len(items))
    ranked = [(tiers[i], scores[i]) for i in chosen]
    assert ranked == sorted(ranked, reverse=True)  # by tier, then by score
    left_out = set(range(len(items))) - set(chosen)
    assert all((tiers[i], scores[i]) <= ranked[-1] for i in left_out) if chosen else True
    # Without tiers, the scores alone.
    assert memory.best_scores(scores, k) == sorted(range(len(items)), key=lambda i: (-scores[i], i))[:k]


def test_by_relevance_puts_a_higher_tier_first() -> None:
    # Candidate 0 matches best but only by meaning (tier 1); 1 and 2 match words (tier 2); 3 matches nothing.
    fused, scores, tiers = [0.9, 0.5, 0.7, 0.0], [1.9, 1.5, 1.7, 0.4], [1, 2, 2, 2]
    assert memory.by_relevance(fused, scores, 10) == [0, 2, 1]
    assert memory.by_relevance(fused, scores, 10, tiers) == [2, 1, 0]
    with pytest.raises(ValueError):
        memory.best_scores(scores, 2, tiers[:2])
