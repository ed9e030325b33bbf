"""The legacy page (bot/ui/retirement/ceremony.py legacy_embed) shows achievements by their titles, not their keys."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.services.retirement import LegacyView
from bot.ui.profile import achievement_name
from bot.ui.retirement.ceremony import legacy_embed


def test_legacy_achievements_are_shown_by_title() -> None:
    view = LegacyView(
        persona_id=1,
        name="Ada",
        owner_id=2,
        archive_access="public",
        retired_at=datetime(2026, 1, 1, tzinfo=UTC),
        retention_until=None,
        profile={"lifespan": "a year"},
        stats={"conversations": 3},
        achievements=[{"key": "first_conversation"}, {"key": "an_old_award"}],
        timeline=[],
        memory_count=0,
        memories=[],
        farewell=None,
        research_available=False,
        deleted_at=None,
    )
    field = next(f for f in legacy_embed(view).fields if f.name == "Achievements")
    assert field.value == "💬 First conversation\n🏆 An old award"
    assert "first_conversation" not in (field.value or "")
    assert achievement_name("first_conversation") == "💬 First conversation"
