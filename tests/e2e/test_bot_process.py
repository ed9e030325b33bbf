"""`python -m bot run` as a real process against the sandbox: it serves, and SIGTERM shuts it down cleanly."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.sandbox import Sandbox
from tests.support.waiting import eventually

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
async def test_the_bot_process_serves_and_stops_cleanly(tmp_path: Path, stop_signal: signal.Signals) -> None:
    async with Sandbox(point=False) as sandbox:
        database = tmp_path / "bot.db"
        environment = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("DISCORD_", "DATABASE_", "LLM_"))},
            "PYTHONPATH": str(ROOT),
            "DISCORD_TOKEN": sandbox.token,
            "DISCORD_API_URL": sandbox.server.api_url,
            "DATABASE_URL": f"sqlite+aiosqlite:///{database}",
        }
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            cwd=tmp_path,
            env=environment,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            await eventually(
                lambda: "about" in {c["name"] for c in sandbox.commands()},
                "the command sync",
                timeout=60,
                interval=0.05,
            )
            await eventually(
                lambda: sandbox.server.gateway.live_sessions(), "the bot on the gateway", timeout=30, interval=0.05
            )
            answer = await (await sandbox.slash("about")).message(timeout=10)
            assert answer.embeds[0]["title"] == "Persona Hub"

            process.send_signal(stop_signal)
            _, stderr = await asyncio.wait_for(process.communicate(), timeout=30)
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
        assert process.returncode == 0, stderr.decode()
        assert b"Traceback" not in stderr

    # Nothing half-written: the last connection closed, so SQLite folded its write-ahead log back in.
    wal = database.with_name(database.name + "-wal")
    assert not wal.exists() or wal.stat().st_size == 0
    with sqlite3.connect(database) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        jobs = [row[0] for row in connection.execute("SELECT id FROM apscheduler_jobs")]
    assert "maintenance:expire-wizard-drafts" in jobs


def _unreachable_postgres(_tmp: Path) -> dict[str, str]:
    return {"DATABASE_URL": "postgresql+asyncpg://persona@127.0.0.1:9/none"}  # nothing listens on port 9


def _unwritable_sqlite(tmp: Path) -> dict[str, str]:
    blocker = tmp / "not-a-folder"
    blocker.write_text("a file where the database's folder should be")  # unwritable even for root
    return {"DATABASE_URL": f"sqlite+aiosqlite:///{blocker}/bot.db"}


def _bad_token(_tmp: Path) -> dict[str, str]:
    return {"DISCORD_TOKEN": "not-the-sandbox-token"}


def _unreachable_api(_tmp: Path) -> dict[str, str]:
    return {"DISCORD_API_URL": "http://127.0.0.1:9/api/v10"}


@pytest.mark.parametrize(
    ("broken", "setting"),
    [
        (_unreachable_postgres, "DATABASE_URL"),
        (_unwritable_sqlite, "DATABASE_URL"),
        (_bad_token, "DISCORD_TOKEN"),
        (_unreachable_api, "DISCORD_API_URL"),
    ],
    ids=["unreachable-postgresql", "unwritable-sqlite", "bad-token", "unreachable-api"],
)
async def test_a_start_up_failure_ends_in_one_sentence_naming_the_setting(
    tmp_path: Path, broken: Callable[[Path], dict[str, str]], setting: str
) -> None:
    async with Sandbox(point=False) as sandbox:
        environment = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("DISCORD_", "DATABASE_", "LLM_"))},
            "PYTHONPATH": str(ROOT),
            "DISCORD_TOKEN": sandbox.token,
            "DISCORD_API_URL": sandbox.server.api_url,
            "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/bot.db",
            **broken(tmp_path),
        }
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            cwd=tmp_path,
            env=environment,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            _, stderr = await asyncio.wait_for(process.communicate(), timeout=60)
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
    said = stderr.decode().strip()
    assert process.returncode not in (0, None), said
    assert "Traceback" not in said
    assert len(said.splitlines()) == 1, said  # one sentence, nothing else
    assert setting in said
    assert not sandbox.server.gateway.live_sessions()
