"""Character cards on SQLite and PostgreSQL: the picture kept and written back, import -> export -> import round
trips, a card edited elsewhere updating the persona it came from, long names, sizes, and bad cards saving nothing."""

from __future__ import annotations

import base64
import io
import json
import random
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import func, select

from bot.core import cards
from bot.core.errors import DomainError
from bot.db import models
from bot.db.engine import Database
from bot.services import portability
from tests.integration.test_portability import LATER, NEW_HOME, NOW, OWNER, import_card

BOOK = {
    "name": "Glade lore",
    "scan_depth": 4,
    "entries": [
        {
            "keys": [f"place{i}", f"name{i}"],
            "content": f"Entry {i}: " + "The glade is old and the trees remember. " * 8,
            "enabled": True,
            "insertion_order": i,
            "comment": f"entry {i}",
        }
        for i in range(30)
    ],
}
CARD: dict[str, Any] = {
    "spec": "chara_card_v2",
    "spec_version": "2.0",
    "data": {
        "name": "Seraphina",
        "description": "A guardian of the forest. " * 40,
        "personality": "kind, protective, " * 10,
        "scenario": "You wake up in her glade. " * 10,
        "first_mes": "*She smiles.* You're awake. " * 20,
        "mes_example": "<START>\n{{user}}: Where am I?\n{{char}}: Safe. " * 10,
        "creator_notes": "Be gentle.",
        "system_prompt": "Stay in character.",
        "post_history_instructions": "",
        "alternate_greetings": ["Hello, traveller.", "Back so soon?"],
        "tags": ["fantasy", "healer"],
        "creator": "someone",
        "character_version": "1.2",
        "character_book": BOOK,
        "extensions": {"talkativeness": "0.5", "fav": False, "world": "", "depth_prompt": {"depth": 4, "prompt": ""}},
    },
}


def picture(size: int = 256) -> bytes:
    """A realistic picture: noisy pixels compress like a drawing does, not like a flat square."""
    generator = random.Random(17)
    image = Image.new("RGB", (size, size))
    image.putdata([(generator.randrange(256), 90, generator.randrange(80)) for _ in range(size * size)])
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def card_png(card: dict[str, Any], keyword: str = "chara", image: bytes | None = None) -> bytes:
    text = base64.b64encode(json.dumps(card).encode()).decode()
    return cards.png_with_text_chunk(image or picture(), keyword, text)


async def _export(database: Database, persona_id: int, version: int, as_png: bool) -> bytes:
    async with database.session() as session:
        return await portability.export_card(session, OWNER, persona_id, version, as_png=as_png)


async def _personas(database: Database) -> int:
    async with database.session() as session:
        return int((await session.execute(select(func.count()).select_from(models.Persona))).scalar_one())


@pytest.mark.parametrize("version", [2, 3])
async def test_a_png_card_round_trips_with_its_picture_and_within_one_and_a_half_times(
    database: Database, version: int
) -> None:
    original = card_png(CARD)
    async with database.transaction() as session:
        imported = await import_card(session, OWNER, original, "seraphina.png", now=NOW)
    assert not imported.updated
    exported = await _export(database, imported.record.id, version, as_png=True)
    ratio = len(exported) / len(original)
    print(f"V2 PNG {len(original):,} B -> V{version} PNG {len(exported):,} B: {ratio:.2f}x")
    assert ratio <= 1.5
    assert cards.picture_of(exported) == cards.picture_of(original)  # the picture, not a plain square
    card = cards.card_from_png(exported)
    data = card["data"]
    for key, value in CARD["data"].items():
        if key == "character_book":
            assert [e["content"] for e in data[key]["entries"]] == [e["content"] for e in value["entries"]]
            assert all(e["extensions"] == {} for e in data[key]["entries"])
            assert all(("use_regex" in e) == (version == 3) for e in data[key]["entries"])
        elif key == "extensions":
            assert {k: v for k, v in data[key].items() if k != "persona_hub"} == value
        else:
            assert data[key] == value, key
    assert json.dumps(card).count("The glade is old") == 30 * 8  # each entry written once in the card


async def test_json_export_is_within_one_and_a_half_times(database: Database) -> None:
    original = json.dumps(CARD, separators=(",", ":")).encode()
    async with database.transaction() as session:
        imported = await import_card(session, OWNER, original, "s.json", now=NOW)
    for version in (2, 3):
        exported = await _export(database, imported.record.id, version, as_png=False)
        print(
            f"V2 JSON {len(original):,} B -> V{version} JSON {len(exported):,} B: {len(exported) / len(original):.2f}x"
        )
        assert len(exported) <= 1.5 * len(original)


