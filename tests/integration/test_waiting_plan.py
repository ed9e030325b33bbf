"""Planning for busy personas (bot.services.conversation.plan's ``waiting`` and plan_waiting), on SQLite and
PostgreSQL."""

from __future__ import annotations

from bot.db.engine import Database
from bot.services import conversation
from bot.services.conversation import ChannelLine
from tests.integration.test_conversation_service import ALICE, BOB, CHANNEL, NOW, incoming, make

CAROL = 13


async def test_a_busy_persona_addressed_directly_is_left_waiting_and_one_that_is_not_is_skipped(
    database: Database,
) -> None:
    ada = await make(database, "Ada")
    grace = await make(database, "Grace", chattiness=100)
    async with database.reads() as session:
        cast = await conversation.cast(session, CHANNEL)
        plan = await conversation.plan(
            session, incoming("Ada, are you there?"), cast.speakers, history=[], exchange_depth=0, random_value=0.0,
            now=NOW, busy=frozenset({ada, grace}), cast=cast,
        )  # fmt: skip
    assert plan.jobs == ()
    assert plan.waiting == {ada: "addressed by name"}  # grace would only volunteer: it does not wait
    assert plan.decisions[ada] == plan.decisions[grace] == "already replying here"


async def test_one_turn_answers_every_waiting_message_by_name(database: Database) -> None:
    ada = await make(database, "Ada")
    waiting = [
        incoming("Ada, do you like tea?", author=BOB, name="Bob", message_id=901),
        incoming("Ada, and coffee?", author=CAROL, name="Carol", message_id=902),
        incoming("Ada, what about lighthouses?", author=ALICE, name="Alice", message_id=903),
    ]
    history = [ChannelLine(ALICE, "Alice", "Ada, hello", message_id=900), ChannelLine(5, "Ada", "Hi!", ada, True)]
    async with database.reads() as session:
        cast = await conversation.cast(session, CHANNEL)
        job = await conversation.plan_waiting(
            session, cast.speakers[0], waiting, reason="addressed by name", cast=cast, history=history, now=NOW
        )
    assert job is not None and job.speaker.persona_id == ada and job.addressed
    assert [m.message_id for m in job.earlier] == [901, 902]
    # The last turn is the post-history instruction; the one before it answers everyone who waited.
    assert job.request.messages[-1].role == "system"
    asked = job.request.messages[-2]
    assert asked.content.splitlines() == [
        "Bob: Ada, do you like tea?",
        "Carol: Ada, and coffee?",
        "Alice: Ada, what about lighthouses?",
    ]
    assert asked.name is None  # several authors
    assert "reply to each of them, by name" in job.request.system
    assert any(m.content == "Alice: Ada, hello" for m in job.request.messages)  # the conversation before them
    for name in ("Bob", "Carol", "Alice"):
        assert f"- {name}:" in job.request.system  # each author is among the people present

    # A single waiting message is an ordinary turn.
    async with database.reads() as session:
        single = await conversation.plan_waiting(
            session, cast.speakers[0], waiting[-1:], reason="mentioned", cast=cast, history=history, now=NOW
        )
    assert single is not None and single.earlier == ()
    assert single.request.messages[-2].content == "Alice: Ada, what about lighthouses?"
    assert "reply to each of them" not in single.request.system
