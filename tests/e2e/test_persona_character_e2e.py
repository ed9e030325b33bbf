"""The persona's character end to end: the real bot against the sandbox, with a real SQLite database.

/persona edit's review opens the character forms (the story, personality & notes, alternate greetings), saves
them, and refuses too many greetings with a sentence that changes nothing; texts longer than a form box are left
out of the forms and kept; the creation wizard's review gives a new persona a character; /persona show gives the
nickname, the creator's notes (clipped honestly) and what the character has, within Discord's limits, and hides
the character from someone who may not see the description.
"""

from __future__ import annotations

from typing import Any

import pytest

from bot.clock import utcnow
from bot.sandbox import Sandbox
from bot.sandbox.harness import Posted
from bot.services import personas
from bot.services.personas import Actor, PersonaInput
from tests.e2e.test_persona_wizard import answer, click, fill_basics, persona_rows, refusal_for, title
from tests.support.reading import fields_of

pytestmark = pytest.mark.e2e

STORY = "Character: story & greeting"
NOTES = "Character: personality & notes"


async def make(bot: Any, sandbox: Sandbox, name: str, **given: Any) -> int:
    async with bot.db.transaction() as session:
        record = await personas.create(
            session,
            Actor(user_id=sandbox.alice.id, guild_id=sandbox.guild.id),
            PersonaInput(name=name, **given),
            now=utcnow(),
        )
    return record.id


def form_fields(modal: dict[str, Any]) -> list[str]:
    """The custom_ids of a modal's text boxes."""
    found = []
    for row in modal.get("components", []):
        for component in [*row.get("components", []), *([row["component"]] if "component" in row else [])]:
            found.append(component["custom_id"])
    return found


def embed_size(message: Posted) -> int:
    embed = message.embeds[0]
    return (
        len(embed.get("title", ""))
        + len(embed.get("description", ""))
        + sum(len(f["name"]) + len(f["value"]) for f in embed.get("fields", []))
        + len(embed.get("footer", {}).get("text", ""))
    )


def greetings_label(message: Posted) -> str:
    return next(b["label"] for b in message.buttons() if b["label"].startswith("Alternate greetings"))


async def test_edit_the_character_in_its_forms_and_show_it(sandbox: Sandbox, running_bot) -> None:
    await make(running_bot, sandbox, "Ada", description="A lighthouse keeper.")
    review = await answer(await sandbox.slash("persona edit", persona="Ada"))
    assert title(review) == "Step 6 of 6: Review (editing)" and fields_of(review)["Character"] == "*none yet*"

    opened = await sandbox.click(review, label=STORY)
    assert form_fields(await opened.modal()) == [
        "scenario",
        "greeting",
        "example_dialogue",
        "system_prompt",
        "post_history_instructions",
    ]
    review = await answer(
        await sandbox.submit_modal(
            opened,
            scenario="A stormy night at the lighthouse.",
            greeting="Oh! A visitor?\n\nCome in, quickly.",
            example_dialogue="<START>\n{{user}}: Hello?\n{{char}}: Who goes there?",
            system_prompt="{{original}} Stay in character.",
            post_history_instructions="Short replies.",
        )
    )
    assert "Scenario: 33 characters" in fields_of(review)["Character"]

    notes = "Written for the storm campaign. " * 50  # 1,600 characters: clipped on the profile
    review = await answer(
        await sandbox.submit_modal(
            await sandbox.click(review, label=NOTES),
            personality_text="Warm, stubborn.",
            creator_notes=notes,
            nickname="Keeper",
        )
    )
    character = fields_of(review)["Character"]
    assert character.startswith("Nickname: Keeper") and "Creator's notes: 1,599 characters" in character

    assert greetings_label(review) == "Alternate greetings (0)"
    review = await answer(
        await sandbox.submit_modal(
            await sandbox.click(review, label="Alternate greetings (0)"),
            greetings_1="Welcome, traveller.\n---\nAnother storm, another guest.",
            greetings_2="Третий гость!",
        )
    )
    assert greetings_label(review) == "Alternate greetings (3)"

    # Too many greetings: a sentence for Alice alone, and the draft as it was.
    opened = await sandbox.click(review, label="Alternate greetings (3)")
    modal = await opened.modal()
    first_box = modal["components"][0]["components"][0]
    assert first_box["value"] == "Welcome, traveller.\n---\nAnother storm, another guest.\n---\nТретий гость!"
    refused = await sandbox.submit_modal(opened, greetings_1="\n---\n".join(f"Hi {n}" for n in range(101)))
    await refused.response()
    assert "101 alternate greetings; a persona can have at most 100" in refusal_for(sandbox, sandbox.alice)
    review = await answer(await sandbox.click(review, label="4. Behaviour"))
    review = await click(sandbox, await click(sandbox, review, "Next"), "Next")
    assert greetings_label(review) == "Alternate greetings (3)"

    saved = await click(sandbox, review, "Save changes")
    assert saved.embeds[0]["title"] == "Ada saved"
    [row] = await persona_rows(running_bot)
    assert row.scenario == "A stormy night at the lighthouse." and row.greeting == "Oh! A visitor?\n\nCome in, quickly."
    assert (
        row.example_dialogue.startswith("<START>\n{{user}}") and row.system_prompt == "{{original}} Stay in character."
    )
    assert row.post_history_instructions == "Short replies." and row.personality_text == "Warm, stubborn."
    assert row.creator_notes == notes.strip() and row.nickname == "Keeper"
    assert row.alternate_greetings == ["Welcome, traveller.", "Another storm, another guest.", "Третий гость!"]

    shown = await answer(await sandbox.slash("persona show", persona="Ada"))
    fields = fields_of(shown)
    assert fields["Nickname"] == "Keeper"
    assert fields["Creator's notes"].endswith("…") and len(fields["Creator's notes"]) <= 1024
    assert notes.strip().startswith(fields["Creator's notes"][:-1])
    for has in ("Greeting: 33 characters", "Scenario: 33 characters", "Example dialogue:", "Alternate greetings: 3"):
        assert has in fields["Character"]
    assert "Creator's notes" not in fields["Character"] and "Nickname" not in fields["Character"]


