"""The persona's character through the services, on SQLite and PostgreSQL: create, get, update and clone carry
every field as written (long texts, line breaks, non-Latin text, emoji); a refused change saves nothing; call sites
that know nothing of the character keep working; an edit wizard saves the character it was given."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.core.character import CHARACTER_FIELDS, TEXT_MAX
from bot.core.errors import DomainError
from bot.db import models
from bot.db.engine import Database
from bot.services import personas, wizard
from bot.services.personas import Actor, PersonaInput

GUILD = 111_111_111_111_111_111
OWNER = Actor(user_id=900_000_000_000_000_001, guild_id=GUILD)
NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)

CHARACTER = {
    "personality_text": "Curious, warm, a little stubborn.",
    "scenario": "A lighthouse on a stormy night; {{user}} knocks at the door.\n\nThe lamp is failing.",
    "example_dialogue": "<START>\n{{user}}: Is anyone there?\n{{char}}: *opens the door* Come in, quickly!",
    "greeting": "Oh! A visitor, on a night like this? 🌊",
    "alternate_greetings": ["Welcome, traveller.", "Ты промок насквозь!\n\nCome in.", "灯台へようこそ"],
    "system_prompt": "{{original}}\nStay in character as {{char}}.",
    "post_history_instructions": "Keep replies under three paragraphs.",
    "creator_notes": "Made for the storm-night campaign. " * 3,
    "nickname": "Keeper",
}


async def test_create_and_get_round_trip_every_character_field(database: Database) -> None:
    long_scenario = ("The storm goes on. " * 900)[: TEXT_MAX - 5].strip()
    given = {**CHARACTER, "scenario": long_scenario}
    async with database.transaction() as session:
        created = await personas.create(session, OWNER, PersonaInput(name="Ada", **given), now=NOW)
    async with database.session() as session:
        loaded = await personas.get(session, created.id, OWNER)
        row = await session.get(models.Persona, created.id)
    assert loaded == created
    expected = {**given, "creator_notes": given["creator_notes"].strip()}
    assert loaded.character == expected
    assert {name: getattr(row, name) for name in CHARACTER_FIELDS} == expected  # the columns hold them as written
    assert len(loaded.scenario) > 15_000


async def test_call_sites_that_know_nothing_of_the_character_get_empty_fields(database: Database) -> None:
    async with database.transaction() as session:
        created = await personas.create(session, OWNER, PersonaInput(name="Bea", description="Plain"), now=NOW)
        renamed = await personas.update(session, OWNER, created.id, PersonaInput(name="Beatrice"), now=NOW)
    assert created.character == {**dict.fromkeys(CHARACTER_FIELDS, ""), "alternate_greetings": []}
    assert renamed.character == created.character and renamed.name == "Beatrice"


async def test_update_changes_only_the_fields_given_and_empty_clears(database: Database) -> None:
    async with database.transaction() as session:
        created = await personas.create(session, OWNER, PersonaInput(name="Ada", **CHARACTER), now=NOW)
    async with database.transaction() as session:
        updated = await personas.update(
            session,
            OWNER,
            created.id,
            PersonaInput(greeting="Hello again.", alternate_greetings=[], nickname=""),
            now=NOW + timedelta(hours=1),
        )
    async with database.session() as session:
        loaded = await personas.get(session, created.id, OWNER)
    assert loaded == updated
    assert loaded.character == {**CHARACTER, "greeting": "Hello again.", "alternate_greetings": [], "nickname": ""} | {
        "creator_notes": CHARACTER["creator_notes"].strip()
    }


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"scenario": "s" * (TEXT_MAX + 1)}, "The scenario is 100,001 characters long; the limit is 100,000"),
        ({"example_dialogue": "a\x00b"}, "The example dialogue contains a NUL character"),
        ({"alternate_greetings": ["hi"] * 101}, "101 alternate greetings; a persona can have at most 100"),
        ({"alternate_greetings": ["g" * 100_001]}, "Alternate greeting 1 is 100,001 characters long"),
        ({"alternate_greetings": ["g" * 60_000] * 2}, "120,000 characters long together; the limit is 100,000"),
        ({"nickname": "n" * 201}, "The nickname is 201 characters long; the limit is 200"),
        ({"description": "d" * (TEXT_MAX + 1)}, "The description is 100,001 characters long"),
    ],
)
async def test_a_refused_character_saves_nothing(database: Database, change: dict, message: str) -> None:
    async with database.transaction() as session:
        created = await personas.create(session, OWNER, PersonaInput(name="Ada", **CHARACTER), now=NOW)
    with pytest.raises(DomainError, match=message):
        async with database.transaction() as session:
            await personas.update(session, OWNER, created.id, PersonaInput(name="Changed", **change), now=NOW)
    with pytest.raises(DomainError, match=message):
        async with database.transaction() as session:
            await personas.create(session, OWNER, PersonaInput(name="Other", **change), now=NOW)
    async with database.session() as session:
        loaded = await personas.get(session, created.id, OWNER)
        count = len(await personas.list_own(session, OWNER.user_id, GUILD))
    assert loaded == created and loaded.name == "Ada" and count == 1


async def test_clone_and_the_edit_wizard_carry_the_character(database: Database) -> None:
    async with database.transaction() as session:
        created = await personas.create(session, OWNER, PersonaInput(name="Ada", **CHARACTER), now=NOW)
        copy = await wizard.clone(session, OWNER, created.id, "Ada Two", now=NOW)
    assert copy.character == created.character and copy.id != created.id

    async with database.transaction() as session:
        draft = await wizard.start_edit(session, OWNER, created.id, channel_id=None, now=NOW)
        assert draft.data["character"] == created.character
        await wizard.act(
            session, OWNER, draft.id, "character", values={"scenario": "A calm sea.", "greeting": ""}, now=NOW
        )
        await wizard.act(
            session, OWNER, draft.id, "greetings", values={"greetings_1": "Hi\n---\nHey", "greetings_2": ""}, now=NOW
        )
        outcome = await wizard.act(session, OWNER, draft.id, "create", now=NOW)
    assert outcome.persona is not None and not outcome.created
    async with database.session() as session:
        loaded = await personas.get(session, created.id, OWNER)
    assert loaded.scenario == "A calm sea." and loaded.greeting == "" and loaded.alternate_greetings == ["Hi", "Hey"]
    assert loaded.nickname == "Keeper" and loaded.example_dialogue == CHARACTER["example_dialogue"]
