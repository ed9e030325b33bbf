"""Achievement rules (data/achievements.toml), digest windows and delivery grouping: pure, no database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.core import achievements as rules
from bot.core import emotions
from bot.core.errors import DomainError
from bot.services import notifications
from bot.services.outbox import OutboxItem


def test_the_shipped_definitions_cover_the_issue_examples() -> None:
    found = {(a.metric, a.threshold) for a in rules.definitions()}
    assert ("interaction_count", 1) in found  # first conversation
    assert ("interaction_count", 100) in found  # 100 conversations
    assert ("follower_count", 10) in found  # 10 followers
    assert ("age_days", 7) in found  # one week old
    assert ("distinct_emotions", len(emotions.emotion_types())) in found  # felt all twelve emotions
    assert ("endorsement_count", 1) in found  # first endorsement
    assert len(emotions.emotion_types()) == 12
    keys = [a.key for a in rules.definitions()]
    assert len(keys) == len(set(keys))


def test_thresholds_awarded_ones_and_inputs() -> None:
    metrics = {"interaction_count": 100, "follower_count": 9, "age_days": 7, "distinct_emotions": 3}
    earned = {a.key for a in rules.newly_earned(metrics, awarded=set())}
    assert {"first_conversation", "conversations_100", "first_follower", "one_week_old"} <= earned
    assert "followers_10" not in earned and "all_emotions" not in earned and "conversations_1000" not in earned

    # Already awarded: never again.
    again = rules.newly_earned(metrics, awarded=earned)
    assert again == []

    # Only the rules fed by what changed are looked at.
    only_followers = {a.key for a in rules.newly_earned(metrics, awarded=set(), inputs_changed={"followers"})}
    assert only_followers == {"first_follower"}
    assert rules.metrics_needed({"emotions"}) == {"distinct_emotions"}
    with pytest.raises(DomainError):
        rules.newly_earned(metrics, awarded=set(), inputs_changed={"folowers"})


def test_definitions_are_validated() -> None:
    good = {"key": "k", "title": "K", "metric": "follower_count", "threshold": 1}
    assert rules.parse_definitions({"achievement": [good]})[0].input == "followers"
    with pytest.raises(DomainError):
        rules.parse_definitions({"achievement": [good, good]})
    with pytest.raises(DomainError):
        rules.parse_definitions({"achievement": [{**good, "metric": "karma"}]})
    with pytest.raises(DomainError):
        rules.parse_definitions({"achievement": [{**good, "threshold": 0}]})


def test_age_is_whole_days() -> None:
    born = datetime(2026, 1, 1, 12, tzinfo=UTC)
    assert rules.age_days(born, born + timedelta(days=6, hours=23)) == 6
    assert rules.age_days(born, born + timedelta(days=7)) == 7
    assert rules.age_days(born, born - timedelta(days=1)) == 0


def test_digest_windows_are_aligned_so_every_process_agrees() -> None:
    start = datetime(2026, 5, 1, 10, 0, 0, tzinfo=UTC)
    due = {notifications.digest_due(start + timedelta(seconds=s), 60) for s in (1, 20, 59.5)}
    assert due == {start + timedelta(seconds=60)}
    assert notifications.digest_due(start + timedelta(seconds=61), 60) == start + timedelta(seconds=120)
    assert notifications.digest_due(start, 60) == start
    assert notifications.digest_due(start + timedelta(seconds=1), 0) == start + timedelta(seconds=1)


def _item(row_id: int, user: int, event: int, channel: int | None) -> OutboxItem:
    payload = {"persona_id": 1, "persona_name": "Nova", "event_id": event, "title": f"event {event}"}
    return OutboxItem(
        row_id, 5 if channel else None, notifications.KIND_TIMELINE, user, channel, payload, f"k{row_id}", 1
    )


def test_grouping_digests_dms_and_batches_channel_mentions() -> None:
    # Five events for one DM follower: one message.
    dm = [_item(i, 7, 100 + i, None) for i in range(5)]
    (group,) = notifications.group_items(dm)
    assert [i.id for i in group] == [0, 1, 2, 3, 4]

    # One event for 120 channel followers: posts of at most MENTIONS_PER_POST.
    per_post = notifications.MENTIONS_PER_POST
    channel = [_item(1000 + u, u, 9, 55) for u in range(120)]
    groups = notifications.group_items(channel)
    assert [len(g) for g in groups] == [per_post, per_post, 120 - 2 * per_post]

    # Followers with different events are never mentioned for the other's news.
    mixed = [_item(1, 1, 10, 55), _item(2, 2, 10, 55), _item(3, 2, 11, 55)]
    groups = notifications.group_items(mixed)
    assert sorted(sorted(i.id for i in g) for g in groups) == [[1], [2, 3]]
    assert notifications.group_nonce([3, 2]) == notifications.group_nonce([2, 3])
    assert len(notifications.group_nonce(range(500))) <= 25
