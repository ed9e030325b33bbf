"""Character Card V2/V3 mapping and PNG text chunks (pure)."""

from __future__ import annotations

import base64
import io
import json
import struct
import zlib
from datetime import UTC, datetime
from typing import Any

import pytest
from PIL import Image

from bot.core import cards
from bot.core.errors import DomainError
from bot.core.traits import ALL_TRAITS


def tiny_png(colour: tuple[int, int, int] = (10, 200, 30)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (4, 3), colour).save(buffer, format="PNG")
    return buffer.getvalue()


def persona(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": 7,
        "name": "Ada",
        "description": "A patient mathematician.",
        "personality_text": "precise, warm",
        "scenario": "A study full of notebooks.",
        "example_dialogue": "<START>\n{{char}}: Let us count.",
        "greeting": "Good evening.",
        "alternate_greetings": ["Hello again."],
        "system_prompt": "Stay in character.",
        "post_history_instructions": "Be brief.",
        "creator_notes": "Made for tests.",
        "nickname": "Addy",
        "avatar_url": "https://example.org/ada.png",
        "traits": {trait: 10.0 + 5 * i for i, trait in enumerate(ALL_TRAITS)},
        "custom_traits": [
            {"name": "Punctuality", "value": 77.0, "description": "", "category": "habits", "influences": []}
        ],
        "behavior": {"chattiness": 35, "verbosity": "detailed"},
        "privacy": {"shareable": True},
        "memory": {"decay_rate": 0.2},
        "plugins": ["dice"],
        "legacy_settings": {"epitaph": "She counted everything."},
        "created_at": datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
        "updated_at": datetime(2026, 2, 2, tzinfo=UTC),
    }
    data.update(changes)
    return data


FOREIGN_V2: dict[str, Any] = {
    "spec": "chara_card_v2",
    "spec_version": "2.0",
    "data": {
        "name": "Seraphina",
        "description": "A guardian of the forest.",
        "personality": "kind, protective",
        "scenario": "You wake up in her glade.",
        "first_mes": "*She smiles.* You're awake.",
        "mes_example": "<START>\n{{char}}: Rest now.",
        "creator_notes": "Be gentle.",
        "system_prompt": "",
        "post_history_instructions": "",
        "alternate_greetings": ["Hello, traveller."],
        "tags": ["fantasy", "healer"],
        "creator": "someone",
        "character_version": "1.2",
        "character_book": {"entries": [{"keys": ["glade"], "content": "A clearing.", "enabled": True}]},
        "extensions": {"depth_prompt": {"depth": 4, "prompt": "stay in character"}, "talkativeness": "0.5"},
    },
}


# --------------------------------------------------------------------------------------------------- PNG


def test_png_text_chunk_round_trip_and_pillow_still_reads_the_image() -> None:
    png = cards.png_with_text_chunk(tiny_png(), "chara", "aGVsbG8=")
    assert cards.read_text_chunks(png) == {"chara": "aGVsbG8="}
    image = Image.open(io.BytesIO(png))
    image.load()
    assert image.size == (4, 3) and image.text["chara"] == "aGVsbG8="
    # Writing the keyword again replaces it rather than adding a second chunk.
    again = cards.png_with_text_chunk(png, "chara", "d29ybGQ=")
    assert cards.read_text_chunks(again) == {"chara": "d29ybGQ="}
    assert again.count(b"tEXtchara") == 1


def test_png_chunks_are_checked() -> None:
    good = cards.png_with_text_chunk(tiny_png(), "chara", "abc")
    with pytest.raises(DomainError, match="not a PNG"):
        cards.read_text_chunks(b"GIF89a" + good[6:])
    position = good.index(b"tEXtchara")
    corrupted = bytearray(good)
    corrupted[position + 6] ^= 0xFF  # a byte of the keyword: the CRC no longer matches
    with pytest.raises(DomainError, match="CRC of its tEXt chunk is wrong"):
        cards.read_text_chunks(bytes(corrupted))
    with pytest.raises(DomainError, match="truncated"):
        cards.read_text_chunks(good[:-20])
    with pytest.raises(DomainError, match="Latin-1"):
        cards.png_with_text_chunk(good, "chara", "snow ☃")


