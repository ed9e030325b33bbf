"""Everyone who clicks gets an answer: a confirmation's buttons used by someone other than the person who asked are
refused with a clear, private sentence, and the confirmation stays as it was for its owner.

Ephemeral messages are shown to one person, but an interaction naming the message can still come from anyone (the
way a hostile client sends it); the clicks here are made that way, past the harness's visibility check.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from bot.clock import utcnow
from bot.db import models
from bot.sandbox import Sandbox
from bot.sandbox.harness import InteractionHandle, Posted
from bot.services import bindings, personas
from bot.services.personas import Actor, PersonaInput
from tests.e2e.test_retirement_e2e import plan_by_form

pytestmark = pytest.mark.e2e

REFUSAL = "Only the person who asked can answer this."


async def make_persona(bot: Any, sandbox: Sandbox, name: str = "Ada") -> int:
    actor = Actor(sandbox.alice.id, sandbox.guild.id)
    async with bot.db.transaction() as session:
        record = await personas.create(session, actor, PersonaInput(name=name), now=utcnow())
        await bindings.activate(
            session, actor, record.id, sandbox.general.id, channel_guild_id=sandbox.guild.id, now=utcnow()
        )
        session.add(models.Memory(persona_id=record.id, content="the lighthouse at dawn", importance=6))
    return record.id


def stranger_click(sandbox: Sandbox, message: Posted, label: str, user: Any) -> InteractionHandle:
    """``user`` clicks ``label`` on ``message`` although it is not theirs to see."""
    stored = sandbox.state.messages[message.id]
    button = next(b for b in message.buttons() if b.get("label") == label)
    channel = sandbox.state.channels[stored.channel_id]
    data = {"custom_id": button["custom_id"], "component_type": 2}
    interaction = sandbox.server.create_interaction(3, user, channel, data, message=stored)
    return InteractionHandle(sandbox, interaction, user, channel, source=stored)


def snapshot(sandbox: Sandbox, message: Posted) -> tuple[Any, ...]:
    stored = sandbox.state.messages[message.id]
    return (stored.content, repr(stored.embeds), repr(stored.components))


async def rows(bot: Any) -> tuple[int, int, str]:
    async with bot.db.session() as session:
        count_personas = (await session.execute(select(func.count()).select_from(models.Persona))).scalar_one()
        count_memories = (await session.execute(select(func.count()).select_from(models.Memory))).scalar_one()
        status = (await session.execute(select(models.Persona.status))).scalars().first()
    return count_personas, count_memories, str(status)


async def refused(sandbox: Sandbox, message: Posted, label: str) -> None:
    handle = stranger_click(sandbox, message, label, sandbox.bob)
    answer = await handle.message()
    assert answer.ephemeral and answer.content == REFUSAL, answer.content


async def test_keep_it_on_a_delete_confirmation_answers_only_its_asker(sandbox: Sandbox, running_bot: Any) -> None:
    await make_persona(running_bot, sandbox)
    asked = await (await sandbox.slash("persona delete", persona="Ada")).message()
    before, counts = snapshot(sandbox, asked), await rows(running_bot)

    await refused(sandbox, asked, "Keep it")
    assert snapshot(sandbox, asked) == before and await rows(running_bot) == counts
    # The asker's own click still works.
    kept = await (await sandbox.click(asked, label="Keep it")).message()
    assert kept.embeds[0]["title"] == "Kept"


async def test_keep_it_on_a_forget_confirmation_answers_only_its_asker(sandbox: Sandbox, running_bot: Any) -> None:
    await make_persona(running_bot, sandbox)
    async with running_bot.db.session() as session:
        memory_id = (await session.execute(select(models.Memory.id))).scalar_one()
    asked = await (await sandbox.slash("memory forget", persona="Ada", memory=str(memory_id))).message()
    before, counts = snapshot(sandbox, asked), await rows(running_bot)

    await refused(sandbox, asked, "Keep it")
    assert snapshot(sandbox, asked) == before and await rows(running_bot) == counts


async def test_the_retire_confirmation_answers_a_stranger_instead_of_ignoring_them(
    sandbox: Sandbox, running_bot: Any
) -> None:
    persona_id = await make_persona(running_bot, sandbox)
    await plan_by_form(sandbox, persona_id, channel=sandbox.personas)
    asked = await (await sandbox.slash("retire now", persona="Ada")).message(timeout=10)
    before, counts = snapshot(sandbox, asked), await rows(running_bot)

    for label in ("Keep it", "Retire now"):
        await refused(sandbox, asked, label)
    assert snapshot(sandbox, asked) == before and await rows(running_bot) == counts
    assert counts[2] == "active"
