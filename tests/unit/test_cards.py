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
from bot.core.personas import DESCRIPTION_MAX
from bot.core.traits import ALL_TRAITS


def tiny_png(colour: tuple[int, int, int] = (10, 200, 30)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (4, 3), colour).save(buffer, format="PNG")
    return buffer.getvalue()


def persona(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": "Ada",
        "description": "A patient mathematician.",
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


def test_persona_to_card_v2_and_v3_follow_the_spec() -> None:
    v2 = cards.persona_to_card(persona(), 2)
    assert v2["spec"] == "chara_card_v2" and v2["spec_version"] == "2.0"
    required = {
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
    }
    assert required <= set(v2["data"])
    assert v2["data"]["name"] == "Ada" and v2["data"]["description"] == "A patient mathematician."
    assert v2["data"]["personality"]  # trait words, for tools that only read text
    ours = v2["data"]["extensions"]["persona_hub"]
    assert ours["traits"] == persona()["traits"] and ours["plugins"] == ["dice"] and ours["version"] == 1

    v3 = cards.persona_to_card(persona(), 3)
    assert v3["spec"] == "chara_card_v3" and v3["spec_version"] == "3.0"
    assert {"nickname", "creator_notes_multilingual", "source", "group_only_greetings"} <= set(v3["data"])
    assert v3["data"]["creation_date"] == int(datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC).timestamp())
    with pytest.raises(DomainError, match="version 2 or 3"):
        cards.persona_to_card(persona(), 4)


@pytest.mark.parametrize("version", [2, 3])
def test_our_extension_round_trips_exactly(version: int) -> None:
    original = persona()
    card = json.loads(cards.card_to_json(cards.persona_to_card(original, version)))
    restored, extensions = cards.card_to_persona(card)
    assert extensions == {}
    expected = {k: v for k, v in original.items() if k not in ("created_at", "updated_at")}
    assert restored == expected


def test_our_extension_picks_up_card_fields_edited_elsewhere() -> None:
    card = cards.persona_to_card(persona(), 2)
    card["data"]["first_mes"] = "Hello there."
    card["data"]["tags"] = ["maths"]
    restored, _ = cards.card_to_persona(card)
    assert restored["legacy_settings"]["card"] == {"first_mes": "Hello there.", "tags": ["maths"]}
    assert restored["legacy_settings"]["epitaph"] == "She counted everything."
    assert restored["traits"] == persona()["traits"]
    # ... and the next export writes them.
    again = cards.persona_to_card(restored, 2)["data"]
    assert again["first_mes"] == "Hello there." and again["tags"] == ["maths"]


# --------------------------------------------------------------------------------------------------- import


def test_a_foreign_v2_card_maps_into_the_persona() -> None:
    fields, extensions = cards.card_to_persona(FOREIGN_V2)
    assert fields["name"] == "Seraphina"
    assert fields["description"] == (
        "A guardian of the forest.\n\nPersonality: kind, protective\n\nScenario: You wake up in her glade."
    )
    kept = fields["legacy_settings"]["card"]
    assert kept["first_mes"] == "*She smiles.* You're awake."
    assert kept["mes_example"].startswith("<START>")
    assert kept["alternate_greetings"] == ["Hello, traveller."] and kept["tags"] == ["fantasy", "healer"]
    assert kept["character_book"]["entries"][0]["keys"] == ["glade"]
    assert "system_prompt" not in kept  # empty fields are not kept
    assert extensions == FOREIGN_V2["data"]["extensions"]
    assert "traits" not in fields  # free text is not guessed into numbers