def test_the_chunk_layout_is_length_type_data_crc() -> None:
    png = cards.png_with_text_chunk(tiny_png(), "ccv3", "xyz")
    position = png.index(b"tEXt") - 4
    (length,) = struct.unpack(">I", png[position : position + 4])
    body = png[position + 8 : position + 8 + length]
    (crc,) = struct.unpack(">I", png[position + 8 + length : position + 12 + length])
    assert body == b"ccv3\x00xyz" and crc == zlib.crc32(b"tEXt" + body)
    assert png.endswith(b"IEND\xaeB`\x82")  # the text goes before IEND


def test_solid_png_is_a_valid_image() -> None:
    image = Image.open(io.BytesIO(cards.solid_png(8, 5, (1, 2, 3))))
    image.load()
    assert image.size == (8, 5) and image.getpixel((7, 4)) == (1, 2, 3)


def test_card_png_holds_v3_and_a_v2_copy_and_prefers_v3() -> None:
    card = cards.persona_to_card(persona(), 3)
    png = cards.card_to_png(card, tiny_png())
    chunks = cards.read_text_chunks(png)
    assert json.loads(base64.b64decode(chunks["ccv3"])) == card
    v2 = json.loads(base64.b64decode(chunks["chara"]))
    assert v2["spec"] == "chara_card_v2" and "nickname" not in v2["data"]
    assert cards.card_from_png(png) == card
    with pytest.raises(DomainError, match="no character card"):
        cards.card_from_png(tiny_png())


# --------------------------------------------------------------------------------------------------- export


def test_card_text_decoding() -> None:
    card = cards.persona_to_card(persona(name="Zoë"), 2)
    assert cards.decode_card_text(cards.encode_card_text(card)) == card
    with pytest.raises(DomainError, match="base64"):
        cards.decode_card_text("not base64 at all!")
    with pytest.raises(DomainError, match="not valid JSON"):
        cards.decode_card_text(base64.b64encode(b"{nope").decode())


# --------------------------------------------------------------------------------------------------- mapping

V2_REQUIRED = (  # SillyTavern's TavernCardValidator: every one of these must be present in data
    "name",
    "description",
    "personality",
    "scenario",
    "first_mes",
    "mes_example",
    "creator_notes",
    "system_prompt",
    "post_history_instructions",
    "alternate_greetings",
    "tags",
    "creator",
    "character_version",
    "extensions",
)


def valid_by_sillytavern(card: dict[str, Any]) -> bool:
    """SillyTavern's TavernCardValidator rules (V2: spec, spec_version, the required fields and types, the book's
    extensions and entries; V3: spec and spec_version 3.x), plus the specs' required book entry fields."""
    data = card["data"]
    if card["spec"] == "chara_card_v2":
        if card["spec_version"] != "2.0" or not all(f in data for f in V2_REQUIRED):
            return False
        if not (isinstance(data["alternate_greetings"], list) and isinstance(data["tags"], list)):
            return False
    elif not (card["spec"] == "chara_card_v3" and 3.0 <= float(card["spec_version"]) < 4.0):
        return False
    book = data.get("character_book")
    if book is not None:
        if not isinstance(book.get("extensions"), dict) or not isinstance(book.get("entries"), list):
            return False
        needed = {"keys", "content", "extensions", "enabled", "insertion_order"}
        if card["spec"] == "chara_card_v3":
            needed.add("use_regex")
        return all(needed <= set(entry) and isinstance(entry["extensions"], dict) for entry in book["entries"])
    return True


def test_a_foreign_v2_card_maps_each_field_to_its_column() -> None:
    imported = cards.card_to_persona(FOREIGN_V2)
    data = FOREIGN_V2["data"]
    assert imported.name == "Seraphina" and imported.version == 2 and imported.edited is None
    assert imported.columns == {
        "description": data["description"],  # the card's own, not merged with the personality
        "personality_text": data["personality"],
        "scenario": data["scenario"],
        "greeting": data["first_mes"],
        "example_dialogue": data["mes_example"],
        "alternate_greetings": data["alternate_greetings"],
        "system_prompt": "",
        "post_history_instructions": "",
        "creator_notes": data["creator_notes"],
    }
    legacy = imported.settings["legacy_settings"]
    assert legacy["card"] == {k: data[k] for k in ("creator", "character_version", "tags", "character_book")}
    assert legacy["card_extensions"] == data["extensions"]


