"""Sessions and extractive summaries (bot/core/memory/summaries.py), worked by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.core.memory import summaries as rules

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def turn(
    i: int, said: str, *, person: int = 7, channel: int = 10, minutes: float = 0, importance: int = 5
) -> rules.Turn:
    content = f"Alice said: “{said}” I (Ada) answered: “Nice.”"
    return rules.Turn(i, person, channel, content, importance, T0 + timedelta(minutes=minutes))


def test_sessions_split_by_person_channel_and_gap() -> None:
    turns = [
        turn(1, "a", minutes=0),
        turn(2, "b", minutes=10),
        turn(3, "c", minutes=45),  # 35 minutes after the last: a new session
        turn(4, "d", minutes=5, person=8),  # someone else
        turn(5, "e", minutes=6, channel=11),  # another channel
    ]
    assert [[t.memory_id for t in s] for s in rules.sessions(turns)] == [[1, 2], [4], [5], [3]]


def test_a_session_is_ready_when_over_and_long_enough() -> None:
    three = [turn(1, "a"), turn(2, "b", minutes=1), turn(3, "c", minutes=2)]
    assert rules.ready(three, T0 + timedelta(minutes=40))
    assert not rules.ready(three, T0 + timedelta(minutes=20))  # not over yet
    assert not rules.ready(three[:2], T0 + timedelta(hours=2))  # too short


def test_the_summary_keeps_what_the_conversation_was_about_in_order() -> None:
    session = [
        turn(1, "hi there"),
        turn(2, "my cat Tom caught a mouse in the garden", minutes=1),
        turn(3, "the weather is grey", minutes=2),
        turn(4, "Tom the cat sleeps all day", minutes=3),
        turn(5, "ok", minutes=4),
        turn(6, "Tom is an orange cat", minutes=5),
        turn(7, "I bought bread", minutes=6),
    ]
    # Weights (content words' session frequencies / sqrt(count) + importance/10): tom and cat are said three times,
    # so the three quotes about Tom lead (4.0 + 0.5 each); "weather grey" and "bought bread" tie (1.4 + 0.5) and the
    # earlier one takes the fourth place; "hi there" and "ok" hold no content word.
    assert rules.quotes(session) == [
        "my cat Tom caught a mouse in the garden",
        "the weather is grey",
        "Tom the cat sleeps all day",
        "Tom is an orange cat",
    ]
    text = rules.extractive_summary(session, person=rules.person_of(session), when="on 1 March")
    assert text.startswith("Summary of a conversation with Alice on 1 March (7 exchanges): Alice said “")
    assert text.index("caught a mouse") < text.index("orange cat")  # in the order said
    assert "Nice." not in text  # the persona's answers are not the person's words
    assert rules.summary_importance([turn(1, "a", importance=3), turn(2, "b", importance=8)]) == 8
