"""Lore books through the services, on SQLite and PostgreSQL: who may change which book, bounds refused with
nothing stored, the lore reaching the planned prompt with its timed effects saved with the exchange, and a card's
character_book imported as the persona's book and exported back."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from bot.core.errors import DomainError, NotFound, PermissionDenied
from bot.core.lore import LoreEntry, ScanMessage
from bot.db import models
from bot.db.engine import Database
from bot.services import bindings, conversation, lore, personas, portability
from bot.services.conversation import Incoming
from bot.services.personas import Actor, PersonaInput

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
GUILD, CHANNEL, OTHER_CHANNEL = 100, 200, 201
ALICE, BOB, MOD = 11, 12, 13


def draft(*keys: str, content: str = "Dragons hoard gold.", **changes: object) -> LoreEntry:
    return replace(LoreEntry(id=0, keys=keys or ("dragon",), content=content), **changes)  # type: ignore[arg-type]


async def make(database: Database, name: str = "Ada", owner: int = ALICE) -> int:
    actor = Actor(owner, GUILD)
    async with database.transaction() as session:
        record = await personas.create(
            session, actor, PersonaInput(name=name, behavior={"cooldown_seconds": 0, "chattiness": 0}), now=NOW
        )
        await bindings.activate(session, actor, record.id, CHANNEL, channel_guild_id=GUILD, now=NOW)
    return record.id


async def entry_count(database: Database) -> int:
    async with database.session() as session:
        return int((await session.execute(select(func.count()).select_from(models.LoreEntryRow))).scalar_one())


async def test_owners_and_managers_change_their_books_and_no_one_else(database: Database) -> None:
    ada = await make(database)
    mine = lore.Where("persona", persona_id=ada)
    async with database.transaction() as session:
        added = await lore.add_entry(session, Actor(ALICE, GUILD), mine, draft(), now=NOW)
    with pytest.raises(PermissionDenied):
        async with database.transaction() as session:
            await lore.add_entry(session, Actor(BOB, GUILD, can_manage_guild=True), mine, draft(), now=NOW)
    with pytest.raises(PermissionDenied):
        async with database.transaction() as session:
            await lore.remove_entry(session, Actor(BOB, GUILD), mine, added.id)
    server = lore.Where("server")
    with pytest.raises(PermissionDenied, match="Manage Server"):
        async with database.transaction() as session:
            await lore.add_entry(session, Actor(ALICE, GUILD), server, draft(), now=NOW)
    async with database.transaction() as session:
        await lore.add_entry(session, Actor(MOD, GUILD, can_manage_guild=True), server, draft("elf"), now=NOW)
        channel = lore.Where("channel", channel_id=CHANNEL)
        await lore.add_entry(session, Actor(MOD, GUILD, can_manage_guild=True), channel, draft("orc"), now=NOW)
    async with database.transaction() as session:
        edited = await lore.edit_entry(
            session, Actor(ALICE, GUILD), mine, added.id, {"keys": ("wyrm", "dragon"), "sticky": 2}, now=NOW
        )
        assert edited.keys == ("wyrm", "dragon") and edited.sticky == 2
        assert [e.id for e in await lore.entries(session, Actor(ALICE, GUILD), mine)] == [added.id]
    # An entry of another book is not found through this one.
    with pytest.raises(NotFound):
        async with database.transaction() as session:
            await lore.remove_entry(session, Actor(MOD, GUILD, can_manage_guild=True), server, added.id)
    async with database.transaction() as session:
        await lore.remove_entry(session, Actor(ALICE, GUILD), mine, added.id)
    assert await entry_count(database) == 2


async def test_bad_entries_are_refused_and_nothing_is_stored(database: Database) -> None:
    ada = await make(database)
    mine = lore.Where("persona", persona_id=ada)
    for bad, sentence in [
        (draft(content="x" * 1_000_000), "at most 8,000"),
        (draft("(a+)+$", use_regex=True), "refused"),
        (draft(*[f"k{i}" for i in range(60)]), "at most 50"),
    ]:
        with pytest.raises(DomainError, match=sentence):
            async with database.transaction() as session:
                await lore.add_entry(session, Actor(ALICE, GUILD), mine, bad, now=NOW)
    assert await entry_count(database) == 0
    async with database.transaction() as session:
        added = await lore.add_entry(session, Actor(ALICE, GUILD), mine, draft(), now=NOW)
    with pytest.raises(DomainError, match="at most 8,000"):
        async with database.transaction() as session:
            await lore.edit_entry(session, Actor(ALICE, GUILD), mine, added.id, {"content": "y" * 9000}, now=NOW)
    async with database.session() as session:
        row = await session.get(models.LoreEntryRow, added.id)
        assert row is not None and row.content == "Dragons hoard gold."


def incoming(message_id: int, content: str) -> Incoming:
    return Incoming(
        message_id=message_id, guild_id=GUILD, channel_id=CHANNEL, author_id=ALICE, author_name="Alice",
        content=content, created_at=NOW,
    )  # fmt: skip


async def test_lore_reaches_the_planned_prompt_and_sticky_lasts_its_messages(database: Database) -> None:
    ada = await make(database)
    async with database.transaction() as session:
        await lore.add_entry(
            session, Actor(ALICE, GUILD), lore.Where("persona", persona_id=ada),
            draft(content="LORE: dragons sleep on gold.", sticky=1), now=NOW,
        )  # fmt: skip
        await lore.add_entry(
            session, Actor(MOD, GUILD, can_manage_guild=True), lore.Where("channel", channel_id=OTHER_CHANNEL),
            draft(content="LORE: not this channel."), now=NOW,
        )  # fmt: skip

    async def plan(message_id: int, text: str, history: list[conversation.ChannelLine]) -> conversation.ReplyJob:
        async with database.reads() as session:
            speakers = await conversation.active_personas(session, CHANNEL)
            done = await conversation.plan(
                session, incoming(message_id, text), speakers, history=history, exchange_depth=0, random_value=0.0,
                now=NOW,
            )  # fmt: skip
        return done.jobs[0]

    job = await plan(1000, "Ada, tell me of the dragon", [])
    assert "LORE: dragons sleep on gold." in job.request.system
    assert "not this channel" not in job.request.system
    assert job.lore_timing is not None and job.lore_timing.started
    async with database.transaction() as session:
        speaker = (await conversation.active_personas(session, CHANNEL))[0]
        await conversation.record(
            session, incoming(1000, "x"), speaker, sent_message_ids=[1001], via_webhook=True, reply_text="Hm.",
            addressed=True, now=NOW, lore_timing=job.lore_timing,
        )  # fmt: skip
    line = conversation.ChannelLine(ALICE, "Alice", "Ada, tell me of the dragon", message_id=1000)
    sticky = await plan(1002, "Ada, and then?", [line])  # one message later, no key: sticky keeps it
    assert "LORE: dragons sleep on gold." in sticky.request.system
    later = [line, *(conversation.ChannelLine(ALICE, "Alice", "chat", message_id=i) for i in (1002, 1003))]
    gone = await plan(1004, "Ada, anything else?", later)
    assert "LORE: dragons sleep on gold." not in gone.request.system


async def test_activated_lore_reads_persona_channel_and_server_books(database: Database) -> None:
    ada = await make(database)
    manager = Actor(MOD, GUILD, can_manage_guild=True)
    async with database.transaction() as session:
        await lore.add_entry(session, Actor(ALICE, GUILD), lore.Where("persona", persona_id=ada), draft(), now=NOW)
        await lore.add_entry(session, manager, lore.Where("server"), draft(content="Server lore."), now=NOW)
        await lore.add_entry(
            session, manager, lore.Where("channel", channel_id=CHANNEL), draft(content="Channel lore."), now=NOW
        )
    async with database.session() as session:
        found = await lore.activated_lore(session, ada, GUILD, CHANNEL, [ScanMessage("a dragon!", 5)], NOW)
    assert sorted(t.text for t in found.texts) == ["Channel lore.", "Dragons hoard gold.", "Server lore."]


async def test_a_card_book_is_imported_as_the_persona_book_and_exported_back(database: Database) -> None:
    card = {
        "spec": "chara_card_v2", "spec_version": "2.0",
        "data": {
            "name": "Smaug", "description": "A dragon.", "personality": "", "scenario": "", "first_mes": "",
            "mes_example": "", "creator_notes": "", "system_prompt": "", "post_history_instructions": "",
            "alternate_greetings": [], "tags": [], "creator": "", "character_version": "", "extensions": {},
            "character_book": {"name": "Erebor", "extensions": {}, "entries": [
                {"keys": ["gold"], "content": "Smaug sleeps on gold.", "extensions": {"group": "g"}, "enabled": True,
                 "insertion_order": 5, "id": 9, "comment": "Gold"},
            ]},
        },
    }  # fmt: skip
    actor = Actor(ALICE, GUILD)
    async with database.transaction() as session:
        upload = await portability.read_upload(json.dumps(card).encode(), "smaug.json", now=NOW)
        record = await portability.import_upload(session, actor, upload, now=NOW)
    async with database.session() as session:
        entries = await lore.entries(session, actor, lore.Where("persona", persona_id=record.id))
        assert [(e.keys, e.content, e.order) for e in entries] == [(("gold",), "Smaug sleeps on gold.", 5)]
        await lore.edit_entry(session, actor, lore.Where("persona", persona_id=record.id), entries[0].id,
                              {"content": "Smaug guards the Arkenstone."}, now=NOW)  # fmt: skip
        await session.commit()
    async with database.session() as session:
        exported = json.loads(await portability.export_card(session, actor, record.id, version=3))
    book = exported["data"]["character_book"]
    assert book["name"] == "Erebor"
    assert book["entries"][0]["content"] == "Smaug guards the Arkenstone."
    assert book["entries"][0]["extensions"]["group"] == "g" and book["entries"][0]["use_regex"] is False


async def test_a_card_with_a_bad_book_is_refused_before_anything_is_written(database: Database) -> None:
    card = {"spec": "chara_card_v2", "spec_version": "2.0", "data": {
        "name": "Huge", "description": "", "extensions": {},
        "character_book": {"extensions": {}, "entries": [{"keys": ["a"], "content": "x", "extensions": {}}] * 10_000},
    }}  # fmt: skip
    with pytest.raises(DomainError, match="at most 500 entries"):
        await portability.read_upload(json.dumps(card).encode(), "huge.json", now=NOW)
    async with database.session() as session:
        assert (await session.execute(select(func.count()).select_from(models.Persona))).scalar_one() == 0


async def test_the_lore_book_is_the_card_book_on_export_and_re_import(database: Database) -> None:
    card = {"spec": "chara_card_v2", "spec_version": "2.0", "data": {
        "name": "Smaug", "description": "A dragon.", "extensions": {},
        "character_book": {"extensions": {}, "entries": [{"keys": ["gold"], "content": "Gold.", "extensions": {}}]},
    }}  # fmt: skip
    actor = Actor(ALICE, GUILD)
    async with database.transaction() as session:
        upload = await portability.read_upload(json.dumps(card).encode(), "smaug.json", now=NOW)
        made = await portability.import_upload(session, actor, upload, now=NOW)
    mine = lore.Where("persona", persona_id=made.id)
    async with database.session() as session:
        exported = json.loads(await portability.export_card(session, actor, made.id, version=2))
    # An entry added here after the export survives re-importing the unedited card.
    async with database.transaction() as session:
        await lore.add_entry(session, actor, mine, draft("cave", content="The Lonely Mountain."), now=NOW)
    async with database.transaction() as session:
        upload = await portability.read_upload(json.dumps(exported).encode(), "smaug.json", now=NOW)
        again = await portability.import_upload(session, actor, upload, now=NOW)
    assert again.updated and again.changed == ()
    async with database.session() as session:
        assert [e.content for e in await lore.entries(session, actor, mine)] == ["Gold.", "The Lonely Mountain."]
    # A book edited elsewhere replaces the lore book, and the reply names it.
    exported["data"]["character_book"]["entries"][0]["content"] = "Much gold."
    async with database.transaction() as session:
        upload = await portability.read_upload(json.dumps(exported).encode(), "smaug.json", now=NOW)
        edited = await portability.import_upload(session, actor, upload, now=NOW)
    assert edited.changed == ("lorebook",)
    async with database.session() as session:
        entries = await lore.entries(session, actor, mine)
    assert [e.content for e in entries] == ["Much gold."]
    # Every entry removed: the export has no book (the copy kept from the import does not come back).
    async with database.transaction() as session:
        await lore.remove_entry(session, actor, mine, entries[0].id)
    async with database.session() as session:
        assert "character_book" not in json.loads(await portability.export_card(session, actor, made.id))["data"]
