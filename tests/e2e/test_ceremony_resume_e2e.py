"""An interrupted ceremony resumes promptly (issue 15, item 14): ``python -m bot run`` killed with SIGKILL the moment
the farewell is posted, and started again at once, finishes the ceremony within a minute of its start, with the
farewell posted once.

Before, the dead process's own lease (five minutes) kept the start-up sweep from resuming it: the persona stayed
"retiring" for 5 to 15 minutes. Now the lease names the process holding it (bot/db/presence.py); on SQLite, a lease
of any other identity than this process's is a previous life's.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import sys
from pathlib import Path
from typing import Any

import pytest

from bot.clock import utcnow
from bot.db import migrate
from bot.db.engine import Database, make_engine
from bot.sandbox import Sandbox
from bot.services import bindings, personas, retirement
from bot.services.personas import Actor, PersonaInput
from tests.support.waiting import eventually

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
FAREWELL = "Thank you all for every conversation. Goodbye, friends."


async def _start(sandbox: Sandbox, tmp_path: Path, database: Path) -> asyncio.subprocess.Process:
    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DISCORD_", "DATABASE_", "LLM_"))},
        "PYTHONPATH": str(ROOT),
        "DISCORD_TOKEN": sandbox.token,
        "DISCORD_API_URL": sandbox.server.api_url,
        "DATABASE_URL": f"sqlite+aiosqlite:///{database}",
    }
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        cwd=tmp_path,
        env=environment,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )


def _status(path: Path, persona_id: int) -> str:
    with sqlite3.connect(path) as connection:
        return str(connection.execute("SELECT status FROM personas WHERE id = ?", (persona_id,)).fetchone()[0])


async def test_a_ceremony_killed_after_the_farewell_resumes_within_a_minute_of_the_restart_once(
    tmp_path: Path,
) -> None:
    async with Sandbox(point=False) as sandbox:
        path = tmp_path / "bot.db"
        engine = make_engine(f"sqlite+aiosqlite:///{path}")
        await migrate.upgrade(engine)
        await engine.dispose()
        database = Database(f"sqlite+aiosqlite:///{path}")
        actor = Actor(sandbox.alice.id, sandbox.guild.id)
        try:
            async with database.transaction() as session:
                persona_id = (await personas.create(session, actor, PersonaInput(name="Ada"), now=utcnow())).id
                await bindings.activate(
                    session, actor, persona_id, sandbox.general.id, channel_guild_id=sandbox.guild.id, now=utcnow()
                )
                await retirement.plan_retirement(
                    session,
                    actor,
                    persona_id,
                    retirement.PlanInput(
                        manual=True, ceremony_channel_id=sandbox.personas.id, farewell_message=FAREWELL
                    ),
                    now=utcnow(),
                )
        finally:
            await database.dispose()

        def farewells() -> list[Any]:
            return [
                p
                for p in sandbox.history(sandbox.personas)
                if p.author == "Ada" and p.webhook_id is not None and p.content == FAREWELL
            ]

        def ceremonies() -> list[Any]:
            return [
                p
                for p in sandbox.history(sandbox.personas)
                if p.embeds and p.embeds[0].get("title") == "In memory of Ada"
            ]

        first = await _start(sandbox, tmp_path, path)
        create_message = sandbox.server.create_message

        def create_and_kill(channel: Any, author_id: int, *args: Any, **kwargs: Any) -> Any:
            created = create_message(channel, author_id, *args, **kwargs)
            if kwargs.get("webhook") is not None and channel.id == sandbox.personas.id and first.returncode is None:
                first.send_signal(signal.SIGKILL)  # the farewell is posted; Discord's answer never arrives
            return created

        try:
            await eventually(
                lambda: "retire" in {c["name"] for c in sandbox.commands()},
                "the command sync",
                timeout=60,
                interval=0.1,
            )
            await eventually(
                lambda: sandbox.server.gateway.live_sessions(), "the bot on the gateway", timeout=30, interval=0.1
            )
            sandbox.server.create_message = create_and_kill  # type: ignore[method-assign]
            asked = await (await sandbox.slash("retire now", persona=str(persona_id))).message(timeout=15)
            await sandbox.click(asked, label="Retire now")
            await asyncio.wait_for(first.wait(), timeout=60)
        finally:
            sandbox.server.create_message = create_message  # type: ignore[method-assign]
            if first.returncode is None:
                first.kill()
                await first.wait()
        assert first.returncode == -signal.SIGKILL
        assert len(farewells()) == 1 and ceremonies() == []
        assert _status(path, persona_id) == "retiring"

        second = await _start(sandbox, tmp_path, path)
        started = asyncio.get_running_loop().time()
        try:
            await eventually(
                lambda: ceremonies() and _status(path, persona_id) == "retired",
                "the resumed ceremony",
                timeout=60,
                interval=0.1,
            )
            took = asyncio.get_running_loop().time() - started
            await asyncio.sleep(1.0)  # a second farewell or ceremony, if any, would arrive now
            second.send_signal(signal.SIGTERM)
            _, stderr = await asyncio.wait_for(second.communicate(), timeout=30)
        finally:
            if second.returncode is None:
                second.kill()
                await second.wait()
        assert took < 60
        assert len(farewells()) == 1, [p.content for p in farewells()]
        assert len(ceremonies()) == 1
        assert b"Traceback" not in stderr, stderr.decode()[-3000:]
