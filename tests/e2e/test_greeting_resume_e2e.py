"""A greeting claimed and never posted (the process died in between) is posted exactly once afterwards: by the next
``/persona activate`` there, or by the sweep after a restart; never again once posted (migration 0021).

The last test kills ``python -m bot run`` with SIGKILL the moment Discord is asked for the greeting (the claim is
committed; the greeting never reaches the channel), starts it again, and waits for the start-up sweep to post it.
"""

from __future__ import annotations

import asyncio
import signal
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from bot.clock import utcnow
from bot.db import migrate, models, presence
from bot.db.engine import Database, make_engine
from bot.runtime import scheduling
from bot.sandbox import Sandbox
from bot.sandbox.server.http import ApiError
from bot.services import bindings, greetings, personas
from bot.services.personas import Actor, PersonaInput
from tests.e2e.test_ceremony_resume_e2e import _start
from tests.e2e.test_conversation_e2e import persona_posts
from tests.e2e.test_persona_management import make_persona
from tests.e2e.test_persona_wizard import answer
from tests.support.bots import bot_on
from tests.support.waiting import eventually

pytestmark = pytest.mark.e2e
GREETING = "Welcome! {{char}} lights the lamp."
SAID = "Welcome! Ada lights the lamp."
DEAD = presence.Holder(value=1_234_567)  # the process that claimed and died


async def _crashed_claim(database: Database, sandbox: Sandbox, persona_id: int) -> None:
    """What a process that died between claim and post leaves: Ada active in #general, her greeting claimed there by
    a process that is gone, nothing posted."""
    actor = Actor(sandbox.alice.id, sandbox.guild.id)
    async with database.transaction() as session:
        await session.execute(update(models.Persona).where(models.Persona.id == persona_id).values(greeting=GREETING))
        await bindings.activate(
            session, actor, persona_id, sandbox.general.id, channel_guild_id=sandbox.guild.id, now=utcnow()
        )
        claimed = await greetings.claim(
            session, persona_id, sandbox.general.id, guild_id=sandbox.guild.id, user_name="Alice", draw=0.0,
            now=utcnow(), holder=DEAD,
        )  # fmt: skip
    assert claimed is not None


async def test_the_next_activation_posts_a_greeting_a_crash_left_unposted_once(
    sandbox: Sandbox, database_file: Any
) -> None:
    async with bot_on(sandbox, database_file) as bot:
        ada = await make_persona(bot, sandbox, "Ada")
        await _crashed_claim(bot.db, sandbox, ada)
        assert persona_posts(sandbox, "Ada") == []
        again = await answer(await sandbox.slash("persona activate", persona="Ada"))
        assert "already active" in again.content
        posted = await sandbox.wait_for_message(sandbox.general, author="Ada", timeout=10)
        assert posted.content == SAID
        once_more = await answer(await sandbox.slash("persona activate", persona="Ada"))
        assert "already active" in once_more.content
        assert (await scheduling.resume_unposted_greetings())["greeted"] == []  # the sweep finds nothing left
        await asyncio.sleep(0.5)
        assert [p.content for p in persona_posts(sandbox, "Ada")] == [SAID]


async def test_the_sweep_posts_it_once_and_an_unbound_claim_is_released(sandbox: Sandbox, database_file: Any) -> None:
    async with bot_on(sandbox, database_file) as bot:
        ada = await make_persona(bot, sandbox, "Ada")
        grace = await make_persona(bot, sandbox, "Grace")
        await _crashed_claim(bot.db, sandbox, ada)
        await _crashed_claim(bot.db, sandbox, grace)
        async with bot.db.transaction() as session:  # Grace was switched off there meanwhile
            await bindings.deactivate(
                session, Actor(sandbox.alice.id, sandbox.guild.id), grace, sandbox.general.id,
                channel_guild_id=sandbox.guild.id, now=utcnow(),
            )  # fmt: skip
        assert (await scheduling.resume_unposted_greetings())["greeted"] == [ada]
        assert (await scheduling.resume_unposted_greetings())["greeted"] == []
        await asyncio.sleep(0.5)
        assert [p.content for p in persona_posts(sandbox, "Ada")] == [SAID]
        assert persona_posts(sandbox, "Grace") == []
        async with bot.db.session() as session:
            assert await greetings.greeted(session, ada, sandbox.general.id)
            assert not await greetings.greeted(session, grace, sandbox.general.id)  # its next activation greets


def _greeting_state(path: Path, persona_id: int) -> tuple[Any, ...] | None:
    with sqlite3.connect(path) as connection:
        row = connection.execute(
            "SELECT claimed_at, message_id FROM persona_greetings WHERE persona_id = ?", (persona_id,)
        ).fetchone()
    return None if row is None else tuple(row)


async def test_a_bot_killed_between_claim_and_post_greets_once_after_its_restart(tmp_path: Path) -> None:
    async with Sandbox(point=False) as sandbox:
        path = tmp_path / "bot.db"
        engine = make_engine(f"sqlite+aiosqlite:///{path}")
        await migrate.upgrade(engine)
        await engine.dispose()
        database = Database(f"sqlite+aiosqlite:///{path}")
        actor = Actor(sandbox.alice.id, sandbox.guild.id)
        try:
            async with database.transaction() as session:
                record = await personas.create(session, actor, PersonaInput(name="Ada"), now=utcnow())
                await session.execute(
                    update(models.Persona).where(models.Persona.id == record.id).values(greeting=GREETING)
                )
        finally:
            await database.dispose()

        first = await _start(sandbox, tmp_path, path)
        create_message = sandbox.server.create_message

        def kill_instead(channel: Any, author_id: int, *args: Any, **kwargs: Any) -> Any:
            if kwargs.get("webhook") is not None and channel.id == sandbox.general.id:
                if first.returncode is None:
                    first.send_signal(signal.SIGKILL)  # Discord is asked for the greeting: the process dies
                    time.sleep(0.2)  # and is gone before any answer could reach it
                raise ApiError(503, 0, "Service Unavailable")
            return create_message(channel, author_id, *args, **kwargs)

        try:
            await eventually(
                lambda: "persona" in {c["name"] for c in sandbox.commands()}, "the command sync", timeout=60
            )
            await eventually(lambda: sandbox.server.gateway.live_sessions(), "the bot on the gateway", timeout=30)
            sandbox.server.create_message = kill_instead  # type: ignore[method-assign]
            await sandbox.slash("persona activate", persona="Ada")
            await asyncio.wait_for(first.wait(), timeout=60)
        finally:
            sandbox.server.create_message = create_message  # type: ignore[method-assign]
            if first.returncode is None:
                first.kill()
                await first.wait()
        assert first.returncode == -signal.SIGKILL
        state = _greeting_state(path, record.id)
        assert state is not None and state[0] is not None and state[1] is None  # claimed, never posted
        assert persona_posts(sandbox, "Ada") == []

        second = await _start(sandbox, tmp_path, path)
        try:
            await eventually(lambda: persona_posts(sandbox, "Ada"), "the greeting after the restart", timeout=90)
            await asyncio.sleep(1.0)  # a second greeting, if any, would arrive now
            second.send_signal(signal.SIGTERM)
            _, stderr = await asyncio.wait_for(second.communicate(), timeout=30)
        finally:
            if second.returncode is None:
                second.kill()
                await second.wait()
        assert [p.content for p in persona_posts(sandbox, "Ada")] == [SAID]
        state = _greeting_state(path, record.id)
        assert state is not None and state[0] is None and state[1] == persona_posts(sandbox, "Ada")[0].id
        assert b"Traceback" not in stderr, stderr.decode()[-3000:]
