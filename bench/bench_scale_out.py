"""Scale-out (issue 10): reaction throughput with the bot as one process serving two shards, then as two processes
serving one shard each, on one PostgreSQL database. Target: two processes >= 1.6x one.

The sandbox runs in this process and dispatches the reactions (half in each shard's guild) as fast as the gateway
takes them; the figure is reactions per second from the first dispatch until the last event is committed, with
events in = events recorded. On a 2-core machine the sandbox shares the cores with the bots: a lower bound.
"""

from __future__ import annotations

import asyncio
import os
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, text

from bench.common import fresh_database, note, postgres_admin_url, report
from bot.clock import utcnow
from bot.db import models
from bot.sandbox import Sandbox
from bot.services import persona_messages, personas
from bot.services.personas import Actor, PersonaInput

ROOT = Path(__file__).resolve().parents[1]
SHARDS = 2
USERS = 2_500  # x 4 emoji x 2 messages = 20,000 reactions a burst
WARM_UP_USERS = 250
ROUNDS = 3  # alternated; the median of each side is reported
EMOJI = ("❤️", "👍", "😂", "🎉")  # per user and message: one reaction each counts once
WAVE = 500


async def _events(database: Any) -> int:
    async with database.session() as session:
        return int((await session.execute(select(func.count()).select_from(models.EmotionalEvent))).scalar_one())


async def _ids_taken(connection: Any) -> int:
    """How many event ids were ever drawn (inserted rows, committed or not)."""
    row = (await connection.exec_driver_sql("SELECT last_value, is_called FROM emotional_events_id_seq")).one()
    return int(row[0]) if row[1] else 0


