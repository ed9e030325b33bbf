"""The social rules (pure): per-viewer visibility of every public profile field, the public timeline, metadata
sanitising, publication scope, perks and subscription / entitlement states."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.core import social
from bot.core.errors import DomainError
from bot.core.personas import VISIBILITY, PrivacySettings

NOW = datetime(2026, 11, 25, 12, tzinfo=UTC)
OWNER, MEMBER, OUTSIDER = 1, 2, 3
GUILD, OTHER_GUILD = 10, 20
VIEWERS = {"owner": (OWNER, GUILD), "member": (MEMBER, GUILD), "outsider": (OUTSIDER, OTHER_GUILD)}


def facts(**changes: object) -> social.ProfileFacts:
    base = social.ProfileFacts(
        persona_id=7,
        guild_id=GUILD,
        owner_id=OWNER,
        published=True,
        published_at=NOW,
        display_name="Ada",
        bio="A story",
        avatar_url="https://example.org/ada.png",
        created_date=NOW - timedelta(days=3),
        interaction_count=12,
        follower_count=4,
        achievement_count=1,
        achievements=(social.PublicAchievement("first-conversation", NOW),),
        timeline=(
            social.PublicTimelineEvent("post", "Hello", "", NOW, {}),
            social.PublicTimelineEvent("post", "For subscribers", "", NOW, {}, subscribers_only=True),
        ),
        verification_status="verified",
        endorsements=(social.EndorsementEntry(MEMBER, "Great", NOW),),
        endorsement_count=1,
        allow_messages=True,
        allow_collaboration=False,
    )
    return social.ProfileFacts(**{**base.__dict__, **changes})


def value_of(view: social.ProfileView | None, field: str) -> object:
    if view is None:
        return None
    name = {"avatar": "avatar_url"}.get(field, field)
    return getattr(view, name)


@pytest.mark.parametrize("viewer", sorted(VIEWERS))
@pytest.mark.parametrize("level", VISIBILITY)
@pytest.mark.parametrize("field", sorted(social.PROFILE_FIELDS))
def test_every_profile_field_follows_its_visibility_for_every_viewer(field: str, level: str, viewer: str) -> None:
    item = social.PROFILE_FIELDS[field]
    # Everything else public, so only this field's setting decides.
    visibility = {name: "public" for name in set(social.PROFILE_FIELDS.values())} | {item: level}
    privacy = PrivacySettings.from_dict({"visibility": visibility})
    user_id, guild_id = VIEWERS[viewer]

    view = social.view_profile(facts(), privacy, viewer_id=user_id, viewer_guild_id=guild_id)

    expected = viewer == "owner" or level == "public" or (level == "server" and viewer == "member")
    assert (value_of(view, field) is not None) is expected
    if view is not None:
        assert (field in view.hidden) is not expected
    if item == "profile":  # the profile field decides whether the profile exists for the viewer at all
        assert (view is not None) is expected


@pytest.mark.parametrize("viewer", ["member", "outsider"])
def test_an_unpublished_profile_exists_for_its_owner_only(viewer: str) -> None:
    privacy = PrivacySettings.from_dict({"visibility": {"profile": "public"}})
    user_id, guild_id = VIEWERS[viewer]
    assert social.view_profile(facts(published=False), privacy, viewer_id=user_id, viewer_guild_id=guild_id) is None
    own = social.view_profile(facts(published=False), privacy, viewer_id=OWNER, viewer_guild_id=GUILD)
    assert own is not None and own.is_owner and not own.published and own.hidden == frozenset()


def test_subscriber_only_posts_reach_subscribers_and_the_owner() -> None:
    privacy = PrivacySettings.from_dict({"visibility": {"timeline": "server"}})

    def titles(user_id: int, subscriber: bool) -> list[str]:
        view = social.view_profile(facts(), privacy, viewer_id=user_id, viewer_guild_id=GUILD, is_subscriber=subscriber)
        assert view is not None and view.timeline is not None
        return [e.title for e in view.timeline]

    assert titles(MEMBER, False) == ["Hello"]
    assert titles(MEMBER, True) == ["Hello", "For subscribers"]
    assert titles(OWNER, False) == ["Hello", "For subscribers"]
    assert not social.timeline_event_visible(is_public=False, subscribers_only=False, is_owner=True, is_subscriber=True)


def test_metadata_is_sanitised_for_the_public() -> None:
    cleaned = social.sanitize_metadata(
        {
            "user_id": 123,
            "channel": 456,
            "messageId": 1,
            "guild-id": 2,
            "token": "secret",
            "nested": {"a": 1},
            "list": [1, 2],
            "level": 3,
            "ok": True,
            "score": 0.5,
            "note": "hi <@123> see https://example.org/x and <#99> @everyone",
            "long": "x" * 500,
            "empty": "  <@1> ",
        }
    )
    assert cleaned == {
        "level": 3,
        "ok": True,
        "score": 0.5,
        "note": "hi see [link] and",
        "long": "x" * (social.METADATA_TEXT_MAX - 1) + "…",
    }
    assert len(social.sanitize_metadata({f"k{i}": i for i in range(20)})) == social.METADATA_MAX_ITEMS
    assert social.sanitize_metadata(None) == {}


def test_publication_scope_and_an_owner_only_profile() -> None:
    private = PrivacySettings.from_dict({"visibility": {"profile": "owner", "timeline": "public"}})
    raised = social.publishable_privacy(private)
    assert raised is not private and raised.visibility["profile"] == "server"
    assert social.publication_scope(raised) == {
        "profile": "server",
        "description": "server",
        "achievements": "server",
        "timeline": "public",
    }
    shown = PrivacySettings.from_dict({"visibility": {"profile": "public"}})
    assert social.publishable_privacy(shown) is shown
    # In words, as the publish reply shows it (bot.ui.profile).
    assert social.AUDIENCE_WORDS[social.publication_scope(raised)["timeline"]] == "anyone"


def test_validation() -> None:
    assert social.validate_display_name("  Ada   L ") == "Ada L"
    assert social.validate_display_name("  ") is None
    with pytest.raises(DomainError):
        social.validate_display_name("x" * 81)
    assert social.validate_endorsement_text(" Great ") == "Great"
    with pytest.raises(DomainError):
        social.validate_endorsement_text("x" * 301)
    assert social.validate_verification_status("official") == "official"
    with pytest.raises(DomainError):
        social.validate_verification_status("trusted")
    with pytest.raises(DomainError):
        social.field_visible(PrivacySettings(), "password", is_owner=True, same_guild=True)


def test_perks_values() -> None:
    assert social.perks_of([]) == social.NO_PERKS == social.Perks(False, 1.0, False)
    assert social.perks_of([["priority_replies"]]) == social.Perks(True, 1.0, False)
    assert social.perks_of([["longer_memory"]]).memory_multiplier == social.LONGER_MEMORY_MULTIPLIER == 2.0
    assert social.perks_of([["priority_replies"], ["longer_memory", "subscriber_posts"]]) == social.Perks(
        True, 2.0, True
    )
    assert social.validate_perks(["subscriber_posts", "priority_replies", "priority_replies"]) == [
        "priority_replies",
        "subscriber_posts",
    ]
    with pytest.raises(DomainError, match="Unknown perk: shoutouts"):
        social.validate_perks(["shoutouts"])


def test_subscription_and_entitlement_states() -> None:
    later, earlier = NOW + timedelta(days=1), NOW - timedelta(days=1)
    assert social.subscription_current(status="active", renews_at=None, ended_at=None, now=NOW)
    assert social.subscription_current(status="active", renews_at=later, ended_at=None, now=NOW)
    assert not social.subscription_current(status="active", renews_at=earlier, ended_at=None, now=NOW)
    assert not social.subscription_current(status="ended", renews_at=None, ended_at=earlier, now=NOW)
    assert social.entitlement_active(deleted=False, starts_at=earlier, ends_at=later, now=NOW)
    assert not social.entitlement_active(deleted=True, starts_at=None, ends_at=None, now=NOW)
    assert not social.entitlement_active(deleted=False, starts_at=later, ends_at=None, now=NOW)
    assert not social.entitlement_active(deleted=False, starts_at=None, ends_at=NOW, now=NOW)
