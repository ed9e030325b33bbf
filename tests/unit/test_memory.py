"""bot.core.memory: decay, exemptions, recall, retrieval, tiers, capacity, health, near-duplicates, config.

Expected numbers are worked by hand in the comments next to them.
"""

from __future__ import annotations

import math
import sqlite3
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core import memory
from bot.core.errors import DomainError
from bot.core.memory import MemoryConfig, MemoryItem
from bot.core.memory.config import setting_words

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


def item(
    id: int,
    *,
    importance: int = 5,
    strength: float = 1.0,
    stability: float = 1.0,
    tier: str = "warm",
    pinned: bool = False,
    category: str = "chat",
    content_size: int = 100,
    accessed_days_ago: float = 1.0,
    created_days_ago: float = 10.0,
    access_count: int = 0,
    cold_days_ago: float | None = None,
) -> MemoryItem:
    return MemoryItem(
        id=id,
        content_size=content_size,
        category=category,
        importance=importance,
        strength=strength,
        stability=stability,
        tier=tier,
        pinned=pinned,
        created_at=NOW - timedelta(days=created_days_ago),
        last_accessed_at=NOW - timedelta(days=accessed_days_ago),
        access_count=access_count,
        cold_since=None if cold_days_ago is None else NOW - timedelta(days=cold_days_ago),
    )


def config(**changes: Any) -> MemoryConfig:
    return replace(memory.preset("balanced"), **changes)


# ------------------------------------------------------------------------------------------------- decay


def test_linear_retention_hand_worked() -> None:
    # 1 - 0.05 * 4 = 0.8
    assert memory.retention("linear", 0.05, 4.0) == pytest.approx(0.8)
    # 0.9 - 0.1 * 2.5 = 0.65
    assert memory.retention("linear", 0.1, 2.5, start=0.9) == pytest.approx(0.65)
    # 1 - 0.3 * 5 = -0.5, floored at 0
    assert memory.retention("linear", 0.3, 5.0) == 0.0


def test_exponential_retention_hand_worked() -> None:
    # e^(-0.1 * 10) = e^-1 = 0.3678794
    assert memory.retention("exponential", 0.1, 10.0) == pytest.approx(0.3678794, abs=1e-7)
    # 0.8 * e^-1 = 0.2943035
    assert memory.retention("exponential", 0.1, 10.0, start=0.8) == pytest.approx(0.2943035, abs=1e-7)
    # ln 2 / 0.05 = 13.8629 days is the half-life
    assert memory.retention("exponential", 0.05, math.log(2) / 0.05) == pytest.approx(0.5)


def test_logarithmic_retention_hand_worked() -> None:
    # t = e - 1 -> ln(1 + t) = 1 -> 1 - 0.2 * 1 = 0.8
    assert memory.retention("logarithmic", 0.2, math.e - 1) == pytest.approx(0.8)
    # t = e^2 - 1 -> ln(1 + t) = 2 -> 0.5 - 0.3 * 2 = -0.1, floored at 0
    assert memory.retention("logarithmic", 0.3, math.e**2 - 1, start=0.5) == 0.0


@pytest.mark.parametrize("function", memory.DECAY_FUNCTIONS)
def test_no_time_or_no_rate_keeps_strength(function: str) -> None:
    assert memory.retention(function, 0.4, 0.0, start=0.7) == pytest.approx(0.7)
    assert memory.retention(function, 0.0, 30.0, start=0.7) == pytest.approx(0.7)


@pytest.mark.parametrize(
    ("function", "rate", "days"),
    [
        ("cubic", 0.1, 1.0),
        ("Exponential ", 0.1, 1.0),
        ("linear", -0.1, 1.0),
        ("exponential", 0.1, -1.0),
        ("logarithmic", math.nan, 1.0),
        ("linear", 0.1, math.inf),
    ],
)
def test_retention_rejects_bad_arguments(function: str, rate: float, days: float) -> None:
    with pytest.raises(ValueError):
        memory.retention(function, rate, days)


