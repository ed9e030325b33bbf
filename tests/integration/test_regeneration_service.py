"""Another take of a reply, on both databases: what was recorded follows the take that stays (the exchange memory
rewritten, the relationship and counts not doubled, the persona's messages pointing at the new take's messages), who
may ask, and the bounds."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TypeVar

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core import regeneration as rules
from bot.core.errors import DomainError
from bot.db import models
from bot.db.engine import Database
from bot.services import consent, conversation, memories, relationships
from tests.integration.test_conversation_service import ALICE, BOB, CHANNEL, GUILD, NOW, incoming, make

OWNER = 13  # Ada's owner: neither Alice (answered) nor Bob (a stranger)
SAID = incoming("Ada, what is your favourite island?", message_id=900)
T = TypeVar("T")


async def _interactions(session: AsyncSession, persona_id: int) -> int:
    persona = await session.get(models.Persona, persona_id)
    assert persona is not None
    return persona.interaction_count


async def _speaker(database: Database) -> conversation.Speaker:
    async with database.session() as session:
        (speaker,) = await conversation.active_personas(session, CHANNEL)
    return speaker


async def _first_take(database: Database, *, consenting: bool = True) -> tuple[int, conversation.Speaker]:
    ada = await make(database, "Ada", owner=OWNER)
    speaker = await _speaker(database)
    async with database.transaction() as session:
        if consenting:
            await consent.record(session, user_id=ALICE, guild_id=GUILD, granted=True, recorded_by=ALICE, now=NOW)
        await conversation.record(
            session, SAID, speaker, sent_message_ids=[1001, 1002], via_webhook=True,
            reply_text="Skye, for its cliffs.", addressed=True, now=NOW,
        )  # fmt: skip
    return ada, speaker


async def _rows(database: Database, model: type[T]) -> list[T]:
    async with database.session() as session:
        return list((await session.execute(select(model))).scalars())


async def _ask(
    database: Database, message_id: int, actor: int, *, last_asked: datetime | None = None
) -> conversation.Take:
    async with database.session() as session:
        return await conversation.ask_for_take(session, message_id, actor_id=actor, last_asked=last_asked, now=NOW)


async def _replace(database: Database, take: conversation.Take, text: str, ids: list[int]) -> conversation.Replaced:
    async with database.transaction() as session:
        return await conversation.replace_take(
            session, take, SAID, reply_text=text, message_ids=ids, via_webhook=True, now=NOW + timedelta(minutes=1)
        )


async def test_the_memory_follows_the_new_take_and_the_relationship_is_not_counted_twice(database: Database) -> None:
    ada, _ = await _first_take(database)
    async with database.session() as session:
        before = (await relationships.people(session, ada, [ALICE]))[ALICE]
        count = await _interactions(session, ada)
    (old,) = await _rows(database, models.Memory)
    assert "Skye" in old.content

    take = await _ask(database, 1002, ALICE)  # any part of the reply stands for all of it
    assert take.message_ids == (1001, 1002) and take.answered_message_id == 900 and take.takes == 0
    done = await _replace(database, take, "Mull, for its puffins.", [1001])

    (memory,) = await _rows(database, models.Memory)
    assert memory.id == old.id and "Mull, for its puffins." in memory.content and "Skye" not in memory.content
    assert memory.importance == old.importance and memory.source_message_id == 900
    assert done.memory == "rewritten" and done.takes == 1
    async with database.session() as session:
        after = (await relationships.people(session, ada, [ALICE]))[ALICE]
        assert await _interactions(session, ada) == count
        # The searchable text follows the new take too (the FTS index / tsvector are kept by the database).
        found = await memories.retrieve(session, ada, "puffins", k=3, now=NOW, mark_accessed=False)
        gone = await memories.retrieve(session, ada, "cliffs", k=3, now=NOW, mark_accessed=False)
    assert (after.messages_exchanged, after.affinity) == (before.messages_exchanged, before.affinity)
    assert [(r.memory.id, r.text_rank > 0) for r in found] == [(old.id, True)]
    assert [r.text_rank for r in gone] in ([], [0.0])  # the old take's words are not found any more
    rows = await _rows(database, models.PersonaMessage)
    # The second part went (the new take fits in one message); the first points at the same answered message.
    assert [(r.message_id, r.part, r.takes, r.answered_message_id, r.answered_author_id) for r in rows] == [
        (1001, 0, 1, 900, ALICE)
    ]


async def test_a_longer_new_take_records_its_new_messages_as_later_parts(database: Database) -> None:
    await _first_take(database)
    take = await _ask(database, 1001, ALICE)
    await _replace(database, take, "A long answer.", [1001, 1002, 1003])
    rows = sorted(await _rows(database, models.PersonaMessage), key=lambda r: r.message_id)
    assert [(r.message_id, r.part, r.takes, r.answered_message_id) for r in rows] == [
        (1001, 0, 1, 900),
        (1002, 1, 1, 900),
        (1003, 2, 1, 900),
    ]


async def test_without_consent_no_memory_is_made_and_a_revoked_consent_forgets_it(database: Database) -> None:
    await _first_take(database, consenting=False)
    done = await _replace(database, await _ask(database, 1001, ALICE), "Mull.", [1001])
    assert done.memory == "none" and await _rows(database, models.Memory) == []

    async with database.transaction() as session:
        await consent.record(session, user_id=ALICE, guild_id=GUILD, granted=True, recorded_by=ALICE, now=NOW)
        speaker = (await conversation.active_personas(session, CHANNEL))[0]
        await conversation.record(
            session, incoming("Ada, and your favourite tree?", message_id=910), speaker, sent_message_ids=[1010],
            via_webhook=True, reply_text="The rowan.", addressed=True, now=NOW,
        )  # fmt: skip
        await consent.record(
            session, user_id=ALICE, guild_id=GUILD, granted=False, recorded_by=ALICE, now=NOW + timedelta(seconds=1)
        )
    take = await _ask(database, 1010, ALICE)
    async with database.transaction() as session:
        done = await conversation.replace_take(
            session, take, incoming("Ada, and your favourite tree?", message_id=910), reply_text="The oak.",
            message_ids=[1010], via_webhook=True, now=NOW,
        )  # fmt: skip
    assert done.memory == "forgotten" and await _rows(database, models.Memory) == []


async def test_only_the_answered_person_or_the_owner_may_ask(database: Database) -> None:
    await _first_take(database)
    assert (await _ask(database, 1001, ALICE)).persona_name == "Ada"
    assert (await _ask(database, 1001, OWNER)).owner_id == OWNER
    with pytest.raises(DomainError, match="Only the person this reply answered, or Ada's owner"):
        await _ask(database, 1001, BOB)
    with pytest.raises(DomainError, match="not a persona's answer"):
        await _ask(database, 555, ALICE)  # nobody's reply


async def test_an_apology_is_not_a_take(database: Database) -> None:
    await make(database, "Ada", owner=OWNER)
    speaker = await _speaker(database)
    async with database.transaction() as session:
        await conversation.record(
            session, SAID, speaker, sent_message_ids=[1001], via_webhook=True, reply_text=None, addressed=True,
            now=NOW,
        )  # fmt: skip
    with pytest.raises(DomainError, match="not a persona's answer"):
        await _ask(database, 1001, ALICE)


async def test_a_reply_has_a_bounded_number_of_takes_and_a_person_a_cool_down(database: Database) -> None:
    await _first_take(database)
    with pytest.raises(DomainError, match="try again in 15 seconds"):
        await _ask(database, 1001, ALICE, last_asked=NOW)
    assert (await _ask(database, 1001, ALICE, last_asked=NOW - rules.COOLDOWN)).takes == 0
    for _ in range(rules.MAX_TAKES):
        await _replace(database, await _ask(database, 1001, ALICE), "Another.", [1001])
    with pytest.raises(DomainError, match=f"had its {rules.MAX_TAKES} other takes"):
        await _ask(database, 1001, OWNER)
    (row,) = await _rows(database, models.PersonaMessage)
    assert row.takes == rules.MAX_TAKES
