"""The wizard and persona management through the sandbox: the real bot, interaction in -> response out.

Targets (issue 4): one wizard step p99 <= 50 ms; ``/persona list`` and ``/persona show`` p99 <= 100 ms with
10,000 personas in the database (the chart renders in a worker thread, off the event loop).

Figures:
- ``wizard_step``: Next / Back between the memory, behaviour and privacy steps, and questionnaire answers
  (IPIP-50), each a click answered by an edited message;
- ``wizard_chart_step``: the questionnaire's last answer, whose reply carries a freshly rendered radar chart;
- ``persona_list_own``, ``persona_list_server``: the caller's personas, the server's visible ones (first 100);
- ``persona_show``: a random persona's profile (the reply); ``persona_show_with_chart``: until its radar chart
  has been attached by the follow-up edit (every persona has its own traits, so the chart cache rarely helps).
"""

from __future__ import annotations

import gc
import random
import time
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import insert, select

from bench.common import note, report_latency, running_bot
from bot.clock import utcnow
from bot.core import personality
from bot.db import models
from bot.sandbox import Sandbox
from bot.sandbox.harness import Posted

PERSONAS = 10_000
OWNERS = 1_000
STEP_SAMPLES = 300
LIST_SAMPLES = 300
SHOW_SAMPLES = 200


async def _timed(action: Callable[[], Awaitable[Any]]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = await action()
    return (time.perf_counter() - started) * 1000, result


async def _fill(bot: Any, guild_id: int, alice_id: int) -> list[int]:
    now = utcnow()
    rows = []
    for index in range(PERSONAS):
        owner = alice_id if index < 10 else 10_000 + index % OWNERS
        rows.append(
            {
                "guild_id": guild_id,
                "owner_id": owner,
                "name": f"Persona {index:05d}",
                "description": "A benchmark persona.",
                "status": "active",
                "is_active": False,
                "created_at": now,
                "updated_at": now,
                "custom_traits": [],
                "behavior_settings": {},
                "privacy_settings": {},
                "plugins": [],
                "is_public": False,
                "follower_count": 0,
                "interaction_count": 0,
                "verification_status": "unverified",
                **personality.random_traits(index),
            }
        )
    async with bot.db.transaction() as session:
        await session.execute(insert(models.Persona), rows)
        ids = list((await session.execute(select(models.Persona.id))).scalars())
        await session.execute(insert(models.MemoryConfig), [{"persona_id": i, "exempt_categories": []} for i in ids])
        await session.execute(insert(models.EmotionalState), [{"persona_id": i, "as_of": now} for i in ids])
    return ids


async def _click(sandbox: Sandbox, message: Posted, label: str) -> Posted:
    return await (await sandbox.click(message, label=label)).message()


async def _wizard(sandbox: Sandbox) -> None:
    message = await (await sandbox.slash("persona create", template="calm-listener")).message()
    opened = await sandbox.click(message, label="Edit basic info")
    message = await (await sandbox.submit_modal(opened, name="Bench")).message()
    message = await _click(sandbox, message, "Next")
    message = await _click(sandbox, message, "Next")  # step 3
    for _ in range(20):  # warm up
        message = await _click(sandbox, message, "Next")
        message = await _click(sandbox, message, "Back")

    _freeze()
    durations: list[float] = []
    labels = ["Next", "Next", "Back", "Back"]  # 3 -> 4 -> 5 -> 4 -> 3
    for index in range(STEP_SAMPLES // 2 // 4 * 4):  # whole cycles: ends on step 3
        elapsed, message = await _timed(lambda m=message, i=index: _click(sandbox, m, labels[i % 4]))
        durations.append(elapsed)
    message = await _click(sandbox, message, "Back")  # to step 2
    chart_durations: list[float] = []
    answers = list(personality_answer_labels())
    run = 0
    while len(durations) < STEP_SAMPLES or len(chart_durations) < 10:
        run += 1
        message = await _click(sandbox, message, "IPIP-50 (50 questions)")
        for index in range(50):
            # Different answers each run, so each run's traits (and chart) are new; the last answer's reply
            # carries the result's radar chart, rendered then.
            label = answers[(index * run + run) % 5]
            elapsed, message = await _timed(lambda m=message, a=label: _click(sandbox, m, a))
            (chart_durations if index == 49 else durations).append(elapsed)
    report_latency("wizard_step", durations)
    report_latency("wizard_chart_step", chart_durations)


def _freeze() -> None:
    """Collect, then move what exists into the permanent generation: the sandbox keeps every message in this
    process, and a full collection over that history (100-300 ms here) is a cost of the bench, not of the bot."""
    gc.collect()
    gc.freeze()


def personality_answer_labels() -> tuple[str, ...]:
    from bot.core import quiz

    return quiz.answer_labels()


async def _management(sandbox: Sandbox, bot: Any) -> None:
    ids = await _fill(bot, sandbox.guild.id, sandbox.alice.id)
    note(f"{len(ids)} personas in the database")
    _freeze()
    chooser = random.Random(11)

    async def list_own() -> Posted:
        return await (await sandbox.slash("persona list")).message()

    async def list_server() -> Posted:
        return await (await sandbox.slash("persona list", scope="server")).message()

    async def show() -> Posted:
        return await (await sandbox.slash("persona show", persona=str(chooser.choice(ids)))).message()

    for action, name, samples in (
        (list_own, "persona_list_own", LIST_SAMPLES),
        (list_server, "persona_list_server", LIST_SAMPLES),
    ):
        for _ in range(10):
            await action()
        durations = [(await _timed(action))[0] for _ in range(samples)]
        report_latency(name, durations)

    # show: the profile answers first; the chart follows in an edit of the same message.
    answered: list[float] = []
    charted: list[float] = []
    for index in range(SHOW_SAMPLES + 10):
        started = time.perf_counter()
        handle = await sandbox.slash("persona show", persona=str(chooser.choice(ids)))
        message = await handle.message()
        first = (time.perf_counter() - started) * 1000
        await sandbox.wait_until(lambda m=message: m.message.attachments, 5, "the chart")
        if index >= 10:
            answered.append(first)
            charted.append((time.perf_counter() - started) * 1000)
    report_latency("persona_show", answered)
    report_latency("persona_show_with_chart", charted)


async def main() -> None:
    async with Sandbox() as sandbox, running_bot(sandbox) as bot:
        note("sqlite, the real bot against the sandbox")
        await _wizard(sandbox)
        await _management(sandbox, bot)