def test_decay_step_rejects_negative_times() -> None:
    with pytest.raises(ValueError):
        memory.decay_step("linear", 0.1, 1.0, -1.0, 3.0)
    with pytest.raises(ValueError):
        memory.decay_step("linear", 0.1, 1.0, 1.0, -3.0)


def test_decay_step_hand_worked() -> None:
    # exponential: 0.5 * e^(-0.1 * 2) = 0.5 * 0.8187308 = 0.4093654
    assert memory.decay_step("exponential", 0.1, 0.5, 2.0, 5.0) == pytest.approx(0.4093654, abs=1e-7)
    # linear: 0.9 - 0.2 * 1.5 = 0.6
    assert memory.decay_step("linear", 0.2, 0.9, 1.5, 4.0) == pytest.approx(0.6)
    # logarithmic: t2 = e^2 - 1, t1 = e - 1 (dt = e^2 - e): 0.9 - 0.5 * (2 - 1) = 0.4
    t2 = math.e**2 - 1
    assert memory.decay_step("logarithmic", 0.5, 0.9, math.e**2 - math.e, t2) == pytest.approx(0.4)


def test_decay_step_counts_only_time_since_a_later_access() -> None:
    # previous run 10 days ago, but accessed 3 days ago: 1 - 0.1 * 3 = 0.7 (not 1 - 0.1 * 10 = 0)
    assert memory.decay_step("linear", 0.1, 1.0, 10.0, 3.0) == pytest.approx(0.7)
    # logarithmic from the access: 1 - 0.2 * (ln(1 + (e - 1)) - ln 1) = 0.8
    assert memory.decay_step("logarithmic", 0.2, 1.0, 50.0, math.e - 1) == pytest.approx(0.8)


@settings(max_examples=300)
@given(
    function=st.sampled_from(memory.DECAY_FUNCTIONS),
    rate=st.floats(min_value=0.0, max_value=3.0),
    start=st.floats(min_value=0.0, max_value=1.0),
    steps=st.lists(st.floats(min_value=0.0, max_value=60.0), min_size=1, max_size=12),
)
def test_incremental_decay_equals_one_application(function: str, rate: float, start: float, steps: list[float]) -> None:
    strength, since_access = start, 0.0
    for dt in steps:
        since_access += dt
        strength = memory.decay_step(function, rate, strength, dt, since_access)
    total = memory.retention(function, rate, since_access, start=start)
    assert strength == pytest.approx(total, rel=1e-9, abs=1e-9)


@settings(max_examples=100)
@given(
    function=st.sampled_from(memory.DECAY_FUNCTIONS),
    rate=st.floats(min_value=0.0, max_value=2.0),
    stability=st.floats(min_value=1.0, max_value=10.0),
    strength=st.floats(min_value=0.0, max_value=1.0),
    dt=st.floats(min_value=0.0, max_value=40.0),
    t=st.floats(min_value=0.0, max_value=40.0),
)
def test_sql_form_matches_decay_step(
    function: str, rate: float, stability: float, strength: float, dt: float, t: float
) -> None:
    expression = memory.decay_sql(function)
    db = sqlite3.connect(":memory:")
    try:
        (value,) = db.execute(
            f"SELECT {expression} FROM (SELECT :s AS strength, :stab AS stability, :t AS t)",
            {"s": strength, "stab": stability, "t": t, "rate": rate, "dt": dt},
        ).fetchone()
    finally:
        db.close()
    expected = memory.decay_step(function, memory.effective_rate(rate, stability), strength, dt, t)
    assert value == pytest.approx(expected, rel=1e-9, abs=1e-12)


def test_decayed_strength_divides_the_rate_by_stability() -> None:
    cfg = config(decay_function="exponential", decay_rate=0.1)
    # stability 2, accessed 10 days ago, never run: e^(-(0.1 / 2) * 10) = e^-0.5 = 0.6065307
    weak = item(1, stability=2.0, accessed_days_ago=10.0)
    assert memory.decayed_strength(weak, cfg, NOW, None) == pytest.approx(0.6065307, abs=1e-7)
    # last run 4 days ago, strength then 0.8: 0.8 * e^(-0.05 * 4) = 0.8 * 0.8187308 = 0.6549846
    stored = replace(weak, strength=0.8)
    assert memory.decayed_strength(stored, cfg, NOW, NOW - timedelta(days=4)) == pytest.approx(0.6549846, abs=1e-7)