async def test_a_card_edited_elsewhere_updates_the_persona_and_says_what_changed(database: Database) -> None:
    async with database.transaction() as session:
        first = await import_card(session, OWNER, card_png(CARD), "seraphina.png", now=NOW)
    exported = cards.card_from_png(await _export(database, first.record.id, 3, as_png=True))
    # Edited in a V2 tool: the V3-only fields are gone, three fields changed, the rest as exported.
    edited = {**exported, "spec": "chara_card_v2", "spec_version": "2.0"}
    edited["data"] = {k: v for k, v in exported["data"].items() if k not in ("group_only_greetings", "creation_date")}
    edited["data"]["description"] = "A guardian who now guards a city."
    edited["data"]["scenario"] = "The city gates."
    edited["data"]["tags"] = ["fantasy", "city"]
    async with database.transaction() as session:
        second = await import_card(session, OWNER, json.dumps(edited).encode(), "s.json", now=LATER)
    assert second.updated and second.record.id == first.record.id
    assert second.changed == ("description", "scenario", "tags")
    assert await _personas(database) == 1
    async with database.session() as session:
        row = await session.get(models.Persona, first.record.id)
    assert row is not None and row.description == "A guardian who now guards a city."
    assert row.scenario == "The city gates." and row.greeting == CARD["data"]["first_mes"]
    assert row.legacy_settings["card"]["tags"] == ["fantasy", "city"]
    assert row.legacy_settings["card"]["character_book"]["entries"][0]["content"] == BOOK["entries"][0]["content"]
    # The same card again: nothing more changes.
    async with database.transaction() as session:
        third = await import_card(session, OWNER, json.dumps(edited).encode(), "s.json", now=LATER)
    assert third.updated and third.changed == ()


async def test_someone_elses_copy_is_a_new_persona_naming_the_edits(database: Database) -> None:
    async with database.transaction() as session:
        first = await import_card(session, OWNER, card_png(CARD), "seraphina.png", now=NOW)
    exported = cards.card_from_png(await _export(database, first.record.id, 2, as_png=True))
    exported["data"]["personality"] = "stern"
    async with database.transaction() as session:
        other = await import_card(session, NEW_HOME, card_png(exported), "s.png", now=LATER)
    assert not other.updated and other.changed == ("personality",)
    async with database.session() as session:
        row = await session.get(models.Persona, other.record.id)
    assert row is not None and row.personality_text == "stern" and row.owner_id == NEW_HOME.user_id


async def test_a_long_name_is_kept_whole(database: Database) -> None:
    name = "Seraphina, Guardian of the Eastern Glade and Keeper of the Old Trees, Daughter of the Moon and Stars"
    card = {"spec": "chara_card_v2", "data": {**CARD["data"], "name": name}}
    async with database.transaction() as session:
        imported = await import_card(session, OWNER, json.dumps(card).encode(), "s.json", now=NOW)
        again = await import_card(session, OWNER, json.dumps(card).encode(), "s.json", now=NOW)
    assert len(name) > 80 and imported.record.name == name
    assert again.record.name == name + " (imported)"
    assert cards.card_from_png(await _export(database, imported.record.id, 2, as_png=True))["data"]["name"] == name


@pytest.mark.parametrize(
    ("data", "filename", "message"),
    [
        (cards.png_with_text_chunk(picture(8), "chara", "%%%% not base64"), "x.png", "not valid base64"),
        (
            json.dumps({"spec": "chara_card_v2", "data": {**CARD["data"], "character_book": {"entries": [
                {"keys": ["k"], "content": "x" * (1024 * 1024)}]}}}).encode(),
            "x.json",
            "Lore entry 1 is 1,048,576 characters long",
        ),
        (
            json.dumps({"spec": "chara_card_v2", "data": {"name": "A", **{f"f{i}": "" for i in range(5000)}}}).encode(),
            "x.json",
            "5,001 fields",
        ),
        (json.dumps({"spec": "chara_card_v2", "data": {"name": "A", "scenario": "a\x00b"}}).encode(), "x.json", "NUL"),
    ],
)  # fmt: skip
async def test_bad_cards_are_refused_and_save_nothing(
    database: Database, data: bytes, filename: str, message: str
) -> None:
    with pytest.raises(DomainError, match=message):
        async with database.transaction() as session:
            await import_card(session, OWNER, data, filename, now=NOW)
    assert await _personas(database) == 0