def _persona_from(imported: cards.CardImport, **extra: Any) -> dict[str, Any]:
    return {"name": imported.name, **imported.columns, **imported.settings, **extra}


def test_a_foreign_card_comes_back_with_each_field_once_and_valid() -> None:
    imported = cards.card_to_persona(FOREIGN_V2)
    book = imported.settings["legacy_settings"]["card"]["character_book"]  # the lore book, as the import made it
    exported = cards.persona_to_card(_persona_from(imported, id=3), 2, book=book)
    data = exported["data"]
    for key, value in FOREIGN_V2["data"].items():
        if key == "character_book":
            assert data[key]["entries"][0]["content"] == value["entries"][0]["content"]
        elif key != "extensions":
            assert data[key] == value, key
    ours = data["extensions"].pop("persona_hub")
    assert data["extensions"] == FOREIGN_V2["data"]["extensions"]
    # Our extension holds nothing a card field holds: no description, no card fields, no duplicated text.
    assert set(ours) <= {"version", "persona", "sums", "legacy_settings", "avatar_url", "traits"}
    assert "legacy_settings" not in ours  # the card metadata is written in the card's own fields
    assert FOREIGN_V2["data"]["description"] not in json.dumps(ours)
    assert valid_by_sillytavern(exported)


@pytest.mark.parametrize("version", [2, 3])
def test_book_entries_carry_what_the_specs_require(version: int) -> None:
    book = {"entries": [{"keys": ["glade"], "content": "A clearing."}, {"content": "x", "extensions": None}]}
    exported = cards.persona_to_card(persona(), version, book=book)
    written = exported["data"]["character_book"]
    assert written["extensions"] == {}
    assert [e["extensions"] for e in written["entries"]] == [{}, {}]
    assert all(e["enabled"] is True and e["insertion_order"] == 0 for e in written["entries"])
    assert all(("use_regex" in e) == (version == 3) for e in written["entries"])
    assert valid_by_sillytavern(exported)


@pytest.mark.parametrize("version", [2, 3])
def test_our_card_round_trips_every_field(version: int) -> None:
    source = persona()
    card = cards.persona_to_card(source, version)
    assert valid_by_sillytavern(card)
    imported = cards.card_to_persona(json.loads(cards.card_to_json(card)))
    assert imported.origin == 7 and imported.edited == ()
    for column in cards.CHARACTER_COLUMNS:
        assert imported.columns[column] == source[column], column  # V2: nickname from our extension's v3
    for key in ("traits", "custom_traits", "behavior", "privacy", "memory", "plugins", "avatar_url"):
        assert imported.settings[key] == source[key], key
    assert imported.settings["legacy_settings"]["epitaph"] == "She counted everything."
    text = json.dumps(card, ensure_ascii=False)
    for column in ("description", "scenario", "greeting", "system_prompt"):
        assert text.count(json.dumps(source[column], ensure_ascii=False)[1:-1]) == 1, column  # written once


def test_fields_edited_elsewhere_are_named_and_absence_is_not_deletion() -> None:
    card = cards.persona_to_card(persona(), 3)
    v2 = json.loads(json.dumps(card))
    v2["spec"], v2["spec_version"] = "chara_card_v2", "2.0"
    for key in ("nickname", "group_only_greetings", "creation_date", "modification_date"):
        v2["data"].pop(key, None)  # a V2 tool drops the V3-only fields
    v2["data"]["description"] = "A patient mathematician who loves tea."
    v2["data"]["scenario"] = "A garden."
    imported = cards.card_to_persona(v2)
    assert imported.edited == ("description", "scenario")
    assert "nickname" not in imported.columns  # absent: left as it is, not deleted