def test_decayed_strength_skips_exempt_and_disabled() -> None:
    cfg = config(decay_rate=0.5)
    assert memory.decayed_strength(item(1, strength=0.6, pinned=True), cfg, NOW, None) == 0.6
    old = item(2, strength=0.6, accessed_days_ago=30.0)
    assert memory.decayed_strength(old, replace(cfg, decay_enabled=False), NOW, None) == 0.6
    assert memory.decayed_strength(old, cfg, NOW, None) < 0.6


def test_decay_due_follows_the_schedule() -> None:
    assert memory.decay_due("daily", None, NOW)
    assert not memory.decay_due("daily", NOW - timedelta(hours=23), NOW)
    assert memory.decay_due("daily", NOW - timedelta(hours=24), NOW)
    assert not memory.decay_due("weekly", NOW - timedelta(days=6), NOW)
    assert memory.decay_due("weekly", NOW - timedelta(days=7), NOW)
    assert memory.decay_due("continuous", NOW, NOW)
    with pytest.raises(DomainError):
        memory.decay_due("hourly", None, NOW)


# -------------------------------------------------------------------------------------------- exemptions


def test_pinned_is_exempt_only_when_configured() -> None:
    pinned = item(1, pinned=True, importance=3)
    assert memory.is_exempt(pinned, config(pinned_memories_exempt=True))
    assert not memory.is_exempt(pinned, config(pinned_memories_exempt=False))


def test_exempt_category_is_exempt() -> None:
    cfg = config(exempt_categories=("identity",))
    assert memory.is_exempt(item(1, category="identity"), cfg)
    assert memory.is_exempt(item(2, category="  Identity "), cfg)
    assert not memory.is_exempt(item(3, category="small talk"), cfg)


def test_high_importance_is_exempt_from_the_threshold_up() -> None:
    cfg = config(high_importance_threshold=9, exempt_categories=())
    assert memory.is_exempt(item(1, importance=9), cfg)
    assert memory.is_exempt(item(2, importance=10), cfg)
    assert not memory.is_exempt(item(3, importance=8), cfg)


# ---------------------------------------------------------------------------------------------- recall


def test_recall_resets_time_and_strength_and_raises_stability() -> None:
    before = item(1, strength=0.3, stability=2.0, access_count=4, accessed_days_ago=12.0)
    after = memory.recall(before, NOW)
    assert after.last_accessed_at == NOW
    assert after.strength == 1.0
    assert after.stability == 3.0  # 2 + 1
    assert after.access_count == 5
    # the next 10 days decay at 0.1 / 3: e^(-1/3) = 0.7165313, slower than e^(-0.5) at stability 2
    cfg = config(decay_function="exponential", decay_rate=0.1)
    later = NOW + timedelta(days=10)
    assert memory.decayed_strength(after, cfg, later, None) == pytest.approx(0.7165313, abs=1e-7)


def test_recall_brings_a_cold_memory_back_to_warm() -> None:
    after = memory.recall(item(1, tier="cold", cold_days_ago=80.0), NOW)
    assert after.tier == "warm"
    assert after.cold_since is None
    assert memory.recall(item(2, tier="hot"), NOW).tier == "hot"


# ------------------------------------------------------------------------------------------- retrieval


def test_retrieval_scores_three_candidates_hand_worked() -> None:
    # recency: 0.995^0 = 1, 0.995^10 = 0.9511101, 0.995^20 = 0.9046104
    #   normalised: 1, (0.9511101 - 0.9046104) / (1 - 0.9046104) = 0.0464997 / 0.0953896 = 0.487471, 0
    # importance 1, 5, 9 -> 0, 0.5, 1; relevance constant -> 0.5 each
    scores = memory.retrieval_scores([0.0, 10.0, 20.0], [1, 5, 9], [0.2, 0.2, 0.2])
    assert scores == pytest.approx([1.5, 1.487471, 1.5], abs=1e-5)


