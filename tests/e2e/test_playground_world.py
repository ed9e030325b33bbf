"""The playground keeps its world between runs (same ids, the bot's data still reachable), starts fresh on request
without touching a database it does not own, keeps the bot's log in a file, survives a bad line, and keeps the bot's
heartbeats on time while it waits for input."""

from __future__ import annotations

import asyncio
import io
import json
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import discord
import pytest
from discord import app_commands
from discord.ext import commands

from bot.app import PersonaHubBot
from bot.config import load_settings
from bot.sandbox import Sandbox
from bot.sandbox.playground import run
from bot.sandbox.playground.home import Home, playground_settings, start_fresh
from tests.e2e.conftest import all_intents
from tests.support.reading import unnumbered

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]

WIZARD = """/persona create template:"Friendly Assistant"
:click Edit basic info
Ada
Helps with homework

:click Next
:click Next
:click Next
:click Next
:click Next
:click Create persona
"""


async def _session(tmp_path: Path, lines: str) -> tuple[list[str], dict[str, int]]:
    """One playground run (a new sandbox, a new bot) on ``tmp_path``'s world and database: its transcript, and the
    ids it ran with."""
    sandbox = Sandbox()
    await sandbox.start()
    try:
        settings = load_settings(database_url=f"sqlite+aiosqlite:///{tmp_path}/bot.db", scheduler_enabled=False)
        bot = PersonaHubBot(settings)
        out = io.StringIO()
        async with bot:
            code = await run(sandbox, bot, None, stdin=io.StringIO(lines), out=out, world=tmp_path / "world.json")
        assert code == 0
        ids = {
            "guild": sandbox.guild.id,
            "general": sandbox.general.id,
            "personas": sandbox.personas.id,
            "alice": sandbox.alice.id,
            "bob": sandbox.bob.id,
            "bot": sandbox.bot_user.id,
            "bot_role": sandbox.bot_role.id,
        }
        return unnumbered(out.getvalue().splitlines()), ids
    finally:
        await sandbox.stop()