def test_v3_fields_and_icon() -> None:
    card = {
        "spec": "chara_card_v3",
        "spec_version": "3.1",
        "data": {
            "name": "Nova",
            "nickname": "No",
            "group_only_greetings": ["Hi everyone."],
            "source": ["https://example.org/nova"],
            "creator_notes_multilingual": {"fr": "Bonjour"},
            "creation_date": 1700000000,
            "assets": [{"type": "icon", "uri": "https://example.org/nova.png", "name": "main", "ext": "png"}],
        },
    }
    imported = cards.card_to_persona(card)
    assert imported.version == 3 and imported.columns["nickname"] == "No"
    assert imported.settings["avatar_url"] == "https://example.org/nova.png"
    meta = imported.settings["legacy_settings"]["card"]
    assert meta["group_only_greetings"] == ["Hi everyone."] and meta["creation_date"] == 1700000000
    again = cards.persona_to_card(_persona_from(imported), 3)["data"]
    for key in ("nickname", "group_only_greetings", "source", "creator_notes_multilingual", "assets"):
        assert again[key] == card["data"][key], key
    assert again["creation_date"] == 1700000000


@pytest.mark.parametrize(
    "card",
    [
        # V1 with tags "" and a numeric version (SillyTavern reads both).
        {"name": "Old", "description": "d", "personality": "p", "scenario": "", "first_mes": "hi", "mes_example": "",
         "tags": "", "character_version": 2},
        {"spec": "chara_card_v2", "data": {"name": "T", "tags": "a, b", "character_version": 1.5}},
        {"spec": "chara_card_v2", "data": {"name": "N" * 150}},  # a long name is kept whole
        {"spec": "chara_card_v2", "data": {"name": "Nulls", "scenario": None, "alternate_greetings": None}},
    ],
)  # fmt: skip
def test_what_the_specs_and_sillytavern_accept_is_accepted(card: dict[str, Any]) -> None:
    imported = cards.card_to_persona(card)
    meta = imported.settings["legacy_settings"] or {}
    if imported.name == "Old":
        assert imported.version == 1 and imported.columns["greeting"] == "hi"
        assert meta["card"]["character_version"] == "2" and "tags" not in meta["card"]
    elif imported.name == "T":
        assert meta["card"]["tags"] == ["a", "b"] and meta["card"]["character_version"] == "1.5"
    elif imported.name == "Nulls":
        assert imported.columns["scenario"] == "" and imported.columns["alternate_greetings"] == []
    else:
        assert imported.name == "N" * 150


def test_png_keywords_in_any_case_and_lenient_base64() -> None:
    card = {"spec": "chara_card_v2", "data": {"name": "Case"}}
    raw = base64.b64encode(json.dumps(card).encode()).decode().rstrip("=")
    wrapped = "\n".join(raw[i : i + 20] for i in range(0, len(raw), 20))  # line breaks, no padding
    png = cards.png_with_text_chunk(tiny_png(), "Chara", wrapped)
    assert cards.card_from_png(png) == card
    assert cards.read_text_chunks(cards.picture_of(png)) == {}  # the picture kept is without its card


def test_a_v3_png_is_at_most_the_v3_card_twice_plus_the_picture() -> None:
    card = cards.persona_to_card(persona(), 3, book={"entries": [{"keys": ["k"], "content": "c" * 500}]})
    picture = tiny_png()
    png = cards.card_to_png(card, picture)
    assert len(png) <= len(picture) + 2 * len(cards.encode_card_text(card)) + 100
    chunks = cards.read_text_chunks(png)
    older = json.loads(base64.b64decode(chunks["chara"]))
    assert older["spec"] == "chara_card_v2" and valid_by_sillytavern(older)
    assert older["data"]["extensions"]["persona_hub"]["v3"]["nickname"] == "Addy"


def _book(entries: list[Any]) -> dict[str, Any]:
    return {"spec": "chara_card_v2", "data": {"name": "B", "character_book": {"entries": entries}}}