def test_retrieval_scores_weights() -> None:
    # weights (2, 0, 1): 2 * 1 + 0.5 = 2.5; 2 * 0.487471 + 0.5 = 1.474942; 0 + 0.5 = 0.5
    scores = memory.retrieval_scores([0.0, 10.0, 20.0], [1, 5, 9], [0.2, 0.2, 0.2], weights=(2.0, 0.0, 1.0))
    assert scores == pytest.approx([2.5, 1.474942, 0.5], abs=1e-5)


def test_constant_columns_score_one_half() -> None:
    # recency and importance constant -> 0.5 + 0.5; relevance 0 -> 0, 1 -> 1
    assert memory.retrieval_scores([3.0, 3.0], [7, 7], [0.0, 1.0]) == pytest.approx([1.0, 2.0])
    assert memory.retrieval_scores([5.0], [2], [0.3]) == pytest.approx([1.5])


def test_retrieval_scores_edge_cases() -> None:
    assert memory.retrieval_scores([], [], []) == []
    with pytest.raises(ValueError):
        memory.retrieval_scores([1.0, 2.0], [1], [0.5, 0.5])
    with pytest.raises(ValueError):
        memory.retrieval_scores([-1.0], [1], [0.5])
    with pytest.raises(ValueError):
        memory.retrieval_scores([1.0], [1], [0.5], weights=(1.0, -1.0, 1.0))


def test_top_k_breaks_ties_by_index() -> None:
    # scores 1.5, 1.487471, 1.5 (above): the two 1.5 tie, the lower index first
    assert memory.top_k([0.0, 10.0, 20.0], [1, 5, 9], [0.2, 0.2, 0.2], k=2) == [0, 2]
    assert memory.top_k([0.0, 10.0, 20.0], [1, 5, 9], [0.2, 0.2, 0.2], k=5) == [0, 2, 1]
    assert memory.top_k([0.0, 10.0, 20.0], [1, 5, 9], [0.2, 0.2, 0.2], k=0) == []


# ------------------------------------------------------------------------------------- tiers, capacity


def store() -> list[MemoryItem]:
    """Six memories. Values with weights (1, 1): (strength + (importance - 1) / 9) / 2.

    id 1: (1.0 + 9/9) / 2 = 1.0      id 2: (1.0 + 0) / 2 = 0.5      id 3: (0.5 + 3/9) / 2 = 0.416667
    id 4: (0.2 + 0) / 2 = 0.1        id 5: pinned, (0 + 0) / 2 = 0  id 6: (0 + 6/9) / 2 = 0.333333
    Ranked: pinned 5 first, then 1, 2, 3, 6, 4. With hot 2 and warm 2: hot 5, 1; warm 2, 3; cold 6, 4.
    """
    return [
        item(1, importance=10, strength=1.0, tier="hot", content_size=400),
        item(2, importance=1, strength=1.0, tier="warm", content_size=300),
        item(3, importance=4, strength=0.5, tier="warm", content_size=300),
        item(4, importance=1, strength=0.2, tier="cold", content_size=200, cold_days_ago=5.0),
        item(5, importance=1, strength=0.0, tier="hot", pinned=True, content_size=500),
        item(6, importance=7, strength=0.0, tier="cold", content_size=100, cold_days_ago=5.0),
    ]


SMALL = {"hot_memory_size": 2, "warm_memory_size": 2}


def test_memory_value_hand_worked() -> None:
    cfg = config()
    assert memory.memory_value(item(3, importance=4, strength=0.5), cfg) == pytest.approx(0.416667, abs=1e-6)
    # weights (3, 1): (3 * 0.5 + 1 * 3/9) / 4 = (1.5 + 0.333333) / 4 = 0.458333
    weighted = config(weight_recency=3.0, weight_importance=1.0)
    assert memory.memory_value(item(3, importance=4, strength=0.5), weighted) == pytest.approx(0.458333, abs=1e-6)