async def test_a_restart_keeps_the_world_and_the_bot_finds_its_personas(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # no developer .env
    first, ids = await _session(
        tmp_path, WIZARD + "/persona activate persona:Ada\nAda, hello!\nhello from the first run\n"
    )
    assert "(a new world)" in first[0]
    assert any("Ada is born" in line for line in first)
    saved = json.loads((tmp_path / "world.json").read_text(encoding="utf-8"))
    assert saved["bot_user_id"] == ids["bot"]

    second, again = await _session(tmp_path, "/persona list\nhello again\nAda, hello again!\n")
    assert again == ids
    assert "(the saved world)" in second[0]
    assert second[1:3] == ["(earlier in #general)", "#general Alice: Ada, hello!"]
    assert second[3].startswith("#general Ada: ") and second[4] == "#general Alice: hello from the first run"
    at = second.index("> /persona list")
    assert any("**Ada**" in line for line in second[at : at + 6]), second
    # New ids continue past the saved ones: the second run's message sorts after the first run's.
    world = json.loads((tmp_path / "world.json").read_text(encoding="utf-8"))
    texts = {m["content"]: m["id"] for m in world["messages"]}
    assert texts["hello again"] > texts["hello from the first run"]
    assert max(texts.values()) > max(ids.values())
    # Ada still speaks in #general (her activation is in the database, the channel's id unchanged), through the
    # webhook made in the first run.
    assert second[second.index("> Ada, hello again!") + 2].startswith("#general Ada: ")
    [hook] = world["webhooks"]
    assert [m["webhook_id"] for m in world["messages"] if m["webhook_id"]] == [hook["id"], hook["id"]]


def test_a_fresh_start_removes_the_world_and_only_the_playgrounds_own_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    home = Home(tmp_path / "pg")
    home.folder.mkdir()
    for path in (home.world, home.database, home.database.with_name("persona_hub.db-wal"), home.log):
        path.write_text("x", encoding="utf-8")
    settings, owns = playground_settings(load_settings(), home)
    assert owns and settings.database_url == f"sqlite+aiosqlite:///{home.database}"
    assert set(start_fresh(home, owns_database=owns)) == {
        home.world,
        home.database,
        home.database.with_name("persona_hub.db-wal"),
    }
    assert home.log.exists()

    # DATABASE_URL set (here in the environment): the playground uses it and a fresh start never removes it.
    mine = tmp_path / "mine.db"
    mine.write_text("x", encoding="utf-8")
    home.world.write_text("x", encoding="utf-8")
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{mine}")
    settings, owns = playground_settings(load_settings(), home)
    assert not owns and settings.database_url == f"sqlite+aiosqlite:///{mine}"
    home.database.write_text("x", encoding="utf-8")
    assert start_fresh(home, owns_database=owns) == [home.world]
    assert mine.exists() and home.database.exists()


LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ (DEBUG|INFO|WARNING|ERROR)")


def _cli(tmp_path: Path, *args: str, script: str = "/persona list\n") -> subprocess.CompletedProcess[str]:
    (tmp_path / "script.txt").write_text(script, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k not in ("DISCORD_TOKEN", "DATABASE_URL", "PLAYGROUND_LOG")}
    env.update(PYTHONPATH=str(ROOT), LOG_LEVEL="INFO")
    return subprocess.run(
        [sys.executable, "-m", "bot", "sandbox", "--script", "script.txt", *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_cli_keeps_the_log_in_a_file_and_starts_fresh_on_request(tmp_path: Path) -> None:
    home = tmp_path / "var" / "playground"
    done = _cli(tmp_path, script="hello\n")
    assert done.returncode == 0, done.stderr
    assert f"{Path('var/playground/bot.log')}" in done.stderr and "FRESH=1" in done.stderr
    screen = done.stdout.splitlines() + done.stderr.splitlines()
    assert not [line for line in screen if LOG_LINE.match(line)], screen
    log = (home / "bot.log").read_text(encoding="utf-8")
    assert "synced" in log and LOG_LINE.match(log)
    assert (home / "world.json").is_file() and (home / "persona_hub.db").is_file()
    assert "(a new world)" in done.stdout

    kept = _cli(tmp_path)
    assert "(the saved world)" in kept.stdout, kept.stdout

    fresh = _cli(tmp_path, "--fresh", "--log-to-screen")
    assert fresh.returncode == 0, fresh.stderr
    assert "Fresh start: removed" in fresh.stderr and "world.json" in fresh.stderr
    assert "(a new world)" in fresh.stdout
    assert [line for line in fresh.stderr.splitlines() if LOG_LINE.match(line)]  # the log on screen this time


async def test_a_bad_line_prints_one_line_and_the_session_goes_on(sandbox: Sandbox, tmp_path: Path) -> None:
    bot = commands.Bot(command_prefix="!", intents=all_intents())

    @bot.tree.command(description="Take a file")
    async def upload(interaction: discord.Interaction, file: discord.Attachment) -> None:
        await interaction.response.send_message(f"got {file.filename}")

    @bot.tree.command(description="Fail")
    @app_commands.describe(n="a number")
    async def count(interaction: discord.Interaction, n: int) -> None:
        await interaction.response.send_message(f"n={n}")

    @bot.event
    async def setup_hook() -> None:
        await bot.tree.sync()

    missing = tmp_path / "typo.json"
    stdin = io.StringIO(f"/upload file:{missing}\n/count n:many\n:react 99 x\nstill here\n")
    out = io.StringIO()
    assert await run(sandbox, bot, None, stdin=stdin, out=out) == 0
    text = unnumbered(out.getvalue().splitlines())
    after = text[text.index(f"> /upload file:{missing}") + 1]
    assert after.startswith("! ") and "typo.json" in after
    assert text[text.index("> /count n:many") + 1].startswith("! ")
    assert text[text.index("> still here") + 1] == "#general Alice: still here"


async def test_heartbeats_are_acknowledged_on_time_while_the_playground_waits_for_input(sandbox: Sandbox) -> None:
    """discord.py measures a heartbeat from when its keep-alive thread noted sending it; an ACK that beat that note
    was measured from the heartbeat before (the playground's "websocket is 41.3s behind")."""
    interval = 0.05  # a beat every 50 ms, so a few seconds see many
    sandbox.server.gateway.heartbeat_interval_ms = int(interval * 1000)
    sandbox.server.gateway.ack_delay = 0.02  # the round trip, shorter than the interval (0 brings the fault back)
    bot = commands.Bot(command_prefix="!", intents=all_intents())
    leader, follower = os.openpty()  # a terminal: the playground waits for typed lines
    stdin = os.fdopen(follower, "r", encoding="utf-8")
    session = asyncio.create_task(run(sandbox, bot, None, stdin=stdin, out=io.StringIO()))
    try:
        loop = asyncio.get_running_loop()
        await sandbox.wait_until(bot.is_ready, 30, "the bot to be ready")
        samples: list[float] = []
        end = loop.time() + 4.0
        while loop.time() < end:
            await asyncio.sleep(0.005)
            samples.append(bot.latency)
        os.write(leader, b":quit\n")
        assert await asyncio.wait_for(session, 30) == 0
    finally:
        session.cancel()
        stdin.close()
        os.close(leader)
    measured = [s for s in samples if s != float("inf")]
    assert len(measured) > 100
    # Each heartbeat's latency, once (the reading stays until the next ACK). The fault made nearly every beat as
    # late as the interval; a loaded 2-core machine may delay one ACK now and then, which is not it.
    beats = [s for n, s in enumerate(measured) if n == 0 or s != measured[n - 1]]
    late = [round(s, 3) for s in beats if s >= interval * 0.9]
    assert len(beats) > 20 and len(late) <= len(beats) // 10, f"beats as late as the interval: {late} of {len(beats)}"


async def test_piped_lines_are_run_as_they_come(sandbox: Sandbox) -> None:
    """A pipe that stays open (another program typing) is read as lines arrive, not all at once at its end."""
    bot = commands.Bot(command_prefix="!", intents=all_intents())
    read_end, write_end = os.pipe()
    stdin = os.fdopen(read_end, "r", encoding="utf-8")
    out = io.StringIO()
    os.write(write_end, b"first\n")
    answered_while_open = threading.Event()

    def typist() -> None:
        # Waits for the first line's echo; only then (or after 20 s) types the rest and closes the pipe.
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if "#general Alice: first" in out.getvalue():
                answered_while_open.set()
                break
            time.sleep(0.05)
        os.write(write_end, b"second\n")
        os.close(write_end)

    thread = threading.Thread(target=typist)
    thread.start()
    try:
        assert await run(sandbox, bot, None, stdin=stdin, out=out) == 0
    finally:
        thread.join()
        stdin.close()
    assert answered_while_open.is_set(), out.getvalue()
    assert "#general Alice: second" in out.getvalue()
