"""/privacy end to end: the real bot against the sandbox, on SQLite. Consent given then refused (recorded, and
deciding), forget-me (confirmation, nothing from or about the caller left in this server, consent refused),
export-my-data (by DM, the caller's memories and no one else's)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import or_, select

from bot.clock import utcnow
from bot.db import models
from bot.sandbox import Sandbox
from bot.services import (
    bindings,
    consent,
    memories,
    personas,
    profiles,
    retirement,
    subscriptions,
    timeline,
)
from bot.services.personas import Actor, PersonaInput
from bot.services.retirement import PlanInput
from tests.support.people_scan import exported, scan
from tests.support.reading import count, fields_of
from tests.support.waiting import eventually

pytestmark = pytest.mark.e2e


async def make_persona(bot: Any, owner_id: int, guild_id: int | None, name: str) -> int:
    async with bot.db.transaction() as session:
        record = await personas.create(
            session, Actor(user_id=owner_id, guild_id=guild_id), PersonaInput(name=name), now=utcnow()
        )
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
    # Before anything happens, it names the persona of hers that will be deleted.
    assert "Your 1 persona is deleted, with everything they hold" in confirm.embeds[0]["description"]
    assert "**Ada**" in confirm.embeds[0]["description"] and "Bea" not in confirm.embeds[0]["description"]
    assert await count(running_bot, models.Memory) == 5  # asking erased nothing
    await sandbox.click(confirm, label="Forget me")
    await sandbox.wait_until(lambda: confirm.embeds[0]["title"] == "Forgotten", 5, "the forget-me result")
    assert confirm.embeds[0]["description"].startswith("3 memories from or about you were erased")
    assert "Your persona **Ada** was deleted" in confirm.embeds[0]["description"]
    assert not confirm.buttons()

    about_alice = or_(models.Memory.source_user_id == alice, models.Memory.subject_user_id == alice)
    in_guild = models.Memory.persona_id.in_([ada, bea])
    assert await count(running_bot, models.Memory, in_guild, about_alice) == 0
    async with running_bot.db.session() as session:
        left = sorted((await session.execute(select(models.Memory.id))).scalars())
    assert left == sorted([other_server])  # Bob's memory went with Alice's persona Ada
    assert bobs not in left and await count(running_bot, models.Persona, models.Persona.id == ada) == 0
    refusals = await count(
        running_bot,
        models.ConsentRecord,
        models.ConsentRecord.user_id == alice,
        models.ConsentRecord.guild_id == guild,
        models.ConsentRecord.persona_id.is_(None),
        models.ConsentRecord.granted.is_(False),
    )
    assert refusals == 1 and not await decision(running_bot, alice, guild, bea)


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


async def test_export_my_data_is_limited_per_person(sandbox: Sandbox, running_bot) -> None:
    """One member cannot repeat the export (which reads every table) at will: a second request within the
    cool-down gets a clear ephemeral sentence and nothing is gathered or sent; someone else is not held back."""
    ada = await make_persona(running_bot, sandbox.alice.id, sandbox.guild.id, "Ada")
    await capture(running_bot, ada, "Alice likes green tea", source=sandbox.alice.id)
    first = await (await sandbox.slash("privacy export-my-data")).message()
    assert first.content.startswith("Sent to your DMs")

    again = await sandbox.slash("privacy export-my-data")
    assert await again.response() == 4  # answered at once, nothing deferred or gathered
    refused = await again.message()
    assert refused.ephemeral
    assert refused.content == "You were sent your data a moment ago; you can ask for it again in 10 minutes."
    assert len(sandbox.dms(sandbox.alice)) == 1

    bobs = await (await sandbox.slash("privacy export-my-data", as_user=sandbox.bob)).message()
    assert bobs.content.startswith("Sent to your DMs") and len(sandbox.dms(sandbox.bob)) == 1


async def test_forget_me_answers_before_it_reads_the_database(sandbox: Sandbox, running_bot) -> None:
    """The question is deferred (ephemeral) first, so a busy database cannot make it miss Discord's 3 seconds."""
    await make_persona(running_bot, sandbox.alice.id, sandbox.guild.id, "Ada")
    handle = await sandbox.slash("privacy forget-me")
    assert await handle.response() == 5 and handle.ephemeral
    confirm = await handle.message()
    assert (
        confirm.ephemeral
        and confirm.embeds[0]["title"] == "Forget me?"
        and "**Ada**" in confirm.embeds[0]["description"]
    )


# --------------------------------------------------------------------------------------------------- everything


MARKER = "Zq7-xylophone-marker"


