"""Ordinary use leaves no ERROR in the log: the real bot against the sandbox, messages that mention it."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from bot.clock import utcnow
from bot.sandbox import Sandbox
from bot.services import bindings, personas
from bot.services.personas import Actor, PersonaInput

pytestmark = pytest.mark.e2e


async def test_a_message_that_starts_with_a_mention_of_the_bot_logs_no_error(
    sandbox: Sandbox, running_bot: Any, caplog: pytest.LogCaptureFixture
) -> None:
    actor = Actor(sandbox.alice.id, sandbox.guild.id)
    async with running_bot.db.transaction() as session:
        record = await personas.create(
            session, actor, PersonaInput(name="Ada", behavior={"cooldown_seconds": 0, "chattiness": 0}), now=utcnow()
        )
        await bindings.activate(
            session, actor, record.id, sandbox.general.id, channel_guild_id=sandbox.guild.id, now=utcnow()
        )
    caplog.set_level(logging.INFO)
    mention = f"<@{sandbox.bot_user.id}>"
    # With a persona to answer, and in a channel where nobody answers: both are ordinary messages, not commands.
    sent = await sandbox.send(sandbox.general, f"{mention} hello Ada, how are you?")
    await sandbox.send(sandbox.personas, f"{mention} help")
    await sandbox.wait_for_message(sandbox.general, author="Ada", after=sent, timeout=15)
    await asyncio.sleep(0.5)  # a command error is dispatched in its own task, after the message
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors, [f"{r.name}: {r.getMessage()}" for r in errors]
