"""/privacy end to end: the real bot against the sandbox, on SQLite. Consent given then refused (recorded, and
deciding), forget-me (confirmation, nothing from or about the caller left in this server, consent refused),
export-my-data (by DM, the caller's memories and no one else's)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import func, or_, select

from bot.db import models
from bot.db.types import utcnow
from bot.sandbox import Sandbox
from bot.services import consent, memories, personas
from bot.services.personas import Actor, PersonaInput

pytestmark = pytest.mark.e2e


async def make_persona(bot: Any, owner_id: int, guild_id: int | None, name: str) -> int:
    async with bot.db.transaction() as session:
        record = await personas.create(session, Actor(user_id=owner_id, guild_id=guild_id), PersonaInput(name=name))
    return record.id


async def capture(bot: Any, persona_id: int, content: str, *, source: int | None, subject: int | None = None) -> int:
    async with bot.db.transaction() as session:
        record = await memories.capture(
            session,
            persona_id,
            content=content,
            category="conversation",
            importance=5,
            source_user_id=source,
            source_channel_id=1,
            source_message_id=2,
            subject_user_id=subject,
            now=utcnow(),
        )
    return record.id


async def count(bot: Any, model: Any, *where: Any) -> int:
    async with bot.db.session() as session:
        return int((await session.execute(select(func.count()).select_from(model).where(*where))).scalar_one())


def fields_of(message: Any) -> dict[str, str]:
    return {f["name"]: f["value"] for f in message.embeds[0].get("fields", [])}


async def decision(bot: Any, user_id: int, guild_id: int, persona_id: int) -> bool:
    async with bot.db.session() as session:
        record = await personas.get(session, persona_id)
        found = await consent.decide(
            session, user_id=user_id, guild_id=guild_id, persona_id=persona_id, privacy=record.privacy_settings
        )
    return found.allowed


async def test_consent_given_then_refused_is_recorded_and_decides(sandbox: Sandbox, running_bot) -> None:
    alice, guild = sandbox.alice.id, sandbox.guild.id
    ada = await make_persona(running_bot, sandbox.bob.id, guild, "Ada")
    assert not await decision(running_bot, alice, guild, ada)  # opt-in server, nothing recorded

    looked = await (await sandbox.slash("privacy consent")).message()
    assert looked.ephemeral
    assert "**Ada**: does not remember you" in fields_of(looked)["Personas here"]
    assert fields_of(looked)["Your history"] == "Nothing recorded yet."
    # Issue 15 item 4: what the model is shown (recent channel messages) versus what is stored.
    explained = fields_of(looked)["What is shown and what is kept"]
    assert "recent messages" in explained and "never stored" in explained and "without your name" in explained
    assert await count(running_bot, models.ConsentRecord) == 0

    given = await (await sandbox.slash("privacy consent", persona="Ada", choice="give")).message()
    assert given.embeds[0]["description"] == "Recorded: you gave consent to be remembered for Ada."
    assert "**Ada**: may remember you (consent given for this persona)" in fields_of(given)["Personas here"]
    assert await decision(running_bot, alice, guild, ada)

    refused = await (await sandbox.slash("privacy consent", persona=str(ada), choice="refuse")).message()
    assert "**Ada**: does not remember you (consent refused for this persona)" in fields_of(refused)["Personas here"]
    history = fields_of(refused)["Your history"].splitlines()
    assert len(history) == 2 and "refused for Ada" in history[0] and "given for Ada" in history[1]
    assert not await decision(running_bot, alice, guild, ada)
    async with running_bot.db.session() as session:
        rows = (await session.execute(select(models.ConsentRecord).order_by(models.ConsentRecord.id))).scalars().all()
    assert [(r.user_id, r.persona_id, r.granted, r.recorded_by) for r in rows] == [
        (alice, ada, True, alice),
        (alice, ada, False, alice),
    ]
    # Bob's consent is his own: Alice's records decide nothing for him.
    assert not await decision(running_bot, sandbox.bob.id, guild, ada)


async def test_the_consent_list_names_the_chosen_persona_among_many(sandbox: Sandbox, running_bot) -> None:
    """Issue 15 item 5: with 17 personas here, consenting to the one that sorts 16th names it, lists it, and the
    history names every persona it shows."""
    alice, guild = sandbox.alice.id, sandbox.guild.id
    owners = (sandbox.bob.id, sandbox.bob.id + 1)  # at most 10 personas each
    ids = [await make_persona(running_bot, owners[n % 2], guild, f"P{n:02d}") for n in range(1, 18)]
    first = await (await sandbox.slash("privacy consent", persona="P01", choice="refuse")).message()
    assert first.embeds[0]["description"] == "Recorded: you refused consent to be remembered for P01."

    given = await (await sandbox.slash("privacy consent", persona=str(ids[15]), choice="give")).message()
    assert given.embeds[0]["description"] == "Recorded: you gave consent to be remembered for P16."
    listed = fields_of(given)["Personas here"]
    assert "**P16**: may remember you (consent given for this persona)" in listed
    assert "**P01**: does not remember you" in listed and "… and more personas" in listed
    assert "persona #" not in given.embeds[0]["description"] + listed + fields_of(given)["Your history"]
    history = fields_of(given)["Your history"].splitlines()
    assert "given for P16" in history[0] and "refused for P01" in history[1]

    # The 17th is not listed, yet consenting to it names it too, and P16 keeps its name in the history.
    last = await (await sandbox.slash("privacy consent", persona=str(ids[16]), choice="give")).message()
    assert last.embeds[0]["description"] == "Recorded: you gave consent to be remembered for P17."
    assert "**P17**: may remember you" in fields_of(last)["Personas here"]
    assert "given for P16" in fields_of(last)["Your history"]
    assert await decision(running_bot, alice, guild, ids[16])


async def test_forget_me_beats_an_earlier_consent_for_one_persona(sandbox: Sandbox, running_bot) -> None:
    """Issue 15 item 3: after forget-me, a persona Alice once consented to does not remember her, until she
    consents again."""
    alice, guild = sandbox.alice.id, sandbox.guild.id
    ada = await make_persona(running_bot, sandbox.bob.id, guild, "Ada")
    await (await sandbox.slash("privacy consent", persona="Ada", choice="give")).message()
    assert await decision(running_bot, alice, guild, ada)

    confirm = await (await sandbox.slash("privacy forget-me")).message()
    await sandbox.click(confirm, label="Forget me")
    await sandbox.wait_until(lambda: confirm.embeds[0]["title"] == "Forgotten", 5, "the forget-me result")
    assert not await decision(running_bot, alice, guild, ada)
    looked = await (await sandbox.slash("privacy consent")).message()
    assert "**Ada**: does not remember you (consent refused for this server)" in fields_of(looked)["Personas here"]

    again = await (await sandbox.slash("privacy consent", persona="Ada", choice="give")).message()
    assert "**Ada**: may remember you (consent given for this persona)" in fields_of(again)["Personas here"]
    assert await decision(running_bot, alice, guild, ada)


async def test_forget_me_erases_everything_from_or_about_the_caller_here(sandbox: Sandbox, running_bot) -> None:
    alice, bob, guild = sandbox.alice.id, sandbox.bob.id, sandbox.guild.id
    ada = await make_persona(running_bot, alice, guild, "Ada")
    bea = await make_persona(running_bot, bob, guild, "Bea")
    elsewhere = await make_persona(running_bot, bob, guild + 1, "Cy")  # another server's persona
    await capture(running_bot, ada, "Alice likes green tea", source=alice)
    await capture(running_bot, bea, "Bob says Alice plays chess", source=bob, subject=alice)
    await capture(running_bot, bea, "Alice told Bea about her cat", source=alice)
    bobs = await capture(running_bot, ada, "Bob likes coffee", source=bob)
    other_server = await capture(running_bot, elsewhere, "Alice on another server", source=alice)

    confirm = await (await sandbox.slash("privacy forget-me")).message()
    assert confirm.ephemeral and confirm.embeds[0]["title"] == "Forget me?"
    assert await count(running_bot, models.Memory) == 5  # asking erased nothing
    await sandbox.click(confirm, label="Forget me")
    await sandbox.wait_until(lambda: confirm.embeds[0]["title"] == "Forgotten", 5, "the forget-me result")
    assert confirm.embeds[0]["description"].startswith("3 memories from or about you were erased")
    assert not confirm.buttons()

    about_alice = or_(models.Memory.source_user_id == alice, models.Memory.subject_user_id == alice)
    in_guild = models.Memory.persona_id.in_([ada, bea])
    assert await count(running_bot, models.Memory, in_guild, about_alice) == 0
    async with running_bot.db.session() as session:
        left = sorted((await session.execute(select(models.Memory.id))).scalars())
    assert left == sorted([bobs, other_server])
    refusals = await count(
        running_bot,
        models.ConsentRecord,
        models.ConsentRecord.user_id == alice,
        models.ConsentRecord.guild_id == guild,
        models.ConsentRecord.persona_id.is_(None),
        models.ConsentRecord.granted.is_(False),
    )
    assert refusals == 1 and not await decision(running_bot, alice, guild, ada)


async def test_forget_me_cancel_erases_nothing(sandbox: Sandbox, running_bot) -> None:
    ada = await make_persona(running_bot, sandbox.alice.id, sandbox.guild.id, "Ada")
    await capture(running_bot, ada, "Alice likes green tea", source=sandbox.alice.id)
    confirm = await (await sandbox.slash("privacy forget-me")).message()
    cancelled = await (await sandbox.click(confirm, label="Cancel")).message()
    assert cancelled.embeds[0]["title"] == "Nothing was erased"
    assert await count(running_bot, models.Memory) == 1 and await count(running_bot, models.ConsentRecord) == 0


async def test_export_my_data_arrives_by_dm_with_only_the_callers_memories(sandbox: Sandbox, running_bot) -> None:
    alice, bob, guild = sandbox.alice.id, sandbox.bob.id, sandbox.guild.id
    ada = await make_persona(running_bot, alice, guild, "Ada")
    mine = await capture(running_bot, ada, "Alice likes green tea", source=alice)
    about_me = await capture(running_bot, ada, "Bob says Alice plays chess", source=bob, subject=alice)
    await capture(running_bot, ada, "Bob's secret: he hums", source=bob)

    handle = await sandbox.slash("privacy export-my-data")
    assert await handle.response() == 5  # deferred first
    reply = await handle.message()
    assert reply.ephemeral and reply.content.startswith("Sent to your DMs: 2 memories")
    [dm] = sandbox.dms(sandbox.alice)
    [attachment] = dm.attachments
    assert attachment.filename == "my-persona-hub-data.json"
    data = json.loads(attachment.data)
    assert data["user_id"] == alice
    assert [(m["id"], m["content"], m["persona_name"]) for m in data["memories"]] == [
        (mine, "Alice likes green tea", "Ada"),
        (about_me, "Bob says Alice plays chess", "Ada"),
    ]
    assert b"hums" not in attachment.data
    assert sandbox.dms(sandbox.bob) == []
