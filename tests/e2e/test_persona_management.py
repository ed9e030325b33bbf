"""/persona management end to end: list and show with privacy, autocomplete, activate / deactivate, clone, edit,
delete with confirmation, templates, export -> delete -> import, a Character Card V2 PNG made here, the limit."""

from __future__ import annotations

import base64
import json
import struct
import zlib
from typing import Any

import pytest
from sqlalchemy import func, select, update

from bot.clock import utcnow
from bot.core import personality
from bot.db import models
from bot.sandbox import P, Sandbox
from bot.services import personas
from bot.services.personas import Actor, PersonaInput
from tests.e2e.test_persona_wizard import answer, click, persona_rows, title
from tests.support.reading import fields_of

pytestmark = pytest.mark.e2e


async def make_persona(bot: Any, sandbox: Sandbox, name: str, *, owner: Any = None, **privacy: str) -> int:
    actor = Actor(user_id=(owner or sandbox.alice).id, guild_id=sandbox.guild.id)
    async with bot.db.transaction() as session:
        record = await personas.create(
            session,
            actor,
            PersonaInput(
                name=name,
                description=f"{name}'s story",
                traits={
                    "openness": 80,
                    "conscientiousness": 40,
                    "extraversion": 60,
                    "agreeableness": 70,
                    "neuroticism": 30,
                },
                privacy={"visibility": privacy} if privacy else None,
            ),
            now=utcnow(),
        )
    return record.id


async def count(bot: Any, model: Any, *where: Any) -> int:
    async with bot.db.session() as session:
        return int((await session.execute(select(func.count()).select_from(model).where(*where))).scalar_one())


