"""Conversations rolled up into summary memories (bot/services/memories/summaries.py), on SQLite and PostgreSQL:
each finished session of a person becomes one summary of their words, once; a model writes it when one is given;
what may not be summarised is left alone; forget-me takes the summary; the prompt prefers it for old periods."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update

from bot.db import models
from bot.db.engine import Database
from bot.services import memories, personas, privacy
from bot.services.memories.summaries import OLD_AFTER, prefer_summaries, summary_links, without_summarised
from bot.services.personas import Actor, PersonaInput

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
GUILD = 555
OWNER = Actor(user_id=1001, guild_id=GUILD)
ALICE, BOB = 7, 8


async def _persona(database: Database) -> int:
    async with database.transaction() as session:
        return (await personas.create(session, OWNER, PersonaInput(name="Ada"), now=NOW)).id


async def _exchange(
    database: Database, pid: int, said: str, *, who: int = ALICE, name: str = "Alice", at: datetime, **columns: Any
) -> int:
    async with database.transaction() as session:
        record = await memories.capture(
            session,
            pid,
            content=f"{name} said: “{said}” I (Ada) answered: “I see.”",
            category="conversation",
            importance=5,
            source_user_id=who,
            source_channel_id=10,
            source_message_id=None,
            now=at,
        )
        await session.execute(
            update(models.Memory).where(models.Memory.id == record.id).values(created_at=at, **columns)
        )
    return record.id


async def _summaries(database: Database, pid: int) -> list[models.Memory]:
    async with database.session() as session:
        query = select(models.Memory).where(models.Memory.persona_id == pid, models.Memory.category == "summary")
        return list((await session.execute(query.order_by(models.Memory.id))).scalars())


async def _talk(database: Database, pid: int, start: datetime) -> list[int]:
    lines = ["my cat Tom caught a mouse", "Tom is an orange cat", "the weather is grey", "Tom sleeps all day"]
    return [await _exchange(database, pid, line, at=start + timedelta(minutes=i)) for i, line in enumerate(lines)]


async def test_a_finished_session_becomes_one_summary_of_the_persons_words(database: Database) -> None:
    pid = await _persona(database)
    alice = await _talk(database, pid, NOW - timedelta(hours=2))
    for i, line in enumerate(["I love jazz", "jazz records from 1959", "Kind of Blue is my favourite"]):
        await _exchange(database, pid, line, who=BOB, name="Bob", at=NOW - timedelta(hours=2, minutes=-i))
    await _talk(database, pid, NOW - timedelta(minutes=10))  # still going on: not summarised yet
    # Not summarised, though said in the same session: a pinned exchange, one about someone else, a sealed one.
    during = NOW - timedelta(hours=2) + timedelta(seconds=90)
    await _exchange(database, pid, "pinned words", at=during, pinned=True)
    await _exchange(database, pid, "Bob's secret plans", at=during, subject_user_id=BOB)
    await _exchange(database, pid, "sealed words", at=during, encrypted=True)

    async with database.transaction() as session:
        assert await memories.summarize_persona(session, pid, now=NOW) == 2
    made = await _summaries(database, pid)
    assert [m.source_user_id for m in made] == [ALICE, BOB]
    assert made[0].content.startswith("Summary of a conversation with Alice") and "Tom" in made[0].content
    assert "Bob" not in made[0].content and "jazz" in made[1].content
    assert not any(word in made[0].content for word in ("pinned", "secret", "sealed"))
    assert made[0].created_at == NOW - timedelta(hours=2) + timedelta(minutes=3)  # it tells of then
    async with database.session() as session:
        links = await summary_links(session, alice)
    assert set(links) == set(alice) and set(links.values()) == {made[0].id}
    async with database.transaction() as session:
        assert await memories.summarize_persona(session, pid, now=NOW) == 0  # once
    async with database.transaction() as session:  # later, the second session of Alice is over too
        assert await memories.summarize_persona(session, pid, now=NOW + timedelta(hours=1)) == 1


async def test_the_model_writes_it_and_a_failing_model_leaves_the_extractive_summary(database: Database) -> None:
    pid = await _persona(database)
    await _talk(database, pid, NOW - timedelta(hours=2))
    asked: list[tuple[str, str, Sequence[str]]] = []

    async def writer(person: str, persona: str, quotes: Sequence[str]) -> str | None:
        asked.append((person, persona, quotes))
        return "Alice has an orange cat called Tom who hunts mice."

    async with database.transaction() as session:
        await memories.summarize_persona(session, pid, now=NOW, writer=writer)
    [made] = await _summaries(database, pid)
    assert asked[0][:2] == ("Alice", "Ada") and "my cat Tom caught a mouse" in asked[0][2]
    assert made.content.endswith(": Alice has an orange cat called Tom who hunts mice.")

    other = await _persona_named(database, "Bea")
    await _talk(database, other, NOW - timedelta(hours=2))

    async def broken(person: str, persona: str, quotes: Sequence[str]) -> str | None:
        raise RuntimeError("the model is down")

    async with database.transaction() as session:
        await memories.summarize_persona(session, other, now=NOW, writer=broken)
    [kept] = await _summaries(database, other)
    assert "(4 exchanges): Alice said “" in kept.content


async def _persona_named(database: Database, name: str) -> int:
    async with database.transaction() as session:
        return (await personas.create(session, OWNER, PersonaInput(name=name), now=NOW)).id


async def test_forget_me_takes_the_summary_and_the_job_finds_every_waiting_persona(database: Database) -> None:
    pid = await _persona(database)
    await _talk(database, pid, NOW - timedelta(hours=2))
    assert await memories.summarize_due(database, now=NOW) == 1
    async with database.transaction() as session:
        await privacy.forget_me(session, ALICE, GUILD, now=NOW)
    assert await _summaries(database, pid) == []
    async with database.session() as session:
        left = (await session.execute(select(func.count()).select_from(models.MemorySummaryMember))).scalar_one()
    assert left == 0


async def test_old_exchanges_give_way_to_their_summary_in_the_prompt(database: Database) -> None:
    pid = await _persona(database)
    old = NOW - OLD_AFTER - timedelta(days=1)
    await _talk(database, pid, old)
    async with database.transaction() as session:
        await memories.summarize_persona(session, pid, now=NOW)
        found = await memories.retrieve(session, pid, "Tom the cat", now=NOW, k=6)
    assert any(r.memory.category == "summary" for r in found)
    async with database.session() as session:
        kept = await without_summarised(session, found, now=NOW)
    assert [r.memory.category for r in kept].count("conversation") == 0 and len(kept) < len(found)
    # Recent exchanges stay beside their summary; without a summary retrieved nothing changes.
    assert prefer_summaries(found, {}, now=NOW) == list(found)
    recent = [r for r in found if r.memory.category == "conversation"]
    async with database.session() as session:
        assert await without_summarised(session, recent, now=NOW) == recent
