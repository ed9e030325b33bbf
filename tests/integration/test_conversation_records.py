"""What an exchange leaves behind, on both databases: a hand-typed mention of an id no one can have, a NUL in what
the model or a tool wrote, a reply folded for several people, and an emotional event a behaviour fired."""

from __future__ import annotations

from sqlalchemy import select

from bot.db import models
from bot.db.engine import Database
from bot.services import behaviors, consent, conversation
from bot.services.personas import Actor
from tests.integration.test_conversation_service import ALICE, BOB, CHANNEL, GUILD, NOW, incoming, make

FAKE = "<@9999999999999999999999999>"  # 25 digits: past 64 bits, so nobody's id


async def _speaker(database: Database) -> conversation.Speaker:
    async with database.session() as session:
        (speaker,) = await conversation.active_personas(session, CHANNEL)
    return speaker


async def _consent(database: Database, *people: int) -> None:
    async with database.transaction() as session:
        for person in people:
            await consent.record(session, user_id=person, guild_id=GUILD, granted=True, recorded_by=person, now=NOW)


async def _memories(database: Database) -> list[models.Memory]:
    async with database.session() as session:
        return list((await session.execute(select(models.Memory).order_by(models.Memory.id))).scalars())


async def test_a_mention_of_an_id_past_64_bits_names_nobody_and_the_exchange_is_recorded(database: Database) -> None:
    await make(database, "Ada")
    speaker = await _speaker(database)
    await _consent(database, ALICE)
    async with database.transaction() as session:
        kept = await conversation.record(
            session, incoming(f"Ada, {FAKE} and <@!{BOB}> said hello"), speaker, sent_message_ids=[1001],
            via_webhook=True, reply_text="Hello to them!", addressed=True, now=NOW,
        )  # fmt: skip
    assert kept.memory_id is not None
    (memory,) = await _memories(database)
    # Neither the impossible id nor Bob (who never consented) is kept or linked.
    assert "99999999" not in memory.content and str(BOB) not in memory.content
    assert memory.subject_user_id is None and memory.source_user_id == ALICE


async def test_a_nul_in_the_reply_or_in_a_pinned_memory_is_removed_and_kept(database: Database) -> None:
    ada = await make(database, "Ada")
    speaker = await _speaker(database)
    await _consent(database, ALICE)
    said = incoming("Ada, how are you?")
    async with database.transaction() as session:
        kept = await conversation.record(
            session, said, speaker, sent_message_ids=[1001], via_webhook=True,
            reply_text="Very we\x00ll, thank you!", addressed=True, now=NOW,
        )  # fmt: skip
    assert kept.memory_id is not None
    tools = conversation.tool_context(database, ada, incoming=said, clock=lambda: NOW)
    assert await tools.pin_memory("Alice likes sail\x00ing", 7) == "Pinned: I will keep that in mind."
    rows = await _memories(database)
    assert [("Very well" in m.content, "sailing" in m.content) for m in rows] == [(True, False), (False, True)]
    assert all("\x00" not in m.content for m in rows)


async def test_a_folded_reply_is_kept_out_of_every_authors_memory(database: Database) -> None:
    """One reply answered Bob and Alice together and names both: each memory holds its author's own words."""
    await make(database, "Ada")
    speaker = await _speaker(database)
    await _consent(database, ALICE, BOB)
    reply = "Bob, the lighthouse opens at nine; Alice, the ferry is late."
    async with database.transaction() as session:
        for said in (
            incoming("Ada, when does the lighthouse open?", author=BOB, name="Bob", message_id=901),
            incoming("Ada, is the ferry on time?", message_id=902),
        ):
            await conversation.record(
                session, said, speaker, sent_message_ids=[], via_webhook=True, reply_text=reply, addressed=True,
                now=NOW, remember_reply=False,
            )  # fmt: skip
    bob, alice = await _memories(database)
    assert bob.source_user_id == BOB and "lighthouse" in bob.content
    assert alice.source_user_id == ALICE and "ferry" in alice.content
    assert "Alice" not in bob.content and "ferry" not in bob.content
    assert "Bob" not in alice.content and "lighthouse" not in alice.content


async def test_an_emotional_event_a_behaviour_fired_says_which_behaviour_not_which_message(
    database: Database,
) -> None:
    ada = await make(database, "Ada")
    async with database.transaction() as session:
        await behaviors.add(
            session, Actor(ALICE, GUILD), ada, name="Kind words", trigger_kind="keywords",
            trigger_config=behaviors.parse_trigger("keywords", "lovely"), action_kind="emotion",
            action_config=behaviors.parse_action("emotion", "praise"), now=NOW,
        )  # fmt: skip
    said = incoming("What a lovely day", message_id=987654321012345678)
    async with database.reads() as session:
        speakers = await conversation.active_personas(session, CHANNEL)
        plan = await conversation.plan(
            session, said, speakers, history=[], exchange_depth=0, random_value=0.99, now=NOW
        )  # fmt: skip
    assert [effect.emotion_triggers for effect in plan.effects] == [("praise",)]
    async with database.transaction() as session:
        assert await conversation.apply_behavior_triggers(session, said, plan.effects, now=NOW) == 1
    async with database.session() as session:
        (event,) = (await session.execute(select(models.EmotionalEvent))).scalars()
    assert event.context == "custom behaviour 'Kind words' on a message"
    assert str(said.message_id) not in (event.context or "") and event.message_id is None
