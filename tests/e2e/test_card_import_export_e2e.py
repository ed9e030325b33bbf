"""/persona import and /persona export of Character Cards through the sandbox: the card's fields land in the
persona's columns, the exported PNG carries the card's own picture, a card edited elsewhere updates the persona
and the reply names what changed, and a malformed card is refused with a sentence."""

from __future__ import annotations

import base64
import io
import json
from typing import Any

import pytest
from PIL import Image

from bot.core import cards
from bot.sandbox import Sandbox
from tests.e2e.test_persona_management import card_png
from tests.e2e.test_persona_wizard import answer, persona_rows

pytestmark = pytest.mark.e2e

CARD: dict[str, Any] = {
    "spec": "chara_card_v2",
    "spec_version": "2.0",
    "data": {
        "name": "Captain Vale",
        "description": "A retired sky pirate.",
        "personality": "gruff but kind",
        "scenario": "The deck of the Kestrel.",
        "first_mes": "Ahoy.",
        "mes_example": "<START>\n{{char}}: Mind the rigging.",
        "creator_notes": "",
        "system_prompt": "",
        "post_history_instructions": "",
        "alternate_greetings": ["Back aboard?"],
        "tags": ["pirate"],
        "creator": "tests",
        "character_version": 3,
        "character_book": {"entries": [{"keys": ["Kestrel"], "content": "Her ship.", "enabled": True}]},
        "extensions": {"talkativeness": "0.5"},
    },
}


async def test_a_card_imports_exports_with_its_picture_and_updates_when_edited(sandbox: Sandbox, running_bot) -> None:
    imported = await answer(await sandbox.slash("persona import", file=("vale.png", card_png(CARD))))
    assert imported.ephemeral and "Imported **Captain Vale**" in imported.content
    [row] = await persona_rows(running_bot)
    assert (row.description, row.personality_text, row.scenario) == (
        "A retired sky pirate.",
        "gruff but kind",
        "The deck of the Kestrel.",
    )
    assert (row.greeting, row.alternate_greetings) == ("Ahoy.", ["Back aboard?"])

    exported = await answer(await sandbox.slash("persona export", persona="Captain Vale", format="card-v3-png"))
    png = exported.attachments[0].data
    image = Image.open(io.BytesIO(png))
    assert image.size == (1, 1) and image.convert("RGB").getpixel((0, 0)) == (255, 0, 0)  # the card's own picture
    card = json.loads(base64.b64decode(image.text["ccv3"]))
    assert card["spec"] == "chara_card_v3" and "chara" in image.text
    assert card["data"]["first_mes"] == "Ahoy." and card["data"]["character_version"] == "3"
    assert card["data"]["character_book"]["entries"][0]["use_regex"] is False
    assert card["data"]["character_book"]["entries"][0]["extensions"] == {}

    card["data"]["description"] = "A sky pirate, back in service."
    card["data"]["personality"] = "gruff"
    updated = await answer(await sandbox.slash("persona import", file=("vale.json", json.dumps(card).encode("utf-8"))))
    assert updated.ephemeral and "Updated **Captain Vale**" in updated.content
    assert "changed: description, personality." in updated.content
    [row] = await persona_rows(running_bot)
    assert (row.description, row.personality_text) == ("A sky pirate, back in service.", "gruff")


async def test_malformed_cards_are_refused_with_a_sentence(sandbox: Sandbox, running_bot) -> None:
    bad = cards.png_with_text_chunk(card_png(CARD), "chara", "%%% not base64")
    refused = await answer(await sandbox.slash("persona import", file=("bad.png", bad)))
    assert refused.ephemeral and "not valid base64" in refused.content
    huge = {**CARD, "data": {**CARD["data"], "character_book": {"entries": [{"keys": ["k"], "content": "x" * 60_000}]}}}
    refused = await answer(await sandbox.slash("persona import", file=("huge.json", json.dumps(huge).encode())))
    assert refused.ephemeral and "Lore entry 1 is 60,000 characters long" in refused.content
    assert await persona_rows(running_bot) == []