def test_assign_tiers_by_value_with_pinned_first() -> None:
    tiers = memory.assign_tiers(store(), config(**SMALL), NOW)
    assert tiers == {5: "hot", 1: "hot", 2: "warm", 3: "warm", 6: "cold", 4: "cold"}


def test_pinned_overflow_goes_warm_never_cold() -> None:
    items = [item(i, pinned=True, importance=i) for i in (1, 2, 3)] + [item(9, importance=10)]
    # hot 1, warm 1: pinned rank 3, 2, 1 by value; 3 hot, 2 warm, 1 warm (overflow); unpinned 9 cold
    tiers = memory.assign_tiers(items, config(hot_memory_size=1, warm_memory_size=1), NOW)
    assert tiers == {3: "hot", 2: "warm", 1: "warm", 9: "cold"}


def test_assign_tiers_ties_go_to_the_more_recent() -> None:
    items = [item(1, accessed_days_ago=5.0), item(2, accessed_days_ago=1.0), item(3, accessed_days_ago=5.0)]
    tiers = memory.assign_tiers(items, config(hot_memory_size=1, warm_memory_size=1), NOW)
    # equal values: 2 (most recent) hot, then 1 before 3 by id
    assert tiers == {2: "hot", 1: "warm", 3: "cold"}


def test_evict_by_count_lowest_value_first_never_pinned() -> None:
    # 6 memories, at most 4: drop 6 - 4 = 2, the lowest unpinned values 4 (0.1) then 6 (0.333);
    # pinned 5 (value 0, the lowest of all) stays
    assert memory.evict_for_capacity(store(), config(max_entities=4), NOW) == [4, 6]
    # at most 3: 6 - 3 = 3 go, next is 3 (0.416667)
    assert memory.evict_for_capacity(store(), config(max_entities=3), NOW) == [4, 6, 3]
    assert memory.evict_for_capacity(store(), config(max_entities=6), NOW) == []


def test_evict_by_size_in_decimal_megabytes() -> None:
    # 0.001 MB = 1,000 bytes; the store holds 400+300+300+200+500+100 = 1,800
    # drop 4 (-> 1,600), 6 (-> 1,500), 3 (-> 1,200), 2 (-> 900 <= 1,000); pinned 5 is never a candidate
    assert memory.evict_for_capacity(store(), config(max_memory_size_mb=0.001), NOW) == [4, 6, 3, 2]
    # 0.0018 MB = 1,800 bytes: exactly at the limit, nothing goes
    assert memory.evict_for_capacity(store(), config(max_memory_size_mb=0.0018), NOW) == []


def test_evict_never_touches_pinned_even_when_still_over() -> None:
    items = [item(i, pinned=True) for i in range(1, 5)]
    assert memory.evict_for_capacity(items, config(max_entities=1), NOW) == []


def test_expired_cold() -> None:
    cfg = config(cold_memory_retention_days=30)
    items = [
        item(1, tier="cold", cold_days_ago=31.0),
        item(2, tier="cold", cold_days_ago=30.0),  # exactly 30: not longer than 30
        item(3, tier="cold", cold_days_ago=29.0),
        item(4, tier="cold", cold_days_ago=100.0, pinned=True),
        item(5, tier="cold", cold_days_ago=100.0, importance=10),
        item(6, tier="cold", cold_days_ago=None),
        item(7, tier="warm", cold_days_ago=100.0),
        item(8, tier="cold", cold_days_ago=45.0),
    ]
    assert memory.expired_cold(items, cfg, NOW) == [1, 8]


# ---------------------------------------------------------------------------------------------- health


def test_perfectly_tiered_store_is_healthy() -> None:
    report = memory.health(store(), config(**SMALL), NOW, NOW - timedelta(days=1))
    assert report.fragmentation == 0.0
    assert (report.hot_count, report.warm_count, report.cold_count) == (2, 2, 2)
    assert report.hot_usage == 1.0  # 2 / 2
    assert report.warm_usage == 1.0
    assert report.time_since_optimization == timedelta(days=1)
    assert report.score == pytest.approx(100.0)
    assert report.recommendations == ()