async def start_bot(
    sandbox: Sandbox, url: str, shards: str, folder: Path, name: str, *, module: str = "bot", **settings: str
) -> asyncio.subprocess.Process:
    """``python -m bot run --shards <shards>`` against the sandbox and ``url`` (more settings as keyword arguments,
    e.g. ``LLM_BASE_URL``), its output in ``folder/<name>.log``. ``module`` runs another entry point with the
    same command line (``bench.timed_bot``)."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DISCORD_", "DATABASE_", "LLM_", "SHARD_"))},
        "PYTHONPATH": str(ROOT),
        "DISCORD_TOKEN": sandbox.token,
        "DISCORD_API_URL": sandbox.server.api_url,
        "DATABASE_URL": url,
        "AUTO_MIGRATE": "false",
        "SCHEDULER_ENABLED": "false",
        "LOG_LEVEL": os.environ.get("PERSONA_HUB_BENCH_BOT_LOG_LEVEL", "WARNING"),
        **settings,
    }
    log = (folder / f"{name}.log").open("ab")
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", module, "run", "--shards", shards, "--shard-count", str(SHARDS),
        cwd=folder, env=env, stdout=log, stderr=log,
    )  # fmt: skip


async def wait_ready(sandbox: Sandbox, shards: set[int], before: int) -> None:
    deadline = time.perf_counter() + 60
    while time.perf_counter() < deadline:
        live = [s for s in sandbox.server.gateway.sessions.values() if not s.invalidated]
        if len(live) >= before + len(shards) and {s.shard_id for s in live[before:]} >= shards:
            await asyncio.sleep(1.0)  # the guilds reach the bot
            return
        await asyncio.sleep(0.1)
    raise RuntimeError("the bot processes did not reach the gateway")


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc), 0 when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _postgres_pids() -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == "postgres":
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids


def _cpu(bots: list[asyncio.subprocess.Process]) -> dict[str, float]:
    return {
        "bots": sum(_cpu_seconds(p.pid) for p in bots),
        "sandbox": time.process_time(),  # this process: the sandbox and the load it generates
        "postgresql": sum(_cpu_seconds(pid) for pid in _postgres_pids()),
    }


async def stop_bots(processes: list[asyncio.subprocess.Process]) -> None:
    for process in processes:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            await asyncio.wait_for(process.wait(), timeout=30)
        except TimeoutError:
            process.kill()
            await process.wait()


async def _targets(sandbox: Sandbox, database: Any, places: list[tuple[Any, Any, int]]) -> list[Any]:
    """A fresh message spoken by each place's persona (a person's reaction counts once per message and emoji)."""
    targets = []
    for guild, channel, persona_id in places:
        message = await sandbox.send(channel, "Echo speaks", author=sandbox.bob)
        async with database.transaction() as session:
            await persona_messages.record(
                session, message_id=message.id, persona_id=persona_id, guild_id=guild.id,
                channel_id=channel.id, via_webhook=False, now=utcnow(),
            )  # fmt: skip
        targets.append(message)
    return targets


async def _burst(sandbox: Sandbox, database: Any, targets: list[Any], users: list[Any]) -> tuple[float, int, int]:
    """React with every user and emoji on every target; (reactions/s, sent, recorded)."""
    async with database.engine.begin() as connection:
        await connection.execute(text("TRUNCATE emotional_events"))
    plan = [(user, emoji, message) for emoji in EMOJI for user in users for message in targets]
    async with database.engine.connect() as gauge:
        first_id = await _ids_taken(gauge)
        await gauge.commit()
        started = time.perf_counter()
        for start in range(0, len(plan), WAVE):
            for user, emoji, message in plan[start : start + WAVE]:
                await sandbox.react(message, emoji, user=user)
            await asyncio.sleep(0)
        deadline = started + 180
        recorded = 0
        while time.perf_counter() < deadline:
            # The id sequence is a cheap progress gauge (a COUNT every few ms would itself load the shared
            # database); only the COUNT of committed rows decides.
            if await _ids_taken(gauge) - first_id >= len(plan):
                recorded = await _events(database)
                if recorded >= len(plan):
                    break
            await asyncio.sleep(0.01)
    return len(plan) / (time.perf_counter() - started), len(plan), recorded


Place = tuple[Any, Any, int]  # (guild, channel, persona id)


async def _measure(
    sandbox: Sandbox, database: Any, folder: Path, places: list[Place], fans: list[Any], groups: list[str]
) -> tuple[float, int, dict[str, float]]:
    """Start one bot process per shard group, warm it up, time one burst, stop it: (reactions/s, lost, CPU us per
    reaction by component)."""
    sandbox.server.gateway.expire_detached()  # the last run's sessions (Discord ends them some time after)
    before = len(sandbox.server.gateway.live_sessions())
    processes = [await start_bot(sandbox, database.url, group, folder, f"bot{n}") for n, group in enumerate(groups)]
    try:
        await wait_ready(sandbox, {0, 1}, before)
        await _burst(sandbox, database, await _targets(sandbox, database, places), fans[:WARM_UP_USERS])
        cpu_before = _cpu(processes)
        rate, sent, recorded = await _burst(sandbox, database, await _targets(sandbox, database, places), fans)
        cpu_after = _cpu(processes)
    finally:
        await stop_bots(processes)
    return rate, sent - recorded, {part: (cpu_after[part] - cpu_before[part]) / sent * 1e6 for part in cpu_before}


async def main() -> None:
    if postgres_admin_url() is None:
        note("scale-out figures need PostgreSQL: set PERSONA_HUB_BENCH_POSTGRES_URL (or PERSONA_HUB_TEST_POSTGRES_URL)")
        return
    async with fresh_database("postgresql") as database:
        sandbox = Sandbox(point=False)
        first_shard = (sandbox.guild.id >> 22) % SHARDS
        second, second_channel = sandbox.add_guild_on_shard("Second", 1 - first_shard, SHARDS)
        fans = [sandbox.state.add_user(f"fan{n}") for n in range(USERS)]  # members of both guilds
        for user in fans:
            sandbox.state.add_member(sandbox.guild, user)
            sandbox.state.add_member(second, user)
        await sandbox.start()
        places = []
        for guild, channel in ((sandbox.guild, sandbox.personas), (second, second_channel)):
            async with database.transaction() as session:
                persona = await personas.create(
                    session, Actor(sandbox.alice.id, guild.id), PersonaInput(name="Echo"), now=utcnow()
                )
            places.append((guild, channel, persona.id))
        folder = Path(tempfile.mkdtemp(prefix="ph-bench-scale-"))
        runs: dict[str, list[tuple[float, int, dict[str, float]]]] = {"one_process": [], "two_processes": []}
        try:
            for _ in range(ROUNDS):  # alternated, so a slow spell of the machine does not favour one side
                runs["one_process"].append(await _measure(sandbox, database, folder, places, fans, ["0,1"]))
                runs["two_processes"].append(await _measure(sandbox, database, folder, places, fans, ["0", "1"]))
        finally:
            await sandbox.stop()
        rates = {}
        for label, results in runs.items():
            rates[label] = statistics.median(r[0] for r in results)
            for part in results[0][2]:
                report(f"scale_cpu_per_reaction_{label}_{part}", statistics.median(r[2][part] for r in results), "us")
            report(f"scale_reactions_{label}_per_s", rates[label], "reactions/s")
            report(f"scale_reactions_{label}_lost", sum(r[1] for r in results), "reactions")
        report("scale_reactions_speedup", rates["two_processes"] / rates["one_process"], "x")
