"""Reactions and ``/mood show`` end to end: the real bot against the sandbox, on SQLite.

Targets (issue 6): >= 2,000 reactions/s sustained with none lost; ``/mood show`` p99 <= 100 ms with 1,000,000
emotional events in the persona's history.

1. 20,000 reactions (2,000 users x 10 emoji, on 10 personas' webhook messages) dispatched by the sandbox's gateway
   in waves of 500, as fast as the bot takes them; timed from the first dispatch until the last event is
   committed; events in must equal events recorded.
2. ``/mood show`` through the sandbox (slash interaction -> the bot -> the answer with its PAD chart in the
   sandbox) for a persona with 1,000,000 events (one INSERT ... SELECT), with a few live emotions; p50/p99 as
   people see it (chart cache warm: the mood changes slowly), and with the chart rendered every time (cold).

Sandbox, gateway and bot share one process, one event loop and one core: the figures are lower bounds.
"""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select, text

from bench.common import note, report, report_latency, running_bot
from bot.app import PersonaHubBot
from bot.clock import utcnow
from bot.db import models
from bot.sandbox import Sandbox
from bot.services import persona_messages, personas
from bot.services.personas import Actor, PersonaInput

PERSONAS = 10
USERS = 2_000
EMOJI = ("❤️", "👍", "😂", "😢", "🎉", "😮", "👏", "🤔", "😡", "🔥")
WAVE = 500
HISTORY_EVENTS = 1_000_000
SAMPLES = 300
COLD_SAMPLES = 60


async def persona_message(bot: PersonaHubBot, sandbox: Sandbox, index: int) -> tuple[int, int]:
    async with bot.db.transaction() as session:
        record = await personas.create(
            session,
            Actor(sandbox.alice.id, sandbox.guild.id),
            PersonaInput(name=f"Persona {index}"),
            max_per_user=100,
            now=utcnow(),
        )
    channel: Any = bot.get_channel(sandbox.personas.id)
    hooks = [h for h in await channel.webhooks() if h.name == "Persona Hub relay"]
    hook = hooks[0] if hooks else await channel.create_webhook(name="Persona Hub relay")
    sent = await hook.send(f"Hello from persona {index}", username=f"Persona {index}", wait=True)
    async with bot.db.transaction() as session:
        await persona_messages.record(
            session,
            message_id=sent.id,
            persona_id=record.id,
            guild_id=sandbox.guild.id,
            channel_id=sandbox.personas.id,
            now=utcnow(),
        )
    return record.id, sent.id


async def count_events(bot: PersonaHubBot) -> int:
    async with bot.db.session() as session:
        return int((await session.execute(select(func.count()).select_from(models.EmotionalEvent))).scalar_one())


async def wait_for_events(bot: PersonaHubBot, count: int, timeout: float) -> None:
    """Until ``count`` events are recorded, or ``timeout`` seconds passed (the caller checks the count)."""
    deadline = time.perf_counter() + timeout
    while True:
        if await count_events(bot) >= count or time.perf_counter() > deadline:
            return
        await asyncio.sleep(0.01)


async def burst() -> None:
    async with Sandbox() as sandbox, running_bot(sandbox) as bot:
        targets = [await persona_message(bot, sandbox, index) for index in range(PERSONAS)]
        users = [sandbox.add_user(f"fan{index}") for index in range(USERS)]
        await asyncio.sleep(0.5)  # the member joins reach the bot first
        plan = [
            (user, EMOJI[(index + turn) % len(EMOJI)], targets[(index + turn) % PERSONAS][1])
            for turn in range(len(EMOJI))
            for index, user in enumerate(users)
        ]
        total = len(plan)
        started = time.perf_counter()
        for start in range(0, total, WAVE):
            for user, emoji, message_id in plan[start : start + WAVE]:
                await sandbox.react(sandbox.state.messages[message_id], emoji, user=user)
            await asyncio.sleep(0)  # let the gateway and the bot run, as traffic would
        await wait_for_events(bot, total, 120)
        elapsed = time.perf_counter() - started
        await asyncio.sleep(0.5)
        recorded = await count_events(bot)
        cog: Any = bot.get_cog("EmotionsCog")
        note(f"{total} reactions in, {recorded} events recorded, {cog.buffer.batches} transactions")
        assert recorded == total, f"{recorded} events for {total} reactions"
        report("reactions_e2e_sqlite", total / elapsed, "reactions/s")
        report("reactions_e2e_lost", float(total - recorded), "reactions")


