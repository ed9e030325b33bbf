"""``/behavior add | list | remove | test`` and custom behaviours in chat, end to end: the real bot against the
sandbox, models through the fake OpenAI-compatible server on loopback."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.db import models
from bot.sandbox import Sandbox
from tests.e2e.test_conversation_e2e import answer_from, persona_in, system_prompt
from tests.fakes.model_server import FakeModelServer, reply
from tests.support.bots import bot_on

pytestmark = pytest.mark.e2e


async def add(sandbox: Sandbox, persona_id: int, **options: Any) -> str:
    handle = await sandbox.slash("behavior add", persona=str(persona_id), **options)
    return (await handle.message(timeout=5)).content


async def behavior_count(bot: Any, persona_id: int) -> int:
    async with bot.db.session() as session:
        query = select(func.count()).where(models.CustomBehavior.persona_id == persona_id)
        return int((await session.execute(query)).scalar_one())


async def test_add_list_test_and_remove_a_behaviour(
    sandbox: Sandbox, database_file: Path, model_server: FakeModelServer
) -> None:
    async with bot_on(sandbox, database_file, model_server) as bot:
        persona_id = await persona_in(bot, sandbox)
        said = await add(
            sandbox, persona_id, name="Pirate", trigger="keywords", trigger_value="ahoy, matey",
            action="instruction", action_value="Answer like a pirate.",
        )  # fmt: skip
        assert "Added **Pirate**" in said and "ahoy" in said
        listed = await (await sandbox.slash("behavior list", persona=str(persona_id))).message(timeout=5)
        assert listed.ephemeral and listed.embeds[0]["fields"][0]["name"] == "Pirate"
        fired = await (
            await sandbox.slash("behavior test", persona=str(persona_id), name="Pirate", message="Ahoy there!")
        ).message(timeout=5)
        assert "would fire" in fired.content and "Answer like a pirate" in fired.content
        quiet = await (
            await sandbox.slash("behavior test", persona=str(persona_id), name="Pirate", message="Good day")
        ).message(timeout=5)
        assert "would not fire" in quiet.content
        # Someone else cannot touch it.
        refused = await (
            await sandbox.slash("behavior remove", persona=str(persona_id), name="Pirate", as_user=sandbox.bob)
        ).message(timeout=5)
        assert refused.ephemeral and await behavior_count(bot, persona_id) == 1
        removed = await (await sandbox.slash("behavior remove", persona=str(persona_id), name="Pirate")).message()
        assert "Removed **Pirate**" in removed.content
        assert await behavior_count(bot, persona_id) == 0


async def test_an_unsafe_reply_template_is_refused_and_nothing_is_stored(
    sandbox: Sandbox, database_file: Path, model_server: FakeModelServer
) -> None:
    async with bot_on(sandbox, database_file, model_server) as bot:
        persona_id = await persona_in(bot, sandbox)
        said = await add(
            sandbox, persona_id, name="Evil", trigger="keywords", trigger_value="hack",
            action="reply", action_value="{{ ''.__class__.__mro__ }}",
        )  # fmt: skip
        assert "cannot use" in said or "not allowed" in said
        assert await behavior_count(bot, persona_id) == 0


async def test_an_instruction_reaches_the_prompt_and_a_reply_template_answers_without_the_model(
    sandbox: Sandbox, database_file: Path, model_server: FakeModelServer
) -> None:
    model_server.default = reply("Arr, hello!")
    async with bot_on(sandbox, database_file, model_server) as bot:
        persona_id = await persona_in(bot, sandbox)
        await add(
            sandbox, persona_id, name="Pirate", trigger="keywords", trigger_value="ahoy",
            action="instruction", action_value="Answer like a pirate.",
        )  # fmt: skip
        await add(
            sandbox, persona_id, name="Night", trigger="keywords", trigger_value="goodnight",
            action="reply", action_value="Sleep well, {{ author }}! {{ persona }} will be here.",
        )  # fmt: skip
        await add(
            sandbox, persona_id, name="Party", trigger="emoji", trigger_value="🎉",
            action="reaction", action_value="🥳",
        )  # fmt: skip
        await sandbox.send(sandbox.general, "Ahoy Ada!")
        first = await answer_from(bot, sandbox)
        assert "- Answer like a pirate." in system_prompt(model_server.requests[-1])
        asked = len(model_server.requests)
        await sandbox.send(sandbox.general, "Goodnight Ada")
        second = await answer_from(bot, sandbox, after=first.id)
        assert second.content == "Sleep well, Alice! Ada will be here."
        assert len(model_server.requests) == asked  # the template answered, not the model
        party = await sandbox.send(sandbox.general, "Party time 🎉")
        await sandbox.wait_until(lambda: party.reactions, 5, "the persona's reaction")
        await asyncio.sleep(0.1)
        assert any("🥳" in str(key) for key in party.reactions)

        # An emotional trigger fired by a behaviour is applied (after the read-only plan, in its own transaction).
        await add(
            sandbox, persona_id, name="Proud", trigger="keywords", trigger_value="well done",
            action="emotion", action_value="praise",
        )  # fmt: skip
        praised = await sandbox.send(sandbox.general, "Well done, Ada")
        await answer_from(bot, sandbox, after=second.id)
        async with bot.db.session() as session:
            events = (
                await session.execute(
                    select(models.EmotionalEvent.trigger, models.EmotionalEvent.context).where(
                        models.EmotionalEvent.persona_id == persona_id
                    )
                )
            ).all()
        # Which behaviour fired, never which message: its id would outlive the author's forget-me.
        assert [tuple(e) for e in events] == [("praise", "custom behaviour 'Proud' on a message")]
        assert str(praised.id) not in events[0][1]
