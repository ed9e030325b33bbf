"""forget-me and export-my-data, proven by a scan of the whole database (every table of the metadata, every column).

A person touches every feature through the real services (chat, reactions, follows, an endorsement, a
subscription and a grant, a wizard draft, a persona of their own, a channel binding, consent, a retired persona's
archive, queued notifications), on a server and, a little, on another server. Then:

- every row that names them (their id in any column, their id or words in any text or JSON) is in their export;
- after forget-me on the first server, the only rows there that name them are their refusal record; the other
  server's rows stay; and what belongs to other people stays, without them.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, func, select, text

from bot.core.character import CHARACTER_FIELDS
from bot.db import models
from bot.db.engine import Database
from bot.services import (
    bindings,
    consent,
    conversation,
    crypto,
    emotions,
    endorsements,
    follows,
    memories,
    personas,
    privacy,
    profiles,
    retirement,
    subscriptions,
    timeline,
    wizard,
)
from bot.services.personas import Actor, PersonaInput
from bot.services.retirement import PlanInput
from tests.support.people_scan import exported, scan

ME = 424242424242
BOB = 313131313131
CAROL = 515151515151
GUILD = 111111111111111111
OTHER_GUILD = 222222222222222222
CHANNEL = 333333333333333333
MARKER = "Zq7-xylophone-marker"
T = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
KEY = crypto.generate_key()


async def _chat(database: Database, message_id: int, author: int, words: str, channel: int = CHANNEL) -> None:
    """A message in a channel where personas speak, and their reply, recorded as the conversation records them."""
    async with database.transaction() as session:
        cast = await conversation.cast(session, channel)
        for speaker in cast.speakers:
            incoming = conversation.Incoming(
                message_id=message_id,
                guild_id=GUILD if channel == CHANNEL else OTHER_GUILD,
                channel_id=channel,
                author_id=author,
                author_name="someone",
                content=words,
                created_at=T,
            )
            await conversation.record(
                session,
                incoming,
                speaker,
                sent_message_ids=[message_id + speaker.persona_id],
                via_webhook=True,
                reply_text=f"{speaker.name} heard you.",
                addressed=True,
                now=T,
            )


def _my_persona() -> PersonaInput:
    """My own persona, its whole character in my words (every character column holds the marker)."""
    words = {name: f"{name} {MARKER}" for name in CHARACTER_FIELDS if name != "alternate_greetings"}
    return PersonaInput(
        name=f"Quill {MARKER}", description="Mine", alternate_greetings=[f"Hello {MARKER}", "Hi"], **words
    )


async def scenario(database: Database) -> dict[str, int]:
    """Everything a person can leave behind; returns the ids the assertions need."""
    me, me_admin, bob = Actor(ME, GUILD), Actor(ME, GUILD, can_manage_guild=True), Actor(BOB, GUILD)
    async with database.transaction() as session:
        bea = (await personas.create(session, bob, PersonaInput(name="Bea"), now=T)).id
        old = (await personas.create(session, bob, PersonaInput(name="Old"), now=T)).id
        quill = (await personas.create(session, me, _my_persona(), now=T)).id
        cy = (await personas.create(session, Actor(CAROL, OTHER_GUILD), PersonaInput(name="Cy"), now=T)).id
        for persona_id, owner in ((bea, bob), (quill, me), (old, bob)):
            await profiles.publish(session, owner, persona_id, profiles.PublishSettings(), now=T)
        await consent.record(session, user_id=ME, guild_id=GUILD, granted=True, recorded_by=ME, now=T)
        await consent.record(session, user_id=ME, guild_id=GUILD, granted=True, recorded_by=ME, now=T, persona_id=bea)
        await consent.record(session, user_id=ME, guild_id=OTHER_GUILD, granted=True, recorded_by=ME, now=T)
        await consent.record(session, user_id=BOB, guild_id=GUILD, granted=True, recorded_by=BOB, now=T)
        # Me switches Bob's personas on in a channel (as a channel manager), and Carol's in the other server.
        for persona_id in (bea, old, quill):
            await bindings.activate(
                session, me, persona_id, CHANNEL, channel_guild_id=GUILD, can_manage_channel=True, now=T
            )
        await bindings.activate(
            session, Actor(CAROL, OTHER_GUILD), cy, CHANNEL + 1, channel_guild_id=OTHER_GUILD, now=T
        )
        for user in (ME, CAROL):
            await follows.follow(session, user_id=user, persona_id=bea, now=T, guild_id=GUILD)
        await follows.follow(session, user_id=ME, persona_id=old, now=T, guild_id=GUILD)
        await follows.follow(session, user_id=BOB, persona_id=quill, now=T, guild_id=GUILD)
        await endorsements.endorse(session, me, bea, f"Bea is kind. {MARKER}", now=T)
        await subscriptions.set_free_tiers(session, guild_id=GUILD, can_manage_guild=True, enabled=True, now=T)
        tier = await subscriptions.create_tier(session, bob, bea, name="Friends", now=T)
    async with database.transaction() as session:
        tier_row = await session.get(models.SubscriptionTier, tier.id)
        assert tier_row is not None
        tier_row.is_free = True
    async with database.transaction() as session:
        await subscriptions.subscribe(session, me, bea, tier.id, now=T)
        await subscriptions.grant_free(session, me_admin, bea, tier.id, CAROL, now=T)
        # Public events: notifications queued to Bea's followers (me among them), and to Quill's (Bob).
        await timeline.record(session, bea, "milestone", "Bea turns one", is_public=True, now=T)
        await timeline.record(session, quill, "milestone", "Quill turns one", is_public=True, now=T)
        draft = await wizard.start(session, me, channel_id=CHANNEL, now=T)
        await wizard.text_answer(session, me, draft, f"Draft {MARKER}", now=T)

    async with database.transaction() as session:
        # Bob tells Bea something about me; and I plan my own persona's retirement.
        await memories.capture(
            session,
            bea,
            content="Bob says the quiet one plays chess",
            category="conversation",
            importance=5,
            source_user_id=BOB,
            source_channel_id=CHANNEL,
            source_message_id=7_000_000,
            subject_user_id=ME,
            now=T,
        )
        await retirement.plan_retirement(
            session, me, quill, PlanInput(when=T + timedelta(days=30)), now=T, channel_postable=True
        )
    await _chat(database, 7_000_001, ME, f"I love chess, {MARKER}")
    await _chat(database, 7_000_002, BOB, "Bob likes tea")
    await _chat(database, 7_000_003, ME, f"Elsewhere: {MARKER}", channel=CHANNEL + 1)
    async with database.transaction() as session:
        spoken = list(
            (
                await session.execute(
                    select(models.PersonaMessage.message_id, models.PersonaMessage.persona_id).where(
                        models.PersonaMessage.persona_id.in_([bea, old])
                    )
                )
            ).all()
        )
        await emotions.apply_reactions(
            session,
            [
                emotions.ReactionItem(persona_id, user, message_id, "❤️", GUILD, CHANNEL)
                for message_id, persona_id in spoken
                for user in (ME, CAROL)
            ],
            T,
        )

    # Old retires: its archive keeps its memories, mine among them.
    async with database.transaction() as session:
        await retirement.plan_retirement(
            session,
            bob,
            old,
            PlanInput(manual=True, memory_archival="all", archive_access="server", community_access=True),
            now=T,
            channel_postable=True,
        )
    async with database.transaction() as session:
        assert await retirement.claim_ceremony(session, old, now=T, trigger="manual", actor=bob) is not None
    async with database.transaction() as session:
        await retirement.complete_ceremony(session, old, now=T + timedelta(minutes=1))
    return {"bea": bea, "old": old, "quill": quill, "cy": cy}


async def _count(database: Database, model: type, *where: object) -> int:
    async with database.session() as session:
        return int((await session.execute(select(func.count()).select_from(model).where(*where))).scalar_one())


@pytest.mark.parametrize("steps", [False, True], ids=["one-transaction", "committed-every-7-rows"])
async def test_forget_me_and_export_cover_every_row_that_names_the_person(
    database: Database, steps: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = await scenario(database)
    async with database.session() as session:
        before = await scan(session, ME, MARKER)
        export = await privacy.export_my_data(session, ME, encryption_key=KEY)
    tables = {table for table, _, _ in before}
    # The scenario reached every kind of place a person can be named in.
    assert {
        "personas",
        "memories",
        "person_relationships",
        "emotional_events",
        "follows",
        "endorsements",
        "subscriptions",
        "wizard_drafts",
        "channel_bindings",
        "consent_records",
        "outbox",
        "legacy_archives",
        "retirement_plans",
    } <= tables

    # Export: every row that names me is in it.
    json.dumps(export)
    owned = {entry["id"] for entry in export["owned_personas"]}
    assert owned == {ids["quill"]}
    # The character columns of my persona hold my words, and the export gives every one of them back.
    assert {column for table, column, key in before if table == "personas" and key == ids["quill"]} >= set(
        CHARACTER_FIELDS
    )
    [quill] = export["owned_personas"]
    assert all(MARKER in json.dumps(quill[name], ensure_ascii=False) for name in CHARACTER_FIELDS)
    # A row of my own persona (by its persona_id, or the persona a notification is about) is in it through the
    # persona, listed under owned_personas.
    mine = {hit for hit, row in before.items() if owned & {row.get("persona_id"), _payload_persona(row)}}
    assert any(hit[0] == "outbox" for hit in mine)  # a notification to Bob about my persona
    missing = sorted(hit for hit, row in before.items() if hit not in mine and not exported(export, hit, row))
    assert missing == []
    [archived] = export["archived_memories"]
    assert MARKER in archived["item"]["content"] and archived["persona_name"] == "Old"
    assert {entry["recipient_user_id"] for entry in export["notifications"]} >= {ME}
    assert any(entry["payload"].get("follower_id") == ME for entry in export["notifications"])
    assert export["wizard_drafts"] and export["subscriptions_granted"] and export["channel_activations"]

    events_before = await _count(database, models.EmotionalEvent)
    if steps:  # as the bot runs it: the refusal first, then many small transactions
        monkeypatch.setattr(privacy.erasure, "COMMIT_ROWS", 7)
        report = await privacy.forget_me_in_steps(database, ME, GUILD, now=T + timedelta(hours=1))
    else:
        async with database.transaction() as session:
            report = await privacy.forget_me(session, ME, GUILD, now=T + timedelta(hours=1))
    assert report.personas == (f"Quill {MARKER}",) and report.memories >= 2

    async with database.session() as session:
        after = await scan(session, ME, MARKER)
        refusal = (
            await session.execute(
                select(models.ConsentRecord.id).where(
                    models.ConsentRecord.user_id == ME,
                    models.ConsentRecord.guild_id == GUILD,
                    models.ConsentRecord.granted.is_(False),
                    models.ConsentRecord.note == "forget-me",
                )
            )
        ).scalar_one()
        elsewhere = {
            (table, column, key)
            for table, column, key in before.keys()
            if (table == "memories" and key in await _memory_ids(session, ids["cy"]))
            or (table == "person_relationships" and key in await _tie_ids(session, ids["cy"]))
            or (table == "consent_records" and key in await _consent_ids(session, OTHER_GUILD))
            or (table == "persona_messages" and key in await _reply_ids(session, ids["cy"]))
        }
    here = {hit for hit in after if hit not in elsewhere}
    assert here == {("consent_records", "user_id", refusal), ("consent_records", "recorded_by", refusal)}
    assert elsewhere and elsewhere <= after.keys()  # the other server's rows are untouched

    # What is other people's stays, without me.
    assert await _count(database, models.Persona, models.Persona.id == ids["quill"]) == 0
    assert await _count(database, models.Persona, models.Persona.id.in_([ids["bea"], ids["old"]])) == 2
    assert await _count(database, models.EmotionalEvent) == events_before  # my reactions count, anonymously
    assert await _count(database, models.EmotionalEvent, models.EmotionalEvent.user_id.is_(None)) > 0
    assert await _count(database, models.Subscription, models.Subscription.user_id == CAROL) == 1
    assert await _count(database, models.ChannelBinding, models.ChannelBinding.persona_id == ids["bea"]) == 1
    async with database.session() as session:
        bea = await session.get(models.Persona, ids["bea"])
        assert bea is not None and bea.follower_count == 1  # Carol
        archive = (
            await session.execute(select(models.LegacyArchive).where(models.LegacyArchive.persona_id == ids["old"]))
        ).scalar_one()
        kept = [m["content"] for m in archive.snapshot["memories"]]
        assert kept and all(MARKER not in content for content in kept)  # Bob's memories stay
        legacy = await retirement.legacy(session, Actor(BOB, GUILD), ids["old"])
        assert legacy.memories is not None and all(MARKER not in m["content"] for m in legacy.memories)
        if database.kind == "sqlite":  # nothing of my words is left in the full-text index either
            hits = await session.execute(text("SELECT count(*) FROM memories_fts WHERE memories_fts MATCH 'chess'"))
            assert hits.scalar_one() == 0

    # And the export now holds only the refusal (and the other server's rows).
    async with database.session() as session:
        export = await privacy.export_my_data(session, ME)
    assert [entry["id"] for entry in export["consent_records"] if entry["guild_id"] == GUILD] == [refusal]
    assert not export["owned_personas"] and not export["archived_memories"] and not export["notifications"]


async def _memory_ids(session: object, persona_id: int) -> set[int]:
    query = select(models.Memory.id).where(models.Memory.persona_id == persona_id)
    return set((await session.execute(query)).scalars())  # type: ignore[attr-defined]


async def _reply_ids(session: object, persona_id: int) -> set[int]:
    """The persona's replies (each names whom it answered: another take needs it)."""
    query = select(models.PersonaMessage.message_id).where(models.PersonaMessage.persona_id == persona_id)
    return set((await session.execute(query)).scalars())  # type: ignore[attr-defined]