@pytest.mark.parametrize(
    ("card", "message"),
    [
        ([], "must be a JSON object"),
        ({"spec": "chara_card_v9", "data": {}}, "not a character card I know"),
        ({"spec": "chara_card_v2", "data": {"name": " "}}, "no name"),
        ({"spec": "chara_card_v2", "data": {"name": "A", "first_mes": 3}}, "'first_mes' must be text"),
        ({"spec": "chara_card_v2", "data": {"name": "A", "tags": [1]}}, "'tags' must be a list of texts"),
        ({"spec": "chara_card_v2", "data": {"name": "A", **{f"f{i}": i for i in range(3000)}}}, "3,001 fields"),
        ({"spec": "chara_card_v2", "data": {"name": "A", "description": "x" * 100_001}}, "100,001 characters"),
        (_book([{"keys": ["k"], "content": "x" * (1024 * 1024)}]), "Lore entry 1 is 1,048,576 characters"),
        (_book([{"content": "x"}] * 10_000), "at most 500 entries"),  # the lore book's bound decides
        (_book(["not an entry"]), "Lore entry 1 of the card's character_book must be an object"),
        (_book([{"keys": [1], "content": "x"}]), "entry 1's keys must be a list of words"),
        ({"spec": "chara_card_v2", "data": {"name": "A", "extensions": {"x": [0] * 300_000}}}, "more than 200,000"),
        ({"spec": "chara_card_v2", "data": {"name": "A", "extensions": {"persona_hub": {"version": 9}}}}, "version 9"),
        (
            {"spec": "chara_card_v2", "data": {"name": "A", "extensions": {"persona_hub": {"version": 2, "x": 1}}}},
            "unknown fields: x",
        ),
        (
            {"spec": "chara_card_v2", "data": {"name": "A", "extensions": {"persona_hub": {"version": 2,
                                                                                          "traits": [1]}}}},
            "'traits' in the card's 'persona_hub' extension must be an object",
        ),
    ],
)  # fmt: skip
def test_malformed_or_oversized_cards_are_refused_clearly(card: Any, message: str) -> None:
    with pytest.raises(DomainError, match=message):
        cards.card_to_persona(card)


def test_malformed_base64_is_refused() -> None:
    png = cards.png_with_text_chunk(tiny_png(), "chara", "!!!! not base64 ****")
    with pytest.raises(DomainError, match="not valid base64"):
        cards.card_from_png(png)


def test_a_version_1_extension_is_still_read_and_the_card_fields_win() -> None:
    old = {
        "spec": "chara_card_v2",
        "data": {
            "name": "Ada",
            "description": "Edited in another tool.",
            "extensions": {"persona_hub": {"version": 1, "description": "Old.", "traits": {"openness": 80.0}}},
        },
    }
    imported = cards.card_to_persona(old)
    assert imported.columns["description"] == "Edited in another tool."
    assert imported.settings["traits"] == {"openness": 80.0} and imported.edited is None


def test_display_names_fit_discord() -> None:
    from bot.core.personas import DISPLAY_NAME_MAX, display_name, validate_name

    assert display_name("Ada") == "Ada"
    long = "The Most Honourable Lady Augusta Ada King, Countess of Lovelace, née Byron, Analyst of Engines"
    shown = display_name(long)
    assert len(shown) <= DISPLAY_NAME_MAX == 80 and shown.endswith("…") and long.startswith(shown[:-1])
    assert validate_name(long) == long  # a typed name has the same limit as a card's
    assert validate_name("n" * 200) == "n" * 200
    with pytest.raises(DomainError, match="The name is 201 characters long; the limit is 200"):
        validate_name("n" * 201)


def test_a_foreign_card_gets_traits_from_what_its_texts_say() -> None:
    shy = {
        "spec": "chara_card_v2",
        "spec_version": "2.0",
        "data": {
            "name": "Wren",
            "description": "A shy, quiet bookworm who loves puzzles.",
            "personality": "curious",
            "scenario": "",
            "first_mes": "Oh! Hello.",
            "mes_example": "",
        },
    }
    traits = cards.card_to_persona(shy).settings["traits"]
    assert set(traits) == set(ALL_TRAITS)
    assert traits["extraversion"] < 40 and traits["openness"] > 60 and traits["curiosity"] > 60
    # Texts that say nothing about a personality leave the defaults; our own exports keep their stored traits.
    plain = {**shy, "data": {**shy["data"], "description": "Lives in a lighthouse.", "personality": ""}}
    assert "traits" not in cards.card_to_persona(plain).settings