def test_shuffled_store_is_fragmented() -> None:
    shuffled = [replace(m, tier={1: "cold", 6: "hot"}.get(m.id, m.tier)) for m in store()]
    report = memory.health(shuffled, config(**SMALL), NOW, NOW - timedelta(days=1))
    # 1 and 6 sit in the wrong tier: 2 / 6 = 0.333333; score 100 - 40 * 0.333333 = 86.666667
    assert report.fragmentation == pytest.approx(1 / 3)
    assert report.score == pytest.approx(86.666667, abs=1e-5)
    assert report.recommendations == ("33% of memories sit in the wrong tier: run /memory optimize.",)


def test_overfull_hot_tier() -> None:
    overfull = [replace(m, tier="hot") if m.id == 2 else m for m in store()]
    report = memory.health(overfull, config(**SMALL), NOW, NOW - timedelta(days=1))
    # hot 3 / 2 = 1.5; fragmentation 1 / 6 (below 0.2: no advice);
    # score 100 - 40 * (1/6) - 35 * 0.5 = 100 - 6.666667 - 17.5 = 75.833333
    assert report.hot_usage == 1.5
    assert report.fragmentation == pytest.approx(1 / 6)
    assert report.score == pytest.approx(75.833333, abs=1e-5)
    assert report.recommendations == ("Hot memory is 150% full: run /memory optimize or raise the hot size.",)


def test_stale_optimisation() -> None:
    report = memory.health(store(), config(**SMALL), NOW, NOW - timedelta(days=45))
    # staleness (45 - 30) / 30 = 0.5; score 100 - 25 * 0.5 = 87.5
    assert report.score == pytest.approx(87.5)
    assert report.time_since_optimization == timedelta(days=45)
    assert report.recommendations == ("No optimisation for 45 days: run /memory optimize.",)


def test_never_optimised_counts_from_the_oldest_memory() -> None:
    old = [replace(m, created_at=NOW - timedelta(days=60)) for m in store()]
    report = memory.health(old, config(**SMALL), NOW, None)
    # 60 days: staleness (60 - 30) / 30 = 1; score 100 - 25 = 75
    assert report.time_since_optimization is None
    assert report.score == pytest.approx(75.0)
    assert report.recommendations == ("Memory has never been optimised: run /memory optimize.",)
    young = [replace(m, created_at=NOW - timedelta(days=5)) for m in store()]
    assert memory.health(young, config(**SMALL), NOW, None).recommendations == ()


def test_capacity_recommendations() -> None:
    # 6 of at most 6 memories: 100% >= 90%; 1,800 bytes of 0.002 MB = 2,000 bytes: 90% >= 90%
    report = memory.health(
        store(), config(**SMALL, max_entities=6, max_memory_size_mb=0.002), NOW, NOW - timedelta(days=1)
    )
    assert report.entities_usage == 1.0
    assert report.size_usage == pytest.approx(0.9)
    assert len(report.recommendations) == 2
    assert "6 of at most 6 memories (100%)" in report.recommendations[0]
    assert "90% of its 0.002 MB" in report.recommendations[1]


def test_empty_store() -> None:
    report = memory.health([], config(), NOW, None)
    assert report.score == 100.0
    assert report.fragmentation == 0.0
    assert report.time_since_optimization is None
    assert report.recommendations == ()


# ------------------------------------------------------------------------------------- near-duplicates


def test_similarity_hand_worked() -> None:
    # bigrams of "the cat sat on the mat": the cat, cat sat, sat on, on the, the mat (5)
    # of "the cat sat on the red mat": the same first four + the red, red mat (6)
    # Jaccard 4 / (5 + 6 - 4) = 4 / 7
    assert memory.similarity("The cat sat on the mat.", "the cat sat on the red mat") == pytest.approx(4 / 7)
    assert memory.similarity("The cat, sat on THE mat!", "the cat sat on the mat") == 1.0
    assert memory.similarity("Hi", "hi!") == 1.0  # one word: one shingle each
    assert memory.similarity("", "...") == 0.0


