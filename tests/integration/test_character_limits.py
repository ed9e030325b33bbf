"""One set of limits for a persona's character, on SQLite and PostgreSQL: a card carrying a long name, a long
description and many long alternate greetings imports, and the persona it made can then be edited through the
service and the wizard, cloned, and exported and imported natively, all without tripping a tighter limit."""

from __future__ import annotations

import json
from typing import Any

from bot.core import character
from bot.core.character import NAME_MAX
from bot.core.personas import display_name
from bot.db.engine import Database
from bot.services import personas, portability, wizard
from bot.services.personas import PersonaInput
from tests.integration.test_portability import LATER, NEW_HOME, NOW, OWNER, import_card

LONG_NAME = ("Seraphina of the Eastern Glade, Keeper of the Old Trees and Warden of the Moonlit Paths " * 2)[:150]
DESCRIPTION = ("A guardian of the forest, old as the oaks. " * 500)[:20_000]
GREETINGS = [(f"Greeting {i}: " + "The glade is quiet tonight. " * 160).strip() for i in range(21)]  # 21 of ~4,500
CARD: dict[str, Any] = {
    "spec": "chara_card_v2",
    "spec_version": "2.0",
    "data": {
        "name": LONG_NAME,
        "description": DESCRIPTION,
        "personality": "kind",
        "scenario": "A glade.",
        "first_mes": "Hello.",
        "mes_example": "",
        "alternate_greetings": GREETINGS,
    },
}


def test_the_example_is_beyond_the_old_limits() -> None:
    assert len(LONG_NAME) == 150 and len(DESCRIPTION) == 20_000 and len(GREETINGS[0]) > 4_000
    assert len(display_name(LONG_NAME)) <= 80 and NAME_MAX >= 150
    assert character.TEXT_MAX >= 20_000


async def _imported(database: Database) -> int:
    async with database.transaction() as session:
        imported = await import_card(session, OWNER, json.dumps(CARD).encode(), "s.json", now=NOW)
    record = imported.record
    assert record.name == LONG_NAME and record.description == DESCRIPTION
    assert record.alternate_greetings == GREETINGS
    return record.id


async def test_an_imported_card_can_be_edited_through_the_service(database: Database) -> None:
    persona_id = await _imported(database)
    async with database.transaction() as session:
        updated = await personas.update(session, OWNER, persona_id, PersonaInput(scenario="A calm sea."), now=LATER)
    assert updated.scenario == "A calm sea." and updated.name == LONG_NAME and updated.description == DESCRIPTION
    async with database.transaction() as session:
        renamed = await personas.update(session, OWNER, persona_id, PersonaInput(name=LONG_NAME + " II"), now=LATER)
    assert renamed.name == LONG_NAME + " II"


async def test_an_imported_card_can_be_edited_through_the_wizard(database: Database) -> None:
    persona_id = await _imported(database)
    async with database.transaction() as session:
        draft = await wizard.start_edit(session, OWNER, persona_id, channel_id=None, now=LATER)
        await wizard.act(session, OWNER, draft.id, "character", values={"scenario": "A calm sea."}, now=LATER)
        # The basics form left the description out (too long for a form box): it is kept as it is.
        await wizard.act(session, OWNER, draft.id, "basics", values={"name": LONG_NAME}, now=LATER)
        outcome = await wizard.act(session, OWNER, draft.id, "create", now=LATER)
    assert outcome.persona is not None and not outcome.created
    async with database.session() as session:
        loaded = await personas.get(session, persona_id, OWNER)
    assert loaded.scenario == "A calm sea." and loaded.name == LONG_NAME and loaded.description == DESCRIPTION
    assert loaded.alternate_greetings == GREETINGS


async def test_an_imported_card_can_be_cloned(database: Database) -> None:
    persona_id = await _imported(database)
    async with database.transaction() as session:
        source = await personas.get(session, persona_id, OWNER)
        copy = await wizard.clone(session, OWNER, persona_id, LONG_NAME[:140] + " (copy)", now=LATER)
    assert copy.name == LONG_NAME[:140] + " (copy)" and copy.description == DESCRIPTION
    assert copy.character == source.character


async def test_an_imported_card_exports_and_imports_natively(database: Database) -> None:
    persona_id = await _imported(database)
    async with database.session() as session:
        source = await personas.get(session, persona_id, OWNER)
        document = await portability.export_native(session, OWNER, persona_id, now=LATER)
    async with database.transaction() as session:
        moved = (
            await import_card(session, NEW_HOME, portability.document_to_json(document), "s.json", now=LATER)
        ).record
    assert moved.name == LONG_NAME and moved.description == DESCRIPTION and moved.character == source.character
