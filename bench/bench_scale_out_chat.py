"""Scale-out (issue 10): chat overhead when the bot runs as two processes (one shard each) on one PostgreSQL
database, against one process serving both shards.

Two personas, one in each shard's guild, each with 100,000 memories (50 hot, as ``bench_chat``). Messages name the
persona and alternate between the guilds; the next is sent once the reply is posted and the exchange recorded.
Two figures per configuration:

- ``scale_chat_bot_event_to_request_*``: issue 5's chat overhead, noted inside the bot processes
  (``bench.timed_bot``): from discord.py dispatching the ``message`` event to the model provider being asked.
- ``scale_chat_event_to_request_*``: from the sandbox queueing the MESSAGE_CREATE to the model server on loopback
  receiving the HTTP request. It adds the gateway hop and the model client's own work (the ``openai`` client
  building and sending the request), so it bounds the overhead from above.

Target (issue 5, kept under issue 10): p50 <= 10 ms, p99 <= 50 ms with 100,000 memories.
"""

from __future__ import annotations

import asyncio
import random
import re
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.bench_scale_out import SHARDS, start_bot, stop_bots, wait_ready
from bench.common import MEMORY_VOCABULARY, fill_memories, fresh_database, note, postgres_admin_url, report_latency
from bot.clock import utcnow
from bot.sandbox import Sandbox
from bot.services import bindings, personas
from bot.services.personas import Actor, PersonaInput
from tests.fakes.model_server import MODEL_ID, FakeModelServer, reply

WARMUP = 20
SAMPLES = 200


def _show_logs(folder: Path) -> None:
    """The bots' logs, when a run failed (PERSONA_HUB_BENCH_BOT_LOG_LEVEL=INFO says more)."""
    for log in sorted(folder.glob("chat*.log")):
        note(f"{log.name}: {log.read_text(errors='replace')[-3000:]}")


async def _recorded(connection: Any) -> int:
    return int((await connection.exec_driver_sql("SELECT count(*) FROM persona_messages")).scalar_one())


async def _measure(sandbox: Sandbox, database: Any, model: FakeModelServer, places: list[Any], label: str) -> None:
    chooser = random.Random(7)
    vocabulary = MEMORY_VOCABULARY
    durations: list[float] = []
    async with database.engine.connect() as connection:
        recorded = await _recorded(connection)
    for index in range(WARMUP + SAMPLES):
        channel, name = places[index % len(places)]
        text = f"{name}, {label} {index}: " + " ".join(chooser.choices(vocabulary, k=3)) + "?"
        asked = len(model.requests)
        answered = len(sandbox.history(channel))
        sent = time.perf_counter()
        await sandbox.send(channel, text)
        await sandbox.wait_until(lambda a=asked: len(model.requests) > a, 10, f"the chat request for message {index}")
        await sandbox.wait_until(lambda c=channel, n=answered: len(sandbox.history(c)) >= n + 2, 10, "the reply")
        # The exchange is recorded before the next message (a persona still finishing a reply skips new ones).
        async with database.engine.connect() as connection:
            deadline = time.perf_counter() + 10
            while await _recorded(connection) < recorded + 1 and time.perf_counter() < deadline:
                await connection.rollback()
                await asyncio.sleep(0.002)
            recorded = await _recorded(connection)
        if index >= WARMUP:
            durations.append((model.arrived[asked] - sent) * 1000)
    report_latency(f"scale_chat_event_to_request_{label}", durations)


def _report_in_bot(files: list[Path], label: str) -> None:
    """What the bot processes noted (``bench.timed_bot``): from the ``message`` event to the model being asked,
    issue 5's figure, per message after the warm-up."""
    pattern = re.compile(rf"\b{label} (\d+):")
    durations = []
    for file in files:
        for line in file.read_text().splitlines():
            milliseconds, _, text = line.partition("\t")
            found = pattern.search(text)
            if found and int(found.group(1)) >= WARMUP:
                durations.append(float(milliseconds))
    if len(durations) < SAMPLES:
        raise RuntimeError(f"the bots noted {len(durations)} of {SAMPLES} requests ({label})")
    report_latency(f"scale_chat_bot_event_to_request_{label}", durations)


async def main() -> None:
    if postgres_admin_url() is None:
        note("scale-out figures need PostgreSQL: set PERSONA_HUB_BENCH_POSTGRES_URL (or PERSONA_HUB_TEST_POSTGRES_URL)")
        return
    async with fresh_database("postgresql") as database, FakeModelServer(default=reply("Noted.")) as model:
        sandbox = Sandbox(point=False)
        first_shard = (sandbox.guild.id >> 22) % SHARDS
        second, second_channel = sandbox.add_guild_on_shard("Second", 1 - first_shard, SHARDS)
        await sandbox.start()
        places = []
        chooser = random.Random(5)
        started = time.perf_counter()
        for guild, channel, name in ((sandbox.guild, sandbox.general, "Ada"), (second, second_channel, "Bea")):
            actor = Actor(sandbox.alice.id, guild.id)
            async with database.transaction() as session:
                record = await personas.create(
                    session,
                    actor,
                    PersonaInput(name=name, behavior={"cooldown_seconds": 0, "chattiness": 0}),
                    now=utcnow(),
                )
                await bindings.activate(session, actor, record.id, channel.id, channel_guild_id=guild.id, now=utcnow())
            await fill_memories(database, record.id, chooser, now=utcnow())
            places.append((channel, name))
        note(f"two personas with 100,000 memories each in {time.perf_counter() - started:.1f} s")
        folder = Path(tempfile.mkdtemp(prefix="ph-bench-scale-chat-"))
        model_settings = {"LLM_BASE_URL": model.base_url, "LLM_MODEL": MODEL_ID, "LLM_API_KEY": "bench"}
        try:
            for label, groups in (("one_process", ["0,1"]), ("two_processes", ["0", "1"])):
                sandbox.server.gateway.expire_detached()
                before = len(sandbox.server.gateway.live_sessions())
                timings = [folder / f"{label}{n}.timings" for n in range(len(groups))]
                bots = [
                    await start_bot(
                        sandbox, database.url, group, folder, f"chat{n}", module="bench.timed_bot",
                        PERSONA_HUB_BENCH_TIMINGS=str(timings[n]), **model_settings,
                    )
                    for n, group in enumerate(groups)
                ]  # fmt: skip
                try:
                    await wait_ready(sandbox, set(range(SHARDS)), before)
                    await _measure(sandbox, database, model, places, label)
                    _report_in_bot(timings, label)
                except Exception:
                    _show_logs(folder)
                    raise
                finally:
                    await stop_bots(bots)
        finally:
            await sandbox.stop()
            shutil.rmtree(folder, ignore_errors=True)