def test_near_duplicates_keep_the_stronger() -> None:
    items = [
        (1, "The cat sat on the mat.", 0.5),
        (2, "the cat sat on the mat", 0.9),
        (3, "Dogs bark at night", 0.7),
        (4, "The cat sat on the red mat", 0.95),
    ]
    # default 0.8: only 1 ~ 2 (similarity 1); 4 vs them is 4/7 = 0.571
    assert memory.near_duplicates(items) == [(2, 1)]
    # at 0.5, 4 (strongest) absorbs both 2 and 1
    assert memory.near_duplicates(items, threshold=0.5) == [(4, 2), (4, 1)]


def test_near_duplicates_equal_strength_keeps_lower_id() -> None:
    assert memory.near_duplicates([(7, "likes green tea", 0.4), (3, "Likes green tea.", 0.4)]) == [(3, 7)]


@settings(max_examples=100)
@given(
    st.lists(
        st.tuples(st.sampled_from(["a b c", "a b c d", "a b", "x y z", "x y", "b c d"]), st.floats(0.0, 1.0)),
        max_size=12,
    ),
    st.floats(min_value=0.1, max_value=1.0),
)
def test_near_duplicates_pairs_are_consistent(entries: list[tuple[str, float]], threshold: float) -> None:
    items = [(i, text, strength) for i, (text, strength) in enumerate(entries)]
    strength = {i: s for i, _, s in items}
    text = {i: t for i, t, _ in items}
    pairs = memory.near_duplicates(items, threshold=threshold)
    dropped = [drop for _, drop in pairs]
    kept = {keep for keep, _ in pairs}
    assert len(dropped) == len(set(dropped))
    assert not kept & set(dropped)
    for keep, drop in pairs:
        assert strength[keep] >= strength[drop]
        assert memory.similarity(text[keep], text[drop]) >= threshold


# ----------------------------------------------------------------------------------------------- config


@pytest.mark.parametrize("name", ["light", "balanced", "deep"])
def test_presets_are_valid_and_complete(name: str) -> None:
    cfg = memory.preset(name)
    assert memory.validate_config(memory.config_to_dict(cfg)) == cfg
    assert set(memory.config_to_dict(cfg)) == set(memory.CONFIG_FIELDS)


def test_default_is_balanced_and_presets_grow() -> None:
    assert memory.default_config() == memory.preset("balanced")
    light, balanced, deep = (memory.preset(n) for n in ("light", "balanced", "deep"))
    assert light.max_entities < balanced.max_entities < deep.max_entities
    assert light.hot_memory_size <= balanced.hot_memory_size <= deep.hot_memory_size
    with pytest.raises(DomainError, match="preset"):
        memory.preset("huge")


def test_config_dict_round_trip() -> None:
    cfg = config(exempt_categories=("identity", "work"))
    data = memory.config_to_dict(cfg)
    assert data["exempt_categories"] == ["identity", "work"]
    assert memory.config_from_dict(data) == cfg


def test_validation_normalises_categories_and_choices() -> None:
    data = memory.config_to_dict(config())
    data["exempt_categories"] = ["  Identity", "identity", "Work  Life"]
    data["decay_function"] = "Linear"
    cfg = memory.validate_config(data)
    assert cfg.exempt_categories == ("identity", "work life")
    assert cfg.decay_function == "linear"


