"""Retirement rules: every field of the plan validated with a clear error, triggers from a given clock, archival
selection, the legacy access rule, and anonymisation."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from bot.core import retirement as rules
from bot.core.errors import DomainError

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
LATER = NOW + timedelta(days=30)


def valid(**changes: object) -> rules.PlanDraft:
    base = rules.PlanDraft(triggers=(rules.Trigger("date", at=LATER),), ceremony_channel_id=42)
    return replace(base, **changes)  # type: ignore[arg-type]


def test_a_valid_plan_keeps_every_field() -> None:
    plan = rules.validate_plan(
        valid(
            triggers=(rules.Trigger("inactivity", days=30), rules.Trigger("date", at=LATER), rules.Trigger("manual")),
            memory_archival="important",
            archival_threshold=8,
            achievement_preservation=False,
            timeline_preservation=False,
            archive_access="followers",
            community_access=True,
            research_access=True,
            ceremony=rules.CeremonySettings(False, ("lifespan", "lifespan", "mood_chart"), 3),
            farewell_message="  Goodbye, all.  ",
            farewell_by_model=False,
            data_retention_days=30,
            data_export=True,
            data_deletion=("persona", "memories", "memories"),
        ),
        now=NOW,
        channel_postable=True,
    )
    assert [t.kind for t in plan.triggers] == ["date", "inactivity", "manual"]
    assert plan.scheduled_for == LATER and plan.inactivity_days == 30
    assert (plan.memory_archival, plan.archival_threshold) == ("important", 8)
    assert not plan.achievement_preservation and not plan.timeline_preservation
    assert (plan.archive_access, plan.community_access, plan.research_access) == ("followers", True, True)
    assert plan.ceremony == rules.CeremonySettings(False, ("lifespan", "mood_chart"), 3)
    assert plan.ceremony_channel_id == 42
    assert plan.farewell_message == "Goodbye, all." and not plan.farewell_by_model
    assert (plan.data_retention_days, plan.data_export) == (30, True)
    assert plan.data_deletion == ("memories", "persona")


@pytest.mark.parametrize(
    ("draft", "message"),
    [
        (valid(triggers=()), "needs a trigger"),
        (valid(triggers=(rules.Trigger("date", at=NOW - timedelta(minutes=1)),)), "is in the past"),
        (valid(triggers=(rules.Trigger("date", at=NOW),)), "is in the past"),
        (valid(triggers=(rules.Trigger("date", at=LATER.replace(tzinfo=None)),)), "time zone"),
        (valid(triggers=(rules.Trigger("date", at=NOW + timedelta(days=4000)),)), "ten years"),
        (valid(triggers=(rules.Trigger("date", at=LATER), rules.Trigger("date", at=LATER))), "only one date"),
        (valid(triggers=(rules.Trigger("inactivity", days=0),)), "must be from 1 to 3650; 0 is not"),
        (valid(triggers=(rules.Trigger("inactivity", days=None),)), "whole number"),
        (valid(triggers=(rules.Trigger("someday"),)), "A trigger must be one of"),
        (valid(memory_archival="most"), "Memory archival must be one of"),
        (valid(archival_threshold=0), "importance threshold must be from 1 to 10; 0 is not"),
        (valid(archival_threshold=11), "importance threshold must be from 1 to 10; 11 is not"),
        (valid(archive_access="friends"), "Archive access must be one of"),
        (valid(ceremony=rules.CeremonySettings(True, ("fireworks",), 7)), "What the ceremony shows"),
        (valid(ceremony=rules.CeremonySettings(True, (), -1)), "ceremony's length"),
        (valid(farewell_message="Bye", farewell_by_model=True), "not both"),
        (valid(farewell_message="   ", farewell_by_model=False), "Write the farewell"),
        (valid(farewell_message="x" * 1901, farewell_by_model=False), "limit is 1900"),
        (valid(data_retention_days=0), "retention in days must be from 1 to 3650; 0 is not"),
        (valid(data_retention_days=True), "whole number"),
        (valid(data_retention_days=3, ceremony=rules.CeremonySettings(True, (), 7)), "shorter than the ceremony"),
        (valid(data_deletion=("everything",)), "What is deleted when the retention ends"),
    ],
)
def test_each_field_is_validated_with_a_clear_error(draft: rules.PlanDraft, message: str) -> None:
    with pytest.raises(DomainError, match=message):
        rules.validate_plan(draft, now=NOW, channel_postable=True)


def test_a_channel_the_bot_cannot_post_in_is_refused() -> None:
    with pytest.raises(DomainError, match="cannot post in that channel"):
        rules.validate_plan(valid(), now=NOW, channel_postable=False)
    # Without a channel there is nothing to check (no public farewell).
    assert (
        rules.validate_plan(valid(ceremony_channel_id=None), now=NOW, channel_postable=False).ceremony_channel_id
        is None
    )


def test_retention_as_long_as_the_ceremony_is_allowed() -> None:
    plan = rules.validate_plan(
        valid(data_retention_days=7, ceremony=rules.CeremonySettings(True, (), 7)), now=NOW, channel_postable=True
    )
    assert plan.data_retention_days == 7


def test_the_date_trigger_is_due_from_its_time_on() -> None:
    triggers = (rules.Trigger("date", at=LATER),)
    assert rules.due_trigger(triggers, now=LATER - timedelta(seconds=1), last_activity=None, planned_at=NOW) is None
    assert rules.due_trigger(triggers, now=LATER, last_activity=None, planned_at=NOW) == "date"


def test_inactivity_counts_from_the_last_activity_but_not_before_the_plan() -> None:
    triggers = (rules.Trigger("inactivity", days=10), rules.Trigger("manual"))
    long_ago = NOW - timedelta(days=100)
    # Quiet for 100 days before the plan: the count starts at the plan.
    assert rules.due_trigger(triggers, now=NOW + timedelta(days=9), last_activity=long_ago, planned_at=NOW) is None
    assert rules.due_trigger(triggers, now=NOW + timedelta(days=10), last_activity=long_ago, planned_at=NOW) == (
        "inactivity"
    )
    # Activity after the plan moves the start.
    spoke = NOW + timedelta(days=5)
    assert rules.due_trigger(triggers, now=NOW + timedelta(days=14), last_activity=spoke, planned_at=NOW) is None
    assert rules.due_trigger(triggers, now=NOW + timedelta(days=15), last_activity=spoke, planned_at=NOW) == (
        "inactivity"
    )
    assert rules.due_trigger((rules.Trigger("manual"),), now=LATER, last_activity=None, planned_at=NOW) is None


def test_archival_selection() -> None:
    memories = [rules.MemoryFacts(1, 3), rules.MemoryFacts(2, 7), rules.MemoryFacts(3, 9)]
    assert rules.select_for_archive(memories, "all", 7) == [1, 2, 3]
    assert rules.select_for_archive(memories, "important", 7) == [2, 3]
    assert rules.select_for_archive(memories, "important", 9) == [3]
    assert rules.select_for_archive(memories, "none", 7) == []
    with pytest.raises(DomainError):
        rules.select_for_archive(memories, "some", 7)


@pytest.mark.parametrize(
    ("access", "follower", "same_guild", "stranger"),
    [
        ("owner", False, False, False),
        ("followers", True, False, False),
        ("server", True, True, False),
        ("public", True, True, True),
    ],
)
def test_legacy_access(access: str, follower: bool, same_guild: bool, stranger: bool) -> None:
    assert rules.can_view_legacy(access, is_owner=True, is_follower=False, same_guild=False)
    assert rules.can_view_legacy(access, is_owner=False, is_follower=True, same_guild=False) is follower
    assert rules.can_view_legacy(access, is_owner=False, is_follower=False, same_guild=True) is same_guild
    assert rules.can_view_legacy(access, is_owner=False, is_follower=False, same_guild=False) is stranger
    assert rules.access_refusal(access, "Ada").startswith("The legacy of Ada is open to")


def test_anonymise_removes_every_id_and_name() -> None:
    document = {
        "persona": {"name": "Ada", "owner_id": 111, "guild_id": 999},
        "memories": [
            {"content": "Alice told me about her cat; <@222> laughed. ALICE again, and 222.", "source_user_id": 222},
            {"content": "Bob Smith (id 333) likes tea", "subject_user_id": 333, "importance": 7},
        ],
        "events": [{"user_id": 111, "context": "bob reacted", "intensity": 0.5, "count": 333}],
    }
    out = rules.anonymise(document, names=["Alice", "Bob Smith", "bob"], ids=[111, 222, 333])
    text = json.dumps(out).lower()
    for forbidden in ("alice", "bob", "111", "222", "333", "owner_id", "user_id", "guild_id"):
        assert forbidden not in text
    assert out["persona"] == {"name": "Ada"}
    assert (
        out["memories"][0]["content"]
        == "[person] told me about her cat; [person] laughed. [person] again, and [person]."
    )
    assert out["memories"][1] == {"content": "[person] (id [person]) likes tea", "importance": 7}
    assert out["events"][0] == {"context": "[person] reacted", "intensity": 0.5, "count": "[person]"}


def test_anonymise_keeps_words_that_merely_contain_a_name() -> None:
    assert rules.anonymise_text("Albert met Al", names=["Al"], ids=[]) == "Albert met [person]"
    assert rules.anonymise_text("room 12345", names=[], ids=[1234]) == "room 12345"


def test_lifespan_words() -> None:
    assert rules.lifespan_words(NOW, NOW + timedelta(minutes=5)) == "less than an hour"
    assert rules.lifespan_words(NOW, NOW + timedelta(hours=5)) == "5 hours"
    assert rules.lifespan_words(NOW, NOW + timedelta(days=1)) == "1 day"
    assert rules.lifespan_words(NOW, NOW + timedelta(days=45)) == "45 days"
    assert rules.lifespan_words(NOW, NOW + timedelta(days=400)) == "13 months"
    assert rules.lifespan_words(NOW, NOW + timedelta(days=800)) == "2 years and 2 months"


def test_the_ceremony_job_has_one_id_per_persona() -> None:
    # The scheduler's store keeps this id: a saved plan replaces its job, a cancelled one removes it.
    assert rules.ceremony_job_id(42) == "retire:ceremony:42"
    assert rules.ceremony_job_id(42) != rules.ceremony_job_id(43)
