"""Counts in words people read (bot/core/text.py counted): "1 follower", never "1 followers"."""

from __future__ import annotations

from bot.core.text import counted
from bot.ui.profile import profile_embed


def test_counts_are_said_in_the_right_number() -> None:
    assert counted(1, "follower") == "1 follower" and counted(2, "follower") == "2 followers"
    assert counted(1, "memory", "memories") == "1 memory" and counted(1200, "memory", "memories") == "1,200 memories"
    assert counted(0, "person", "people") == "0 people" and counted(1, "person", "people") == "1 person"


def test_a_profile_with_one_follower_says_follower() -> None:
    from bot.core.social import ProfileView

    view = ProfileView(
        persona_id=1, owner_id=2, is_owner=False, published=True, published_at=None, display_name="Ada", bio=None,
        avatar_url=None, created_date=None, interaction_count=None, follower_count=1, achievement_count=1,
        achievements=None, timeline=None, verification_status=None, endorsements=None, endorsement_count=None,
        allow_messages=None, allow_collaboration=None, hidden=frozenset(),
    )  # fmt: skip
    text = str(profile_embed(view).to_dict())
    assert "1 follower" in text and "1 followers" not in text
    assert "1 achievement" in text and "1 achievements" not in text


def test_no_subscriptions_points_to_the_tiers_command() -> None:
    from bot.ui.profile import subscriptions_embed

    description = subscriptions_embed([]).description or ""
    assert "`/tiers list`" in description and "`/subscribe`" in description


def test_a_persona_status_says_whether_it_talks_and_how_to_change_it() -> None:
    from bot.ui.personas import status_text

    assert "talking" in status_text("active", True)
    silent = status_text("active", False)
    assert "silent" in silent and "/persona activate" in silent and "switched off" not in silent
    assert status_text("retired", False).startswith("retired") and "/legacy" in status_text("retired", False)
