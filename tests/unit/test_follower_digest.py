"""The owner's new-follower digest (bot/ui/social.py notification_content): each follower once per persona."""

from __future__ import annotations

from bot.services.notifications import KIND_NEW_FOLLOWER, Entry, PlannedMessage
from bot.ui.social import notification_content


def _digest(*entries: tuple[int, str, int]) -> str:
    message = PlannedMessage(
        nonce="n",
        kind=KIND_NEW_FOLLOWER,
        channel_id=None,
        user_id=1,
        guild_id=None,
        row_ids=tuple(range(len(entries))),
        mentions=(),
        entries=tuple(Entry(KIND_NEW_FOLLOWER, pid, name, follower_id=user) for pid, name, user in entries),
    )
    return notification_content(message)


def test_a_follower_who_followed_twice_in_a_window_counts_once() -> None:
    text = _digest((7, "Ada", 50), (7, "Ada", 50), (7, "Ada", 51))
    assert text.startswith("👋 2 new followers:")
    assert text.count("<@50>") == 1 and "<@51>" in text


def test_personas_with_the_same_name_are_told_apart_and_one_follower_is_singular() -> None:
    assert _digest((7, "Ada", 50)).startswith("👋 1 new follower:")
    text = _digest((7, "Ada", 50), (8, "Ada", 50))
    assert text.startswith("👋 2 new followers:") and text.count("**Ada**") == 2