async def test_export_holds_and_forget_me_erases_every_row_that_names_the_person(sandbox: Sandbox, running_bot) -> None:
    """Alice chats, reacts, follows, endorses, subscribes, starts a wizard, owns a persona, is in a retired
    persona's archive and has notifications queued, all through the bot. Her export (by DM) lists every row the
    whole-database scan finds naming her; after forget-me the scan finds only her refusal."""
    bot, alice, bob, guild = running_bot, sandbox.alice, sandbox.bob, sandbox.guild.id
    bea = await make_persona(bot, bob.id, guild, "Bea")
    old = await make_persona(bot, bob.id, guild, "Old")
    quill = await make_persona(bot, alice.id, guild, "Quill")
    now = utcnow()
    async with bot.db.transaction() as session:
        for persona_id, owner in ((bea, bob.id), (old, bob.id), (quill, alice.id)):
            await profiles.publish(session, Actor(owner, guild), persona_id, profiles.PublishSettings(), now=now)
            # Alice (the server's owner) switches them all on in #general.
            await bindings.activate(
                session, Actor(alice.id, guild), persona_id, sandbox.general.id, channel_guild_id=guild,
                can_manage_channel=True, now=now,
            )  # fmt: skip
        await subscriptions.set_free_tiers(session, guild_id=guild, can_manage_guild=True, enabled=True, now=now)
        tier = await subscriptions.create_tier(session, Actor(bob.id, guild), bea, name="Friends", now=now)
        row = await session.get(models.SubscriptionTier, tier.id)
        assert row is not None
        row.is_free = True

    await (await sandbox.slash("privacy consent", choice="give")).message()
    await (await sandbox.slash("privacy consent", choice="give", as_user=bob)).message()
    for words in (f"Bea, I love chess. {MARKER}", f"Old, remember my name. {MARKER}"):
        await sandbox.send(sandbox.general, words)
    await sandbox.send(sandbox.general, "Old, I like tea.", author=bob)
    for who in (alice.id, bob.id):
        await eventually(
            lambda who=who: count(
                bot, models.Memory, models.Memory.source_user_id == who, models.Memory.persona_id == old
            ),
            "Old remembering them",
            timeout=10,
        )
    spoken = await sandbox.wait_for_message(sandbox.general, author="Bea", timeout=10)
    await sandbox.react(spoken, "❤️")
    await eventually(
        lambda: count(bot, models.EmotionalEvent, models.EmotionalEvent.user_id == alice.id), "the reaction", timeout=10
    )
    await (await sandbox.slash("follow", persona="Bea")).message()
    await (await sandbox.slash("follow", persona="Quill", as_user=bob)).message()
    await (await sandbox.slash("endorse", persona="Bea", text=f"Kind. {MARKER}")).message()
    await (await sandbox.slash("subscribe", persona="Bea", tier="Friends")).message()
    await (await sandbox.slash("persona create")).message()
    async with bot.db.transaction() as session:
        await subscriptions.grant_free(session, Actor(alice.id, guild, True), bea, tier.id, bob.id, now=utcnow())
        await timeline.record(session, bea, "milestone", "Bea turns one", is_public=True, now=utcnow())
    async with bot.db.transaction() as session:
        await retirement.plan_retirement(
            session, Actor(bob.id, guild), old, PlanInput(manual=True, memory_archival="all"), now=utcnow(),
            channel_postable=True,
        )  # fmt: skip
    async with bot.db.transaction() as session:
        assert await retirement.claim_ceremony(session, old, now=utcnow(), trigger="manual") is not None
    async with bot.db.transaction() as session:
        await retirement.complete_ceremony(session, old, now=utcnow())

    async with bot.db.session() as session:
        before = await scan(session, alice.id, MARKER)
    assert {table for table, _, _ in before} >= {
        "personas", "memories", "person_relationships", "emotional_events", "follows", "endorsements",
        "subscriptions", "wizard_drafts", "channel_bindings", "consent_records", "outbox", "legacy_archives",
    }  # fmt: skip

    reply = await (await sandbox.slash("privacy export-my-data")).message()
    assert reply.content.startswith("Sent to your DMs:")
    [dm] = [message for message in sandbox.dms(alice) if message.attachments]
    export = json.loads(dm.attachments[0].data)
    owned = {entry["id"] for entry in export["owned_personas"]}
    assert owned == {quill}
    missing = sorted(hit for hit, row in before.items() if not exported(export, hit, row))
    assert missing == []
    assert any(MARKER in entry["item"]["content"] for entry in export["archived_memories"])

    confirm = await (await sandbox.slash("privacy forget-me")).message()
    assert "**Quill**" in confirm.embeds[0]["description"]
    await sandbox.click(confirm, label="Forget me")
    await sandbox.wait_until(lambda: confirm.embeds[0]["title"] == "Forgotten", 10, "the forget-me result")
    async with bot.db.session() as session:
        after = await scan(session, alice.id, MARKER)
        refusal = (
            await session.execute(select(models.ConsentRecord.id).where(models.ConsentRecord.user_id == alice.id))
        ).scalar_one()
        archive = (
            await session.execute(select(models.LegacyArchive).where(models.LegacyArchive.persona_id == old))
        ).scalar_one()
    assert set(after) == {("consent_records", "user_id", refusal), ("consent_records", "recorded_by", refusal)}
    # Old's legacy keeps Bob's memories; Alice's are gone from it.
    assert {m["source_user_id"] for m in archive.snapshot["memories"]} == {bob.id}
    assert await count(bot, models.Persona, models.Persona.id.in_([bea, old])) == 2
    assert await count(bot, models.Persona, models.Persona.id == quill) == 0
    legacy = await (await sandbox.slash("legacy", persona="Old", as_user=bob)).message()
    assert "Old" in json.dumps(legacy.embeds) and MARKER not in json.dumps(legacy.embeds)


async def test_forget_me_erases_nothing_when_a_persona_was_made_after_the_question(
    sandbox: Sandbox, running_bot
) -> None:
    alice, guild = sandbox.alice.id, sandbox.guild.id
    ada = await make_persona(running_bot, alice, guild, "Ada")
    await capture(running_bot, ada, "Alice likes green tea", source=alice)
    confirm = await (await sandbox.slash("privacy forget-me")).message()
    assert "**Ada**" in confirm.embeds[0]["description"]
    await make_persona(running_bot, alice, guild, "Zed")  # not named by the question
    handle = await sandbox.click(confirm, label="Forget me")
    refusal = await handle.followups(1)
    assert refusal[0].ephemeral and "nothing was erased" in refusal[0].content
    assert await count(running_bot, models.Persona) == 2 and await count(running_bot, models.Memory) == 1
    assert await count(running_bot, models.ConsentRecord) == 0