async def _tie_ids(session: object, persona_id: int) -> set[int]:
    query = select(models.PersonRelationship.id).where(models.PersonRelationship.persona_id == persona_id)
    return set((await session.execute(query)).scalars())  # type: ignore[attr-defined]


async def _consent_ids(session: object, guild_id: int) -> set[int]:
    query = select(models.ConsentRecord.id).where(models.ConsentRecord.guild_id == guild_id)
    return set((await session.execute(query)).scalars())  # type: ignore[attr-defined]


def _payload_persona(row: dict[str, object]) -> object:
    payload = row.get("payload")
    return payload.get("persona_id") if isinstance(payload, dict) else None


async def test_stepped_forget_me_reads_each_document_once(database: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    """A pause to commit goes on where the last transaction stopped: no window of documents is searched twice
    (before, every pause restarted the walk from the first table, and its scans of the whole outbox with it)."""
    await scenario(database)
    async with database.transaction() as session:
        for index in range(60):  # notifications to others that name me (a follow of theirs)
            session.add(
                models.OutboxMessage(
                    guild_id=GUILD,
                    kind="new_follower",
                    recipient_user_id=BOB,
                    payload={"follower_id": ME, "n": index},
                    idempotency_key=f"steps-{index}",
                )
            )
    searches: list[tuple[str, str]] = []

    def note(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
        if " LIKE " in statement.upper():
            searches.append((statement, repr(parameters)))

    monkeypatch.setattr(privacy.erasure, "COMMIT_ROWS", 7)
    monkeypatch.setattr(privacy.register, "DOCUMENT_WINDOW", 10)
    # Every document counts as big: read in pieces of 7 characters, parsed and written by the GIL-sharing code.
    monkeypatch.setattr(privacy.register, "SHARED_JSON_CHARS", 20)
    monkeypatch.setattr(privacy.register, "PIECE_CHARS", 7)
    event.listen(database.engine.sync_engine, "before_cursor_execute", note)
    try:
        await privacy.forget_me_in_steps(database, ME, GUILD, now=T + timedelta(hours=1))
    finally:
        event.remove(database.engine.sync_engine, "before_cursor_execute", note)
    assert searches, "the documents were searched"
    repeated = [search for search in set(searches) if searches.count(search) > 1]
    assert repeated == []
    async with database.session() as session:
        left = await session.execute(
            select(models.OutboxMessage.payload).where(models.OutboxMessage.kind == "new_follower")
        )
        assert not any(payload.get("follower_id") == ME for payload in left.scalars())


async def test_the_export_reads_in_short_sessions(database: Database) -> None:
    """Given the database, the export opens a session per batch and lets it go: another read (a command, a chat
    message) gets through while a long export runs, even on SQLite's one connection."""
    await scenario(database)
    async with database.transaction() as session:
        persona_id = (await session.execute(select(models.Persona.id).limit(1))).scalar_one()
        for index in range(3 * privacy.register.ID_BATCH):
            session.add(
                models.Memory(
                    persona_id=persona_id, content=f"note {index}", category="conversation", source_user_id=ME
                )
            )
    export = asyncio.create_task(privacy.export_my_data(database, ME, encryption_key=KEY))
    await asyncio.sleep(0)  # the export starts and takes the connection for its first read
    async with database.session() as session:
        await session.execute(text("SELECT 1"))
    assert not export.done()  # the read went in between the export's batches
    data = await export
    assert len([m for m in data["memories"] if m["content"].startswith("note ")]) == 3 * privacy.register.ID_BATCH
