"""Conversation context in full-text relevance (``bot.core.memory.context``, docs/retrieval.md): neighbours share a
match's score, a conversation lends its best score to its matches, a named speaker counts more, and nothing reaches
a memory outside the conversation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.core import memory
from bot.core.memory.context import ContextParameters, ContextTurn, contextual_scores, speaker_words

T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
ONLY_NEIGHBOURS = ContextParameters(0.4, 0.15, 0.0, 0.0, 40, timedelta(minutes=30))


def turn(memory_id: int, score: float, minutes: float = 0, channel: int | None = 7, head: str = "") -> ContextTurn:
    return ContextTurn(memory_id, score, memory.minute_of(T0 + timedelta(minutes=minutes)), channel, head)


def test_the_reply_after_a_match_gets_a_share_of_its_score_and_the_turn_before_a_smaller_one() -> None:
    turns = [turn(1, 0.0), turn(2, 10.0), turn(3, 0.0)]
    scores = contextual_scores(turns, {2: (1, 3)}, ["research"], ONLY_NEIGHBOURS)
    assert scores == pytest.approx({1: 1.5, 2: 10.0, 3: 4.0})


def test_a_neighbour_in_another_channel_or_after_a_long_gap_gets_nothing() -> None:
    turns = [turn(1, 0.0, channel=8), turn(2, 10.0), turn(3, 0.0, minutes=31)]
    scores = contextual_scores(turns, {2: (1, 3)}, ["research"], ONLY_NEIGHBOURS)
    assert scores == {1: 0.0, 2: 10.0, 3: 0.0}


def test_a_conversation_lends_its_best_score_to_its_matches_only() -> None:
    params = ContextParameters(0.0, 0.0, 0.2, 0.0, 40, timedelta(minutes=30))
    # 1 and 2 talk in one conversation; 3 is the same channel two hours later; 4 matches nothing.
    turns = [turn(1, 10.0), turn(2, 2.0, minutes=5), turn(3, 3.0, minutes=125), turn(4, 0.0, minutes=6)]
    scores = contextual_scores(turns, {}, ["word"], params)
    assert scores == pytest.approx({1: 12.0, 2: 4.0, 3: 3.6, 4: 0.0})


def test_a_memory_whose_speaker_the_query_names_counts_more() -> None:
    params = ContextParameters(0.0, 0.0, 0.0, 0.5, 40, timedelta(minutes=30))
    turns = [
        turn(1, 4.0, head="Caroline: I went to a support group"),
        turn(2, 4.0, head="Melanie said: “Caroline went to a support group”"),
        turn(3, 0.0, head="Caroline: hello"),
    ]
    scores = contextual_scores(turns, {}, ["caroline", "group"], params)
    assert scores == pytest.approx({1: 6.0, 2: 4.0, 3: 0.0})


def test_speaker_words_read_both_shapes_of_memory() -> None:
    assert speaker_words("Alice said: “I got a cat”") == {"alice"}
    assert speaker_words("Mary Jane: hi") == {"mary", "jane"}
    assert speaker_words("no speaker here") == frozenset()


def test_the_defaults_come_from_the_data_file() -> None:
    params = memory.context_parameters()
    assert 0 < params.lead_share < params.follow_share < 1
    assert params.context_matches > 0 and params.conversation_gap > timedelta(0)


@st.composite
def conversations(draw: st.DrawFn) -> tuple[list[ContextTurn], dict[int, tuple[int | None, int | None]]]:
    size = draw(st.integers(min_value=1, max_value=30))
    scores = draw(st.lists(st.one_of(st.just(0.0), st.floats(0.01, 50.0)), min_size=size, max_size=size))
    gaps = draw(st.lists(st.floats(0.0, 90.0), min_size=size, max_size=size))
    channels = draw(st.lists(st.sampled_from([1, 2, None]), min_size=size, max_size=size))
    turns, minutes = [], 0.0
    for n in range(size):
        minutes += gaps[n]
        turns.append(turn(n + 1, scores[n], minutes, channels[n], "Alice: x" if n % 2 else "Bob: y"))
    neighbours = {t.id: (t.id - 1 if t.id > 1 else None, t.id + 1 if t.id < size else None) for t in turns}
    return turns, neighbours


@given(conversations())
def test_context_only_adds_and_only_reaches_the_same_conversation(
    case: tuple[list[ContextTurn], dict[int, tuple[int | None, int | None]]],
) -> None:
    turns, neighbours = case
    params = memory.context_parameters()
    scores = contextual_scores(turns, neighbours, ["alice"], params)
    by_id = {t.id: t for t in turns}
    for t in turns:
        assert scores[t.id] >= t.score  # a match never loses
        if t.score == 0 and scores[t.id] > 0:  # reached only from a matching neighbour in its conversation
            near = [by_id.get(n) for n in (t.id - 1, t.id + 1)]
            assert any(
                n is not None and n.score > 0 and memory.context.same_conversation(n, t, params.conversation_gap)
                for n in near
            )


def test_runs_cut_a_time_ordered_sequence_only_where_neighbours_are_apart() -> None:
    # The one mechanism behind conversations here and sessions in bot.core.memory.summaries.
    from bot.core.memory.items import runs

    assert runs([1, 2, 6, 7, 20], lambda earlier, later: later - earlier > 3) == [[1, 2], [6, 7], [20]]
    assert runs([1, 4, 7], lambda earlier, later: later - earlier > 3) == [[1, 4, 7]]  # exactly the gap: one run
    assert runs([], lambda earlier, later: True) == []