def test_a_foreign_card_comes_back_as_it_was_with_its_extensions() -> None:
    fields, extensions = cards.card_to_persona(FOREIGN_V2)
    fields["legacy_settings"] = cards.keep_extensions(fields["legacy_settings"], extensions)
    fields["traits"] = {trait: 50.0 for trait in ALL_TRAITS}
    card = cards.persona_to_card(fields, 2)
    for key, value in FOREIGN_V2["data"].items():
        if key != "extensions":
            assert card["data"][key] == value, key
    assert card["data"]["extensions"]["depth_prompt"] == {"depth": 4, "prompt": "stay in character"}
    assert card["data"]["extensions"]["talkativeness"] == "0.5"
    assert "persona_hub" in card["data"]["extensions"]
    # An edited description replaces the card's own.
    fields["description"] = "Rewritten."
    assert cards.persona_to_card(fields, 2)["data"]["description"] == "Rewritten."


def test_v3_card_fields_and_icon() -> None:
    card = {
        "spec": "chara_card_v3",
        "spec_version": "3.0",
        "data": {
            **FOREIGN_V2["data"],
            "nickname": "Sera",
            "group_only_greetings": ["Hi all."],
            "creation_date": 1700000000,
            "assets": [{"type": "icon", "uri": "https://example.org/sera.png", "name": "main", "ext": "png"}],
        },
    }
    fields, _ = cards.card_to_persona(card)
    assert fields["avatar_url"] == "https://example.org/sera.png"
    assert fields["legacy_settings"]["card"]["nickname"] == "Sera"
    again = cards.persona_to_card(fields, 3)["data"]
    assert again["nickname"] == "Sera" and again["group_only_greetings"] == ["Hi all."]
    assert again["creation_date"] == 1700000000 and again["assets"] == card["data"]["assets"]


def test_a_v1_card_reads_as_v2() -> None:
    fields, _ = cards.card_to_persona({"name": "Old", "description": "d", "first_mes": "hi"})
    assert fields["name"] == "Old" and fields["legacy_settings"]["card"]["first_mes"] == "hi"


def test_a_long_card_description_is_cut_to_the_limit() -> None:
    card = {"spec": "chara_card_v2", "data": {"name": "Long", "description": "word " * 4000}}
    fields, _ = cards.card_to_persona(card)
    assert len(fields["description"]) == DESCRIPTION_MAX and fields["description"].endswith("…")
    assert fields["legacy_settings"]["card"]["description"] == "word " * 4000  # the original is kept


@pytest.mark.parametrize(
    ("card", "message"),
    [
        ([1, 2], "JSON object"),
        ({"spec": "chara_card_v9", "data": {}}, "not a character card I know"),
        ({"spec": "chara_card_v2"}, "no 'data'"),
        ({"spec": "chara_card_v2", "data": {"name": "  "}}, "no name"),
        ({"spec": "chara_card_v2", "data": {"name": "A", "first_mes": 5}}, "'first_mes' must be text"),
        ({"spec": "chara_card_v2", "data": {"name": "A", "tags": "x"}}, "'tags' must be a list"),
        ({"spec": "chara_card_v2", "data": {"name": "A", "extensions": []}}, "'extensions' must be an object"),
        (
            {"spec": "chara_card_v2", "data": {"name": "A", "extensions": {"persona_hub": {"version": 7}}}},
            "version 7",
        ),
        (
            {
                "spec": "chara_card_v2",
                "data": {"name": "A", "extensions": {"persona_hub": {"version": 1, "traits": [1]}}},
            },
            "'traits' in the card's 'persona_hub' extension must be an object",
        ),
    ],
)
def test_malformed_cards_are_refused_clearly(card: Any, message: str) -> None:
    with pytest.raises(DomainError, match=message):
        cards.card_to_persona(card)


def test_card_text_decoding() -> None:
    card = cards.persona_to_card(persona(name="Zoë"), 2)
    assert cards.decode_card_text(cards.encode_card_text(card)) == card
    with pytest.raises(DomainError, match="base64"):
        cards.decode_card_text("not base64 at all!")
    with pytest.raises(DomainError, match="not valid JSON"):
        cards.decode_card_text(base64.b64encode(b"{nope").decode())