def card_png(card: dict[str, Any]) -> bytes:
    """A 1x1 PNG with a ``chara`` tEXt chunk, written by hand from the PNG spec (not with the bot's code)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    text = b"chara\x00" + base64.b64encode(json.dumps(card).encode())
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"tEXt", text)
        + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00"))
        + chunk(b"IEND", b"")
    )


async def test_list_and_show_apply_privacy_for_another_viewer(sandbox: Sandbox, running_bot) -> None:
    await make_persona(running_bot, sandbox, "Ada", traits="owner")
    await make_persona(running_bot, sandbox, "Secret", profile="owner")

    own = await answer(await sandbox.slash("persona list"))
    assert own.ephemeral and "Ada" in own.embeds[0]["description"] and "Secret" in own.embeds[0]["description"]
    server = await answer(await sandbox.slash("persona list", scope="server", as_user=sandbox.bob))
    assert "Ada" in server.embeds[0]["description"] and "Secret" not in server.embeds[0]["description"]

    mine = await answer(await sandbox.slash("persona show", persona="Ada"))
    assert {"Mood", "Traits", "Personality"} <= set(fields_of(mine))
    # The radar chart follows in an edit of the same message.
    await sandbox.wait_until(lambda: mine.message.attachments, 5, "the chart")
    assert mine.attachments[0].data.startswith(b"\x89PNG") and mine.embeds[0]["image"]["url"].endswith("traits.png")
    assert mine.embeds[0]["description"] == "Ada's story"
    theirs = await answer(await sandbox.slash("persona show", persona="ada", as_user=sandbox.bob))
    assert "Mood" in fields_of(theirs) and "Traits" not in fields_of(theirs) and not theirs.attachments
    hidden = await answer(await sandbox.slash("persona show", persona="Secret", as_user=sandbox.bob))
    assert hidden.ephemeral and "found no persona called 'Secret'" in hidden.content
    assert not theirs.edited and not theirs.attachments  # no chart ever followed for Bob


async def test_autocomplete_offers_the_callers_personas(sandbox: Sandbox, running_bot) -> None:
    ada = await make_persona(running_bot, sandbox, "Ada")
    await make_persona(running_bot, sandbox, "Bea", owner=sandbox.bob)
    await make_persona(running_bot, sandbox, "Secret", profile="owner")

    alice_own = await sandbox.autocomplete("persona edit", "persona", "a")
    assert alice_own == [{"name": "Ada", "value": str(ada)}]
    bob_own = await sandbox.autocomplete("persona edit", "persona", "", as_user=sandbox.bob)
    assert [c["name"] for c in bob_own] == ["Bea"]
    bob_visible = await sandbox.autocomplete("persona show", "persona", "", as_user=sandbox.bob)
    assert [c["name"] for c in bob_visible] == ["Ada", "Bea"]
    templates = await sandbox.autocomplete("persona create", "template", "stoic")
    assert [c["value"] for c in templates] == ["stoic-mentor"]


async def test_activate_and_deactivate_owner_and_channel_managers(sandbox: Sandbox, running_bot) -> None:
    ada = await make_persona(running_bot, sandbox, "Ada")
    done = await answer(await sandbox.slash("persona activate", persona=str(ada), channel=sandbox.personas))
    assert done.ephemeral and "now active" in done.content
    assert await count(running_bot, models.ChannelBinding, models.ChannelBinding.channel_id == sandbox.personas.id) == 1
    [row] = await persona_rows(running_bot)
    assert row.is_active

    refused = await answer(
        await sandbox.slash("persona deactivate", persona="Ada", channel=sandbox.personas, as_user=sandbox.bob)
    )
    assert refused.ephemeral and "can manage that channel" in refused.content
    assert await count(running_bot, models.ChannelBinding) == 1

    managers = sandbox.add_role("Channel managers", P.MANAGE_CHANNELS)
    sandbox.give_role(sandbox.bob, managers)
    stopped = await answer(
        await sandbox.slash("persona deactivate", persona="Ada", channel=sandbox.personas, as_user=sandbox.bob)
    )
    assert "no longer speaks" in stopped.content and "switched off everywhere" in stopped.content
    assert await count(running_bot, models.ChannelBinding) == 0
    [row] = await persona_rows(running_bot)
    assert not row.is_active

    async with running_bot.db.transaction() as session:
        await session.execute(update(models.Persona).values(status="retired"))
    retired = await answer(await sandbox.slash("persona activate", persona="Ada"))
    assert "retired and cannot be activated" in retired.content
    assert await count(running_bot, models.ChannelBinding) == 0


async def test_clone_copies_settings_not_memories(sandbox: Sandbox, running_bot) -> None:
    ada = await make_persona(running_bot, sandbox, "Ada")
    async with running_bot.db.transaction() as session:
        session.add(models.Memory(persona_id=ada, content="Alice likes tea"))
    done = await answer(await sandbox.slash("persona clone", persona="Ada", name="Ada Two"))
    assert "Ada Two" in done.content
    original, copy = await persona_rows(running_bot)
    assert copy.name == "Ada Two" and copy.owner_id == original.owner_id
    assert copy.openness == original.openness and copy.behavior_settings == original.behavior_settings
    assert copy.description == original.description
    assert await count(running_bot, models.Memory, models.Memory.persona_id == copy.id) == 0
    refused = await answer(await sandbox.slash("persona clone", persona=str(ada), name="Mine now", as_user=sandbox.bob))
    assert "Only the persona's owner can clone it." in refused.content or "found no persona" in refused.content
    assert len(await persona_rows(running_bot)) == 2


async def test_edit_reenters_the_wizard_and_saves(sandbox: Sandbox, running_bot) -> None:
    await make_persona(running_bot, sandbox, "Ada")
    review = await answer(await sandbox.slash("persona edit", persona="Ada"))
    await sandbox.wait_until(lambda: review.attachments, 10, "the radar chart")
    assert title(review) == "Step 6 of 6: Review (editing)" and review.attachments
    step4 = await click(sandbox, review, "4. Behaviour")
    step4 = await answer(
        await sandbox.select(
            step4,
            ["formal"],
            custom_id=next(s["custom_id"] for s in step4.selects() if s["custom_id"].endswith(":formality")),
        )
    )
    step5 = await click(sandbox, step4, "Next")
    review = await click(sandbox, step5, "Next")
    saved = await click(sandbox, review, "Save changes")
    assert saved.embeds[0]["title"] == "Ada saved"
    [row] = await persona_rows(running_bot)
    assert row.behavior_settings["formality"] == "formal" and row.openness == 80


async def test_delete_asks_first_and_says_what_goes(sandbox: Sandbox, running_bot) -> None:
    ada = await make_persona(running_bot, sandbox, "Ada")
    async with running_bot.db.transaction() as session:
        session.add_all([models.Memory(persona_id=ada, content=f"memory {i}") for i in range(3)])
    ask = await answer(await sandbox.slash("persona delete", persona="Ada"))
    assert ask.ephemeral and "3 memories" in ask.embeds[0]["description"]
    kept = await click(sandbox, ask, "Keep it")
    assert kept.embeds[0]["title"] == "Kept" and len(await persona_rows(running_bot)) == 1

    ask = await answer(await sandbox.slash("persona delete", persona="Ada"))
    gone = await click(sandbox, ask, "Delete for good")
    assert gone.embeds[0]["title"] == "Ada was deleted" and "3 memories" in gone.embeds[0]["description"]
    assert await persona_rows(running_bot) == [] and await count(running_bot, models.Memory) == 0

    # Bob neither owns Cleo nor manages the server (Alice owns it, so she could delete Bob's personas).
    cleo = await make_persona(running_bot, sandbox, "Cleo")
    refused = await answer(await sandbox.slash("persona delete", persona=str(cleo), as_user=sandbox.bob))
    assert "Only the persona's owner" in refused.content and len(await persona_rows(running_bot)) == 1


async def test_templates_are_listed(sandbox: Sandbox, running_bot) -> None:
    shown = await answer(await sandbox.slash("persona templates"))
    names = [f["name"] for f in shown.embeds[0]["fields"]]
    assert shown.ephemeral and "😊 Friendly Assistant" in names and len(names) == len(personality.list_templates())


async def test_export_delete_import_restores_an_equal_persona(sandbox: Sandbox, running_bot) -> None:
    ada = await make_persona(running_bot, sandbox, "Ada", traits="owner")
    async with running_bot.db.transaction() as session:
        session.add(models.Memory(persona_id=ada, content="Alice likes tea", importance=7))
        before = await personas.get(session, ada)
    exported = await answer(await sandbox.slash("persona export", persona="Ada", format="native"))
    assert exported.ephemeral and exported.attachments[0].filename == "ada.json"
    data = exported.attachments[0].data
    assert json.loads(data)["format"] == "persona-hub"

    ask = await answer(await sandbox.slash("persona delete", persona="Ada"))
    await click(sandbox, ask, "Delete for good")
    assert await persona_rows(running_bot) == []

    imported = await answer(await sandbox.slash("persona import", file=("ada.json", data)))
    assert imported.ephemeral and "Imported **Ada**" in imported.content
    [row] = await persona_rows(running_bot)
    async with running_bot.db.session() as session:
        after = await personas.get(session, row.id)
        memories = list(
            (await session.execute(select(models.Memory).where(models.Memory.persona_id == row.id))).scalars()
        )
    for attribute in ("name", "description", "traits", "behavior", "privacy", "memory_config", "owner_id", "guild_id"):
        assert getattr(after, attribute) == getattr(before, attribute), attribute
    assert [(m.content, m.importance) for m in memories] == [("Alice likes tea", 7)]


async def test_a_character_card_v2_png_imports(sandbox: Sandbox, running_bot) -> None:
    card = {
        "spec": "chara_card_v2",
        "spec_version": "2.0",
        "data": {
            "name": "Captain Vale",
            "description": "A retired sky pirate.",
            "personality": "gruff but kind",
            "scenario": "",
            "first_mes": "Ahoy.",
            "mes_example": "",
            "creator_notes": "",
            "system_prompt": "",
            "post_history_instructions": "",
            "alternate_greetings": [],
            "tags": ["pirate"],
            "creator": "tests",
            "character_version": "1",
            "extensions": {},
        },
    }
    imported = await answer(await sandbox.slash("persona import", file=("vale.png", card_png(card))))
    assert "Imported **Captain Vale**" in imported.content
    [row] = await persona_rows(running_bot)
    assert row.name == "Captain Vale" and row.description.startswith("A retired sky pirate.")
    assert row.owner_id == sandbox.alice.id and row.guild_id == sandbox.guild.id

    broken = await answer(await sandbox.slash("persona import", file=("junk.png", b"\x89PNG\r\n\x1a\nnot really")))
    assert broken.ephemeral and len(await persona_rows(running_bot)) == 1


async def test_the_persona_limit_is_per_server_and_configurable(sandbox: Sandbox, running_bot) -> None:
    await make_persona(running_bot, sandbox, "Ada")
    async with running_bot.db.transaction() as session:
        session.add(models.GuildSettings(guild_id=sandbox.guild.id, max_personas_per_user=1))
    refused = await answer(await sandbox.slash("persona create"))
    assert refused.ephemeral and "You already have 1 personas on this server" in refused.content
    refused = await answer(await sandbox.slash("persona clone", persona="Ada", name="Ada Two"))
    assert "You already have 1 personas" in refused.content
    assert len(await persona_rows(running_bot)) == 1


async def test_relate_shapes_the_profile_and_only_the_owner_may_set_it(sandbox: Sandbox, running_bot: Any) -> None:
    ada = await make_persona(running_bot, sandbox, "Ada", relationships="server")
    grace = await make_persona(running_bot, sandbox, "Grace", owner=sandbox.bob)

    refused = await (
        await sandbox.slash("persona relate", as_user=sandbox.bob, persona=str(ada), other=str(grace), kind="rival")
    ).message(timeout=10)
    assert refused.ephemeral and "Only the persona's owner can set its relationships." in refused.content
    assert await count(running_bot, models.PersonaRelationship) == 0

    done = await (
        await sandbox.slash("persona relate", persona=str(ada), other=str(grace), kind="best friend", strength=90)
    ).message(timeout=10)
    assert "best friend of **Grace**" in done.content

    shown = await (await sandbox.slash("persona show", as_user=sandbox.bob, persona=str(ada))).message(timeout=10)
    assert "Best friend of **Grace**" in fields_of(shown)["Relationships"]
    assert "offline responder" in fields_of(shown)["Voice"]

    async with running_bot.db.transaction() as session:  # the owner hides relationships from the server
        await personas.update(
            session,
            Actor(sandbox.alice.id, sandbox.guild.id),
            ada,
            PersonaInput(privacy={"visibility": {"relationships": "owner"}}),
            now=utcnow(),
        )
    hidden = await (await sandbox.slash("persona show", as_user=sandbox.bob, persona=str(ada))).message(timeout=10)
    assert "Relationships" not in fields_of(hidden)

    removed = await (await sandbox.slash("persona relate", persona=str(ada), other=str(grace), kind="none")).message(
        timeout=10
    )
    assert "No relationship with **Grace**" in removed.content
    assert await count(running_bot, models.PersonaRelationship) == 0