async def fill_history(bot: PersonaHubBot, persona_id: int) -> None:
    """1,000,000 events, one every 31.5 s up to an hour ago, by one INSERT ... SELECT over a generated series."""
    step = 31.5
    end = utcnow().replace(microsecond=0) - timedelta(hours=1)
    start = (end - timedelta(seconds=step * (HISTORY_EVENTS - 1))).replace(tzinfo=None).isoformat(sep=" ")
    columns = (
        "persona_id, trigger, emoji, emotion_type, intensity, user_id, channel_id, message_id, "
        "previous_pleasure, previous_arousal, previous_dominance, new_pleasure, new_arousal, new_dominance, created_at"
    )
    values = (
        ":persona, CASE n % 3 WHEN 0 THEN 'affection' WHEN 1 THEN 'humour' ELSE 'criticism' END, "
        "CASE n % 3 WHEN 0 THEN '❤' WHEN 1 THEN '😂' ELSE '👎' END, "
        "CASE n % 3 WHEN 0 THEN 'trust' WHEN 1 THEN 'joy' ELSE 'frustration' END, 30.0, 1000 + n % 2000, 77, n, "
        "0.1, 0.1, 0.1, 0.2, 0.1, 0.0"
    )
    statement = text(
        f"WITH RECURSIVE seq(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM seq WHERE n < :last) "
        f"INSERT INTO emotional_events ({columns}) SELECT {values}, "
        f"strftime('%Y-%m-%d %H:%M:%S', :start, '+' || (n * {step}) || ' seconds') || '.000000' FROM seq"
    )
    async with bot.db.transaction() as session:
        await session.execute(statement, {"persona": persona_id, "last": HISTORY_EVENTS - 1, "start": start})
    async with bot.db.transaction() as session:
        await session.execute(text("ANALYZE"))


async def mood_show() -> None:
    async with Sandbox() as sandbox, running_bot(sandbox) as bot:
        persona_id, message_id = await persona_message(bot, sandbox, 0)
        started = time.perf_counter()
        await fill_history(bot, persona_id)
        note(f"{HISTORY_EVENTS} events filled in {time.perf_counter() - started:.1f} s")
        # A live state: a few reactions just now, so emotions are active and the explanation has causes.
        fans = [sandbox.add_user(f"fan{index}") for index in range(20)]
        for fan in fans:
            await sandbox.react(sandbox.state.messages[message_id], "❤️", user=fan)
        await wait_for_events(bot, HISTORY_EVENTS + len(fans), 30)
        assert await count_events(bot) == HISTORY_EVENTS + len(fans)
        cog: Any = bot.get_cog("EmotionsCog")

        charted: list[float] = []

        async def show(cold: bool) -> float:
            """Time until the answer (the mood in words); a chart not drawn yet follows in an edit (timed too)."""
            if cold:
                cog._charts.clear()
            begun = time.perf_counter()
            answer = await (await sandbox.slash("mood show", persona=str(persona_id))).message(timeout=10)
            took = (time.perf_counter() - begun) * 1000
            assert answer.embeds, answer
            await sandbox.wait_until(lambda: answer.attachments, 10, "the mood chart")
            charted.append((time.perf_counter() - begun) * 1000)
            return took

        for _ in range(20):
            await show(False)
        report_latency("mood_show_e2e_1m_events_sqlite", [await show(False) for _ in range(SAMPLES)])
        charted.clear()
        report_latency("mood_show_e2e_1m_events_cold_chart_sqlite", [await show(True) for _ in range(COLD_SAMPLES)])
        report_latency("mood_show_e2e_1m_events_cold_chart_attached_sqlite", charted)


async def main() -> None:
    await burst()
    await mood_show()


if __name__ == "__main__":
    asyncio.run(main())