@pytest.mark.parametrize(
    ("changes", "setting"),
    [
        ({"max_memory_size_mb": 0}, "max_memory_size_mb"),
        ({"max_entities": 0}, "max_entities"),
        ({"max_entities": True}, "max_entities"),
        ({"hot_memory_size": -1}, "hot_memory_size"),
        ({"hot_memory_size": 400, "warm_memory_size": 300}, "hot_memory_size"),
        ({"warm_memory_size": 2.5}, "warm_memory_size"),
        ({"cold_memory_retention_days": 0}, "cold_memory_retention_days"),
        ({"weight_importance": -0.5}, "weight_importance"),
        ({"weight_recency": 0, "weight_importance": 0, "weight_relevance": 0}, "weight_relevance"),
        ({"decay_rate": -0.01}, "decay_rate"),
        ({"decay_rate": math.nan}, "decay_rate"),
        ({"decay_function": "cubic"}, "decay_function"),
        ({"decay_schedule": "hourly"}, "decay_schedule"),
        ({"high_importance_threshold": 0}, "high_importance_threshold"),
        ({"high_importance_threshold": 11}, "high_importance_threshold"),
        ({"exempt_categories": [f"c{i}" for i in range(21)]}, "exempt_categories"),
        ({"exempt_categories": "identity"}, "exempt_categories"),
        ({"exempt_categories": ["ok", "  "]}, "exempt_categories"),
        ({"decay_enabled": "yes"}, "decay_enabled"),
        ({"shareable": 1}, "shareable"),
        ({"max_relationship_depth": 0}, "max_relationship_depth"),
        ({"colour": "blue"}, "colour"),
    ],
)
def test_validation_errors_name_the_setting(changes: dict[str, Any], setting: str) -> None:
    data = memory.config_to_dict(config())
    data.update(changes)
    with pytest.raises(DomainError) as caught:
        memory.validate_config(data)
    # Named in words people read (an unknown setting as typed); never by its stored key.
    expected = repr(setting) if setting == "colour" else setting_words(setting)
    if "cannot all be 0" in str(caught.value):  # the three weights are named together
        expected = setting_words(setting).removeprefix("weight of ")
    assert expected in str(caught.value) and "_" not in str(caught.value)


def test_twenty_exempt_categories_are_allowed() -> None:
    data = memory.config_to_dict(config())
    data["exempt_categories"] = [f"c{i}" for i in range(20)]
    assert len(memory.validate_config(data).exempt_categories) == 20


def test_missing_setting_is_named() -> None:
    data = memory.config_to_dict(config())
    del data["decay_schedule"]
    with pytest.raises(DomainError, match="The decay schedule is missing"):
        memory.validate_config(data)


# ---------------------------------------------------------------------------------------------- optimisation plan


def test_the_optimisation_plan_merges_evicts_retiers_and_expires_in_that_order() -> None:
    """The plan ``memories.optimize_store`` writes, on plain data (the same store as the service's test)."""
    cfg = config(hot_memory_size=1, warm_memory_size=1, max_entities=4, cold_memory_retention_days=30)
    stored = [
        item(1, strength=0.9, importance=5, tier="hot", access_count=2, accessed_days_ago=0),
        item(2, strength=0.6, importance=5, tier="hot", access_count=3, accessed_days_ago=0),
        item(3, strength=1.0, importance=5, tier="hot", accessed_days_ago=0),
        item(4, strength=0.01, importance=5, tier="cold", cold_days_ago=31, accessed_days_ago=0),
        item(5, strength=0.05, importance=1, tier="warm", accessed_days_ago=0),
        item(6, strength=0.05, importance=1, tier="warm", accessed_days_ago=0),
        item(7, strength=1.0, importance=9, tier="hot", accessed_days_ago=0, pinned=True),
    ]
    texts = [
        memory.StoredText(1, "Alice has a grey cat named Tom", 1, None, False),
        memory.StoredText(2, "alice has a grey cat named tom!", 1, None, False),
        memory.StoredText(3, "Alice has a grey cat named Tom", 8, None, False),  # another author: kept apart
        memory.StoredText(4, "an ancient memory", 1, None, False),
        memory.StoredText(5, "weak memory 0", 1, None, False),
        memory.StoredText(6, "weak memory 1", 1, None, False),
        memory.StoredText(7, "Alice has a grey cat named Tom", 1, None, True),  # private: never merged
    ]
    plan = memory.plan_optimization(stored, texts, cfg, NOW)
    assert plan.dropped == [2]
    assert plan.merged_into == {1: memory.Merged(access_count=5, importance=5, pinned=False)}
    # Six left, at most four: the two lowest values go (equal: lower id first); the pinned one never.
    assert plan.evicted == [5, 6]
    # Pinned first (hot), then 3 (warm); 1 and 4 cold; 4 has been cold for 31 days > 30: expired, not moved.
    assert plan.expired == [4]
    assert plan.moves == {"warm": [3], "cold": [1]}
    assert plan.retiered == 2
