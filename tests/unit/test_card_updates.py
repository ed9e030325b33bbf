"""Re-importing a card exported from here and edited elsewhere: which fields change (pure)."""

from __future__ import annotations

import json
from typing import Any

from bot.core import cards
from bot.core.card_updates import plan_reimport
from tests.unit.test_cards import persona


def _current(source: dict[str, Any]) -> dict[str, Any]:
    return {"name": source["name"], "legacy_settings": source["legacy_settings"]} | {
        c: source[c] for c in cards.CHARACTER_COLUMNS
    }


def test_the_cards_edits_win_and_are_named() -> None:
    source = persona(legacy_settings={"card": {"tags": ["a"]}})
    card = json.loads(cards.card_to_json(cards.persona_to_card(source, 2)))
    card["data"]["description"] = "New description."
    card["data"]["personality"] = "playful"
    card["data"]["tags"] = ["a", "b"]
    plan = plan_reimport(_current(source), cards.card_to_persona(card))
    assert plan.changed == ("description", "personality", "tags")
    assert plan.columns == {"description": "New description.", "personality_text": "playful"}
    assert plan.legacy_settings is not None and plan.legacy_settings["card"]["tags"] == ["a", "b"]
    assert plan.name is None


def test_an_unedited_card_keeps_what_was_changed_here_since() -> None:
    source = persona()
    card = cards.card_to_persona(json.loads(cards.card_to_json(cards.persona_to_card(source, 3))))
    now = _current(source) | {"scenario": "Changed here after the export."}
    plan = plan_reimport(now, card)
    assert plan.changed == () and plan.columns == {} and plan.legacy_settings is None


def test_a_v2_tool_dropping_v3_fields_deletes_nothing_and_a_rename_is_taken() -> None:
    source = persona()
    card = json.loads(cards.card_to_json(cards.persona_to_card(source, 3)))
    card["spec"] = "chara_card_v2"
    for key in ("nickname", "group_only_greetings", "creation_date", "modification_date"):
        card["data"].pop(key)
    card["data"]["name"] = "Ada Lovelace"
    card["data"]["extensions"]["talkativeness"] = "0.5"  # the other tool's own
    plan = plan_reimport(_current(source), cards.card_to_persona(card))
    assert plan.name == "Ada Lovelace" and plan.changed == ("name", "extensions")
    assert "nickname" not in plan.columns
    assert plan.legacy_settings is not None and plan.legacy_settings["card_extensions"] == {"talkativeness": "0.5"}