async def test_the_character_is_hidden_with_the_description(sandbox: Sandbox, running_bot) -> None:
    await make(
        running_bot,
        sandbox,
        "Ada",
        description="Private story",
        creator_notes="Secret notes",
        greeting="Hi",
        nickname="Keeper",
        privacy={"visibility": {"description": "owner"}},
    )
    theirs = await answer(await sandbox.slash("persona show", persona="Ada", as_user=sandbox.bob))
    fields = fields_of(theirs)
    assert fields["Nickname"] == "Keeper" and "Creator's notes" not in fields and "Character" not in fields
    assert "description" not in theirs.embeds[0]


async def test_texts_longer_than_a_form_box_are_left_out_and_kept(sandbox: Sandbox, running_bot) -> None:
    long = "The sea is wide. " * 400  # 6,800 characters: more than one box holds
    await make(
        running_bot,
        sandbox,
        "Ada",
        description=long,
        scenario=long,
        creator_notes=long * 2,
        alternate_greetings=["g" * 3000] * 6,  # six boxes' worth: the form cannot hold them
    )
    review = await answer(await sandbox.slash("persona edit", persona="Ada"))
    opened = await sandbox.click(review, label=STORY)
    modal = await opened.modal()
    assert "scenario" not in form_fields(modal) and "long texts left out" in modal["title"]
    review = await answer(await sandbox.submit_modal(opened, greeting="Hello!"))
    notes_form = await (await sandbox.click(review, label=NOTES)).modal()  # opened, and left unanswered
    assert form_fields(notes_form) == ["personality_text", "nickname"]
    assert notes_form["title"] == "Character: personality (long texts left out)"

    refused = await sandbox.click(review, label="Alternate greetings (6)")
    await refused.response()
    assert "too long together for a Discord form" in refusal_for(sandbox, sandbox.alice)

    basics = await click(sandbox, review, "1. Basic info")
    opened = await sandbox.click(basics, label="Edit basic info")
    assert "description" not in form_fields(await opened.modal())
    review = await answer(await sandbox.submit_modal(opened, name="Ada Lovelace"))
    while title(review).split(":")[0] != "Step 6 of 6":
        review = await click(sandbox, review, "Next")
    await click(sandbox, review, "Save changes")
    [row] = await persona_rows(running_bot)
    assert row.name == "Ada Lovelace" and row.greeting == "Hello!"
    assert row.scenario == long.strip() and row.description == long.strip() and len(row.alternate_greetings) == 6

    shown = await answer(await sandbox.slash("persona show", persona="Ada Lovelace"))
    await sandbox.wait_until(lambda: shown.message.attachments, 5, "the chart")  # the profile, edited with it
    assert embed_size(shown) <= 6000 and all(len(f["value"]) <= 1024 for f in shown.embeds[0]["fields"])
    assert shown.embeds[0]["description"].endswith("…") and fields_of(shown)["Creator's notes"].endswith("…")


async def test_a_new_persona_gets_its_character_in_the_creation_wizard(sandbox: Sandbox, running_bot) -> None:
    message = await answer(await sandbox.slash("persona create", template="friendly-assistant"))
    message = await fill_basics(sandbox, message, name="Nova")
    while title(message).split(":")[0] != "Step 6 of 6":
        message = await click(sandbox, message, "Next")
    message = await answer(
        await sandbox.submit_modal(await sandbox.click(message, label=STORY), greeting="Hello, I am Nova.")
    )
    assert "Greeting: 17 characters" in fields_of(message)["Character"]
    done = await click(sandbox, message, "Create persona")
    assert done.embeds[0]["title"] == "Nova is born"
    [row] = await persona_rows(running_bot)
    assert row.greeting == "Hello, I am Nova." and row.scenario == "" and row.alternate_greetings == []
