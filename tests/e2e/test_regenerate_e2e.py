"""Another take, end to end (the real bot, the sandbox, the fake model server answering differently each time), on
a SQLite file and on PostgreSQL: a 🔄 by the answered person replaces the reply's words in the same message and the
memory follows; a stranger's 🔄 changes nothing; 🔄 is never an emotional trigger; the message command "Another
take" answers a stranger with a sentence and gives the owner a new take."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.app import PersonaHubBot
from bot.cogs.regenerate import DONE, MENU_NAME
from bot.core.regeneration import REGENERATE_EMOJI
from bot.db import models
from bot.sandbox import Sandbox
from bot.sandbox.harness.results import Posted
from tests.e2e.test_conversation_e2e import answer_from, persona_in
from tests.e2e.test_conversation_records_e2e import _consent, _memories, _memories_once
from tests.fakes.model_server import FakeModelServer, reply
from tests.support.waiting import eventually

pytestmark = pytest.mark.e2e

FIRST, SECOND, THIRD = "Skye, for its cliffs.", "Mull, for its puffins.", "Islay, for its whisky."


async def _answered(bot: PersonaHubBot, sandbox: Sandbox, model_server: FakeModelServer) -> tuple[int, Posted]:
    """Ada (Bob's) answers Alice, who consents; the model answers FIRST, then SECOND, then THIRD."""
    ada = await persona_in(bot, sandbox, owner_id=sandbox.bob.id)
    await _consent(bot, sandbox, sandbox.alice)
    model_server.script(reply(FIRST), reply(SECOND), reply(THIRD))
    said = await sandbox.send(sandbox.general, "Ada, what is your favourite island?")
    answer = await answer_from(bot, sandbox, after=said)
    (memory,) = await _memories_once(bot, 1, "the exchange remembered")
    assert answer.content == FIRST and "Skye" in memory.content
    return ada, answer


def _content(sandbox: Sandbox, answer: Posted) -> str:
    return sandbox.state.messages[answer.id].content


async def _emotional_events(bot: PersonaHubBot) -> int:
    async with bot.db.session() as session:
        return int(await session.scalar(select(func.count()).select_from(models.EmotionalEvent)) or 0)


def _my_reactions(sandbox: Sandbox, answer: Posted) -> int:
    return sum(len(users) for users in sandbox.state.messages[answer.id].reactions.values())


async def test_a_reaction_by_the_answered_person_replaces_the_take_in_place_and_a_strangers_changes_nothing(
    sandbox: Sandbox, bot: PersonaHubBot, model_server: FakeModelServer
) -> None:
    carol = sandbox.add_user("carol")
    await _answered(bot, sandbox, model_server)
    answer = (await _answered_message(sandbox))[0]
    asked = len(model_server.requests)
    regen: Any = bot.get_cog("RegenerateCog")
    emotions: Any = bot.get_cog("EmotionsCog")
    assert regen is not None and emotions is not None

    await sandbox.react(answer, REGENERATE_EMOJI, user=carol)  # a stranger
    await eventually(lambda: _my_reactions(sandbox, answer) == 0, "the stranger's 🔄 taken off", timeout=10)
    await asyncio.sleep(0.5)
    assert _content(sandbox, answer) == FIRST and len(model_server.requests) == asked and regen.takes == 0
    assert "Skye" in (await _memories(bot))[0].content

    await sandbox.react(answer, REGENERATE_EMOJI, user=sandbox.alice)  # the answered person
    await eventually(lambda: _content(sandbox, answer) == SECOND, "the new take in the same message", timeout=15)
    await eventually(lambda: regen.takes == 1, "the new take recorded", timeout=10)
    (memory,) = await _memories(bot)
    assert "Mull, for its puffins." in memory.content and "Skye" not in memory.content
    assert len(model_server.requests) == asked + 1
    # The request was the first one again: the question, and not the old take.
    last = model_server.requests[-1]
    said = " ".join(str(m.get("content")) for m in last["messages"])
    assert "favourite island" in said and FIRST not in said
    # 🔄 is no emotional trigger: no reaction reached the buffer, no event was written.
    assert emotions.accepted == 0 and await _emotional_events(bot) == 0
    async with bot.db.session() as session:
        rows = list((await session.execute(select(models.PersonaMessage))).scalars())
    assert [(r.message_id, r.takes) for r in rows] == [(answer.id, 1)]
    assert [p.content for p in _persona_messages(sandbox)] == [SECOND]  # no second message, the old take gone


async def test_the_message_command_refuses_a_stranger_with_a_sentence_and_gives_the_owner_a_new_take(
    sandbox: Sandbox, bot: PersonaHubBot, model_server: FakeModelServer
) -> None:
    carol = sandbox.add_user("carol")
    await _answered(bot, sandbox, model_server)
    answer = (await _answered_message(sandbox))[0]

    refused = await (await sandbox.message_command(MENU_NAME, answer, as_user=carol)).message(timeout=10)
    assert refused.ephemeral and refused.content.startswith("Only the person this reply answered, or Ada's owner")
    assert _content(sandbox, answer) == FIRST

    given = await (await sandbox.message_command(MENU_NAME, answer, as_user=sandbox.bob)).message(timeout=15)
    assert given.ephemeral and given.content == DONE
    assert _content(sandbox, answer) == SECOND
    await eventually(lambda: _memory_says(bot, "Mull"), "the memory follows the owner's take", timeout=10)

    again = await (await sandbox.message_command(MENU_NAME, answer, as_user=sandbox.bob)).message(timeout=10)
    assert again.ephemeral and "try again in" in again.content and _content(sandbox, answer) == SECOND


async def _memory_says(bot: PersonaHubBot, word: str) -> bool:
    memories = await _memories(bot)
    return len(memories) == 1 and word in memories[0].content


def _persona_messages(sandbox: Sandbox) -> list[Posted]:
    return [p for p in sandbox.history(sandbox.general) if p.author == "Ada" and p.webhook_id]


async def _answered_message(sandbox: Sandbox) -> list[Posted]:
    return _persona_messages(sandbox)
