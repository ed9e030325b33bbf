"""Identity, behaviour and privacy rules (bot.core.personas), without a database."""

from __future__ import annotations

import pytest

from bot.core.errors import DomainError
from bot.core.personas import (
    BehaviorSettings,
    PrivacySettings,
    validate_avatar_url,
    validate_description,
    validate_name,
    validate_plugins,
)


def test_names_are_trimmed_and_inner_spaces_folded() -> None:
    assert validate_name("  Ada   Lovelace ") == "Ada Lovelace"
    assert validate_name("x" * 80) == "x" * 80


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "cannot be blank"),
        ("\t \n", "cannot be blank"),
        ("x" * 201, "201 characters long; the limit is 200"),
        ("My Discord Pal", "cannot contain 'discord'"),
        ("clyde", "cannot contain 'clyde'"),
        ("@admin", "cannot contain '@'"),
        ("here", "cannot be a persona's name"),
    ],
)
def test_bad_names_say_why(name: str, message: str) -> None:
    with pytest.raises(DomainError, match=message):
        validate_name(name)


def test_description_and_avatar() -> None:
    assert validate_description(None) == ""
    assert validate_description("d" * 100_000) == "d" * 100_000
    with pytest.raises(DomainError, match="100,001 characters long; the limit is 100,000"):
        validate_description("d" * 100_001)
    assert validate_avatar_url("  ") is None
    assert validate_avatar_url("https://cdn.example.org/a.png") == "https://cdn.example.org/a.png"
    for bad in ("javascript:alert(1)", "https://", "http://a b.png", "data:image/png;base64,AAA"):
        with pytest.raises(DomainError, match="http:// or https://"):
            validate_avatar_url(bad)


def test_behaviour_defaults_merge_and_validation() -> None:
    settings = BehaviorSettings.from_dict({"chattiness": 40})
    assert settings.chattiness == 40 and settings.verbosity == "balanced"
    assert BehaviorSettings.from_dict(settings.to_dict()) == settings
    with pytest.raises(DomainError, match="Chattiness must be from 0 to 100; got 101"):
        BehaviorSettings.from_dict({"chattiness": 101})
    with pytest.raises(DomainError, match="Chattiness must be a whole number"):
        BehaviorSettings.from_dict({"chattiness": 2.5})
    with pytest.raises(DomainError, match="Reply in threads must be yes or no"):
        BehaviorSettings.from_dict({"reply_in_threads": "sometimes"})
    with pytest.raises(DomainError, match="Unknown behaviour setting: shouting"):
        BehaviorSettings.from_dict({"shouting": True})


@pytest.mark.parametrize(
    ("level", "owner", "same_guild", "stranger"),
    [("owner", True, False, False), ("server", True, True, False), ("public", True, True, True)],
)
def test_one_visibility_rule_for_every_field(level: str, owner: bool, same_guild: bool, stranger: bool) -> None:
    privacy = PrivacySettings.from_dict({"visibility": {"mood": level}})
    assert privacy.can_see("mood", is_owner=True, same_guild=False) is owner
    assert privacy.can_see("mood", is_owner=False, same_guild=True) is same_guild
    assert privacy.can_see("mood", is_owner=False, same_guild=False) is stranger


def test_privacy_defaults_and_errors() -> None:
    privacy = PrivacySettings.from_dict(None)
    assert privacy.visibility["memories"] == "owner" and privacy.visibility["profile"] == "server"
    assert privacy.remember_people and not privacy.shareable
    assert PrivacySettings.from_dict(privacy.to_dict()) == privacy
    with pytest.raises(DomainError, match="'diary' is not a privacy field"):
        PrivacySettings.from_dict({"visibility": {"diary": "public"}})
    with pytest.raises(DomainError, match="Visibility of traits must be one of: owner, server, public"):
        PrivacySettings.from_dict({"visibility": {"traits": "friends"}})


def test_the_retired_ask_first_setting_still_loads_and_is_gone_when_saved() -> None:
    """Issue 15 item 6: "Ask before remembering" never asked anyone, so it went. Settings saved with it (stored
    personas, wizard drafts, exports) still load; the flag is not kept or offered any more."""
    old = PrivacySettings.from_dict({"remember_people": True, "ask_before_remembering": True, "shareable": False})
    assert "ask_before_remembering" not in old.to_dict()
    assert not hasattr(old, "ask_before_remembering")


def test_plugins() -> None:
    assert validate_plugins(["dice", " dice ", "clock"]) == ["dice", "clock"]
    with pytest.raises(DomainError, match="no plugin called 'weather'"):
        validate_plugins(["weather"], known=("dice", "clock"))
    with pytest.raises(DomainError, match="at most 20 plugins"):
        validate_plugins([f"p{i}" for i in range(21)])
    with pytest.raises(DomainError, match="list of plugin names"):
        validate_plugins("dice")


def test_every_table_a_deletion_reports_has_a_name_for_people() -> None:
    from bot.db.models import PERSONA_OWNED_TABLES
    from bot.ui.personas import TABLE_NAMES

    assert {table.__tablename__ for table in PERSONA_OWNED_TABLES} <= set(TABLE_NAMES)
