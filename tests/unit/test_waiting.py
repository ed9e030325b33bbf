"""The lines of messages waiting for a busy persona (bot.core.waiting), and the turns that answer them
(bot.discord_io.turns)."""

from __future__ import annotations

import asyncio

import pytest

from bot.core.waiting import MAX_WAITING, WaitingRoom
from bot.discord_io.turns import SpeakingTurns


def test_a_line_keeps_order_and_take_empties_it() -> None:
    room: WaitingRoom[str, str] = WaitingRoom(limit=3)
    assert room.add("ada", 1, "a") == [] and room.add("ada", 2, "b") == [] and room.add("bea", 1, "x") == []
    assert room.waiting("ada") == 2 and len(room) == 3
    assert room.take("ada") == ["a", "b"]
    assert room.take("ada") == [] and room.waiting("ada") == 0 and room.take("bea") == ["x"]


def test_past_the_limit_the_oldest_leaves_the_line() -> None:
    room: WaitingRoom[str, int] = WaitingRoom(limit=3)
    dropped = [room.add("ada", author, author) for author in range(1, 6)]  # five people, one message each
    assert dropped == [[], [], [], [1], [2]]
    assert room.take("ada") == [3, 4, 5]


def test_a_person_who_keeps_writing_pushes_out_their_own_messages_first() -> None:
    room: WaitingRoom[str, str] = WaitingRoom(limit=3)
    room.add("ada", 1, "alice")
    room.add("ada", 2, "bob")
    for n in range(5):
        room.add("ada", 3, f"spam{n}")
    assert room.take("ada") == ["alice", "bob", "spam4"]
    assert MAX_WAITING >= 4


def test_a_line_is_in_the_order_the_messages_were_written_whatever_order_they_join_it_in() -> None:
    # Messages that arrive together are planned side by side; the plans may end in any order.
    room: WaitingRoom[str, str] = WaitingRoom(limit=3)
    assert room.add("ada", 2, "q4", written=40) == []
    assert room.add("ada", 1, "q2", written=20) == []
    assert room.add("ada", 3, "q3", written=30) == []
    assert room.add("ada", 4, "q5", written=50) == ["q2"]  # past the limit the oldest written leaves
    assert room.take("ada") == ["q3", "q4", "q5"]


def test_a_line_holds_at_least_one() -> None:
    with pytest.raises(ValueError):
        WaitingRoom(limit=0)


async def test_whoever_holds_the_turn_answers_the_line_until_it_is_empty_then_lets_go() -> None:
    turns: SpeakingTurns[str, str] = SpeakingTurns(limit=5)
    assert turns.claim("ada") and not turns.claim("ada")
    answered: list[list[str]] = []

    async def answer(waiting: list[str]) -> None:
        answered.append(waiting)
        if len(answered) == 1:
            assert turns.wait("ada", 2, "late") == (False, [])  # joins while the first batch is answered
            raise RuntimeError("a failed answer does not stop the next")

    assert turns.wait("ada", 1, "early") == (False, [])
    await turns.answer_waiting("ada", answer)
    assert answered == [["early"], ["late"]]
    assert not turns.speaking("ada")
    # With nobody speaking, the one who puts a message in the line holds the turn and must answer it.
    assert turns.wait("ada", 1, "next") == (True, [])
    assert turns.speaking("ada") and turns.keys() == frozenset({"ada"})
    turns.release("ada")
    assert not turns.speaking("ada")
    await asyncio.sleep(0)
