"""The bounds on a persona answering reactions (issue 19): the first reaction per message and emoji, and the
cooldown per persona and channel."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.core.behaviors import describe_action, validate_behavior
from bot.core.reaction_answers import ANSWER_COOLDOWN, AnswerCooldown, first_event_ids, is_first

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def test_the_first_reaction_is_the_oldest_event_whatever_the_variation_selector() -> None:
    firsts = first_event_ids({(1, 10, "🎉"): 7, (1, 10, "🎉\ufe0f"): 3, (1, 11, "🎉"): 9, (2, 10, "🎉"): 8})
    assert is_first(firsts, 1, 10, "🎉", 3) and not is_first(firsts, 1, 10, "🎉", 7)
    assert is_first(firsts, 1, 11, "🎉\ufe0f", 9)  # another message
    assert is_first(firsts, 2, 10, "🎉", 8)  # another persona on the same message
    assert not is_first(firsts, 1, 10, "👍", 3)  # another emoji: no event, no answer


def test_one_answer_per_persona_and_channel_per_cooldown() -> None:
    cooldown = AnswerCooldown()
    assert cooldown.take(1, 100, T0)
    assert not cooldown.take(1, 100, T0 + ANSWER_COOLDOWN - timedelta(seconds=1))
    assert cooldown.take(1, 200, T0)  # another channel
    assert cooldown.take(2, 100, T0)  # another persona
    assert cooldown.take(1, 100, T0 + ANSWER_COOLDOWN)
    assert not cooldown.take(1, 100, T0 + ANSWER_COOLDOWN + timedelta(seconds=5))  # a held-back try does not restart it
    assert cooldown.take(1, 100, T0 + 2 * ANSWER_COOLDOWN)


def test_the_oldest_pairs_are_forgotten_past_the_bound() -> None:
    cooldown = AnswerCooldown(kept=2)
    for channel in (1, 2, 3):
        assert cooldown.take(1, channel, T0)
    assert cooldown.take(1, 1, T0)  # forgotten: free again
    assert not cooldown.take(1, 3, T0)


def test_an_emoji_instruction_says_it_does_nothing_on_a_reaction_and_a_reply_says_how_it_answers() -> None:
    instruction = validate_behavior("f", "emoji", {"emoji": "🎉"}, "instruction", {"text": "Talk about parties."})
    assert "when the emoji is in a message" in describe_action(instruction)
    assert "no model reply is made for a reaction" in describe_action(instruction)
    keywords = validate_behavior("k", "keywords", {"words": ["party"]}, "instruction", {"text": "Talk about parties."})
    assert describe_action(keywords) == "adds to its instructions: “Talk about parties.”"
    reply = validate_behavior("r", "emoji", {"emoji": "🎉"}, "reply", {"template": "Yay {{ author }}"})
    assert "first reaction per message only" in describe_action(reply) and "20 seconds" in describe_action(reply)
